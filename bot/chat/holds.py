"""Rows put back after a platform failed, and the holds of platforms whose token was refused.

While a platform's token is refused its rows wait for the next token check (``ChatHealth``
says when); when the check passes, or the first send after failures succeeds, the rows
this worker put back are brought forward (due now) instead of each waiting out its own
backoff. The ids are kept in memory, per worker: a restart leaves them to their backoff.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime

from bot.chat.base import ChatAdapter
from bot.chat.health import ChatHealth, ChecksAuth
from bot.errors import TokenChatError
from bot.store.protocols import Store

__all__ = ["Holds"]

log = logging.getLogger("jobbot.delivery")


class Holds:
    """One delivery worker's rows waiting on a platform, by platform."""

    def __init__(self, store: Store, clock: Callable[[], datetime], health: ChatHealth) -> None:
        self.store = store
        self.clock = clock
        self.health = health
        self._waiting: dict[str, set[int]] = {}

    def claimed(self, ids: Iterable[int]) -> None:
        """These rows were claimed again: they no longer wait."""
        taken = set(ids)
        for waiting in self._waiting.values():
            waiting -= taken

    async def put_back(
        self,
        platform: str,
        ids: Sequence[int],
        when: datetime,
        reason: str,
        *,
        maybe_sent: bool | None = None,
    ) -> None:
        """Rows to try again at ``when``; remembered to bring forward at the next success.

        ``maybe_sent`` as for ``Store.mark_retry``: whether the try may have gone out."""
        await asyncio.to_thread(self.store.mark_retry, ids, when, reason, maybe_sent=maybe_sent)
        self._waiting.setdefault(platform, set()).update(ids)

    async def hold(self, platform: str, ids: Sequence[int]) -> None:
        """The platform's token is refused: put rows back until its next check."""
        held = self.health.held(platform)
        assert held is not None
        await self.put_back(platform, ids, held.next_check, f"held: {held.reason}")

    async def check_tokens(self, adapters: Mapping[str, ChatAdapter]) -> None:
        """Check again the tokens of held platforms that are due; release those that work."""
        for held in self.health.due(self.clock()):
            adapter = adapters.get(held.platform)
            try:
                if isinstance(adapter, ChecksAuth):
                    await adapter.check_auth()
            except TokenChatError as error:
                held = self.health.hold(held.platform, str(error), self.clock())
                log.warning(
                    "%s token still refused (%s); next check at %s",
                    held.platform,
                    error,
                    held.next_check.isoformat(timespec="seconds"),
                )
                continue
            except Exception as error:  # the edge: an unknown answer is not a verdict
                held = self.health.hold(held.platform, held.reason, self.clock())
                log.warning("cannot check the %s token yet: %r", held.platform, error)
                continue
            self.health.release(held.platform)
            log.warning("%s token works again: sending what was held", held.platform)
            await self.bring_forward(held.platform)

    async def bring_forward(self, platform: str) -> None:
        """Make the rows waiting after failures on ``platform`` due now (it works again)."""
        ids = sorted(self._waiting.pop(platform, set()))
        if ids:
            log.info("%s works again: %d waiting delivery(ies) brought forward", platform, len(ids))
            reason = "brought forward: the platform works again"
            await asyncio.to_thread(self.store.bring_forward, ids, self.clock(), reason)
