"""The seam between the shared queries and each database: how to run SQL, and the few
places where SQLite and PostgreSQL disagree.

Queries are written once, with ``?`` placeholders and the SQL both engines speak
(``on conflict … do nothing / do update``, ``returning``, ``case``). A backend
supplies a ``Dialect`` and the primitives of ``SqlBase``; the query mixins in
``bot/store/queries/`` use nothing else. Times travel as the store's one text form
(``rows._ts``): SQLite keeps that text, PostgreSQL casts it to ``timestamptz`` on the
way in and its rows are turned back into the same text on the way out.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = ["POSTGRES", "SQLITE", "Dialect", "SqlBase"]


@dataclass(frozen=True, slots=True)
class Dialect:
    """What differs between the engines, in one place."""

    name: str
    # The placeholder the driver wants instead of ``?``.
    placeholder: str
    # Whether a SELECT can lock the rows it picks and skip those another process holds.
    # SQLite cannot and need not: a claim runs under BEGIN IMMEDIATE, one writer at a time.
    skips_locked: bool

    def sql(self, text: str) -> str:
        """``text`` with this dialect's placeholders."""
        return _translate(text, self.placeholder)

    def skip_locked(self, of: str = "") -> str:
        """Appended to the SELECT of a claim: lock the rows taken (of table alias ``of``),
        skip those another process holds; nothing where one writer runs at a time."""
        if not self.skips_locked:
            return ""
        return f" for update of {of} skip locked" if of else " for update skip locked"

    def lock_key(self) -> str:
        """A statement taking a lock on one ``?`` key until the transaction ends, so that a
        check and the write it guards run one at a time; '' where one writer runs at a time."""
        return "select pg_advisory_xact_lock(hashtext(?))" if self.skips_locked else ""


@lru_cache(maxsize=1024)
def _translate(text: str, placeholder: str) -> str:
    if placeholder == "?":
        return text
    # No query of ours has a literal ``?`` or ``%``; the driver would misread a ``%``.
    assert "%" not in text, text
    return text.replace("?", placeholder)


SQLITE = Dialect(name="sqlite", placeholder="?", skips_locked=False)
POSTGRES = Dialect(name="postgresql", placeholder="%s", skips_locked=True)


class SqlBase(ABC):
    """The primitives each backend implements; the shared queries are built on them."""

    dialect: Dialect

    @abstractmethod
    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows as dicts (times in the store's text form)."""

    def _each(self, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        """Rows as dicts one at a time, for reads too big to hold as one list."""
        return iter(self._query(sql, params))

    @abstractmethod
    def _tuples(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows as tuples (times in the store's text form)."""

    @abstractmethod
    def _execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; return how many rows it changed."""

    @abstractmethod
    def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        """Run one statement per parameter row; return how many rows they changed."""

    @abstractmethod
    def _atomic(self) -> AbstractContextManager[None]:
        """One transaction (nested calls join the outer one)."""

    @abstractmethod
    def _claiming(self) -> AbstractContextManager[None]:
        """A transaction that takes rows for one worker (SQLite: BEGIN IMMEDIATE)."""

    @abstractmethod
    def schema_version(self) -> int:
        """How many migrations this database has applied."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection(s)."""

    def transaction(self) -> AbstractContextManager[None]:
        """Group several store calls into one transaction (a poll's postings and alerts)."""
        return self._atomic()

    def _scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = self._tuples(sql, params)
        return rows[0][0] if rows else None


def marks(values: Sequence[Any]) -> str:
    """``?, ?, …`` for an ``in (…)`` list of ``values``."""
    return ",".join("?" * len(values))


def chunks(values: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    """Slices small enough for the engines' limits on bound parameters."""
    for start in range(0, len(values), size):
        yield values[start : start + size]
