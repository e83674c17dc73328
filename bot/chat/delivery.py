"""The delivery worker: takes queued alerts from the outbox and sends them.

Channels are served concurrently, each by its own lane; within a channel alerts go
one after another, paced by that platform's ``ChannelPacer`` (if given) to its
per-channel limit (a 429's Retry-After holds that channel back, not the others).
The worker keeps claiming from the outbox while lanes drain, so one slow channel
never stalls the rest. Transient errors are retried with backoff; permanent ones
pause the channel's subscriptions once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.chat.base import ChatAdapter
from bot.chat.pacing import ChannelPacer
from bot.errors import PermanentChatError, TransientChatError
from bot.store import Delivery, Store

__all__ = ["DeliveryReport", "DeliveryWorker", "retry_delay"]

log = logging.getLogger("jobbot.delivery")


def retry_delay(attempts: int, hint: float | None = None, *, ceiling: float = 3600.0) -> float:
    """Seconds before the next try: the platform's hint if given, else doubling from 5 s."""
    if hint is not None and hint > 0:
        return min(hint, ceiling)
    return min(5.0 * 2.0 ** max(0, attempts - 1), ceiling)


@dataclass(slots=True)
class DeliveryReport:
    """What one pass of the worker did."""

    sent: int = 0
    grouped_messages: int = 0
    retried: int = 0
    failed: int = 0


