"""Rows taken over after a crash: did their message already go out?

A row left in ``sending`` (or whose last try failed, as a timeout may hide a success) is
flagged ``recovered`` when claimed again. Before sending it, the delivery worker asks the
adapter (``FindsSent``) whether the alert already reached its channel, and marks it sent
without a second message if so. Rows of a grouped message are not looked up: the store
records which of its parts went (``bot.chat.grouped``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.chat.base import ChatAdapter, FindsSent
from bot.chat.scopes import give_up_on_channel, retry_delay
from bot.errors import PermanentChatError, TransientChatError
from bot.store import Delivery, shown_state
from bot.store.protocols import Store

__all__ = ["Recovery", "recover_claimed"]


@dataclass(slots=True)
class Recovery:
    """What the lookups did: found sent, put back for a retry, failed with the channel."""

    recovered: int = 0
    retried: int = 0
    failed: int = 0


async def recover_claimed(
    store: Store,
    adapters: Mapping[str, ChatAdapter],
    claimed: list[Delivery],
    clock: Callable[[], datetime],
) -> tuple[list[Delivery], Recovery]:
    """Mark sent, without sending again, the taken-over rows whose message went out.

    Returns the rows still to send, and what became of the others.
    """
    rest = []
    found = Recovery()
    for delivery in claimed:
        adapter = adapters.get(delivery.subscription.platform)
        if not (
            delivery.recovered and delivery.group_key is None and isinstance(adapter, FindsSent)
        ):
            rest.append(delivery)
            continue
        try:
            ref = await adapter.find_sent(delivery.subscription, delivery.posting, delivery.id)
        except TransientChatError as error:
            # Unknown whether it went: try again later rather than risk a repeat.
            delay = retry_delay(delivery.attempts, error.retry_after)
            when = clock() + timedelta(seconds=delay)
            await asyncio.to_thread(store.mark_retry, [delivery.id], when, str(error))
            found.retried += 1
            continue
        except PermanentChatError as error:
            # The channel is gone: nothing can be sent there, found or not.
            await asyncio.to_thread(
                give_up_on_channel, store, delivery.subscription, [delivery.id], error, clock()
            )
            found.failed += 1
            continue
        if ref is None:
            rest.append(delivery)
            continue
        # What was found is the alert itself (by its delivery id or posting).
        shown = shown_state(delivery.posting.posting)
        await asyncio.to_thread(store.mark_sent, [delivery.id], clock(), ref, shown=shown)
        found.recovered += 1
    return rest, found
