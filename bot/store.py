"""The one place that speaks SQL: schema, migrations and every query jobbot makes.

SQLite through sqlite-utils, in WAL mode. Every state change that matters is a row,
so a restart loses nothing. The interface is kept narrow (plain values in, plain
values out) so that a PostgreSQL store could implement it beside this one.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from bot.postings.dedup import NEAR_DUPLICATE_WINDOW, company_key, is_near_duplicate, title_key
from bot.postings.model import Pay, Posting
from subscriptions.model import Filter, Schedule, Subscription

__all__ = [
    "SCHEMA_VERSION",
    "Delivery",
    "DeliveryKind",
    "PostingTrace",
    "IngestResult",
    "SourceState",
    "Store",
    "StoredPosting",
    "migrations",
    "shown_state",
]

log = logging.getLogger("jobbot.store")

DeliveryKind = Literal["instant", "digest"]
migrations = Migrations("jobbot")


def _ts(moment: datetime) -> str:
    """One fixed text form for times, so that SQL can compare them as strings."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


# ---------------------------------------------------------------- migrations
# Each migration is applied once, in order, inside a transaction; a database made by an
# older release is upgraded on open. Never edit a released migration: add a new one.


@migrations()
def m001_initial(db: Database) -> None:
    """Sources with poll state, postings, subscriptions and the delivery outbox."""
    db.table("sources").create(
        {
            "name": str,
            "kind": str,
            "url": str,
            "interval_s": int,
            "enabled": int,
            "backfill": int,
            "etag": str,
            "last_modified": str,
            "polls": int,
            "last_polled_at": str,
            "last_success_at": str,
            "last_error": str,
            "consecutive_failures": int,
            "next_poll_at": str,
            "added_at": str,
            "settings": str,
        },
        pk="name",
        not_null={"kind", "url", "interval_s"},
        defaults={"enabled": 1, "backfill": 0, "polls": 0, "consecutive_failures": 0},
    )
    db.table("postings").create(
        {
            "id": int,
            "source": str,
            "external_id": str,
            "url": str,
            "title": str,
            "company": str,
            "locations": str,
            "countries": str,
            "remote": int,
            "areas": str,
            "degree": str,
            "is_posting": int,
            "is_internship": int,
            "posted_at": str,
            "pay": str,
            "duration": str,
            "deadline": str,
            "description": str,
            "active": int,
            "first_seen_at": str,
            "last_seen_at": str,
            "duplicate_of": int,
            "alerted": int,
        },
        pk="id",
        not_null={"source", "external_id", "title"},
    )
    db.table("postings").create_index(["source", "external_id"], unique=True)
    db.table("postings").create_index(["url"])
    db.table("subscriptions").create(
        {
            "id": int,
            "platform": str,
            "workspace": str,
            "channel": str,
            "filter": str,
            "mode": str,
            "at": str,
            "tz": str,
            "weekday": str,
            "created_by": str,
            "created_at": str,
            "paused": int,
            "paused_reason": str,
            "paused_at": str,
            "last_digest_at": str,
        },
        pk="id",
        not_null={"platform", "channel", "filter", "mode"},
        defaults={"paused": 0},
    )
    db.table("subscriptions").create_index(["platform", "workspace", "channel"])
    db.table("deliveries").create(
        {
            "id": int,
            "subscription_id": int,
            "posting_id": int,
            "kind": str,
            "status": str,
            "attempts": int,
            "next_attempt_at": str,
            "lease_until": str,
            "error": str,
            "created_at": str,
            "sent_at": str,
            "message_ref": str,
        },
        pk="id",
        not_null={"subscription_id", "posting_id", "kind", "status"},
        defaults={"attempts": 0},
        foreign_keys=[("posting_id", "postings", "id")],
    )
    # The outbox promise: nobody is alerted twice for one posting, across restarts.
    db.table("deliveries").create_index(["subscription_id", "posting_id"], unique=True)
    db.table("deliveries").create_index(["status", "next_attempt_at"])


@migrations()
def m002_near_duplicate_keys(db: Database) -> None:
    """Index near-duplicate lookups (company + normalised title) instead of scanning."""
    db.table("postings").add_column("company_key", str)
    db.table("postings").add_column("title_key", str)
    rows = list(db.query("select id, company, title from postings"))
    for row in rows:
        db.execute(
            "update postings set company_key = ?, title_key = ? where id = ?",
            [company_key(row["company"] or ""), title_key(row["title"] or ""), row["id"]],
        )
    db.table("postings").create_index(["company_key", "title_key"])


@migrations()
def m003_delivery_recovery(db: Database) -> None:
    """Outbox recovery: who holds a lease, which poll queued a row, rows taken over."""
    # lease_owner: the worker (host:pid:token) that claimed a row, so that a restart can
    # take back the rows of a worker that died without waiting for its lease to run out.
    db.table("deliveries").add_column("lease_owner", str)
    # batch: the poll that queued the row; a burst is counted per poll and channel.
    db.table("deliveries").add_column("batch", str)
    # recovered: 1 when the row was claimed from an expired `sending` lease, so the worker
    # asks the platform whether the message already went before sending it again.
    db.table("deliveries").add_column("recovered", int)


@migrations()
def m004_alerts_that_stay_true(db: Database) -> None:
    """Mentions and reminders per subscription; edits, closures and source notices."""
    db.table("subscriptions").add_column("mention", str)
    db.table("subscriptions").add_column("remind_days", int)
    # shown: what a single alert showed when sent (closed? title, deadline), so a change
    # edits it once; null for grouped messages and digests, which are never edited.
    db.table("deliveries").add_column("shown", str)
    db.table("deliveries").add_column("edit_due", int)
    db.table("deliveries").add_column("edit_attempts", int)
    db.table("deliveries").create_index(["edit_due"])
    db.table("deliveries").create_index(["posting_id"])
    # missing_polls: full-board polls in a row that no longer listed the posting.
    db.table("postings").add_column("missing_polls", int)
    db.table("postings").add_column("closed_at", str)
    db.table("postings").create_index(["deadline"])
    # failing_since: when the current run of failed polls began (null when healthy).
    db.table("sources").add_column("failing_since", str)
    # A source already failing at the upgrade has failed since its last poll at least.
    db.execute("update sources set failing_since = last_polled_at where consecutive_failures > 0")
    db.table("reminders").create(
        {
            "subscription_id": int,
            "posting_id": int,
            "status": str,
            "created_at": str,
            "sent_at": str,
            "message_ref": str,
            "error": str,
        },
        pk=("subscription_id", "posting_id"),
    )
    db.table("source_notices").create(
        {
            "source": str,
            "platform": str,
            "workspace": str,
            "channel": str,
            "down_since": str,
            "notified_at": str,
        },
        pk=("source", "platform", "workspace", "channel"),
    )


@migrations()
def m005_edit_due_index_partial(db: Database) -> None:
    """Index only the deliveries waiting for an edit (``edit_due = 1``), a handful at a time.

    Every alert queued paid for an entry in the full index, though nearly every row's
    ``edit_due`` is null (never changed) or 0 (edited); the one query that reads it asks
    for ``edit_due = 1``, which the partial index answers.
    """
    db.execute("drop index if exists idx_deliveries_edit_due")
    db.execute("create index idx_deliveries_edit_due on deliveries (edit_due) where edit_due = 1")


