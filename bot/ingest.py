"""One poll of one source: fetch, parse, enrich, dedup, store, match, queue."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.errors import SourceError
from bot.postings.enrich import enrich
from bot.sources.base import Fetcher, FetchResult, PollState, SourceSpec, kind_for
from bot.store import SourceState, Store
from subscriptions.matcher import SubscriptionIndex

__all__ = ["PollReport", "Poller", "failure_backoff"]

log = logging.getLogger("jobbot.poll")
BACKOFF_CEILING = timedelta(hours=6)


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
    ) -> None:
        self.store = store
        self.fetcher = fetcher
        self.clock = clock
        self.index = index
        self.jitter = jitter

    def _next_poll(self, source: SourceState, now: datetime) -> datetime:
        spread = source.interval_s * self.jitter * random.random()
        return now + timedelta(seconds=source.interval_s + spread)

    async def poll(self, name: str) -> PollReport:
        """Poll one source by name; every failure is recorded, never raised."""
        source = self.store.source(name)
        if source is None or not source.enabled:
            return PollReport(name, ok=False, error="no such source")
        now = self.clock()
        spec = SourceSpec(source.name, source.kind, source.url, source.interval_s, source.backfill)
        try:
            kind = kind_for(source.kind)
            result = await kind.fetch(
                spec, PollState(source.etag, source.last_modified), self.fetcher
            )
        except (SourceError, KeyError) as error:
            return self._failed(source, now, error)
        except Exception as error:  # the edge: a parser bug must not stop the other polls
            log.exception("source %s: unexpected error", name)
            return self._failed(source, now, error)
        if result.not_modified:
            if getattr(kind, "lists_everything", False):
                # The same board as last time: what it left out then, it leaves out again.
                with self.store.transaction():
                    if closed := self.store.mark_unlisted(source.name, None, now):
                        self.store.flag_edits(closed)
            self._succeeded(source, now, result)
            log.info("source %s: not modified", name)
            return PollReport(name, ok=True, not_modified=True)
        postings = [enrich(record, now) for record in result.records]
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
            if getattr(kind, "lists_everything", False):
                # A board that lists every open posting: what it stops listing has closed.
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
        state = self.store.record_poll_failure(source.name, now, problem, next_poll_at=now + delay)
        failures = state.consecutive_failures if state else 0
        log.warning(
            "source %s: poll failed (%d in a row), next try in %s: %s",
            source.name,
            failures,
            delay,
            problem,
            extra={"fields": {"event": "poll", "source": source.name, "ok": False}},
        )
        return PollReport(source.name, ok=False, error=problem)
