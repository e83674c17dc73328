"""RSS and Atom feeds, read with feedparser."""

from __future__ import annotations

import calendar
import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import feedparser

from bot.errors import ParseError
from bot.postings.model import RawPosting
from bot.sources.base import Fetcher, FetchResult, PollState, SourceSpec, register

__all__ = ["RssSource", "refuse_unsafe_xml"]

_FEED_MARKERS = (b"<rss", b"<feed", b"<rdf:RDF", b"<RDF")
_ENDS_WITH_ROOT = re.compile(rb"</(?:rss|feed|rdf:RDF|RDF)>\s*\Z")
# A feed has no business declaring entities: internal ones are how "billion laughs"
# expands a few hundred bytes into gigabytes, external ones read files or URLs (XXE).
_ENTITY_DECLARATION = re.compile(rb"<!ENTITY", re.I)


def _entry_time(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        # dict.get, not entry.get: feedparser maps a missing updated_parsed to
        # published_parsed with a DeprecationWarning (found by tests/test_fuzz.py).
        value = dict.get(entry, key)
        if value:
            return datetime.fromtimestamp(calendar.timegm(value), UTC)
    return None


def _entry_text(entry: Any) -> str:
    contents = entry.get("content") or []
    if contents:
        return "\n".join(str(c.get("value", "")) for c in contents)
    return str(entry.get("summary") or entry.get("description") or "")


def _entry_company(entry: Any, feed: Any) -> str:
    author = entry.get("author") or entry.get("dc_creator")
    if author:
        return str(author)
    return ""


def _entry_locations(entry: Any) -> tuple[str, ...]:
    for key in ("job_location", "location", "georss_featurename"):
        value = entry.get(key)
        if value:
            return (str(value),)
    return ()


def refuse_unsafe_xml(body: bytes, source: str, declaration: re.Pattern[bytes], what: str) -> None:
    """ParseError for an XML feed that declares what it must not, or holds NUL bytes.

    Internal entities are how "billion laughs" grows a few hundred bytes into gigabytes,
    and external ones read local files: a job feed needs neither, so none is parsed.
    """
    if declaration.search(body):
        raise ParseError(
            source,
            f"feed declares {what} (refused: entity expansion and external entities are not read)",
        )
    if b"\x00" in body:
        raise ParseError(source, "feed contains NUL bytes (binary data, not XML)")


class RssSource:
    """A job feed in RSS 2.0, RSS 1.0 or Atom."""

    name = "rss"

    async def fetch(self, spec: SourceSpec, state: PollState, fetcher: Fetcher) -> FetchResult:
        """Poll the feed conditionally; a 304 means nothing to parse."""
        result, body = await self.fetch_body(spec, state, fetcher)
        if body is None:
            return result
        return replace(result, records=self.parse(body, spec.name, spec.url))

    async def fetch_body(
        self, spec: SourceSpec, state: PollState, fetcher: Fetcher
    ) -> tuple[FetchResult, bytes | None]:
        """The conditional request alone: validators, and the body to parse (None on 304).

        The poller parses the body itself, in a worker process when it is big (issue #8).
        """
        status, body, headers = await fetcher.get(spec.url, state)
        if status == 304:
            return (
                FetchResult(not_modified=True, etag=state.etag, last_modified=state.last_modified),
                None,
            )
        return FetchResult(
            etag=headers.get("etag"), last_modified=headers.get("last-modified")
        ), body

    def sniff(self, body: bytes) -> bool:
        """True for a body that starts like an RSS or Atom document."""
        head = body[:2048].lstrip()
        return head.startswith(b"<") and any(marker in head for marker in _FEED_MARKERS)

    def parse(self, body: bytes, source: str, url: str) -> list[RawPosting]:
        """Every entry with a link or id; a body that is not a feed raises ParseError."""
        if not body.strip():
            raise ParseError(source, "empty response")
        if not self.sniff(body):
            raise ParseError(source, "response is not an RSS or Atom feed")
        refuse_unsafe_xml(body, source, _ENTITY_DECLARATION, "XML entities")
        try:
            parsed = feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False)
        except (UnicodeError, LookupError, ValueError) as error:
            # feedparser's own encoding fallback can still fail on a stray byte in the
            # XML declaration, and its strict parser on a stray byte before the root
            # (a ValueError from inside it); that is a broken body, not a crash.
            raise ParseError(source, f"feed cannot be decoded: {error}") from error
        entries = parsed.get("entries") or []
        if parsed.get("bozo"):
            problem = parsed.get("bozo_exception")
            # feedparser reads a malformed but complete feed leniently, which is worth
            # keeping; a body cut short would silently lose postings, so it is an error.
            if not entries or not _ENDS_WITH_ROOT.search(body[-512:]):
                raise ParseError(source, f"feed is truncated or not well-formed: {problem}")
        feed = parsed.get("feed", {})
        records = []
        for entry in entries:
            link = str(entry.get("link") or "")
            external_id = str(entry.get("id") or link)
            if not external_id:
                continue
            records.append(
                RawPosting(
                    source=source,
                    external_id=external_id,
                    url=link,
                    title=str(entry.get("title") or ""),
                    company=_entry_company(entry, feed),
                    locations=_entry_locations(entry),
                    description=_entry_text(entry),
                    posted=_entry_time(entry),
                )
            )
        return records


register("rss")(RssSource)
