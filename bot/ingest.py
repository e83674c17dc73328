"""One poll of one source: fetch, parse, enrich, dedup, store, match, queue."""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.errors import SourceError
from bot.pool import EnrichPool
from bot.postings.model import Posting
from bot.sources.base import Fetcher, FetchResult, OneBodyKind, PollState, SourceSpec, kind_for
from bot.store import SourceState
from bot.store.protocols import Store
from subscriptions.matcher import SubscriptionIndex

__all__ = ["PollReport", "Poller", "failure_backoff"]

log = logging.getLogger("jobbot.poll")
BACKOFF_CEILING = timedelta(hours=6)
# Sources fetched and handed to the workers ahead of the one being stored, per worker.
# Storing, matching and queueing one source keeps the bot's process busy while the others
# are parsed: with a short queue the workers run dry whenever that takes longer than usual
# (a big backlog, a busy machine). Each one waiting holds its body and postings in memory.
AHEAD_PER_WORKER = 6


def failure_backoff(interval_s: int, failures: int, retry_after: float | None) -> timedelta:
    """How long to wait after the n-th failure in a row: doubling, capped, or the source's hint."""
    if retry_after is not None and retry_after > 0:
        return min(timedelta(seconds=retry_after), BACKOFF_CEILING * 4)
    base = min(interval_s, 300)
    return min(timedelta(seconds=base * 2 ** max(0, failures - 1)), BACKOFF_CEILING)


@dataclass(frozen=True, slots=True)
class PollReport:
    """What one poll found."""

    source: str
    ok: bool
    not_modified: bool = False
    seen: int = 0
    new: int = 0
    duplicates: int = 0
    queued: int = 0
    error: str | None = None


@dataclass(frozen=True, slots=True)
class _Fetched:
    """A poll's first half: what the source answered, parsed and enriched, not yet stored."""

    source: SourceState
    now: datetime
    result: FetchResult
    postings: list[Posting]