SCHEMA_VERSION = 5
# WAL pages after which the writer checkpoints itself when a background thread should have
# (SQLite's default is 1000; see Store.checkpoint_in_background).
WAL_BACKSTOP_PAGES = 10_000


# ---------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class SourceState:
    """A configured source and where its polling stands."""

    name: str
    kind: str
    url: str
    interval_s: int
    enabled: bool = True
    backfill: int = 0
    etag: str | None = None
    last_modified: str | None = None
    polls: int = 0
    last_polled_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    next_poll_at: datetime | None = None
    settings: dict[str, Any] | None = None
    failing_since: datetime | None = None

    @property
    def healthy(self) -> bool:
        """False after repeated failures in a row."""
        return self.consecutive_failures < 3


@dataclass(frozen=True, slots=True)
class StoredPosting:
    """A posting with its row id and when jobbot first saw it."""

    id: int
    posting: Posting
    first_seen_at: datetime
    duplicate_of: int | None = None


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What one batch did: new postings (to match), updates and merged duplicates."""

    new: list[StoredPosting]
    updated: int
    duplicates: int
    seen: int
    # Stored postings whose title, deadline or open/closed state this batch changed.
    changed: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Delivery:
    """One outbox row joined with its subscription and posting."""

    id: int
    subscription: Subscription
    posting: StoredPosting
    kind: DeliveryKind
    status: str
    attempts: int
    batch: str | None = None
    recovered: bool = False
    sent_at: datetime | None = None
    message_ref: str | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None
    shown: str | None = None


@dataclass(frozen=True, slots=True)
class PostingTrace:
    """Everything jobbot recorded about one posting, for `/jobs why`.

    ``found`` is the row the question named; ``posting`` the one alerts are about (the
    same row, or the earlier posting ``found`` was merged into as a duplicate).
    ``alerted`` is False for a posting recorded silently at its source's first poll.
    ``copies`` are the rows merged into ``posting`` (the same job seen elsewhere).
    """

    found: StoredPosting
    posting: StoredPosting
    alerted: bool
    copies: tuple[StoredPosting, ...]
    deliveries: tuple[Delivery, ...]
    reminders: tuple[dict[str, Any], ...] = ()


def shown_state(posting: Posting) -> str:
    """What an alert shows that can change later: open or closed, the title, the deadline.

    Stored with each single alert when it is sent; when the posting's state differs from
    it, the alert is edited once (and the new state stored).
    """
    deadline = posting.deadline.date().isoformat() if posting.deadline else ""
    return json.dumps([posting.active, posting.title, deadline])


# ---------------------------------------------------------------- row mapping


def _posting_row(posting: Posting) -> dict[str, Any]:
    pay = posting.pay
    return {
        "source": posting.source,
        "external_id": posting.external_id,
        "url": posting.url,
        "title": posting.title,
        "company": posting.company,
        "locations": json.dumps(list(posting.locations)),
        "countries": json.dumps(list(posting.countries)),
        "remote": int(posting.remote),
        "areas": json.dumps(list(posting.areas)),
        "degree": posting.degree,
        "is_posting": int(posting.is_posting),
        "is_internship": int(posting.is_internship),
        "posted_at": _ts(posting.posted_at) if posting.posted_at else None,
        "pay": json.dumps([pay.min, pay.max, pay.currency, pay.period]) if pay else None,
        "duration": posting.duration,
        "deadline": _ts(posting.deadline) if posting.deadline else None,
        "description": posting.description,
        "active": int(posting.active),
        "company_key": company_key(posting.company),
        "title_key": title_key(posting.title),
    }


def _posting_from(row: dict[str, Any]) -> Posting:
    pay = json.loads(row["pay"]) if row["pay"] else None
    return Posting(
        source=row["source"],
        external_id=row["external_id"],
        url=row["url"] or "",
        title=row["title"],
        company=row["company"] or "",
        locations=tuple(json.loads(row["locations"] or "[]")),
        countries=tuple(json.loads(row["countries"] or "[]")),
        remote=bool(row["remote"]),
        areas=tuple(json.loads(row["areas"] or "[]")),
        degree=row["degree"] or "unknown",
        is_posting=bool(row["is_posting"]),
        is_internship=bool(row["is_internship"]),
        posted_at=_dt(row["posted_at"]),
        pay=Pay(pay[0], pay[1], pay[2], pay[3]) if pay else None,
        duration=row["duration"],
        deadline=_dt(row["deadline"]),
        description=row["description"] or "",
        active=bool(row["active"]) if row["active"] is not None else True,
    )


def _stored_from(row: dict[str, Any]) -> StoredPosting:
    first_seen = _dt(row["first_seen_at"]) or datetime.now(UTC)
    return StoredPosting(row["id"], _posting_from(row), first_seen, row["duplicate_of"])


_POSTING_COLUMNS = (
    "source",
    "external_id",
    "url",
    "title",
    "company",
    "locations",
    "countries",
    "remote",
    "areas",
    "degree",
    "is_posting",
    "is_internship",
    "posted_at",
    "pay",
    "duration",
    "deadline",
    "description",
    "active",
    "company_key",
    "title_key",
    "first_seen_at",
    "last_seen_at",
    "duplicate_of",
    "alerted",
)
_INSERT_POSTING = (
    f"insert into postings ({', '.join(_POSTING_COLUMNS)})"
    f" values ({', '.join('?' * len(_POSTING_COLUMNS))})"
)
# An edit rewrites what the source says and when it was seen, never identity or history.
_UPDATED_COLUMNS = (*_POSTING_COLUMNS[:20], "last_seen_at")
_UPDATE_POSTING = (
    f"update postings set {', '.join(f'{c} = ?' for c in _UPDATED_COLUMNS)} where id = ?"
)


def _row_state(active: int | None, title: str, deadline: str | None) -> str:
    """``shown_state`` from stored columns."""
    return json.dumps([active is None or bool(active), title, (deadline or "")[:10]])


def _update_params(row: dict[str, Any]) -> list[Any]:
    return [row[c] for c in _UPDATED_COLUMNS] + [row["id"]]


def _chunks(values: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    """Slices small enough for SQLite's limit on bound parameters."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _filter_to_json(filter_: Filter) -> str:
    return json.dumps(
        {
            "areas": sorted(filter_.areas),
            "countries": sorted(filter_.countries),
            "degrees": sorted(filter_.degrees),
            "keywords": list(filter_.keywords),
            "exclude": list(filter_.exclude),
            "companies": list(filter_.companies),
            "internship": filter_.internship,
            "remote": filter_.remote,
        }
    )


# Loading every subscription (the matcher index holds them all) repeats the same small
# values many times over: filters' value sets, schedules, platform and workspace names.
# Sharing one object per distinct value keeps 100,000 subscriptions well under 200 MB
# (benchmarks/, issue #8). The values are immutable, so sharing is invisible.
_SHARED: dict[Any, Any] = {}
_SHARED_LIMIT = 200_000


def _shared(value: Any) -> Any:
    if len(_SHARED) > _SHARED_LIMIT:
        _SHARED.clear()
    return _SHARED.setdefault(value, value)


def _shared_set(values: Iterable[str]) -> frozenset[str]:
    return _shared(frozenset(sys.intern(str(v)) for v in values))  # type: ignore[no-any-return]