class DeliveryWorker:
    """Sends due instant alerts through the adapter of each subscription's platform."""

    def __init__(
        self,
        store: Store,
        adapters: Mapping[str, ChatAdapter],
        clock: Callable[[], datetime],
        *,
        burst_threshold: int = 5,
        lease: timedelta = timedelta(minutes=5),
        batch_size: int = 500,
        pacers: Mapping[str, ChannelPacer] | None = None,
    ) -> None:
        self.store = store
        self.adapters = adapters
        self.clock = clock
        self.burst_threshold = burst_threshold
        self.lease = lease
        self.batch_size = batch_size
        # Per platform: each keeps every channel under that platform's per-channel limit.
        self.pacers = dict(pacers or {})
        self._lock = asyncio.Lock()

    async def run_once(self) -> DeliveryReport:
        """Claim due deliveries and send them; safe to call concurrently (it serialises).

        Each channel has a lane (a task working through that channel's claimed chunks in
        order). Whenever fewer than half a batch is in flight the worker claims more, so
        lanes of fast channels are topped up while a slow channel is still draining.
        """
        async with self._lock:
            report = DeliveryReport()
            chunks: dict[tuple[str, str, str], list[tuple[datetime, list[Delivery]]]] = {}
            lanes: dict[tuple[str, str, str], asyncio.Task[None]] = {}
            in_flight = [0]
            exhausted = False
            while True:
                if not exhausted and in_flight[0] <= self.batch_size // 2:
                    claimed = self.store.claim(
                        self.clock(), limit=self.batch_size - in_flight[0], lease=self.lease
                    )
                    exhausted = not claimed
                    # A row must go out well before its lease ends, or another worker
                    # (or this one, later) could claim and send it a second time.
                    deadline = self.clock() + self.lease / 2
                    by_channel: dict[tuple[str, str, str], list[Delivery]] = {}
                    for delivery in claimed:
                        by_channel.setdefault(delivery.subscription.target, []).append(delivery)
                    for target, items in by_channel.items():
                        in_flight[0] += len(items)
                        chunks.setdefault(target, []).append((deadline, items))
                        if target not in lanes:
                            lanes[target] = asyncio.create_task(
                                self._lane(target, chunks, lanes, in_flight, report)
                            )
                if not lanes:
                    if exhausted:
                        return report
                    continue
                done, _ = await asyncio.wait(
                    set(lanes.values()), timeout=0.05, return_when=asyncio.FIRST_COMPLETED
                )
                for task in done:
                    task.result()  # a bug in a lane surfaces here rather than vanishing
                if done and exhausted:
                    # Something finished: rows put back for retry may be due again.
                    exhausted = False

    async def _lane(
        self,
        target: tuple[str, str, str],
        chunks: dict[tuple[str, str, str], list[tuple[datetime, list[Delivery]]]],
        lanes: dict[tuple[str, str, str], asyncio.Task[None]],
        in_flight: list[int],
        report: DeliveryReport,
    ) -> None:
        try:
            while chunks.get(target):
                deadline, items = chunks[target].pop(0)
                try:
                    await self._send_channel(items, report, deadline)
                finally:
                    in_flight[0] -= len(items)
        finally:
            chunks.pop(target, None)
            lanes.pop(target, None)

    def _release_late(self, rest: Sequence[Delivery], deadline: datetime | None) -> bool:
        """Put rows whose lease is running out back in the outbox (due now); True if so."""
        if deadline is None or not rest or self.clock() < deadline:
            return False
        self.store.mark_retry([d.id for d in rest], self.clock(), "lease ran out before sending")
        return True

    async def _send_channel(
        self, items: list[Delivery], report: DeliveryReport, deadline: datetime | None = None
    ) -> None:
        platform = items[0].subscription.platform
        adapter = self.adapters.get(platform)
        if adapter is None:
            self.store.mark_retry(
                [d.id for d in items],
                self.clock() + timedelta(minutes=10),
                f"no {platform} connection is configured",
            )
            report.retried += len(items)
            return
        if len(items) > self.burst_threshold:
            await self._send_grouped(adapter, items, report, deadline)
            return
        for index, delivery in enumerate(items):
            if self._release_late(items[index:], deadline):
                return
            outcome = await self._attempt(adapter, [delivery], report)
            if outcome == "permanent":
                rest = [d.id for d in items[index + 1 :]]
                self.store.mark_failed(rest, "channel unavailable")
                report.failed += len(rest)
                return

    async def _send_grouped(
        self,
        adapter: ChatAdapter,
        items: list[Delivery],
        report: DeliveryReport,
        deadline: datetime | None = None,
    ) -> None:
        # A burst for one channel goes as one grouped message per subscription, not a flood.
        by_sub: dict[int, list[Delivery]] = {}
        for delivery in items:
            by_sub.setdefault(delivery.subscription.id, []).append(delivery)
        groups = list(by_sub.values())
        for index, group in enumerate(groups):
            if self._release_late([d for g in groups[index:] for d in g], deadline):
                return
            if await self._attempt(adapter, group, report) == "permanent":
                return

    async def _attempt(
        self, adapter: ChatAdapter, group: Sequence[Delivery], report: DeliveryReport
    ) -> str:
        ids = [d.id for d in group]
        sub = group[0].subscription
        try:
            pacer = self.pacers.get(sub.platform)
            async with pacer.slot(sub.target) if pacer else nullcontext():
                if len(group) == 1:
                    ref = await adapter.send_alert(sub, group[0].posting, group[0].id)
                    refs = [ref] if ref else []
                else:
                    refs = await adapter.send_digest(
                        sub,
                        [d.posting for d in group],
                        f"New postings for subscription #{sub.id}",
                        f"burst-{ids[0]}",
                    )
                    report.grouped_messages += 1
        except TransientChatError as error:
            attempts = max(d.attempts for d in group)
            delay = retry_delay(attempts, error.retry_after)
            pacer = self.pacers.get(sub.platform)
            if pacer is not None and error.retry_after is not None:
                # The channel is over its limit: hold its lane back, not the others.
                pacer.push_back(sub.target, error.retry_after)
            self.store.mark_retry(ids, self.clock() + timedelta(seconds=delay), str(error))
            log.warning(
                "delivery to %s #%s will be retried in %.0f s: %s",
                sub.platform,
                sub.channel,
                delay,
                error,
            )
            report.retried += len(ids)
            return "transient"
        except PermanentChatError as error:
            reason = f"{error.code}: the bot cannot post in this channel"
            self.store.mark_failed(ids, str(error))
            paused = self.store.pause_target(
                sub.platform, sub.workspace, sub.channel, reason, now=self.clock()
            )
            if paused:
                log.error(
                    "paused subscriptions %s of %s #%s: %s",
                    paused,
                    sub.platform,
                    sub.channel,
                    error,
                )
            report.failed += len(ids)
            return "permanent"
        self.store.mark_sent(ids, self.clock(), ",".join(refs) or None)
        report.sent += len(ids)
        return "sent"
