"""Readers of the store that only tests need, on any backend (issue #16).

They use the store's own query primitive, so they run the same SQL on SQLite and on
PostgreSQL; the bot itself never asks these questions.
"""

from __future__ import annotations

from typing import Any

from bot.store import Delivery, StoredPosting
from bot.store.dialect import SqlBase
from subscriptions.model import Subscription


def sent_pairs(store: Any) -> list[tuple[int, int]]:
    """Every (subscription, posting) that was delivered."""
    assert isinstance(store, SqlBase)
    return [
        (int(r["subscription_id"]), int(r["posting_id"]))
        for r in store._query(
            "select subscription_id, posting_id from deliveries where status = 'sent' order by id"
        )
    ]


def queued_pairs(store: Any) -> list[tuple[int, int]]:
    """Every (subscription, posting) in the outbox, whatever became of it."""
    assert isinstance(store, SqlBase)
    return [
        (int(r["subscription_id"]), int(r["posting_id"]))
        for r in store._query("select subscription_id, posting_id from deliveries order by id")
    ]


def reminders(store: Any) -> list[dict[str, Any]]:
    """Every reminder row, by subscription and posting."""
    assert isinstance(store, SqlBase)
    return store._query("select * from reminders order by subscription_id, posting_id")


def unsure(sub: Subscription, posting: StoredPosting, delivery_id: int) -> list[Delivery]:
    """One alert row whose last try may have gone out, as ``FindsSent.find_sent`` takes it."""
    return [
        Delivery(
            id=delivery_id,
            subscription=sub,
            posting=posting,
            kind="instant",
            status="sending",
            attempts=1,
            recovered=True,
            queued_at=posting.first_seen_at,
        )
    ]
