"""Scraped job lists: JSON arrays (or ``{jobs: [...]}``) of flat objects with title and URL.

Field names are matched case-insensitively (``Title``/``title``, ``URL``/``url``...). The
id is an explicit id field when there is one (``id``, ``JobID``, ``job_id``...), else the
number in the URL's path (the last segment that starts with digits, e.g. Google's
``/jobs/results/1415…-software-engineer``), else the URL itself.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from bot.errors import ParseError
from bot.postings.model import RawPosting
from bot.sources.base import Fetcher, FetchResult, PollState, SourceSpec, register
from bot.sources.jsonapi import (
    country_alpha2,
    epoch,
    fetch_once,
    guarded,
    load_json,
    peek_json,
    text,
)

__all__ = ["JsonListSource", "url_id"]

_ID_KEYS = ("id", "jobid", "job_id", "jobId".lower(), "requisition_id", "reqid")
_TITLE_KEYS = ("title", "job_title", "jobtitle", "position", "role")
_URL_KEYS = ("url", "link", "apply_url", "applyurl", "job_url", "joburl", "href")
_COMPANY_KEYS = ("company", "company_name", "companyname", "employer", "organization")
_LOCATION_KEYS = ("location", "locations", "city", "place")
_DESCRIPTION_KEYS = ("description", "summary", "content", "details")
_COUNTRY_KEYS = ("country_code", "countrycode", "country")
_POSTED_KEYS = ("posted", "date_posted", "posted_at", "date", "published", "created_at")
_LEADING_NUMBER = re.compile(r"^(\d{4,})(?:\D|$)")
# Keys that mark a format another kind reads: those kinds must keep their bodies.
_OTHER_KINDS = frozenset(
    {"id_icims", "hostedurl", "absolute_url", "joburl", "externalpath", "date_updated"}
)


def url_id(url: str) -> str:
    """The job number in a URL path (last segment starting with 4+ digits), else the URL."""
    segments = [s for s in urlsplit(url).path.split("/") if s]
    for segment in reversed(segments):
        found = _LEADING_NUMBER.match(segment)
        if found:
            return found.group(1)
    return url


def _fields(item: dict[str, Any]) -> dict[str, Any]:
    return {str(key).lower(): value for key, value in item.items()}


def _first(fields: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = fields.get(key)
        if value not in (None, "", []):
            return value
    return None


def _items(data: Any) -> Any:
    if isinstance(data, dict):
        return data.get("jobs")
    return data


def _looks_like_item(item: Any) -> bool:
    if not isinstance(item, dict):
        return False
    fields = _fields(item)
    if _OTHER_KINDS & fields.keys():
        return False
    return _first(fields, _TITLE_KEYS) is not None and _first(fields, _URL_KEYS) is not None


class JsonListSource:
    """A scraped list of flat job objects."""

    name = "jsonlist"

    async def fetch(self, spec: SourceSpec, state: PollState, fetcher: Fetcher) -> FetchResult:
        """Poll the list conditionally."""
        return await fetch_once(self, spec, state, fetcher, spec.url)

    def sniff(self, body: bytes) -> bool:
        """True for a list of flat objects with a title and a URL that no API kind claims."""
        items = _items(peek_json(body))
        return isinstance(items, list) and bool(items) and _looks_like_item(items[0])

    def parse(self, body: bytes, source: str, url: str) -> list[RawPosting]:
        """Every object with a title; other shapes raise ParseError."""
        items = _items(load_json(body, source))
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise ParseError(source, "expected a JSON list of job objects (or {'jobs': [...]})")
        return guarded(source, lambda: [self._record(_fields(i), source) for i in items])

    @staticmethod
    def _record(fields: dict[str, Any], source: str) -> RawPosting:
        title = text(_first(fields, _TITLE_KEYS))
        link = text(_first(fields, _URL_KEYS))
        explicit = text(_first(fields, _ID_KEYS))
        external_id = explicit or (url_id(link) if link else "")
        if not title or not external_id:
            raise ParseError(source, "an item has no title, or neither an id nor a URL")
        place = _first(fields, _LOCATION_KEYS)
        if isinstance(place, list):
            locations = tuple(text(p) for p in place if text(p))
        else:
            locations = (text(place),) if text(place) else ()
        posted = _first(fields, _POSTED_KEYS)
        hints: dict[str, object] = {}
        country = country_alpha2(text(_first(fields, _COUNTRY_KEYS)))
        if country:
            hints["countries"] = [country]
        return RawPosting(
            source=source,
            external_id=external_id,
            url=link,
            title=title,
            company=text(_first(fields, _COMPANY_KEYS)),
            locations=locations,
            description=text(_first(fields, _DESCRIPTION_KEYS)),
            posted=(
                epoch(posted, millis=posted > 1e11)
                if isinstance(posted, (int, float))
                else text(posted) or None
            ),
            hints=hints,
        )


register("jsonlist")(JsonListSource)
