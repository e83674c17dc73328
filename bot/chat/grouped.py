"""Send a grouped message (a digest or a burst) exactly once, whatever the platform.

The message is named by what it carries, not by when it is tried: a burst by its first
outbox row, a digest by its subscription and first outbox row. The name is written on
the rows before the first part goes (``group_key``), so a retry sends the same rows
under the same name, and each part is recorded as it reaches the channel, so the retry
starts at the first part not sent (#17). Adapters see only a ``PartProgress``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime

from bot.chat.base import ChatAdapter
from bot.chat.parts import PartProgress
from bot.store import Delivery, StoredPosting
from bot.store.protocols import OutboxStore
from subscriptions.model import Subscription

__all__ = ["group_key", "send_grouped"]


def group_key(rows: Sequence[Delivery], fresh: str) -> str:
    """The name the rows already went out under, or ``fresh`` for a first try."""
    return next((r.group_key for r in rows if r.group_key), fresh)


async def send_grouped(
    store: OutboxStore,
    adapter: ChatAdapter,
    subscription: Subscription,
    rows: Sequence[Delivery],
    postings: Sequence[StoredPosting],
    title: str,
    key: str,
    clock: Callable[[], datetime],
) -> list[str]:
    """Send ``postings`` as the grouped message ``key`` of ``rows``, resuming it if begun.

    Returns the refs of every part. An error from the adapter propagates with the parts
    sent before it recorded, for the retry to skip.
    """
    ids = [r.id for r in rows]
    await asyncio.to_thread(store.group_rows, ids, key)
    # Parts can only have gone out on an earlier try, which grouped these rows already.
    begun = any(r.group_key is not None for r in rows)
    sent = await asyncio.to_thread(store.parts_sent, key) if begun else []

    async def record(part: int, ref: str) -> None:
        await asyncio.to_thread(store.record_part, key, part, ref, clock())

    progress = PartProgress(tuple(sent), record)
    return await adapter.send_digest(subscription, postings, title, key, progress=progress)
