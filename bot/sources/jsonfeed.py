"""JSON Feed 1 and 1.1 (https://jsonfeed.org/version/1.1), read like RSS items.

Each item gives its id, url (or ``external_url``), title, ``content_html`` or
``content_text`` (else ``summary``), ``date_published`` and author. A job board's own
fields ride in an extension object (a key starting with ``_``): its ``company``,
``location`` and ``country`` are read where they are given.
"""

from __future__ import annotations

from typing import Any

from bot.errors import ParseError
from bot.postings.model import RawPosting
from bot.sources.base import Fetcher, FetchResult, PollState, SourceSpec, register
from bot.sources.jsonapi import (
    as_list,
    country_alpha2,
    fetch_once,
    guarded,
    iso_datetime,
    load_json,
    peek_json,
    states_internship,
    text,
    unique,
)

__all__ = ["JsonFeedSource"]

_VERSION = "https://jsonfeed.org/version/"


def _is_feed(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and text(data.get("version")).startswith(_VERSION)
        and isinstance(data.get("items"), list)
    )


def _author(item: dict[str, Any]) -> str:
    authors = item.get("authors")
    if isinstance(authors, list) and authors and isinstance(authors[0], dict):
        return text(authors[0].get("name"))
    author = item.get("author")  # JSON Feed 1.0
    return text(author.get("name")) if isinstance(author, dict) else ""


def _extensions(item: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(k, v) for k, v in item.items() if str(k).startswith("_") and isinstance(v, dict)]


class JsonFeedSource:
    """A feed in JSON Feed format."""

    name = "jsonfeed"

    async def fetch(self, spec: SourceSpec, state: PollState, fetcher: Fetcher) -> FetchResult:
        """Poll the feed conditionally."""
        return await fetch_once(self, spec, state, fetcher, spec.url)

    def sniff(self, body: bytes) -> bool:
        """True for an object whose ``version`` is a jsonfeed.org version URL."""
        return _is_feed(peek_json(body))

    def parse(self, body: bytes, source: str, url: str) -> list[RawPosting]:
        """Every item with an id or a URL; other shapes raise ParseError."""
        data = load_json(body, source)
        if not _is_feed(data):
            raise ParseError(
                source, "expected a JSON Feed ('version' https://jsonfeed.org/version/…, 'items')"
            )
        items = as_list(data["items"], source, "'items'")
        records = guarded(source, lambda: [_record(item, source) for item in items])
        return [r for r in records if r is not None]


def _record(item: dict[str, Any], source: str) -> RawPosting | None:
    link = text(item.get("url")) or text(item.get("external_url"))
    external_id = text(item.get("id")) or link
    if not external_id:
        return None
    hints: dict[str, object] = {}
    origins: dict[str, str] = {}
    company = _author(item)
    places: list[str] = []
    for key, extension in _extensions(item):
        company = company or text(extension.get("company"))
        place = extension.get("location")
        places += [text(p) for p in place] if isinstance(place, list) else [text(place)]
        country = country_alpha2(text(extension.get("country")))
        if country and "countries" not in hints:
            hints["countries"] = [country]
            origins["countries"] = f"source:{key}.country"
        remote = extension.get("remote")
        if isinstance(remote, bool) and "remote" not in hints:
            hints["remote"] = remote
            origins["remote"] = f"source:{key}.remote"
        for field in ("employment_type", "type"):
            if states_internship(text(extension.get(field))) and "is_internship" not in hints:
                hints["is_internship"] = True
                origins["is_internship"] = f"source:{key}.{field}"
    contents = (text(item.get(key)) for key in ("content_html", "content_text", "summary"))
    description = next((c for c in contents if c), "")
    return RawPosting(
        source=source,
        external_id=external_id,
        url=link,
        title=text(item.get("title")),
        company=company,
        locations=unique(places),
        description=description,
        posted=iso_datetime(item.get("date_published")) or iso_datetime(item.get("date_modified")),
        hints=hints,
        origins=origins,
    )


register("jsonfeed")(JsonFeedSource)
