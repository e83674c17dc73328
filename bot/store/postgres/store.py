"""The PostgreSQL store: psycopg 3 with a connection pool, for several processes and hosts.

Calls outside a transaction borrow a pooled connection for one statement (autocommit);
a transaction keeps one connection for the calling thread until it ends, and nested
transactions become savepoints. Rows come back with times in the store's text form, so
the shared row mapping reads them exactly as it reads SQLite's.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg.rows import RowMaker
from psycopg_pool import ConnectionPool

from bot.errors import StoreError
from bot.store.dialect import POSTGRES
from bot.store.postgres import migrations
from bot.store.queries import (
    FollowupQueries,
    OutboxQueries,
    PostingQueries,
    SourceQueries,
    SubscriptionQueries,
)
from bot.store.queries.readers import PostingReaders
from bot.store.rows import _ts
from bot.store.urls import mask_url

__all__ = ["PostgresStore"]


def _plain(value: Any) -> Any:
    return _ts(value) if isinstance(value, datetime) else value


def _dict_rows(cursor: psycopg.Cursor[Any]) -> RowMaker[dict[str, Any]]:
    names = [c.name for c in cursor.description or ()]

    def make(values: Sequence[Any]) -> dict[str, Any]:
        return {name: _plain(value) for name, value in zip(names, values, strict=True)}

    return make


def _tuple_rows(cursor: psycopg.Cursor[Any]) -> RowMaker[tuple[Any, ...]]:
    def make(values: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(_plain(value) for value in values)

    return make


def _hide(text: str, url: str) -> str:
    """``text`` without the password of ``url`` (libpq's messages should not carry it)."""
    password = urlsplit(url).password
    return text.replace(password, "***") if password else text


def _configure(conn: psycopg.Connection[Any]) -> None:
    conn.execute("set timezone to 'UTC'")


class PostgresStore(
    SourceQueries,
    PostingQueries,
    PostingReaders,
    SubscriptionQueries,
    OutboxQueries,
    FollowupQueries,
):
    """All persistent state in one PostgreSQL database, shared by any number of bots."""

    dialect = POSTGRES

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 8) -> None:
        self.url = url
        self.where = mask_url(url)
        self._local = threading.local()
        # One plain connection first: a wrong URL fails at once with libpq's own reason
        # (the pool would retry until its timeout), and the schema is brought up to date.
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
                migrations.apply(conn, self.where)
        except psycopg.Error as error:
            raise StoreError(self.where, f"cannot open: {_hide(str(error), url)}") from error
        self._pool = ConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            kwargs={"autocommit": True},
            configure=_configure,
            open=False,
            name="jobbot",
        )
        try:
            self._pool.open(wait=True, timeout=10)
        except Exception as error:  # PoolTimeout: no connection could be made in time
            self._pool.close()
            raise StoreError(self.where, f"cannot connect: {_hide(str(error), url)}") from error

    @classmethod
    def open(cls, url: str) -> PostgresStore:
        """Connect to ``url`` (``postgresql://user@host/db``), upgrading the schema."""
        return cls(url)

    def checkpoint_in_background(self) -> bool:
        """Nothing to do: PostgreSQL checkpoints on its own."""
        return False

    def close(self) -> None:
        """Close every pooled connection."""
        self._pool.close()

    def schema_version(self) -> int:
        """How many migrations this database has applied."""
        with self._connection() as conn:
            return migrations.schema_version(conn)

    # ------------------------------------------------------------ primitives

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        conn: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        if conn is not None:
            yield conn
            return
        with self._pool.connection() as pooled:
            yield pooled

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._connection() as conn, conn.cursor(row_factory=_dict_rows) as cursor:
            cursor.execute(self.dialect.sql(sql), params)
            return cursor.fetchall()

    def _tuples(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._connection() as conn, conn.cursor(row_factory=_tuple_rows) as cursor:
            cursor.execute(self.dialect.sql(sql), params)
            return cursor.fetchall()

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        with self._connection() as conn, conn.cursor() as cursor:
            cursor.execute(self.dialect.sql(sql), params)
            return cursor.rowcount

    def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        if not rows:
            return 0
        with self._connection() as conn, conn.cursor() as cursor:
            cursor.executemany(self.dialect.sql(sql), rows)
            return cursor.rowcount

    @contextmanager
    def _atomic(self) -> Iterator[None]:
        with self._connection() as conn, conn.transaction():
            outer = getattr(self._local, "conn", None)
            self._local.conn = conn
            try:
                yield
            finally:
                self._local.conn = outer

    @contextmanager
    def _claiming(self) -> Iterator[None]:
        # Each claim's SELECT locks what it takes (FOR UPDATE SKIP LOCKED, see Dialect).
        with self._atomic():
            yield
