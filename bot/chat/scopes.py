"""What a chat error of each scope does to the outbox rows it concerns.

A refused message fails alone; a lost channel fails its rows and pauses its
subscriptions once; anything else waits ``retry_delay`` (a refused token is held by
``Holds`` instead).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from bot.errors import PermanentChatError, RejectedMessageError
from bot.store.protocols import Store
from subscriptions.model import Subscription
from subscriptions.personal import is_personal, undeliverable_reason

__all__ = ["give_up_on_channel", "retry_delay"]

log = logging.getLogger("jobbot.delivery")


def give_up_on_channel(
    store: Store, sub: Subscription, ids: Sequence[int], error: PermanentChatError, now: datetime
) -> None:
    """Mark these rows failed and pause the channel's subscriptions, saying why (logged once).

    A ``RejectedMessageError`` (this message was refused) fails the rows and pauses nothing.
    """
    store.mark_failed(ids, str(error))
    if isinstance(error, RejectedMessageError):
        log.error("a message to %s #%s was refused: %s", sub.platform, sub.channel, error)
        return
    # A personal target is one user's DM: only that user's subscriptions pause (#19).
    if is_personal(sub):
        reason = undeliverable_reason(error.code)
    else:
        reason = f"{error.code}: the bot cannot post in this channel"
    paused = store.pause_target(sub.platform, sub.workspace, sub.channel, reason, now=now)
    if paused:
        log.error("paused subscriptions %s of %s #%s: %s", paused, sub.platform, sub.channel, error)


def retry_delay(attempts: int, hint: float | None = None, *, ceiling: float = 3600.0) -> float:
    """Seconds before the next try: the platform's hint if given, else doubling from 5 s."""
    if hint is not None and hint > 0:
        return min(hint, ceiling)
    return min(5.0 * 2.0 ** max(0, attempts - 1), ceiling)
