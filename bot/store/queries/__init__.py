"""The queries, written once for both engines, one mixin per concern."""

from __future__ import annotations

from bot.store.queries.followups import FollowupQueries
from bot.store.queries.outbox import OutboxQueries
from bot.store.queries.postings import PostingQueries
from bot.store.queries.sources import SourceQueries
from bot.store.queries.subscriptions import SubscriptionQueries

__all__ = [
    "FollowupQueries",
    "OutboxQueries",
    "PostingQueries",
    "SourceQueries",
    "SubscriptionQueries",
]
