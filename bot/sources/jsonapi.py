"""Helpers shared by the JSON source kinds: decoding, guarded parsing, dates, URLs, paging.

Every JSON kind reads its body through :func:`load_json` and builds its records inside
:func:`guarded`, so a body of the wrong shape surfaces as :class:`~bot.errors.ParseError`
(an error for that poll) and never as a ``KeyError`` or ``TypeError`` from deep inside.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pycountry

from bot.errors import ParseError
from bot.postings.model import RawPosting
from bot.sources import jsonsafe
from bot.sources.base import Fetcher, FetchResult, PollState, SourceSpec

__all__ = [
    "add_fresh",
    "as_list",
    "country_alpha2",
    "epoch",
    "Paging",
    "fetch_once",
    "fetch_paged",
    "guarded",
    "is_bare_token",
    "iso_datetime",
    "load_json",
    "peek_json",
    "place_text",
    "states_internship",
    "strip_tags",
    "text",
    "unique",
    "with_query",
]

T = TypeVar("T")

_TAG = re.compile(r"<[^>]+>")
_BREAK = re.compile(r"<\s*(?:br|/p|/li|/div|/h\d)\s*/?\s*>", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\r\f\v]+")


def load_json(body: bytes, source: str) -> Any:
    """Decode a JSON body; empty, non-UTF-8, truncated or non-JSON bodies raise ParseError.

    Delegates to ``bot.sources.jsonsafe.load_json``, which also refuses bodies nested
    deeper than 64 levels, NaN/Infinity and NUL bytes before parsing.
    """
    return jsonsafe.load_json(body, source)


@lru_cache(maxsize=4)
def _peek(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None


def peek_json(body: bytes) -> Any:
    """The decoded body for sniffing, or None when it is not JSON.

    Cached because ``sniff_kind`` asks every kind about the same (possibly multi-megabyte)
    body in turn; callers must not mutate the result.
    """
    head = body[:64].lstrip()
    if not head.startswith((b"{", b"[")):
        return None
    return _peek(body)


def guarded(source: str, build: Callable[[], T]) -> T:
    """Run a record builder; a body of the wrong shape becomes ParseError, not a crash."""
    try:
        return build()
    except ParseError:
        raise
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as error:
        raise ParseError(
            source, f"response has an unexpected shape ({type(error).__name__}: {error})"
        ) from None


def as_list(value: Any, source: str, what: str) -> list[dict[str, Any]]:
    """A list of JSON objects, or ParseError naming what was expected."""
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ParseError(source, f"expected {what} to be a list of objects")
    return value


def text(value: Any) -> str:
    """A JSON scalar as stripped text ('' for null, lists and objects)."""
    if value is None or isinstance(value, (dict, list)):
        return ""
    return str(value).strip()


def strip_tags(markup: str) -> str:
    """Plain text from a small HTML fragment: line breaks kept, tags dropped, entities decoded."""
    with_breaks = _BREAK.sub("\n", markup)
    plain = html.unescape(_TAG.sub(" ", with_breaks))
    lines = (_SPACES.sub(" ", line).strip() for line in plain.splitlines())
    return "\n".join(line for line in lines if line)


def iso_datetime(value: Any) -> datetime | None:
    """An ISO-8601 timestamp as an aware UTC datetime (naive ones are taken as UTC)."""
    raw = text(value)
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def epoch(value: Any, *, millis: bool = False) -> datetime | None:
    """Unix time (seconds, or milliseconds) as an aware UTC datetime."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    seconds = value / 1000 if millis else value
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


@lru_cache(maxsize=512)
def country_alpha2(code_or_name: str) -> str | None:
    """ISO 3166-1 alpha-2 for an alpha-2, alpha-3 code or a country name; None if unknown."""
    value = code_or_name.strip()
    if not value:
        return None
    # ISO 3166-1 "exceptionally reserved" codes that sources use in place of GB and GR.
    value = {"UK": "GB", "EL": "GR"}.get(value.upper(), value)
    try:
        country = pycountry.countries.lookup(value)
    except LookupError:
        return None
    return str(country.alpha_2)


