"""A burst: what one poll brought one channel beyond ``burst_threshold``, sent as one
grouped message whatever the number of subscriptions behind it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from bot.store import Delivery, StoredPosting
from subscriptions.model import Subscription

__all__ = ["burst_postings", "burst_subscription", "burst_title"]


def burst_subscription(group: Sequence[Delivery]) -> Subscription:
    """The first subscription of a channel's burst, carrying every distinct mention of it."""
    first = group[0].subscription
    mentions: list[str] = []
    for delivery in group:
        for mention in delivery.subscription.schedule.mention.split():
            if mention not in mentions:
                mentions.append(mention)
    return replace(first, schedule=replace(first.schedule, mention=" ".join(mentions)))


def burst_postings(group: Sequence[Delivery]) -> list[StoredPosting]:
    """A burst's postings in order, each once though several subscriptions matched it."""
    seen: dict[int, StoredPosting] = {}
    for delivery in group:
        seen.setdefault(delivery.posting.id, delivery.posting)
    return list(seen.values())


def burst_title(group: Sequence[Delivery]) -> str:
    """The heading of a grouped burst, naming the subscriptions behind it."""
    ids = sorted({d.subscription.id for d in group})
    if len(ids) == 1:
        return f"New postings for subscription #{ids[0]}"
    shown = ", ".join(f"#{i}" for i in ids[:5]) + (
        f" and {len(ids) - 5} more" if len(ids) > 5 else ""
    )
    return f"New postings for subscriptions {shown}"
