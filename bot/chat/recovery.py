"""Crash recovery for one channel: rows whose last try may have gone out are looked for
before they are sent again, with one lookup for the channel.

A row is unsure (``Delivery.recovered``) when it was in flight under a lease that ran
out (a crash) or its last try ended without an answer (a timeout, a dropped connection).
Rows a platform simply refused (429, 5xx, an error code) are sure: nothing went, and
they need no lookup. The lookup runs in the channel's lane, so other channels' sends do
not wait for it, and the adapter keeps it under the platform's limit for the method.
Rows of a grouped message are not looked up: the store records which of its parts went
(``bot.chat.grouped``).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.chat.base import ChatAdapter, FindsSent
from bot.chat.holds import Holds
from bot.chat.scopes import give_up_on_channel, retry_delay
from bot.errors import PermanentChatError, TokenChatError, TransientChatError
from bot.store import Delivery, shown_state
from bot.store.protocols import Store

__all__ = ["recover_sent"]


async def recover_sent(
    adapter: ChatAdapter,
    items: list[Delivery],
    *,
    store: Store,
    clock: Callable[[], datetime],
    holds: Holds | None = None,
) -> tuple[list[Delivery], Counter[str]]:
    """The rows of one channel still to send, and what became of the others.

    Unsure rows the channel shows are marked sent without a second message
    (``recovered``); when the lookup fails they wait, still unsure (``retried``), or are
    held with their platform's token (``held``; without ``holds``, a refused token is
    waited out like any passing failure), or failed with a lost channel (``failed``).
    Counts are by ``DeliveryReport`` field.
    """
    counts: Counter[str] = Counter()
    unsure = [d for d in items if d.recovered and d.group_key is None]
    if not unsure or not isinstance(adapter, FindsSent):
        return items, counts
    sub = unsure[0].subscription
    try:
        found = await adapter.find_sent(sub, unsure)
    except TokenChatError as error:
        if holds is None:
            return await _wait_for(store, clock, items, unsure, error, counts)
        if holds.health.held(sub.platform) is None:
            holds.health.hold(sub.platform, str(error), clock())
        await holds.hold(sub.platform, [d.id for d in items])
        counts["held"] += len(items)
        return [], counts
    except TransientChatError as error:
        return await _wait_for(store, clock, items, unsure, error, counts)
    except PermanentChatError as error:
        # The channel is gone: nothing can be sent there, found or not.
        every = [d.id for d in items]
        await asyncio.to_thread(give_up_on_channel, store, sub, every, error, clock())
        counts["failed"] += len(every)
        return [], counts
    for delivery in unsure:
        if (ref := found.get(delivery.id)) is not None:
            # What was found is the alert itself: remember what it showed, for edits.
            shown = shown_state(delivery.posting.posting)
            await asyncio.to_thread(store.mark_sent, [delivery.id], clock(), ref, shown=shown)
            counts["recovered"] += 1
    return [d for d in items if d.id not in found], counts


async def _wait_for(
    store: Store,
    clock: Callable[[], datetime],
    items: list[Delivery],
    unsure: list[Delivery],
    error: TransientChatError,
    counts: Counter[str],
) -> tuple[list[Delivery], Counter[str]]:
    """The lookup failed for now. Unknown whether the unsure rows went: they are tried
    later rather than risk a repeat; the channel's sure rows go now."""
    delay = retry_delay(max(d.attempts for d in unsure), error.retry_after)
    when = clock() + timedelta(seconds=delay)
    await asyncio.to_thread(store.mark_retry, [d.id for d in unsure], when, str(error))
    counts["retried"] += len(unsure)
    waiting = {d.id for d in unsure}
    return [d for d in items if d.id not in waiting], counts