def add_fresh(records: list[RawPosting], seen: set[str], page: list[RawPosting]) -> bool:
    """Append the page's records not seen yet; False when it brought none.

    A server that ignores the paging parameter repeats page one forever: a page with
    nothing new ends the paging.
    """
    fresh = [r for r in page if r.external_id not in seen]
    seen.update(r.external_id for r in fresh)
    records += fresh
    return bool(fresh)


# The parts of a location object, in the order a place is written.
_PLACE_PARTS = ("city", "region", "state", "country")


def place_text(value: Any) -> str:
    """A location as text: a string, or an object's name (or ``fullLocation``), else its
    city, region or state and country joined ("Eindhoven, Netherlands")."""
    if not isinstance(value, dict):
        return text(value)
    fields = {str(key).lower(): part for key, part in value.items()}
    named = text(fields.get("name")) or text(fields.get("fulllocation"))
    # A written place keeps the commas of its empty parts ("Dubai, , United Arab Emirates").
    parts = named.split(",") if named else [text(fields.get(key)) for key in _PLACE_PARTS]
    return ", ".join(p.strip() for p in parts if p.strip())


@dataclass(frozen=True, slots=True)
class Paging:
    """Where a paged poll stands: what the next page's address is worked out from."""

    pages: int  # pages read so far
    fetched: int  # records read so far, repeats included
    last: list[RawPosting]  # the records of the page read last
    total: int | None  # the number of records the first page says there are


async def fetch_paged(
    fetcher: Fetcher,
    state: PollState,
    first: str,
    read: Callable[[bytes, str], tuple[list[RawPosting], int | None]],
    next_url: Callable[[Paging], str | None],
    max_pages: int,
) -> FetchResult:
    """Page one conditionally (a 304 means nothing new), then every further page.

    ``read`` turns one body into its records and the total it states; ``next_url`` says
    where the next page is, or None when there is none. Paging also ends after
    ``max_pages`` pages and at the first page that brings nothing new.
    """
    status, body, headers = await fetcher.get(first, state)
    if status == 304:
        return FetchResult(not_modified=True, etag=state.etag, last_modified=state.last_modified)
    page, total = read(body, first)
    records = list(page)
    seen = {r.external_id for r in records}
    paging = Paging(1, len(page), page, total)
    while paging.pages < max_pages and (url := next_url(paging)) is not None:
        _, more, _ = await fetcher.get(url, PollState())
        page, _ = read(more, url)
        paging = Paging(paging.pages + 1, paging.fetched + len(page), page, total)
        if not add_fresh(records, seen, page):
            break
    return FetchResult(
        records=records, etag=headers.get("etag"), last_modified=headers.get("last-modified")
    )


def is_bare_token(url: str) -> bool:
    """True for a board token such as ``databricks`` rather than a URL."""
    return "://" not in url and "/" not in url and bool(url.strip())


def with_query(url: str, **params: str | int) -> str:
    """The URL with these query parameters set (others kept, in order)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    query += [(k, str(v)) for k, v in params.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


_INTERNSHIP_VALUE = re.compile(
    r"\b(?:intern|interns|internship|co-?op|working student|werkstudent\w*|praktik\w*|"
    r"stage|stagiaire|student researcher)\b",
    re.I,
)


def states_internship(value: str) -> bool:
    """True when an employment-type field ("Intern", "Internship", "Co-op") names one."""
    return bool(value) and _INTERNSHIP_VALUE.search(value) is not None


def unique(values: Iterable[str]) -> tuple[str, ...]:
    """Non-empty values, first occurrence kept, in order."""
    return tuple(dict.fromkeys(v for v in values if v))


async def fetch_once(
    kind: Any, spec: SourceSpec, state: PollState, fetcher: Fetcher, url: str
) -> FetchResult:
    """One conditional GET parsed by ``kind``; a 304 answer is not parsed at all."""
    status, body, headers = await fetcher.get(url, state)
    if status == 304:
        return FetchResult(not_modified=True, etag=state.etag, last_modified=state.last_modified)
    records = kind.parse(body, spec.name, url)
    return FetchResult(
        records=records, etag=headers.get("etag"), last_modified=headers.get("last-modified")
    )