class Poller:
    """Polls sources and queues alerts for the subscriptions that match new postings."""

    def __init__(
        self,
        store: Store,
        fetcher: Fetcher,
        clock: Callable[[], datetime],
        index: Callable[[], SubscriptionIndex],
        *,
        jitter: float = 0.1,
        pool: EnrichPool | None = None,
    ) -> None:
        self.store = store
        self.fetcher = fetcher
        self.clock = clock
        self.index = index
        self.jitter = jitter
        self.pool = pool or EnrichPool(1)

    def _next_poll(self, source: SourceState, now: datetime) -> datetime:
        spread = source.interval_s * self.jitter * random.random()
        return now + timedelta(seconds=source.interval_s + spread)

    async def poll(self, name: str) -> PollReport:
        """Poll one source by name; every failure is recorded, never raised."""
        fetched = await self._fetch(name)
        if isinstance(fetched, PollReport):
            return fetched
        # Storing runs in a thread: a big batch never holds up the event loop.
        return await asyncio.to_thread(self._store_or_fail, fetched)

    def _store_or_fail(self, fetched: _Fetched) -> PollReport:
        """Store a fetched poll; a failure while storing counts as the poll failing."""
        try:
            return self._store(fetched)
        except Exception as error:  # the edge: a locked database or a full disk, say
            log.exception("source %s: storing the poll failed", fetched.source.name)
            problem = f"storing failed: {type(error).__name__}: {error}"
            return self._failed(
                fetched.source, fetched.now, SourceError(fetched.source.name, problem)
            )

    async def poll_many(self, names: Sequence[str]) -> list[PollReport]:
        """Poll these sources once each, storing their postings in this order.

        In one process, one after another. With worker processes, the next few sources
        (``AHEAD_PER_WORKER`` per worker) are fetched, parsed and enriched while this
        one's postings are stored, matched and queued; the order of storing (which of two
        copies of a posting counts as the duplicate) stays the order given.
        """
        if not self.pool.parallel:
            return [await self.poll(name) for name in names]
        ahead: deque[asyncio.Task[_Fetched | PollReport]] = deque()
        waiting = iter(names)
        reports: list[PollReport] = []
        try:
            while True:
                while len(ahead) < AHEAD_PER_WORKER * self.pool.workers:
                    name = next(waiting, None)
                    if name is None:
                        break
                    ahead.append(asyncio.create_task(self._fetch(name), name=f"fetch:{name}"))
                if not ahead:
                    return reports
                fetched = await ahead.popleft()
                if not isinstance(fetched, PollReport):
                    fetched = await asyncio.to_thread(self._store_or_fail, fetched)
                reports.append(fetched)
        finally:
            for task in ahead:
                task.cancel()

    async def _fetch(self, name: str) -> _Fetched | PollReport:
        """Fetch, parse and enrich; a failure is recorded and comes back as its report."""
        source = await asyncio.to_thread(self.store.source, name)
        if source is None or not source.enabled:
            return PollReport(name, ok=False, error="no such source")
        now = self.clock()
        spec = SourceSpec(source.name, source.kind, source.url, source.interval_s, source.backfill)
        state = PollState(source.etag, source.last_modified)
        try:
            kind = kind_for(source.kind)
            if isinstance(kind, OneBodyKind):
                # One request: the body is parsed here or, when big, in a worker process.
                result, body = await kind.fetch_body(spec, state, self.fetcher)
                postings = (
                    [] if body is None else await self.pool.parse_and_enrich(kind, body, spec, now)
                )
            else:
                result = await kind.fetch(spec, state, self.fetcher)
                postings = await self.pool.enrich(result.records, spec, now)
        except (SourceError, KeyError) as error:
            return await asyncio.to_thread(self._failed, source, now, error)
        except Exception as error:  # the edge: a parser bug must not stop the other polls
            log.exception("source %s: unexpected error", name)
            return await asyncio.to_thread(self._failed, source, now, error)
        return _Fetched(source, now, result, postings)

    def _store(self, fetched: _Fetched) -> PollReport:
        """Store the postings, match them and queue their alerts, in one transaction."""
        source, now, result, postings = (
            fetched.source,
            fetched.now,
            fetched.result,
            fetched.postings,
        )
        name = source.name
        # A board that lists every open posting each poll: what it stops listing has closed.
        complete = bool(getattr(kind_for(source.kind), "lists_everything", False))
        if result.not_modified:
            if complete:
                # The same board as last time: what it left out then, it leaves out again.
                with self.store.transaction():
                    if closed := self.store.mark_unlisted(source.name, None, now):
                        self.store.flag_edits(closed)
            self._succeeded(source, now, result)
            log.info("source %s: not modified", name)
            return PollReport(name, ok=True, not_modified=True)
        first_poll = source.polls == 0
        # One transaction: a crash can never leave new postings stored but not queued
        # (they would then never be alerted), nor queued twice.
        with self.store.transaction():
            if first_poll and source.backfill:
                newest = sorted(
                    postings,
                    key=lambda p: p.posted_at.timestamp() if p.posted_at else 0.0,
                    reverse=True,
                )
                alerted = self.store.ingest(newest[: source.backfill], now, alert=True)
                quiet = self.store.ingest(newest[source.backfill :], now, alert=False)
                new, duplicates = alerted.new, alerted.duplicates + quiet.duplicates
                changed = [*alerted.changed, *quiet.changed]
            else:
                # A new source's first poll records its backlog without alerting anyone.
                outcome = self.store.ingest(postings, now, alert=not first_poll)
                new, duplicates = outcome.new, outcome.duplicates
                changed = list(outcome.changed)
            if complete and postings:
                # An empty answer is more likely a glitch of the board than every posting
                # closing at once: it closes nothing.
                listed = {p.external_id for p in postings}
                changed += self.store.mark_unlisted(source.name, listed, now)
            if changed:
                # Alerts already sent for these postings are edited to stay true.
                self.store.flag_edits(changed)
            index = self.index()
            pairs = [(sub, stored.id) for stored in new for sub in index.match(stored.posting)]
            # The batch names this poll: a burst is what one poll brings to one channel.
            batch = f"{name}@{now.isoformat()}#{source.polls + 1}"
            queued = self.store.enqueue(pairs, now, batch=batch)
            self._succeeded(source, now, result)
        log.info(
            "source %s: %d seen, %d new, %d duplicates, %d alerts queued%s",
            name,
            len(postings),
            len(new),
            duplicates,
            queued,
            " (first poll: recorded without alerts)" if first_poll and not source.backfill else "",
            extra={
                "fields": {
                    "event": "poll",
                    "source": name,
                    "ok": True,
                    "seen": len(postings),
                    "new": len(new),
                    "duplicates": duplicates,
                    "queued": queued,
                }
            },
        )
        return PollReport(
            name, ok=True, seen=len(postings), new=len(new), duplicates=duplicates, queued=queued
        )

    def _succeeded(self, source: SourceState, now: datetime, result: FetchResult) -> None:
        """Keep the validators for the next conditional request and schedule it."""
        self.store.record_poll_success(
            source.name,
            now,
            etag=result.etag,
            last_modified=result.last_modified,
            next_poll_at=self._next_poll(source, now),
        )

    def _failed(self, source: SourceState, now: datetime, error: Exception) -> PollReport:
        retry_after = error.retry_after if isinstance(error, SourceError) else None
        problem = error.problem if isinstance(error, SourceError) else str(error)
        delay = failure_backoff(source.interval_s, source.consecutive_failures + 1, retry_after)
        try:
            state = self.store.record_poll_failure(
                source.name, now, problem, next_poll_at=now + delay
            )
            failures = state.consecutive_failures if state else 0
        except Exception as store_error:  # the edge: the database may be what failed
            log.error(
                "source %s: could not record the failure (%s: %s)",
                source.name,
                type(store_error).__name__,
                store_error,
            )
            failures = source.consecutive_failures + 1
        log.warning(
            "source %s: poll failed (%d in a row), next try in %s: %s",
            source.name,
            failures,
            delay,
            problem,
            extra={"fields": {"event": "poll", "source": source.name, "ok": False}},
        )
        return PollReport(source.name, ok=False, error=problem)
