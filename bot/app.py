"""The running bot: JobBot polls, delivers, answers commands and runs the schedule.

``build`` (in bot.compose, re-exported here) wires it from settings.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Coroutine, Sequence
from contextlib import suppress
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.chat.base import ChatAdapter, Service
from bot.chat.delivery import DeliveryReport, DeliveryWorker
from bot.chat.digests import DigestRunner
from bot.chat.followups import FollowUpReport, FollowUps
from bot.chat.gateway_lease import RunsGateway
from bot.chat.webhook import WebhookAdapter
from bot.command_limit import CommandLimit
from bot.compose import build
from bot.config import Settings
from bot.describe import describe
from bot.errors import ConfigError
from bot.ingest import Poller, PollReport
from bot.ops import Health, InstrumentedAdapters, Metrics, health
from bot.pool import EnrichPool, usable_cores, warm_up
from bot.sources.base import registered_kinds
from bot.sources.http import HttpFetcher
from bot.store import SourceState
from bot.store.protocols import Store
from bot.tasks import _cancel_all, _until_shutdown
from bot.why import why
from subscriptions.commands import CommandContext, Reply, run_command
from subscriptions.context import own_subscriptions
from subscriptions.matcher import SubscriptionIndex, matches

__all__ = ["JobBot", "build"]

log = logging.getLogger("jobbot")
POLL_TICK_SECONDS = 5
# How long a claimed poll keeps other processes off its source: past it (the process died,
# or the poll hangs) another process may poll the source again.
POLL_LEASE = timedelta(minutes=10)
# Edits, reminders and source notices are not urgent to the second.
FOLLOW_UP_SECONDS = 30


@dataclass
class JobBot:
    """The running system: one store, one fetcher, the adapters and the jobs that use them."""

    settings: Settings
    store: Store
    fetcher: HttpFetcher
    adapters: dict[str, ChatAdapter]
    clock: Callable[[], datetime]
    poller: Poller = field(init=False)
    worker: DeliveryWorker = field(init=False)
    digests: DigestRunner = field(init=False)
    followups: FollowUps = field(init=False)
    _index: SubscriptionIndex = field(init=False, default_factory=SubscriptionIndex)
    _index_signature: tuple[int, int, int] | None = field(init=False, default=None)
    _in_flight: dict[str, asyncio.Task[PollReport]] = field(init=False, default_factory=dict)
    _background: set[asyncio.Task[object]] = field(init=False, default_factory=set)
    metrics: Metrics = field(init=False, default_factory=Metrics)
    started_at: datetime = field(init=False)
    counted_adapters: InstrumentedAdapters = field(init=False)
    services: list[Service] = field(default_factory=list)
    _command_limit: CommandLimit = field(init=False)
    # Sources this process claimed for polling, with the end of each claim.
    _claimed_until: dict[str, datetime] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.started_at = self.clock()
        self._command_limit = CommandLimit(self.settings.commands_per_minute)
        workers = self.settings.ingest_workers or usable_cores()
        self.poller = Poller(
            self.store, self.fetcher, self.clock, self.index, pool=EnrichPool(workers)
        )
        # The worker and digests send through counting wrappers (sent, errors, 429s, latency).
        counted = self.counted_adapters = InstrumentedAdapters(
            self.adapters, self.metrics, self.clock
        )
        self.worker = DeliveryWorker(
            self.store, counted, self.clock, burst_threshold=self.settings.burst_threshold
        )
        self.digests = DigestRunner(self.store, counted, self.clock)
        self.followups = FollowUps(
            self.store,
            self.adapters,
            self.clock,
            self.index,
            notice_after=timedelta(seconds=self.settings.source_notice_after),
        )

    # ------------------------------------------------------------ operations

    def health(self) -> Health:
        """The verdict /healthz answers with (and where each chat gateway runs)."""
        verdict = health(
            self.store.sources(), self.clock(), self.started_at, self.worker.health.as_json()
        )
        gateways = {
            name: adapter.gateway
            for name, adapter in self.adapters.items()
            if isinstance(adapter, RunsGateway)
        }
        return replace(verdict, gateways=gateways) if gateways else verdict

    def _record(self, report: PollReport) -> None:
        self.metrics.record_poll(
            report.source,
            ok=report.ok,
            not_modified=report.not_modified,
            seen=report.seen,
            new=report.new,
            queued=report.queued,
            at=self.clock(),
        )

    async def deliver(self) -> DeliveryReport:
        """One pass of the delivery worker, logged as one line when it did anything."""
        report = await self.worker.run_once()
        if report.sent or report.retried or report.failed:
            log.info(
                "delivery batch: %d sent, %d grouped message(s), %d to retry, %d failed",
                report.sent,
                report.grouped_messages,
                report.retried,
                report.failed,
                extra={"fields": {"event": "delivery", **asdict(report)}},
            )
        return report

    async def follow_up(self) -> FollowUpReport:
        """One pass of alert edits, deadline reminders and source notices."""
        report = await self.followups.run_once()
        if report.edited or report.reminded or report.notices:
            log.info(
                "follow-ups: %d alert(s) edited, %d reminder(s), %d source notice(s)",
                report.edited,
                report.reminded,
                report.notices,
                extra={"fields": {"event": "followups", **asdict(report)}},
            )
        return report

    # ------------------------------------------------------------ subscriptions

    def index(self) -> SubscriptionIndex:
        """The matcher index, rebuilt when subscriptions changed (also by another process)."""
        signature = self.store.subscriptions_signature()
        if signature != self._index_signature:
            self._index = SubscriptionIndex(self.store.subscriptions())
            self._index_signature = signature
        return self._index

    async def command(self, text: str, ctx: CommandContext) -> Reply:
        """Run a `/jobs` command and carry out the digests it asks for."""
        # A flood of commands is refused per user before it reaches the store (#18).
        # The command line (is_admin from the start) runs the bot and is not limited.
        key = (ctx.platform, ctx.workspace, ctx.user)
        wait = 0.0 if ctx.is_admin else self._command_limit.wait(key)
        if wait > 0:
            return Reply(self._command_limit.refusal(wait), ok=False)
        # Admins come from the config, for every platform alike ("slack:U123").
        ctx = replace(
            ctx,
            is_admin=ctx.is_admin or f"{ctx.platform}:{ctx.user}" in self.settings.admins,
            source_kinds=ctx.source_kinds or tuple(registered_kinds()),
            default_interval=self.settings.default_interval,
            subscription_cap=self.settings.max_subscriptions_per_channel,
            personal_cap=self.settings.max_personal_subscriptions,
        )
        # The store is called from a thread: no database wait blocks the event loop.
        reply = await asyncio.to_thread(run_command, text, ctx, self.store)
        if reply.why is not None:
            subs = await asyncio.to_thread(
                self.store.subscriptions,
                platform=ctx.platform,
                workspace=ctx.workspace,
                channel=ctx.channel,
            )
            if ctx.user:  # and the user's own personal subscriptions (#19)
                subs += await asyncio.to_thread(own_subscriptions, self.store, ctx)
            reply = replace(reply, text=await asyncio.to_thread(why, self.store, reply.why, subs))
        if reply.rematch is not None:
            queued = await asyncio.to_thread(self.rematch, reply.rematch)
            matched = (
                f"{queued} subscription(s) that now match it and never got it will get it once."
                if queued
                else "No subscription that never got it matches it now."
            )
            reply = replace(reply, text=f"{reply.text} {matched}")
        for sub_id, since in reply.catch_up:
            await asyncio.to_thread(self.queue_catch_up, sub_id, since)
        if reply.digest_now or reply.catch_up:
            ids = list(reply.digest_now) + [sub_id for sub_id, _ in reply.catch_up]
            self._spawn(self.digests.send_now(ids))
        return reply

    def rematch(self, posting_id: int) -> int:
        """Match a corrected posting again: queue it for subscriptions that never got it.

        The outbox key (subscription, posting) makes a subscription that already has it
        get nothing more; an alert sent before the correction is left as it is.
        """
        stored = self.store.posting(posting_id)
        if stored is None or not stored.posting.active:
            return 0
        pairs = [(sub, stored.id) for sub in self.index().match(stored.posting)]
        now = self.clock()
        return self.store.enqueue(pairs, now, batch=f"fix#{posting_id}@{now.isoformat()}")

    def queue_catch_up(self, sub_id: int, since: datetime) -> int:
        """Queue, as digest rows, what a paused subscription would have matched since ``since``."""
        sub = self.store.subscription(sub_id)
        if sub is None:
            return 0
        found = [
            (sub, stored.id)
            for stored in self.store.alerted_postings_since(since)
            if matches(sub.filter, stored.posting)
        ]
        return self.store.enqueue(found, self.clock(), kind="digest")

    # ------------------------------------------------------------ jobs

    def sync_sources(self) -> None:
        """Add or update the sources named in the settings (CLI-added ones stay)."""
        now = self.clock()
        for spec in self.settings.sources:
            self.store.upsert_source(
                spec.name, spec.kind, spec.url, spec.interval_s, backfill=spec.backfill, now=now
            )

    async def poll_due(self) -> list[PollReport]:
        """Poll each source whose time has come, concurrently, and wait for those polls."""
        started = self.start_due_polls()
        return list(await asyncio.gather(*started)) if started else []

    def start_due_polls(self) -> list[asyncio.Task[PollReport]]:
        """Start a poll task for each due source and return at once.

        Each poll is its own task: a source that hangs until its timeout never holds up
        the others, nor the next round of starts (a source already in flight is skipped).
        """
        return self._start_polls(self._claim_due())

    def _claim_due(self) -> list[SourceState]:
        # Claimed in the database, so that of several bots sharing PostgreSQL each due
        # source is polled by one; _in_flight keeps this process from starting a second
        # poll of a source it is still polling (a hanging one outlives its lease). A SQLite
        # file has one bot: no lease, so a restart after a crash polls at once, as before.
        lease = POLL_LEASE if self.settings.database_url else timedelta(0)
        return self.store.claim_due_sources(self.clock(), lease=lease, skip=self._in_flight)

    def _start_polls(self, sources: Sequence[SourceState]) -> list[asyncio.Task[PollReport]]:
        started = []
        for source in sources:
            task = asyncio.create_task(self.poller.poll(source.name), name=f"poll:{source.name}")
            self._in_flight[source.name] = task
            if source.next_poll_at is not None:
                self._claimed_until[source.name] = source.next_poll_at
            task.add_done_callback(functools.partial(self._poll_done, source.name))
            started.append(task)
        return started

    async def _start_due_polls_job(self) -> None:
        # The scheduler job only starts polls: awaiting them would make one hanging
        # source delay every other source's next start (max_instances=1).
        self._start_polls(await asyncio.to_thread(self._claim_due))

    def _poll_done(self, name: str, task: asyncio.Task[PollReport]) -> None:
        self._in_flight.pop(name, None)
        self._claimed_until.pop(name, None)
        if not task.cancelled() and (error := task.exception()) is not None:
            # Poller.poll records its own failures; this is the last net, never silent.
            log.error("source %s: poll failed: %s: %s", name, type(error).__name__, error)
            self._record(PollReport(name, ok=False, error=str(error)))
            return
        if not task.cancelled() and task.exception() is None:
            self._record(task.result())
        if not task.cancelled() and task.exception() is None and task.result().queued:
            self._spawn(self.deliver())

    async def poll_all(self) -> list[PollReport]:
        """Poll every enabled source once, stored in order (CLI `poll --once`, demo)."""
        sources = await asyncio.to_thread(self.store.sources)
        reports = await self.poller.poll_many([s.name for s in sources if s.enabled])
        for report in reports:
            self._record(report)
        return reports

    async def start_ingest_workers(self) -> None:
        """Start the ingest worker processes and wait until they are warm (``jobbot run``).

        Only when there is something for them to do: ``ingest_workers`` above one and an
        enabled source. A long-running bot pays their start (about a second) once, here,
        not in the middle of its first big poll; a one-off command never calls this and
        starts them only if a big body comes.
        """
        if self.poller.pool.parallel and any(
            s.enabled for s in await asyncio.to_thread(self.store.sources)
        ):
            try:
                await self.poller.pool.ready()
            except Exception as error:  # the edge: polls start them again if they need them
                log.warning("ingest workers did not start: %s: %s", type(error).__name__, error)

    def _tick(
        self, job: str, pass_: Callable[[], Coroutine[Any, None, object]]
    ) -> Callable[[], Coroutine[Any, None, None]]:
        """A scheduler job that starts ``pass_`` in the background, unless one still runs.

        The job itself returns at once, so APScheduler never finds it running (nor warns
        "maximum number of running instances reached" on every tick of a long pass), and a
        stop cancels the pass as one of the bot's own tasks, quietly.
        """
        running: list[asyncio.Task[object]] = []

        async def tick() -> None:
            if running and not running[0].done():
                self.metrics.passes_skipped.labels(job).inc()
                return
            running[:] = [self._spawn(pass_())]

        return tick

    def _spawn(self, coro: Coroutine[object, None, object]) -> asyncio.Task[object]:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        task.add_done_callback(self._pass_done)
        return task

    @staticmethod
    def _pass_done(task: asyncio.Task[object]) -> None:
        if not task.cancelled() and (error := task.exception()) is not None:
            name = getattr(task.get_coro(), "__qualname__", "a background pass")
            log.error("%s failed: %s: %s", name, type(error).__name__, error, exc_info=error)

    async def run(self, stop: asyncio.Event) -> None:
        """Poll, deliver and send digests on schedule until ``stop`` is set."""
        # A poll's commits no longer wait for WAL checkpoints: a thread does them.
        self.store.checkpoint_in_background()
        # In the background: polls, chat and Ctrl-C go on while the processes start.
        workers = asyncio.create_task(self.start_ingest_workers(), name="ingest-workers")
        scheduler = AsyncIOScheduler(timezone="UTC")
        tick = timedelta(seconds=POLL_TICK_SECONDS)
        job_options = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
        scheduler.add_job(
            _until_shutdown(self._start_due_polls_job),
            "interval",
            seconds=tick.total_seconds(),
            next_run_time=self.clock(),
            id="poll",
            **job_options,
        )
        scheduler.add_job(
            self._tick("deliver", self.deliver),
            "interval",
            seconds=self.settings.delivery_interval,
            id="deliver",
            next_run_time=self.clock(),
            **job_options,
        )
        scheduler.add_job(
            self._tick("followups", self.follow_up),
            "interval",
            seconds=max(self.settings.delivery_interval, FOLLOW_UP_SECONDS),
            id="followups",
            next_run_time=self.clock(),
            **job_options,
        )
        scheduler.add_job(
            self._tick("digests", self.digests.run_due),
            "interval",
            seconds=self.settings.digest_check_interval,
            id="digests",
            next_run_time=self.clock(),
            **job_options,
        )
        scheduler.start()
        # Chat connections start beside the scheduler, not before it: a platform that is
        # unreachable (and retries its connection) must not stop polling or Ctrl-C. Alerts
        # due before a connection is up are retried by the outbox.
        # The taxonomy and the place names take a second or more of CPU to build: built
        # here, not inside the first `country:` command, whose thread would hold the event
        # loop past the platforms' 3 s to answer.
        await asyncio.to_thread(warm_up)
        failures: list[ConfigError] = []
        starting = [
            asyncio.create_task(self._start_service(service, stop, failures, len(self.services)))
            for service in self.services
        ]
        try:
            await stop.wait()
        finally:
            scheduler.shutdown(wait=False)
            await _cancel_all(starting)
            for service in self.services:
                with suppress(Exception):
                    await service.close()
            unfinished = dict(self._claimed_until)  # the polls about to be cancelled
            await _cancel_all([*self._in_flight.values(), *self._background])
            await asyncio.to_thread(self._give_back, unfinished)
            # Not cancelled: a start under way in its thread would outlive the task, and
            # its processes the pool's close. It ends within a second or two.
            with suppress(Exception):
                await workers
        if failures and len(failures) == len(self.services):
            raise failures[0]

    def _give_back(self, polls: dict[str, datetime]) -> None:
        """On the way out, hand back what this process claimed and will not finish: its
        outbox rows and unfinished polls are due at once for the others sharing the
        database (PostgreSQL), not at the end of their leases. Rows whose send may have
        gone out come back flagged, as after a crash, so none is sent twice."""
        now = self.clock()
        try:
            rows = sum(
                self.store.expire_leases(owner, now)
                for owner in (self.worker.owner, self.digests.owner)
            )
            sources = self.store.release_sources(polls, now) if polls else 0
        except Exception as error:  # the edge: stopping must not fail on the database
            log.warning("could not hand back claimed work on stopping: %s", error)
            return
        if rows or sources:
            log.info("handed back %d outbox row(s) and %d poll(s) on stopping", rows, sources)

    @staticmethod
    async def _start_service(
        service: Service, stop: asyncio.Event, failures: list[ConfigError], services: int
    ) -> None:
        try:
            await service.start()
        except ConfigError as error:
            # A refused token is the operator's to fix; the other platforms keep running,
            # and the bot stops, with the message that says so, only when none is left.
            log.error("%s", error)
            failures.append(error)
            if len(failures) == services:
                stop.set()
        except Exception as error:  # the edge: one platform failing must not take all down
            log.error(
                "%s could not connect (%s: %s); its alerts wait in the outbox",
                type(service).__name__,
                type(error).__name__,
                error,
            )

    async def aclose(self) -> None:
        """Close the chat connections, the network pool and the database."""
        for service in self.services:
            with suppress(Exception):
                await service.close()
        await self.fetcher.aclose()
        self.poller.pool.close()
        for adapter in self.adapters.values():
            if isinstance(adapter, WebhookAdapter):
                await adapter.aclose()
        self.store.close()

    def describe(self) -> str:
        """What this bot watches and where alerts go (printed on start)."""
        return describe(self.store, self.adapters, self.settings)
