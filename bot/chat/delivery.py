"""The delivery worker: takes queued alerts from the outbox and sends them.

Channels are served concurrently, each by its own lane; within a channel alerts go
one after another, paced by that platform's ``ChannelPacer`` (if given) to its
per-channel limit (a 429's Retry-After holds that channel back, not the others).
The worker keeps claiming from the outbox while lanes drain, so one slow channel
never stalls the rest. Errors are handled by scope: a refused message fails alone; a
lost channel pauses that channel's subscriptions once; a refused token holds every row
of its platform (nothing failed or paused) until a token check (``ChatHealth``) passes;
anything else is retried with backoff. After the first success on a platform following
failures, its rows waiting for a retry are brought forward.

Outbox states: ``pending`` → ``sending`` (claimed under a lease) → ``sent``; or →
``retry`` (with the next attempt time and the attempt count) or → ``failed`` (for good,
with the reason). A row left in ``sending`` by a crash is taken over when its lease ends
(at once when its worker is known to be dead) and, where the adapter can tell
(``FindsSent``), marked sent without a second message if it had already gone out. A
burst sent as one grouped message keeps its name and rows across retries, and a retry
resumes at its first part not sent (``bot.chat.grouped``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.chat.base import ChatAdapter
from bot.chat.bursts import burst_postings, burst_subscription, burst_title
from bot.chat.grouped import group_key, send_grouped
from bot.chat.health import ChatHealth
from bot.chat.holds import Holds
from bot.chat.leases import new_lease_owner, owner_is_dead, reap_dead_leases
from bot.chat.pacing import ChannelPacer
from bot.chat.recovery import recover_sent
from bot.chat.scopes import give_up_on_channel, retry_delay
from bot.errors import (
    PermanentChatError,
    RejectedMessageError,
    TokenChatError,
    TransientChatError,
)
from bot.store import Delivery, shown_state
from bot.store.protocols import Store
from subscriptions.model import Subscription

__all__ = [
    "DeliveryReport",
    "DeliveryWorker",
    "give_up_on_channel",
    "new_lease_owner",
    "owner_is_dead",
    "reap_dead_leases",
    "retry_delay",
]

log = logging.getLogger("jobbot.delivery")


@dataclass(slots=True)
class DeliveryReport:
    """What one pass of the worker did."""

    sent: int = 0
    grouped_messages: int = 0
    retried: int = 0
    failed: int = 0
    recovered: int = 0
    held: int = 0


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
        channel_share: int = 50,
        claim_every: float = 1.0,
        pacers: Mapping[str, ChannelPacer] | None = None,
        health: ChatHealth | None = None,
    ) -> None:
        self.store = store
        self.adapters = adapters
        self.clock = clock
        self.burst_threshold = burst_threshold
        self.lease = lease
        self.batch_size = batch_size
        # A channel has at most this many rows in flight: its backlog waits in the outbox,
        # where the next claim (every ``claim_every`` seconds while lanes drain) puts
        # another channel's new alert first. Large enough to hold a poll's burst whole.
        self.channel_share = channel_share
        self.claim_every = claim_every
        self.owner = new_lease_owner()
        # Per platform: each keeps every channel under that platform's per-channel limit.
        self.pacers = dict(pacers or {})
        self.health = health or ChatHealth()
        self.holds = Holds(store, clock, self.health)
        self._lock = asyncio.Lock()

    async def run_once(self) -> DeliveryReport:
        """Claim due deliveries and send them; safe to call concurrently (it serialises).

        Each channel has a lane (a task working through that channel's claimed chunks in
        order). Whenever fewer than half a batch is in flight the worker claims more, so
        lanes of fast channels are topped up while a slow channel is still draining. A
        claim serves channels in turn and gives each at most ``channel_share`` rows in
        flight; while lanes drain the worker claims again every ``claim_every`` seconds,
        so a quiet channel's new alert waits for no other channel's backlog.
        """
        async with self._lock:
            report = DeliveryReport()
            # Every pass, so that a worker process dying beside a live one is noticed too.
            if reaped := await asyncio.to_thread(reap_dead_leases, self.store, self.clock()):
                log.info("taking over %d delivery(ies) left in flight by a crash", reaped)
            await self.holds.check_tokens(self.adapters)
            chunks: dict[tuple[str, str, str], list[tuple[datetime, list[Delivery]]]] = {}
            lanes: dict[tuple[str, str, str], asyncio.Task[None]] = {}
            in_flight = [0]
            exhausted = False
            last_claim = 0.0
            while True:
                if exhausted and time.monotonic() - last_claim >= self.claim_every:
                    # New rows may have been queued, or a channel's share freed, meanwhile.
                    exhausted = False
                if not exhausted and in_flight[0] <= self.batch_size // 2:
                    last_claim = time.monotonic()
                    claimed = await asyncio.to_thread(
                        self.store.claim,
                        self.clock(),
                        limit=self.batch_size - in_flight[0],
                        lease=self.lease,
                        owner=self.owner,
                        per_channel=self.channel_share,
                    )
                    exhausted = not claimed
                    self.holds.claimed(d.id for d in claimed)
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

    async def _hold(self, platform: str, ids: Sequence[int], report: DeliveryReport) -> None:
        await self.holds.hold(platform, ids)
        report.held += len(ids)

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

    async def _release_late(self, rest: Sequence[Delivery], deadline: datetime | None) -> bool:
        """Put rows whose lease is running out back in the outbox (due now); True if so."""
        if deadline is None or not rest or self.clock() < deadline:
            return False
        ids, reason = [d.id for d in rest], "lease ran out before sending"
        # Not tried since their lookup (if any): no more unsure than they were.
        await asyncio.to_thread(self.store.mark_retry, ids, self.clock(), reason)
        return True

    async def _send_channel(
        self, items: list[Delivery], report: DeliveryReport, deadline: datetime | None = None
    ) -> None:
        platform = items[0].subscription.platform
        adapter = self.adapters.get(platform)
        if adapter is None:
            await asyncio.to_thread(
                self.store.mark_retry,
                [d.id for d in items],
                self.clock() + timedelta(minutes=10),
                f"no {platform} connection is configured",
            )
            report.retried += len(items)
            return
        if self.health.held(platform) is not None:
            await self._hold(platform, [d.id for d in items], report)
            return
        items, counts = await recover_sent(
            adapter, items, store=self.store, clock=self.clock, holds=self.holds
        )
        for name, count in counts.items():
            setattr(report, name, getattr(report, name) + count)
        # A burst is counted per poll and channel: what one poll brought goes together,
        # but a grouped message that went out in part is resumed with its own rows.
        # The groups go one after another, so the channel's pace is kept.
        by_poll: dict[tuple[bool, str | None], list[Delivery]] = {}
        for delivery in items:
            key = (True, delivery.group_key) if delivery.group_key else (False, delivery.batch)
            by_poll.setdefault(key, []).append(delivery)
        groups = list(by_poll.values())
        for number, group in enumerate(groups):
            outcome = await self._send_poll_group(adapter, group, report, deadline)
            rest = [d for later in groups[number + 1 :] for d in later]
            if outcome == "permanent":
                await self._fail_rest(rest, report)
                return
            if outcome == "held":
                await self._hold(platform, [d.id for d in rest], report)
                return

    async def _send_poll_group(
        self,
        adapter: ChatAdapter,
        items: list[Delivery],
        report: DeliveryReport,
        deadline: datetime | None = None,
    ) -> str:
        if len(items) > self.burst_threshold or items[0].group_key:
            return await self._send_grouped(adapter, items, report, deadline)
        for index, delivery in enumerate(items):
            if await self._release_late(items[index:], deadline):
                return "released"
            outcome = await self._attempt(adapter, [delivery], report)
            if outcome == "permanent":
                await self._fail_rest(items[index + 1 :], report)
                return outcome
            if outcome == "held":
                await self._hold(
                    delivery.subscription.platform, [d.id for d in items[index + 1 :]], report
                )
                return outcome
        return "sent"

    async def _send_grouped(
        self,
        adapter: ChatAdapter,
        items: list[Delivery],
        report: DeliveryReport,
        deadline: datetime | None = None,
    ) -> str:
        # A burst for one channel goes as one grouped message, whatever the number of
        # subscriptions behind it: each posting once, each subscription's mention once.
        if await self._release_late(items, deadline):
            return "released"
        return await self._attempt(adapter, items, report, grouped=True)

    async def _retry_later(
        self,
        sub: Subscription,
        ids: Sequence[int],
        group: Sequence[Delivery],
        error: object,
        retry_after: float | None,
        report: DeliveryReport,
    ) -> None:
        attempts = max(d.attempts for d in group)
        delay = retry_delay(attempts, retry_after)
        pacer = self.pacers.get(sub.platform)
        if pacer is not None and retry_after is not None:
            # The channel is over its limit: hold its lane back, not the others.
            pacer.push_back(sub.target, retry_after)
        when = self.clock() + timedelta(seconds=delay)
        # Only a try that may have reached the channel is looked for before the next one;
        # a refusal (429, 5xx, an error code) is simply tried again.
        # An adapter's surprise (not a ChatError) may have come after the message went.
        maybe_sent = error.maybe_sent if isinstance(error, TransientChatError) else True
        if retry_after is None:
            await self.holds.put_back(sub.platform, ids, when, str(error), maybe_sent=maybe_sent)
        else:
            # The platform said when: such rows are not brought forward early.
            await asyncio.to_thread(
                self.store.mark_retry, ids, when, str(error), maybe_sent=maybe_sent
            )
        log.warning(
            "delivery to %s #%s will be retried in %.0f s: %s",
            sub.platform,
            sub.channel,
            delay,
            error,
        )
        report.retried += len(ids)

    async def _fail_rest(self, rest: Sequence[Delivery], report: DeliveryReport) -> None:
        """After a permanent error, the channel's other queued rows cannot go either."""
        await asyncio.to_thread(self.store.mark_failed, [d.id for d in rest], "channel unavailable")
        report.failed += len(rest)

    async def _attempt(
        self,
        adapter: ChatAdapter,
        group: Sequence[Delivery],
        report: DeliveryReport,
        *,
        grouped: bool = False,
    ) -> str:
        ids = [d.id for d in group]
        sub = group[0].subscription
        pacer = self.pacers.get(sub.platform)
        try:
            async with pacer.slot(sub.target) if pacer else nullcontext():
                if not grouped:
                    ref = await adapter.send_alert(sub, group[0].posting, group[0].id)
                    refs = [ref] if ref else []
                else:
                    # Named by its first row: a retry resumes it, from the part not sent.
                    refs = await send_grouped(
                        self.store,
                        adapter,
                        burst_subscription(group),
                        group,
                        burst_postings(group),
                        burst_title(group),
                        group_key(group, f"burst-{ids[0]}"),
                        self.clock,
                    )
                    report.grouped_messages += 1
        except TokenChatError as error:
            if self.health.held(sub.platform) is None:
                # Once: the lanes of other channels hit the same refusal at the same time.
                log.error("%s refused the token: holding its deliveries (%s)", sub.platform, error)
                self.health.hold(sub.platform, str(error), self.clock())
            await self._hold(sub.platform, ids, report)
            return "held"
        except TransientChatError as error:
            await self._retry_later(sub, ids, group, error, error.retry_after, report)
            return "transient"
        except RejectedMessageError as error:
            # This message was refused (bad payload, AutoMod): it fails alone.
            await asyncio.to_thread(give_up_on_channel, self.store, sub, ids, error, self.clock())
            report.failed += len(ids)
            return "rejected"
        except PermanentChatError as error:
            await asyncio.to_thread(give_up_on_channel, self.store, sub, ids, error, self.clock())
            report.failed += len(ids)
            return "permanent"
        except Exception as error:  # the edge: a surprise from an adapter ends no pass
            log.exception("unexpected error sending to %s #%s", sub.platform, sub.channel)
            await self._retry_later(sub, ids, group, repr(error), None, report)
            return "transient"
        await self.holds.bring_forward(sub.platform)
        # A single alert can be edited later (closed, retitled): remember what it showed.
        shown = shown_state(group[0].posting.posting) if not grouped and refs else None
        ref = ",".join(refs) or None
        await asyncio.to_thread(self.store.mark_sent, ids, self.clock(), ref, shown=shown)
        report.sent += len(ids)
        return "sent"
