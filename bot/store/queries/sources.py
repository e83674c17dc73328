"""Sources and their poll state."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any

from bot.store.dialect import SqlBase, marks
from bot.store.records import SourceState
from bot.store.rows import _source_from, _ts


class SourceQueries(SqlBase):
    """Sources: configuration, validators, failures and when each is due."""

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
        encoded = json.dumps(settings) if settings else None
        with self._atomic():
            # A new address is a new feed: forget its validators.
            self._execute(
                "insert into sources (name, kind, url, interval_s, settings, added_at, backfill,"
                " polls, enabled, consecutive_failures) values (?, ?, ?, ?, ?, ?, ?, 0, 1, 0)"
                " on conflict (name) do update set"
                " etag = case when sources.url = excluded.url and sources.kind = excluded.kind"
                " then sources.etag end,"
                " last_modified = case when sources.url = excluded.url"
                " and sources.kind = excluded.kind then sources.last_modified end,"
                " kind = excluded.kind, url = excluded.url, interval_s = excluded.interval_s,"
                " settings = excluded.settings",
                [name, kind, url, interval_s, encoded, _ts(now), backfill],
            )
            result = self.source(name)
        assert result is not None
        return result

    def claim_due_sources(
        self, now: datetime, *, lease: timedelta, skip: Collection[str] = ()
    ) -> list[SourceState]:
        """Take the enabled sources due at ``now`` for polling, by name.

        Each is taken by one process only: its ``next_poll_at`` moves to the end of the
        lease, so no other process finds it due, and the poll's outcome then sets the
        real next time (``record_poll_success`` / ``record_poll_failure``). A process
        that dies mid-poll leaves the lease to run out, and another polls the source
        then. On PostgreSQL the SELECT skips rows another process is claiming (FOR
        UPDATE SKIP LOCKED); on SQLite the claim runs under BEGIN IMMEDIATE. ``skip``
        names sources this process is still polling.
        """
        stamp, skipped = _ts(now), sorted(skip)
        unless = f" and name not in ({marks(skipped)})" if skipped else ""
        with self._claiming():
            names = [
                row[0]
                for row in self._tuples(
                    "select name from sources where enabled = 1"
                    f" and (next_poll_at is null or next_poll_at <= ?){unless}"
                    f" order by name{self.dialect.skip_locked()}",
                    [stamp, *skipped],
                )
            ]
            if not names:
                return []
            self._execute(
                f"update sources set next_poll_at = ? where name in ({marks(names)})",
                [_ts(now + lease), *names],
            )
            return [
                _source_from(r)
                for r in self._query(
                    f"select * from sources where name in ({marks(names)}) order by name", names
                )
            ]

    def release_sources(self, claims: Mapping[str, datetime], now: datetime) -> int:
        """Give back sources this process claimed and will not finish polling (it stops).

        ``claims`` maps each name to the end of its lease, as ``claim_due_sources`` set
        it: the source is due again at ``now``, for another process to poll at once
        rather than at the end of the lease, unless it was claimed again since (the
        lease ran out and another process took it). How many were given back.
        """
        released = 0
        with self._atomic():
            for name, until in sorted(claims.items()):
                released += self._execute(
                    "update sources set next_poll_at = ? where name = ? and next_poll_at = ?",
                    [_ts(now), name, _ts(until)],
                )
        return released

    def source(self, name: str) -> SourceState | None:
        """One source by name."""
        rows = self._query("select * from sources where name = ?", [name])
        return _source_from(rows[0]) if rows else None

    def sources(self) -> list[SourceState]:
        """Every source, by name."""
        return [_source_from(r) for r in self._query("select * from sources order by name")]

    def remove_source(self, name: str) -> bool:
        """Forget a source (its postings stay). True when it existed."""
        with self._atomic():
            return self._execute("delete from sources where name = ?", [name]) > 0

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
            self._execute(
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
            self._execute(
                "update sources set last_polled_at = ?, last_error = ?,"
                " consecutive_failures = consecutive_failures + 1, next_poll_at = ?,"
                " failing_since = coalesce(failing_since, ?) where name = ?",
                [_ts(now), error[:500], _ts(next_poll_at), _ts(now), name],
            )
        return self.source(name)
