"""Digests: one grouped message per subscription, daily or weekly, in its own time zone."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta

from bot.chat.base import ChatAdapter
from bot.chat.delivery import give_up_on_channel, new_lease_owner, reap_dead_leases
from bot.chat.grouped import group_key, send_grouped
from bot.chat.recovery import recover_sent
from bot.errors import PermanentChatError, TransientChatError
from bot.store.protocols import Store
from subscriptions.model import Subscription
from subscriptions.schedule import digest_due

__all__ = ["DigestRunner"]

log = logging.getLogger("jobbot.digests")


class DigestRunner:
    """Sends the digests that are due (or asked for now)."""

    def __init__(
        self,
        store: Store,
        adapters: Mapping[str, ChatAdapter],
        clock: Callable[[], datetime],
        *,
        lease: timedelta = timedelta(minutes=5),
    ) -> None:
        self.store = store
        self.adapters = adapters
        self.clock = clock
        self.lease = lease
        self.owner = new_lease_owner()

    async def run_due(self) -> int:
        """Send every digest whose scheduled time has passed since its last one.

        However many scheduled moments passed while the bot was down, a digest goes once.
        A digest that failed for now stays due and is tried again at its retry time (not
        at every check before it), with the same postings, from its first part not sent.
        """
        now = self.clock()
        # Digests a crashed run left in flight go now.
        await asyncio.to_thread(reap_dead_leases, self.store, now)
        waiting = set(await asyncio.to_thread(self.store.digest_retry_waiting, now))
        due = [
            s
            for s in await asyncio.to_thread(self.store.subscriptions)
            if not s.paused
            and s.id not in waiting
            and digest_due(s.schedule, s.last_digest_at, now)
        ]
        return await self._send(due, now)

    async def send_now(self, subscription_ids: Iterable[int]) -> int:
        """Send these subscriptions' digests at once (`/jobs digest now`)."""
        found = [await asyncio.to_thread(self.store.subscription, i) for i in subscription_ids]
        subs = [s for s in found if s]
        return await self._send(subs, self.clock())

    async def _send(self, subs: list[Subscription], now: datetime) -> int:
        sent = 0
        for sub in subs:
            adapter = self.adapters.get(sub.platform)
            if adapter is None:
                continue
            # Claimed under a lease: a crash mid-send leaves them for recovery, not repeat.
            rows = await asyncio.to_thread(
                self.store.claim_digest, sub.id, now, lease=self.lease, owner=self.owner
            )
            # Rows a crashed run may have sent are looked for first (bot.chat.recovery).
            rows, _ = await recover_sent(adapter, rows, store=self.store, clock=self.clock)
            if not rows:
                # An empty period sends nothing, but the period still ends.
                await asyncio.to_thread(self.store.set_last_digest, sub.id, now)
                continue
            title = (
                f"{'Weekly' if sub.schedule.mode == 'weekly' else 'Daily'} digest"
                if sub.schedule.mode != "instant"
                else "Digest"
            )
            ids = [r.id for r in rows]
            # Named by what it carries, so that a retry resumes it rather than repeat it.
            key = group_key(rows, f"digest-{sub.id}-{min(ids)}")
            try:
                refs = await send_grouped(
                    self.store,
                    adapter,
                    sub,
                    rows,
                    [r.posting for r in rows],
                    f"{title}: {len(rows)} new posting(s)",
                    key,
                    self.clock,
                )
            except TransientChatError as error:
                retry_at = now + timedelta(minutes=5)
                await asyncio.to_thread(self.store.mark_retry, ids, retry_at, str(error))
                log.warning("digest for subscription %s will be retried: %s", sub.id, error)
                continue
            except PermanentChatError as error:
                await asyncio.to_thread(give_up_on_channel, self.store, sub, ids, error, now)
                continue
            await asyncio.to_thread(self._sent, sub.id, ids, now, ",".join(refs) or None)
            sent += 1
        return sent

    def _sent(self, sub_id: int, ids: list[int], now: datetime, ref: str | None) -> None:
        with self.store.transaction():
            self.store.mark_sent(ids, now, ref)
            self.store.set_last_digest(sub_id, now)