@lru_cache(maxsize=65536)
def _filter_from_json(text: str) -> Filter:
    data = json.loads(text)
    return Filter(
        areas=_shared_set(data.get("areas", [])),
        countries=_shared_set(data.get("countries", [])),
        degrees=_shared_set(data.get("degrees", [])),
        keywords=_shared(tuple(data.get("keywords", []))),
        exclude=_shared(tuple(data.get("exclude", []))),
        companies=_shared(tuple(data.get("companies", []))),
        internship=data.get("internship", "yes"),
        remote=bool(data.get("remote", False)),
    )


@lru_cache(maxsize=4096)
def _schedule(
    mode: str, at: str, tz: str, weekday: str, mention: str, remind_days: int
) -> Schedule:
    return Schedule(
        mode=mode,  # type: ignore[arg-type]
        at=at,
        tz=tz,
        weekday=weekday,
        mention=mention,
        remind_days=remind_days,
    )


def _name(value: str | None) -> str:
    return sys.intern(value) if value else ""


def _subscription_from(row: dict[str, Any]) -> Subscription:
    return Subscription(
        id=row["id"],
        platform=_name(row["platform"]),
        workspace=_name(row["workspace"]),
        channel=_name(row["channel"]),
        filter=_filter_from_json(row["filter"]),
        schedule=_schedule(
            row["mode"],
            row["at"] or "09:00",
            row["tz"] or "UTC",
            row["weekday"] or "mon",
            row.get("mention") or "",
            row.get("remind_days") or 0,
        ),
        created_by=_name(row["created_by"]),
        created_at=_dt(row["created_at"]),
        paused=bool(row["paused"]),
        paused_reason=row["paused_reason"],
        paused_at=_dt(row["paused_at"]),
        last_digest_at=_dt(row["last_digest_at"]),
    )


def _source_from(row: dict[str, Any]) -> SourceState:
    return SourceState(
        name=row["name"],
        kind=row["kind"],
        url=row["url"],
        interval_s=row["interval_s"],
        enabled=bool(row["enabled"]),
        backfill=row["backfill"] or 0,
        etag=row["etag"],
        last_modified=row["last_modified"],
        polls=row["polls"] or 0,
        last_polled_at=_dt(row["last_polled_at"]),
        last_success_at=_dt(row["last_success_at"]),
        last_error=row["last_error"],
        consecutive_failures=row["consecutive_failures"] or 0,
        next_poll_at=_dt(row["next_poll_at"]),
        settings=json.loads(row["settings"]) if row["settings"] else None,
        failing_since=_dt(row.get("failing_since")),
    )


# ---------------------------------------------------------------- the store


class _Checkpointer:
    """Copies committed pages from the WAL into the database file, in a thread of its own.

    SQLite's automatic checkpoint runs inside the commit that crosses its threshold, so
    the writer (a poll storing its postings) waits for the copy and its fsync. A passive
    checkpoint from a second connection does the same work beside the writer instead; it
    never blocks it, and the writer's own checkpoint stays as a backstop.
    """

    INTERVAL_S = 0.05
    # With nothing new in the WAL (an idle bot), look again only this often.
    IDLE_INTERVAL_S = 1.0

    def __init__(self, path: str) -> None:
        # Opened here, not in the thread: a database it cannot open raises to the caller,
        # which then keeps the writer's own checkpoints as they were.
        self._conn = sqlite3.connect(path, check_same_thread=False)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="jobbot-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        interval, seen, failing = self.INTERVAL_S, -1, False
        try:
            while not self._stop.wait(interval):
                try:
                    row = self._conn.execute("pragma wal_checkpoint(passive)").fetchone()
                except sqlite3.Error as error:
                    if not failing:  # once per run of failures, not every 50 ms
                        log.warning(
                            "background checkpoint failed (the writer's own go on): %s", error
                        )
                    failing = True
                    continue
                failing = False
                # The WAL grew since the last look: the writer is busy, keep up with it.
                interval = self.INTERVAL_S if row[1] != seen else self.IDLE_INTERVAL_S
                seen = row[1]
        finally:
            self._conn.close()

    def stop(self) -> None:
        """End the thread (after its current checkpoint)."""
        self._stop.set()
        self._thread.join()


