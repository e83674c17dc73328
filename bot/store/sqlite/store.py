"""The SQLite store: one file in WAL mode, through sqlite-utils.

One connection, shared by the threads that call the store (the event loop hands its
calls to worker threads): a re-entrant lock makes each call, and each transaction, run
alone on it. SQLite has one writer at a time anyway.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from bot.store.dialect import SQLITE
from bot.store.locks import file_lock_held
from bot.store.queries import (
    FollowupQueries,
    OutboxQueries,
    PostingQueries,
    SourceQueries,
    SubscriptionQueries,
)
from bot.store.queries.readers import PostingReaders
from bot.store.sqlite import migrations
from bot.store.sqlite.checkpoint import WAL_BACKSTOP_PAGES, _Checkpointer, log

__all__ = ["SQLiteStore"]


class SQLiteStore(
    SourceQueries,
    PostingQueries,
    PostingReaders,
    SubscriptionQueries,
    OutboxQueries,
    FollowupQueries,
):
    """All persistent state in one SQLite file (or in memory, for tests)."""

    dialect = SQLITE

    def __init__(self, db: Database, where: str = ":memory:") -> None:
        self.db = db
        self.where = where
        self._lock = threading.RLock()
        self._checkpointer: _Checkpointer | None = None
        self.db.execute("pragma foreign_keys = on")
        self.db.execute("pragma busy_timeout = 5000")
        migrations.apply(self.db, where)

    @classmethod
    def open(cls, path: Path) -> SQLiteStore:
        """Open (creating and upgrading as needed) the database file at ``path``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        db = Database(sqlite3.connect(str(path), check_same_thread=False))
        # In WAL mode NORMAL never corrupts the database; it syncs at checkpoints rather
        # than on every commit, which is what lets delivery mark thousands of rows sent a
        # second (issue #8). A power cut may forget the last commits, never half of one.
        db.execute("pragma synchronous = normal")
        if db.journal_mode == "wal" and not migrations.pending(db):
            return cls(db, str(path))
        # A new file or an older release's: processes that open it at once (`jobbot run`
        # twice, a worker beside it) would each switch it to WAL (SQLite refuses the
        # second at once: "database is locked") and run the same migrations (the second
        # fails on a column the first added). One at a time, the next finds it done.
        with file_lock_held(path.with_name(path.name + ".upgrade-lock")):
            db.enable_wal()
            return cls(db, str(path))

    @classmethod
    def memory(cls) -> SQLiteStore:
        """A throwaway in-memory store, for tests and `jobbot classify`."""
        return cls(Database(sqlite3.connect(":memory:", check_same_thread=False)))

    def checkpoint_in_background(self) -> bool:
        """Checkpoint the WAL from a thread beside the writer (a long-running bot).

        The writer's automatic checkpoint is kept, with a higher threshold, in case the
        thread falls behind. False for a database that has no WAL (in memory).
        """
        with self._lock:
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
        with self._lock:
            try:
                self.db.execute("pragma wal_checkpoint(truncate)")
            except sqlite3.Error:
                pass
            self.db.close()

    def schema_version(self) -> int:
        """How many migrations this database has applied."""
        with self._lock:
            return migrations.schema_version(self.db)

    # ------------------------------------------------------------ primitives

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.db.query(sql, params))

    def _each(self, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        # 100,000 subscriptions as one list of dicts was most of a big bot's memory: rows
        # are read in pages on a cursor of their own, each dict dropped once converted.
        with self._lock:
            cursor = self.db.conn.execute(sql, params)
            names = [d[0] for d in cursor.description]
            while page := cursor.fetchmany(500):
                yield from (dict(zip(names, row, strict=True)) for row in page)

    def _tuples(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self.db.conn.execute(sql, params).fetchall()

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        with self._lock:
            return self.db.conn.execute(sql, params).rowcount

    def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        with self._lock:
            return self.db.conn.executemany(sql, rows).rowcount

    @contextmanager
    def _atomic(self) -> Iterator[None]:
        with self._lock, self.db.atomic():
            yield

    @contextmanager
    def _claiming(self) -> Iterator[None]:
        with self._lock:
            conn = self.db.conn
            if conn.in_transaction:
                # Inside a caller's transaction (which already holds what it holds): nest.
                with self.db.atomic():
                    yield
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
