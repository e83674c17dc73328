"""The seam every source kind implements, and the registry that finds them by short name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from bot.postings.model import RawPosting

__all__ = [
    "FetchResult",
    "OneBodyKind",
    "PollState",
    "SourceKind",
    "SourceSpec",
    "kind_for",
    "register",
    "registered_kinds",
    "sniff_kind",
]


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """A configured source: a unique name, a kind, the URL (or board token) and an interval."""

    name: str
    kind: str
    url: str
    interval_s: int = 3600
    backfill: int = 0


@dataclass(frozen=True, slots=True)
class PollState:
    """What the last successful poll left behind, for a conditional request."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class FetchResult:
    """One poll's outcome: records (unless the source answered 304 Not Modified)."""

    records: list[RawPosting] = field(default_factory=list)
    not_modified: bool = False
    etag: str | None = None
    last_modified: str | None = None
    fetched_at: datetime | None = None


class Fetcher(Protocol):
    """Network access for sources (implemented by bot.sources.http.HttpFetcher)."""

    async def get(self, url: str, state: PollState) -> tuple[int, bytes, dict[str, str]]:
        """GET the URL conditionally; return status, body and headers."""
        ...


class SourceKind(Protocol):
    """A kind of source. ``fetch`` polls it; ``parse`` reads one body (pure, for classify).

    A kind whose every poll lists every open posting of its board (an ATS board, not a
    feed's recent window) says so with a class attribute ``lists_everything = True``:
    a posting missing from two such polls in a row is then taken as closed.
    """

    name: str

    async def fetch(self, spec: SourceSpec, state: PollState, fetcher: Fetcher) -> FetchResult:
        """Poll the source once."""
        ...

    def parse(self, body: bytes, source: str, url: str) -> list[RawPosting]:
        """Read raw records from one response body; raise ParseError when it is not this kind."""
        ...

    def sniff(self, body: bytes) -> bool:
        """True when the body looks like this kind's format."""
        ...


@runtime_checkable
class OneBodyKind(Protocol):
    """A kind whose poll is one conditional request: its body can be parsed elsewhere.

    ``fetch`` is ``fetch_body`` then ``parse``; the poller calls the two itself so that a big
    body is parsed in a worker process (bot/pool.py).
    """

    name: str

    async def fetch_body(
        self, spec: SourceSpec, state: PollState, fetcher: Fetcher
    ) -> tuple[FetchResult, bytes | None]:
        """The conditional request alone: validators, and the body (None on 304)."""
        ...

    def parse(self, body: bytes, source: str, url: str) -> list[RawPosting]:
        """Read raw records from one response body."""
        ...


_KINDS: dict[str, Callable[[], SourceKind]] = {}


def register(name: str) -> Callable[[Callable[[], SourceKind]], Callable[[], SourceKind]]:
    """Register a source kind under a short name (built-ins use the same seam)."""

    def decorator(factory: Callable[[], SourceKind]) -> Callable[[], SourceKind]:
        _KINDS[name] = factory
        return factory

    return decorator


def registered_kinds() -> list[str]:
    """Names of every registered kind."""
    return sorted(_KINDS)


def kind_for(name: str) -> SourceKind:
    """The source kind with this short name; KeyError lists the known ones."""
    try:
        return _KINDS[name]()
    except KeyError:
        known = ", ".join(registered_kinds())
        raise KeyError(f"unknown source kind {name!r}; known: {known}") from None


def sniff_kind(body: bytes) -> str | None:
    """The first registered kind whose format the body looks like."""
    for name in registered_kinds():
        if _KINDS[name]().sniff(body):
            return name
    return None