class Store:
    """All persistent state. Open one per process; it is not shared across threads."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._checkpointer: _Checkpointer | None = None
        self.db.execute("pragma foreign_keys = on")
        self.db.execute("pragma busy_timeout = 5000")
        migrations.apply(self.db)

    @classmethod
    def open(cls, path: Path) -> Store:
        """Open (creating and upgrading as needed) the database file at ``path``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        db = Database(path)
        db.enable_wal()
        # In WAL mode NORMAL never corrupts the database; it syncs at checkpoints rather
        # than on every commit, which is what lets delivery mark thousands of rows sent a
        # second (issue #8). A power cut may forget the last commits, never half of one.
        db.execute("pragma synchronous = normal")
        return cls(db)

    @classmethod
    def memory(cls) -> Store:
        """A throwaway in-memory store, for tests and `jobbot classify`."""
        return cls(Database(memory=True))

    def checkpoint_in_background(self) -> bool:
        """Checkpoint the WAL from a thread beside the writer (a long-running bot).

        The writer's automatic checkpoint is kept, with a higher threshold, in case the
        thread falls behind. False for a database that has no WAL (in memory).
        """
        if self._checkpointer is None:
            [(_, _, path)] = [
                row for row in self.db.execute("pragma database_list") if row[1] == "main"
            ]
            mode = self.db.execute("pragma journal_mode").fetchone()[0]
            if not path or mode != "wal":
                return False
            try:
                checkpointer = _Checkpointer(path)
            except sqlite3.Error as error:
                log.warning("no background checkpoints (the writer's own go on): %s", error)
                return False
            # The writer still checkpoints, later, should the thread fall behind.
            self.db.execute(f"pragma wal_autocheckpoint = {WAL_BACKSTOP_PAGES}")
            self._checkpointer = checkpointer
        return True

    def close(self) -> None:
        """Checkpoint and close the database."""
        checkpointer, self._checkpointer = self._checkpointer, None
        if checkpointer is not None:
            checkpointer.stop()
        try:
            self.db.execute("pragma wal_checkpoint(truncate)")
        except sqlite3.Error:
            pass
        self.db.close()

    def schema_version(self) -> int:
        """How many migrations this database has applied."""
        return len(migrations.applied(self.db))

    @contextmanager
    def _atomic(self) -> Iterator[None]:
        with self.db.atomic():
            yield

    # ------------------------------------------------------------ sources

    def upsert_source(
        self,
        name: str,
        kind: str,
        url: str,
        interval_s: int,
        *,
        backfill: int = 0,
        settings: dict[str, Any] | None = None,
        now: datetime,
    ) -> SourceState:
        """Add a source, or update the kind, URL and interval of one with this name."""
        existing = self.source(name)
        row = {
            "name": name,
            "kind": kind,
            "url": url,
            "interval_s": interval_s,
            "settings": json.dumps(settings) if settings else None,
        }
        if existing is None:
            row |= {
                "added_at": _ts(now),
                "backfill": backfill,
                "polls": 0,
                "enabled": 1,
                "consecutive_failures": 0,
            }
            self.db.table("sources").insert(row)
        else:
            if existing.url != url or existing.kind != kind:
                # A new address is a new feed: forget its validators.
                row |= {"etag": None, "last_modified": None}
            self.db.table("sources").update(name, row)
        result = self.source(name)
        assert result is not None
        return result

    def source(self, name: str) -> SourceState | None:
        """One source by name."""
        rows = list(self.db.query("select * from sources where name = ?", [name]))
        return _source_from(rows[0]) if rows else None

    def sources(self) -> list[SourceState]:
        """Every source, by name."""
        return [_source_from(r) for r in self.db.query("select * from sources order by name")]

    def remove_source(self, name: str) -> bool:
        """Forget a source (its postings stay). True when it existed."""
        with self._atomic():
            cursor = self.db.execute("delete from sources where name = ?", [name])
        return cursor.rowcount > 0

    def record_poll_success(
        self,
        name: str,
        now: datetime,
        *,
        etag: str | None,
        last_modified: str | None,
        next_poll_at: datetime,
    ) -> None:
        """A poll answered: keep validators, clear the error, count the poll."""
        with self._atomic():
            self.db.execute(
                "update sources set etag = ?, last_modified = ?, polls = polls + 1,"
                " last_polled_at = ?, last_success_at = ?, last_error = null,"
                " consecutive_failures = 0, failing_since = null, next_poll_at = ?, backfill = 0"
                " where name = ?",
                [etag, last_modified, _ts(now), _ts(now), _ts(next_poll_at), name],
            )

    def record_poll_failure(
        self, name: str, now: datetime, error: str, *, next_poll_at: datetime
    ) -> SourceState | None:
        """A poll failed: keep the error, count failures in a row, schedule the retry."""
        with self._atomic():
            self.db.execute(
                "update sources set last_polled_at = ?, last_error = ?,"
                " consecutive_failures = consecutive_failures + 1, next_poll_at = ?,"
                " failing_since = coalesce(failing_since, ?) where name = ?",
                [_ts(now), error[:500], _ts(next_poll_at), _ts(now), name],
            )
        return self.source(name)

    # ------------------------------------------------------------ postings

    def _find_duplicate(self, posting: Posting, now: datetime) -> int | None:
        if posting.url:
            rows = list(
                self.db.query(
                    "select coalesce(duplicate_of, id) as id from postings"
                    " where url = ? and source != ? limit 1",
                    [posting.url, posting.source],
                )
            )
            if rows:
                return int(rows[0]["id"])
        if not posting.company:
            return None
        since = _ts(now - NEAR_DUPLICATE_WINDOW)
        rows = list(
            self.db.query(
                "select * from postings where company_key = ? and title_key = ?"
                " and last_seen_at >= ? order by id limit 20",
                [company_key(posting.company), title_key(posting.title), since],
            )
        )
        for row in rows:
            seen = _dt(row["last_seen_at"]) or now
            if is_near_duplicate(posting, now, _posting_from(row), seen):
                return int(row["duplicate_of"] or row["id"])
        return None

    def ingest(self, postings: Sequence[Posting], now: datetime, *, alert: bool) -> IngestResult:
        """Store a batch from one poll; return the postings that are new to jobbot.

        Identity: the same (source, external id) is the same posting (an edit updates
        it and never re-alerts); a posting whose canonical URL or near-duplicate key
        matches a posting from elsewhere is stored as a duplicate of it, not as new.
        ``alert=False`` (a source's first poll) records everything as already known.

        The batch costs a fixed number of queries, not a few per posting: one lookup
        each for identities, URLs and near-duplicate keys (on their indexes), updates by
        ``executemany``, and one prepared insert per new posting. Postings earlier in the
        batch count for the ones after them, exactly as if they were stored one by one.
        """
        new: list[StoredPosting] = []
        changed: list[int] = []
        updated = duplicates = 0
        stamp = _ts(now)
        since = now - NEAR_DUPLICATE_WINDOW
        rows = [_posting_row(p) for p in postings]
        with self._atomic():
            known = self._identities({(p.source, p.external_id) for p in postings})
            by_url = self._by_url({p.url for p in postings if p.url})
            near = self._by_near_key(
                {
                    (r["company_key"], r["title_key"])
                    for p, r in zip(postings, rows, strict=True)
                    if p.company
                }
            )
            updates: list[dict[str, Any]] = []
            refreshed: set[int] = set()
            # Where each row known to this batch is filed: (near-duplicate key, URL).
            placed: dict[int, tuple[tuple[str, str] | None, str | None]] = {}
            for key, entries in near.items():
                for entry in entries:
                    placed[entry[0]] = (key, entry[2].url)
            for url, url_entries in by_url.items():
                for posting_id, _, _ in url_entries:
                    placed[posting_id] = (placed.get(posting_id, (None, None))[0], url)
            for posting, row in zip(postings, rows, strict=True):
                identity = known.get((posting.source, posting.external_id))
                if identity is not None:
                    row["last_seen_at"] = stamp
                    row["id"] = identity[0]
                    updates.append(row)
                    updated += 1
                    if shown_state(posting) != identity[2]:
                        changed.append(identity[0])
                    # The edited posting is what later postings of this batch compare with.
                    old_near, old_url = placed.get(identity[0], (None, None))
                    if old_near is not None and old_near in near:
                        near[old_near] = [e for e in near[old_near] if e[0] != identity[0]]
                    if old_url is not None and old_url in by_url:
                        by_url[old_url] = [e for e in by_url[old_url] if e[0] != identity[0]]
                    self._file_near(near, identity[0], identity[1], posting, now, row)
                    placed[identity[0]] = ((row["company_key"], row["title_key"]), posting.url)
                    if posting.url:
                        by_url.setdefault(posting.url, []).append(
                            (identity[0], posting.source, identity[1])
                        )
                        by_url[posting.url].sort()
                    continue
                duplicate_of = self._duplicate_in(posting, row, now, since, by_url, near)
                row |= {
                    "first_seen_at": stamp,
                    "last_seen_at": stamp,
                    "duplicate_of": duplicate_of,
                    "alerted": int(alert and duplicate_of is None),
                }
                cursor = self.db.conn.execute(_INSERT_POSTING, [row[c] for c in _POSTING_COLUMNS])
                posting_id = int(cursor.lastrowid or 0)
                known[(posting.source, posting.external_id)] = (
                    posting_id,
                    duplicate_of,
                    shown_state(posting),
                )
                if posting.url:
                    by_url.setdefault(posting.url, []).append(
                        (posting_id, posting.source, duplicate_of)
                    )
                self._file_near(near, posting_id, duplicate_of, posting, now, row)
                placed[posting_id] = ((row["company_key"], row["title_key"]), posting.url)
                if duplicate_of is not None:
                    duplicates += 1
                    refreshed.add(duplicate_of)
                    old_near, _ = placed.get(duplicate_of, (None, None))
                    for entry in near.get(old_near, []) if old_near is not None else []:
                        if entry[0] == duplicate_of:
                            entry[3] = now
                elif alert:
                    new.append(StoredPosting(posting_id, posting, now))
            if updates:
                self.db.conn.executemany(_UPDATE_POSTING, [_update_params(r) for r in updates])
                # Listed again: no longer missing (see mark_unlisted); closed_at follows active.
                self.db.conn.executemany(
                    "update postings set missing_polls = 0, closed_at = case when active = 1"
                    " then null else coalesce(closed_at, ?) end where id = ?",
                    [(stamp, r["id"]) for r in updates],
                )
            if refreshed:
                self.db.conn.executemany(
                    "update postings set last_seen_at = ? where id = ?",
                    [(stamp, posting_id) for posting_id in sorted(refreshed)],
                )
        return IngestResult(
            new=new,
            updated=updated,
            duplicates=duplicates,
            seen=len(postings),
            changed=tuple(dict.fromkeys(changed)),
        )

    def mark_unlisted(self, source: str, listed: Iterable[str] | None, now: datetime) -> list[int]:
        """After a complete listing of a board: close what it left out twice in a row.

        For sources that list every open posting each poll (ATS boards), a posting that
        is missing from two consecutive polls has closed; one miss may be a glitch of the
        board. ``listed`` None means "unchanged since the last poll" (a 304): what was
        missing then is missing again. Returns the ids of postings closed by this poll.
        """
        listed_ids = set(listed) if listed is not None else None
        stamp = _ts(now)
        closed: list[int] = []
        misses: list[tuple[int, int]] = []
        rows = self.db.execute(
            "select id, external_id, coalesce(missing_polls, 0) from postings"
            " where source = ? and active = 1",
            [source],
        ).fetchall()
        for posting_id, external_id, missing in rows:
            if external_id in listed_ids if listed_ids is not None else missing == 0:
                continue
            misses.append((missing + 1, posting_id))
            if missing + 1 >= 2:
                closed.append(posting_id)
        with self._atomic():
            self.db.conn.executemany("update postings set missing_polls = ? where id = ?", misses)
            self.db.conn.executemany(
                "update postings set active = 0, closed_at = ? where id = ?",
                [(stamp, posting_id) for posting_id in closed],
            )
        return closed

    def _identities(
        self, keys: set[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[int, int | None, str]]:
        """(source, external id) → (row id, duplicate_of, shown state) for stored keys."""
        found: dict[tuple[str, str], tuple[int, int | None, str]] = {}
        by_source: dict[str, list[str]] = {}
        for source, external_id in keys:
            by_source.setdefault(source, []).append(external_id)
        for source, ids in by_source.items():
            for chunk in _chunks(sorted(ids)):
                marks = ",".join("?" * len(chunk))
                for row in self.db.execute(
                    "select id, external_id, duplicate_of, active, title, deadline from postings"
                    f" where source = ? and external_id in ({marks})",
                    [source, *chunk],
                ):
                    state = _row_state(row[3], row[4], row[5])
                    found[(source, row[1])] = (int(row[0]), row[2], state)
        return found

    def _by_url(self, urls: set[str]) -> dict[str, list[tuple[int, str, int | None]]]:
        """Canonical URL → stored (id, source, duplicate_of), by id."""
        found: dict[str, list[tuple[int, str, int | None]]] = {}
        for chunk in _chunks(sorted(urls)):
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute(
                f"select id, url, source, duplicate_of from postings where url in ({marks})"
                " order by id",
                chunk,
            ):
                found.setdefault(row[1], []).append((int(row[0]), row[2], row[3]))
        return found

    def _by_near_key(self, keys: set[tuple[str, str]]) -> dict[tuple[str, str], list[list[Any]]]:
        """(company key, title key) → stored [id, duplicate_of, posting, last seen], by id."""
        found: dict[tuple[str, str], list[list[Any]]] = {}
        for chunk in _chunks(sorted(keys), 400):
            pairs = ",".join("(?, ?)" for _ in chunk)
            params = [value for pair in chunk for value in pair]
            # A join on the list of keys, not "(company_key, title_key) in (values ...)":
            # SQLite answers that form by scanning every posting; the join searches the
            # index once per key.
            for row in self.db.query(
                f"select p.* from (values {pairs}) as k join postings p"
                " on p.company_key = k.column1 and p.title_key = k.column2 order by p.id",
                params,
            ):
                key = (row["company_key"], row["title_key"])
                seen = _dt(row["last_seen_at"])
                found.setdefault(key, []).append(
                    [row["id"], row["duplicate_of"], _posting_from(row), seen]
                )
        return found

    @staticmethod
    def _file_near(
        near: dict[tuple[str, str], list[list[Any]]],
        posting_id: int,
        duplicate_of: int | None,
        posting: Posting,
        now: datetime,
        row: dict[str, Any],
    ) -> None:
        """Make a row written in this batch visible to the near-duplicate checks after it."""
        entries = near.setdefault((row["company_key"], row["title_key"]), [])
        entries.append([posting_id, duplicate_of, posting, now])
        entries.sort(key=lambda e: int(e[0]))

    @staticmethod
    def _duplicate_in(
        posting: Posting,
        row: dict[str, Any],
        now: datetime,
        since: datetime,
        by_url: dict[str, list[tuple[int, str, int | None]]],
        near: dict[tuple[str, str], list[list[Any]]],
    ) -> int | None:
        """The posting this one duplicates (same URL elsewhere, or a near-duplicate), if any."""
        if posting.url:
            for posting_id, source, duplicate_of in by_url.get(posting.url, []):
                if source != posting.source:
                    return duplicate_of or posting_id
        if not posting.company:
            return None
        candidates = [
            e
            for e in near.get((row["company_key"], row["title_key"]), [])
            if e[3] is None or e[3] >= since
        ]
        for posting_id, duplicate_of, old, seen in candidates[:20]:
            if is_near_duplicate(posting, now, old, seen or now):
                return int(duplicate_of or posting_id)
        return None

    def posting(self, posting_id: int) -> StoredPosting | None:
        """One stored posting by row id."""
        rows = list(self.db.query("select * from postings where id = ?", [posting_id]))
        return _stored_from(rows[0]) if rows else None

    def recent_postings(self, limit: int = 500) -> list[StoredPosting]:
        """The newest distinct postings (duplicates left out), newest first."""
        rows = self.db.query(
            "select * from postings where duplicate_of is null"
            " order by coalesce(posted_at, first_seen_at) desc, id desc limit ?",
            [limit],
        )
        return [_stored_from(r) for r in rows]

    def trace(self, posting_id: int | None = None, url: str | None = None) -> PostingTrace | None:
        """What happened to one posting, found by row id or by (canonical) URL."""
        if posting_id is not None:
            rows = list(self.db.query("select * from postings where id = ?", [posting_id]))
        else:
            rows = list(
                self.db.query(
                    "select * from postings where url = ? order by duplicate_of is not null, id",
                    [url or ""],
                )
            )
        if not rows:
            return None
        found = rows[0]
        root_id = found["duplicate_of"] or found["id"]
        root = found
        if root_id != found["id"]:
            root = next(iter(self.db.query("select * from postings where id = ?", [root_id])))
        copies = self.db.query(
            "select * from postings where duplicate_of = ? order by id", [root_id]
        )
        return PostingTrace(
            found=_stored_from(found),
            posting=_stored_from(root),
            alerted=bool(root["alerted"]),
            copies=tuple(_stored_from(r) for r in copies),
            deliveries=tuple(self._deliveries("d.posting_id = ? order by d.id", [root_id])),
            reminders=tuple(
                self.db.query("select * from reminders where posting_id = ?", [root_id])
            ),
        )

    def alerted_postings_since(self, since: datetime, limit: int = 1000) -> list[StoredPosting]:
        """Postings first seen after ``since`` that were new enough to alert, newest first.

        Leaves out duplicates and the silently recorded backlog of a source's first poll:
        what a catch-up owes is what instant alerts would have carried.
        """
        rows = self.db.query(
            "select * from postings where duplicate_of is null and alerted = 1"
            " and first_seen_at > ? order by first_seen_at desc, id desc limit ?",
            [_ts(since), limit],
        )
        return [_stored_from(r) for r in rows]

    def duplicates_since(self, since: datetime, limit: int = 10_000) -> list[StoredPosting]:
        """Postings first seen at or after ``since`` that were merged into an earlier one."""
        rows = self.db.query(
            "select * from postings where duplicate_of is not null and first_seen_at >= ?"
            " order by id limit ?",
            [_ts(since), limit],
        )
        return [_stored_from(r) for r in rows]

    def subscriptions_signature(self) -> tuple[int, int, int]:
        """Changes whenever a subscription is added, removed, paused or resumed."""
        row = self.db.execute(
            "select count(*), coalesce(max(id), 0), coalesce(sum(paused * id), 0)"
            " from subscriptions"
        ).fetchone()
        return (int(row[0]), int(row[1]), int(row[2]))

    def counts(self) -> dict[str, int]:
        """Row counts for the summary lines."""
        one = self.db.execute
        return {
            "postings": one("select count(*) from postings").fetchone()[0],
            "distinct_postings": one(
                "select count(*) from postings where duplicate_of is null"
            ).fetchone()[0],
            "subscriptions": one("select count(*) from subscriptions").fetchone()[0],
            "sources": one("select count(*) from sources").fetchone()[0],
            "sent": one("select count(*) from deliveries where status = 'sent'").fetchone()[0],
            "pending": one(
                "select count(*) from deliveries where status in ('pending', 'retry', 'sending')"
            ).fetchone()[0],
        }

    # ------------------------------------------------------------ subscriptions

    def add_subscription(
        self,
        *,
        platform: str,
        workspace: str,
        channel: str,
        filter: Filter,
        schedule: Schedule,
        created_by: str,
        now: datetime,
    ) -> Subscription:
        """Save a new subscription; digests count from now."""
        with self._atomic():
            sub_id = (
                self.db.table("subscriptions")
                .insert(
                    {
                        "platform": platform,
                        "workspace": workspace,
                        "channel": channel,
                        "filter": _filter_to_json(filter),
                        "mode": schedule.mode,
                        "at": schedule.at,
                        "tz": schedule.tz,
                        "weekday": schedule.weekday,
                        "mention": schedule.mention,
                        "remind_days": schedule.remind_days,
                        "created_by": created_by,
                        "created_at": _ts(now),
                        "paused": 0,
                        "last_digest_at": _ts(now),
                    }
                )
                .last_pk
            )
        assert sub_id is not None
        sub = self.subscription(int(sub_id))
        assert sub is not None
        return sub

    def subscription(self, sub_id: int) -> Subscription | None:
        """One subscription by id."""
        rows = list(self.db.query("select * from subscriptions where id = ?", [sub_id]))
        return _subscription_from(rows[0]) if rows else None

    def subscriptions(
        self,
        *,
        platform: str | None = None,
        workspace: str | None = None,
        channel: str | None = None,
    ) -> list[Subscription]:
        """Subscriptions, optionally those of one platform, workspace or channel, by id."""
        clauses, params = [], []
        for column, value in (
            ("platform", platform),
            ("workspace", workspace),
            ("channel", channel),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        where = f" where {' and '.join(clauses)}" if clauses else ""
        rows = self.db.query(f"select * from subscriptions{where} order by id", params)
        return [_subscription_from(r) for r in rows]

    def remove_subscription(self, sub_id: int) -> bool:
        """Delete a subscription and its undelivered outbox rows."""
        with self._atomic():
            self.db.execute("delete from deliveries where subscription_id = ?", [sub_id])
            cursor = self.db.execute("delete from subscriptions where id = ?", [sub_id])
        return cursor.rowcount > 0

    def set_paused(
        self, sub_id: int, paused: bool, reason: str | None = None, *, now: datetime
    ) -> None:
        """Pause (with a reason shown in /jobs list) or resume a subscription."""
        with self._atomic():
            self.db.execute(
                "update subscriptions set paused = ?, paused_reason = ?, paused_at = ?"
                " where id = ?",
                [int(paused), reason if paused else None, _ts(now) if paused else None, sub_id],
            )

    def pause_target(
        self, platform: str, workspace: str, channel: str, reason: str, *, now: datetime
    ) -> list[int]:
        """Pause every active subscription of one channel; return their ids."""
        with self._atomic():
            ids = [
                r["id"]
                for r in self.db.query(
                    "select id from subscriptions where platform = ? and workspace = ?"
                    " and channel = ? and paused = 0",
                    [platform, workspace, channel],
                )
            ]
            self.db.execute(
                "update subscriptions set paused = 1, paused_reason = ?, paused_at = ?"
                " where platform = ? and workspace = ? and channel = ? and paused = 0",
                [reason, _ts(now), platform, workspace, channel],
            )
        return ids

    def set_last_digest(self, sub_id: int, at: datetime) -> None:
        """Record when a subscription's digest last went out."""
        with self._atomic():
            self.db.execute(
                "update subscriptions set last_digest_at = ? where id = ?", [_ts(at), sub_id]
            )

    # ------------------------------------------------------------ outbox

    def enqueue(
        self,
        items: Iterable[tuple[Subscription, int]],
        now: datetime,
        *,
        kind: DeliveryKind | None = None,
        batch: str | None = None,
    ) -> int:
        """Queue (subscription, posting id) pairs; pairs already queued are ignored.

        The kind follows each subscription's mode unless given (a catch-up is a digest).
        ``batch`` names the poll that found them, so that bursts are counted per poll.
        """
        stamp = _ts(now)
        rows = [
            (
                sub.id,
                posting_id,
                kind or ("instant" if sub.schedule.mode == "instant" else "digest"),
                "pending",
                stamp,
                stamp,
                batch,
            )
            for sub, posting_id in items
        ]
        if not rows:
            return 0
        with self._atomic():
            before = self.db.execute("select total_changes()").fetchone()[0]
            self.db.conn.executemany(
                "insert or ignore into deliveries (subscription_id, posting_id, kind, status,"
                " next_attempt_at, created_at, batch) values (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            after = self.db.execute("select total_changes()").fetchone()[0]
        return int(after - before)

    def _deliveries(self, where: str, params: Sequence[Any]) -> list[Delivery]:
        rows = self.db.query(
            "select d.id as d_id, d.kind as d_kind, d.status as d_status,"
            " d.attempts as d_attempts, d.batch as d_batch, d.recovered as d_recovered,"
            " d.sent_at as d_sent_at, d.message_ref as d_message_ref, d.error as d_error,"
            " d.next_attempt_at as d_next_attempt_at, d.shown as d_shown,"
            " s.*, p.* , p.id as p_id, s.id as s_id"
            " from deliveries d join subscriptions s on s.id = d.subscription_id"
            f" join postings p on p.id = d.posting_id where {where}",
            params,
        )
        result = []
        for row in rows:
            sub_row = {
                k: row[k]
                for k in (
                    "platform",
                    "workspace",
                    "channel",
                    "filter",
                    "mode",
                    "at",
                    "tz",
                    "weekday",
                    "mention",
                    "remind_days",
                    "created_by",
                    "created_at",
                    "paused",
                    "paused_reason",
                    "paused_at",
                    "last_digest_at",
                )
            }
            sub_row["id"] = row["s_id"]
            post_row = dict(row)
            post_row["id"] = row["p_id"]
            result.append(
                Delivery(
                    id=row["d_id"],
                    subscription=_subscription_from(sub_row),
                    posting=_stored_from(post_row),
                    kind=row["d_kind"],
                    status=row["d_status"],
                    attempts=row["d_attempts"],
                    batch=row["d_batch"],
                    recovered=bool(row["d_recovered"]),
                    sent_at=_dt(row["d_sent_at"]),
                    message_ref=row["d_message_ref"],
                    error=row["d_error"],
                    next_attempt_at=_dt(row["d_next_attempt_at"]),
                    shown=row["d_shown"],
                )
            )
        return result

    def claim(
        self, now: datetime, *, limit: int = 100, lease: timedelta, owner: str = ""
    ) -> list[Delivery]:
        """Take due instant deliveries for sending, under a lease that expires if we crash.

        Atomic across processes: the claim runs under ``BEGIN IMMEDIATE`` (one writer at a
        time) and its UPDATE re-checks each row's status, so two workers on one database
        never take the same row. A row taken over from an expired lease is flagged
        ``recovered``: its message may already have gone out.
        """
        conn = self.db.conn
        if conn.in_transaction:
            # Inside a caller's transaction (which already holds what it holds): nest.
            with self._atomic():
                ids = self._claim_ids(now, limit, lease, owner)
        else:
            conn.execute("BEGIN IMMEDIATE")
            try:
                ids = self._claim_ids(now, limit, lease, owner)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        return self._deliveries(
            f"d.id in ({marks}) and d.status = 'sending' and d.lease_owner = ? order by d.id",
            [*ids, owner],
        )

    def _claim_ids(self, now: datetime, limit: int, lease: timedelta, owner: str) -> list[int]:
        stamp = _ts(now)
        due = (
            "((status in ('pending', 'retry') and next_attempt_at <= ?)"
            " or (status = 'sending' and lease_until <= ?))"
        )
        conn = self.db.conn
        ids = [
            int(r[0])
            for r in conn.execute(
                "select d.id from deliveries d join subscriptions s on s.id = d.subscription_id"
                " where d.kind = 'instant' and s.paused = 0 and ("
                " (d.status in ('pending', 'retry') and d.next_attempt_at <= ?)"
                " or (d.status = 'sending' and d.lease_until <= ?))"
                " order by d.id limit ?",
                [stamp, stamp, limit],
            )
        ]
        if ids:
            marks = ",".join("?" * len(ids))
            # SET expressions read the old row. A row that was in flight (a crash) or whose
            # last try failed (a timeout may hide a success) may have gone out already.
            conn.execute(
                "update deliveries set recovered = (status in ('sending', 'retry')),"
                " status = 'sending', lease_until = ?, lease_owner = ?,"
                f" attempts = attempts + 1 where id in ({marks}) and {due}",
                [_ts(now + lease), owner, *ids, stamp, stamp],
            )
        return ids

    def lease_owners(self) -> list[str]:
        """Workers holding rows in ``sending`` (to find those of a worker that died)."""
        return [
            r["lease_owner"]
            for r in self.db.query(
                "select distinct lease_owner from deliveries"
                " where status = 'sending' and lease_owner is not null"
            )
        ]

    def expire_leases(self, owner: str, now: datetime) -> int:
        """End the leases of a worker known to be dead, so its rows are recovered now."""
        with self._atomic():
            cursor = self.db.execute(
                "update deliveries set lease_until = ? where status = 'sending'"
                " and lease_owner = ?",
                [_ts(now), owner],
            )
        return cursor.rowcount

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group several store calls into one transaction (a poll's postings and alerts)."""
        with self._atomic():
            yield

    def pending_digest(self, sub_id: int) -> list[Delivery]:
        """Deliveries waiting for this subscription's next digest, newest posting first."""
        return self._deliveries(
            "d.subscription_id = ? and d.kind = 'digest' and d.status in ('pending', 'retry')"
            " order by coalesce(p.posted_at, p.first_seen_at) desc, p.id desc",
            [sub_id],
        )

    def claim_digest(
        self, sub_id: int, now: datetime, *, lease: timedelta, owner: str
    ) -> list[Delivery]:
        """Take a subscription's waiting digest rows for sending, newest posting first.

        Like ``claim``: atomic across processes, and rows taken over from an expired
        lease (or a failed try) are flagged ``recovered``.
        """
        stamp = _ts(now)
        with self._atomic():
            self.db.execute(
                "update deliveries set recovered = (status in ('sending', 'retry')),"
                " status = 'sending', lease_until = ?, lease_owner = ?, attempts = attempts + 1"
                " where subscription_id = ? and kind = 'digest' and (status in ('pending', 'retry')"
                " or (status = 'sending' and lease_until <= ?))",
                [_ts(now + lease), owner, sub_id, stamp],
            )
        return self._deliveries(
            "d.subscription_id = ? and d.kind = 'digest' and d.status = 'sending'"
            " and d.lease_owner = ?"
            " order by coalesce(p.posted_at, p.first_seen_at) desc, p.id desc",
            [sub_id, owner],
        )

    def digest_retry_waiting(self, now: datetime) -> list[int]:
        """Subscriptions whose last digest failed for now and whose retry time is still ahead."""
        return [
            r["subscription_id"]
            for r in self.db.query(
                "select distinct subscription_id from deliveries where kind = 'digest'"
                " and status = 'retry' and next_attempt_at > ? order by subscription_id",
                [_ts(now)],
            )
        ]

    def mark_sent(
        self,
        ids: Sequence[int],
        now: datetime,
        message_ref: str | None = None,
        *,
        shown: str | None = None,
    ) -> None:
        """Deliveries that reached their channel.

        ``shown`` (``shown_state`` of the posting) is given for a single alert, which can
        be edited later; grouped messages and digests leave it empty.
        """
        if not ids:
            return
        marks = ",".join("?" * len(ids))
        with self._atomic():
            self.db.execute(
                f"update deliveries set status = 'sent', sent_at = ?, message_ref = ?,"
                f" shown = ?, lease_until = null, error = null where id in ({marks})",
                [_ts(now), message_ref, shown, *ids],
            )
            if shown is not None:
                # The posting may have changed while the alert was on its way.
                self._flag_if_stale(ids)

    def _flag_if_stale(self, ids: Sequence[int]) -> None:
        """Flag for an edit the sent alerts whose shown state is no longer the posting's."""
        marks = ",".join("?" * len(ids))
        stale = [
            (row[0],)
            for row in self.db.execute(
                "select d.id, d.shown, p.active, p.title, p.deadline from deliveries d"
                f" join postings p on p.id = d.posting_id where d.id in ({marks})"
                " and d.shown is not null",
                list(ids),
            )
            if row[1] != _row_state(row[2], row[3], row[4])
        ]
        self.db.conn.executemany("update deliveries set edit_due = 1 where id = ?", stale)

    # ------------------------------------------------------------ edits

    def flag_edits(self, posting_ids: Sequence[int]) -> int:
        """Ask for the single alerts sent for these postings to be edited (they changed).

        A merged copy that changed stands for the posting it was merged into, which is
        what alerts are about.
        """
        flagged = 0
        with self._atomic():
            for chunk in _chunks(list(posting_ids)):
                marks = ",".join("?" * len(chunk))
                flagged += self.db.execute(
                    "update deliveries set edit_due = 1, edit_attempts = 0 where posting_id in"
                    f" (select coalesce(duplicate_of, id) from postings where id in ({marks}))"
                    " and status = 'sent' and shown is not null and message_ref is not null",
                    list(chunk),
                ).rowcount
        return flagged

    def due_edits(self, limit: int = 100) -> list[Delivery]:
        """Sent alerts waiting to be edited, fewest failed tries first, then oldest."""
        return self._deliveries(
            "d.edit_due = 1 order by coalesce(d.edit_attempts, 0), d.id limit ?", [limit]
        )

    def edit_done(self, delivery_id: int, shown: str | None) -> None:
        """The alert now shows ``shown`` (or was left alone because it already did).

        If the posting changed again while the edit was on its way, it stays due.
        """
        with self._atomic():
            self.db.execute(
                "update deliveries set edit_due = 0, shown = coalesce(?, shown) where id = ?",
                [shown, delivery_id],
            )
            self._flag_if_stale([delivery_id])

    def edit_failed(self, delivery_id: int, error: str, *, give_up: bool, tries: int) -> None:
        """An edit did not go through: try again on a later pass, or never.

        Never when ``give_up`` (the message is gone) or after ``tries`` failed tries.
        """
        with self._atomic():
            self.db.execute(
                "update deliveries set edit_due = case when ? or coalesce(edit_attempts, 0) + 1"
                " >= ? then 0 else 1 end, error = ?,"
                " edit_attempts = coalesce(edit_attempts, 0) + 1 where id = ?",
                [int(give_up), tries, f"edit: {error}"[:500], delivery_id],
            )

    # ------------------------------------------------------------ reminders

    def reminder_candidates(self, now: datetime, horizon: timedelta) -> list[Delivery]:
        """Sent alerts of open postings whose deadline is ahead (within ``horizon``), for
        subscriptions that asked for reminders and have not had one for that posting."""
        return self._deliveries(
            "d.status = 'sent' and s.remind_days > 0 and s.paused = 0 and p.active = 1"
            " and p.deadline > ? and p.deadline <= ? and not exists (select 1 from reminders r"
            " where r.subscription_id = d.subscription_id and r.posting_id = d.posting_id"
            " and r.status != 'retry') order by p.deadline, d.id",
            [_ts(now), _ts(now + horizon)],
        )

    def claim_reminder(self, sub_id: int, posting_id: int, now: datetime) -> bool:
        """Take the one reminder of (subscription, posting); False if it is already taken."""
        with self._atomic():
            cursor = self.db.execute(
                "insert into reminders (subscription_id, posting_id, status, created_at)"
                " values (?, ?, 'sending', ?) on conflict (subscription_id, posting_id)"
                " do update set status = 'sending' where status = 'retry'",
                [sub_id, posting_id, _ts(now)],
            )
        return cursor.rowcount > 0

    def finish_reminder(
        self,
        sub_id: int,
        posting_id: int,
        status: Literal["sent", "retry", "failed", "skipped"],
        *,
        now: datetime,
        message_ref: str | None = None,
        error: str | None = None,
    ) -> None:
        """Record how a claimed reminder ended (``retry``: the next pass tries again)."""
        with self._atomic():
            self.db.execute(
                "update reminders set status = ?, sent_at = ?, message_ref = ?, error = ?"
                " where subscription_id = ? and posting_id = ?",
                [
                    status,
                    _ts(now) if status == "sent" else None,
                    message_ref,
                    error[:500] if error else None,
                    sub_id,
                    posting_id,
                ],
            )

    def reminders(self) -> list[dict[str, Any]]:
        """Every reminder row (for tests and `jobbot why`)."""
        return list(self.db.query("select * from reminders order by subscription_id, posting_id"))

    # ------------------------------------------------------------ source notices

    def source_postings(self, source: str, limit: int = 500) -> list[StoredPosting]:
        """A source's newest distinct postings (to see which channels rely on it)."""
        rows = self.db.query(
            "select * from postings where source = ? and duplicate_of is null"
            " order by id desc limit ?",
            [source, limit],
        )
        return [_stored_from(r) for r in rows]

    def notices(self, source: str) -> list[tuple[str, str, str]]:
        """The channels (platform, workspace, channel) told that ``source`` is down."""
        return [
            (r["platform"], r["workspace"], r["channel"])
            for r in self.db.query(
                "select * from source_notices where source = ? order by platform, channel",
                [source],
            )
        ]

    def notice_sources(self) -> list[str]:
        """Sources some channel was told are down."""
        return [r["source"] for r in self.db.query("select distinct source from source_notices")]

    def add_notice(
        self, source: str, target: tuple[str, str, str], down_since: datetime, now: datetime
    ) -> None:
        """Remember that ``target`` was told ``source`` is down (so it is told once)."""
        with self._atomic():
            self.db.execute(
                "insert or replace into source_notices"
                " (source, platform, workspace, channel, down_since, notified_at)"
                " values (?, ?, ?, ?, ?, ?)",
                [source, *target, _ts(down_since), _ts(now)],
            )

    def notice_down_since(self, source: str, target: tuple[str, str, str]) -> datetime | None:
        """When the outage began that ``target`` was told about."""
        row = self.db.execute(
            "select down_since from source_notices where source = ? and platform = ?"
            " and workspace = ? and channel = ?",
            [source, *target],
        ).fetchone()
        return _dt(row[0]) if row else None

    def drop_notice(self, source: str, target: tuple[str, str, str]) -> None:
        """Forget a notice (the recovery was told, or the channel is gone)."""
        with self._atomic():
            self.db.execute(
                "delete from source_notices where source = ? and platform = ?"
                " and workspace = ? and channel = ?",
                [source, *target],
            )

    def mark_retry(self, ids: Sequence[int], next_attempt_at: datetime, error: str) -> None:
        """Deliveries that failed for now; tried again at ``next_attempt_at``."""
        if not ids:
            return
        marks = ",".join("?" * len(ids))
        with self._atomic():
            self.db.execute(
                f"update deliveries set status = 'retry', next_attempt_at = ?, error = ?,"
                f" lease_until = null where id in ({marks})",
                [_ts(next_attempt_at), error[:500], *ids],
            )

    def mark_failed(self, ids: Sequence[int], reason: str) -> None:
        """Deliveries that will never go (the channel is gone, the bot lost access)."""
        if not ids:
            return
        marks = ",".join("?" * len(ids))
        with self._atomic():
            self.db.execute(
                f"update deliveries set status = 'failed', error = ?, lease_until = null"
                f" where id in ({marks})",
                [reason[:500], *ids],
            )

    def delivery_statuses(self) -> dict[str, int]:
        """How many outbox rows are in each status."""
        return {
            r["status"]: r["n"]
            for r in self.db.query("select status, count(*) as n from deliveries group by status")
        }

    def sent_pairs(self) -> list[tuple[int, int]]:
        """Every (subscription, posting) that was delivered."""
        return [
            (r["subscription_id"], r["posting_id"])
            for r in self.db.query(
                "select subscription_id, posting_id from deliveries where status = 'sent'"
            )
        ]
