"""Scraped job lists: JSON arrays of job objects, bare or under a common container key.

The list is the document itself or sits under ``jobs``, ``results``, ``data``, ``items``,
``postings``, ``positions``, ``hits``, ``offers`` or ``content`` (one level deeper too, as
in ``{"data": {"jobs": [...]}}``). Field names are matched case-insensitively
(``Title``/``title``, ``URL``/``url``...). An item needs a title and an id or a URL; a
title read from a generic ``name`` or ``text`` field also needs a field that only a job
has (a location, company, description, department, employment type or posting date), so
that a list of people or tags is not taken for jobs. ``location`` may be an object
(``{city, region, country}``) or a list of them.

The id is an explicit id field when there is one (``id``, ``JobID``, ``job_id``...), else the
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
    place_text,
    text,
)

__all__ = ["JsonListSource", "url_id"]

_ID_KEYS = ("id", "jobid", "job_id", "jobId".lower(), "requisition_id", "reqid")
_TITLE_KEYS = ("title", "job_title", "jobtitle", "position", "role")
# Generic keys that name a job only beside a field that only a job has.
_NAME_KEYS = ("name", "text")
_JOB_KEYS = (
    "location",
    "locations",
    "department",
    "employment_type",
    "employmenttype",
    "job_type",
    "jobtype",
    "remote",
    "salary",
    "employer",
    "company_name",
    "description",
    "posted",
    "date_posted",
    "posted_at",
    "published",
)
_CONTAINER_KEYS = (
    "jobs",
    "results",
    "data",
    "items",
    "postings",
    "positions",
    "hits",
    "offers",
    "content",
)
_URL_KEYS = ("url", "link", "apply_url", "applyurl", "job_url", "joburl", "href")
_COMPANY_KEYS = ("company", "company_name", "companyname", "employer", "organization")
_LOCATION_KEYS = ("location", "locations", "city", "place")
_DESCRIPTION_KEYS = ("description", "summary", "content", "details")
_COUNTRY_KEYS = ("country_code", "countrycode", "country")
_POSTED_KEYS = ("posted", "date_posted", "posted_at", "date", "published", "created_at")
_LEADING_NUMBER = re.compile(r"^(\d{4,})(?:\D|$)")
# Keys that mark a format another kind reads: those kinds must keep their bodies.
_OTHER_KINDS = frozenset(
    {
        "id_icims",
        "hostedurl",
        "absolute_url",
        "joburl",
        "externalpath",
        "date_updated",
        # Recruitee offers, SmartRecruiters postings, JSON Feed items.
        "careers_url",
        "releaseddate",
        "typeofemployment",
        "jobad",
        "content_html",
        "content_text",
        "date_published",
    }
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


def _container(data: dict[str, Any]) -> Any:
    """The first container key's value that is a list (else None)."""
    for key in _CONTAINER_KEYS:
        if isinstance(data.get(key), list):
            return data[key]
    return None


def _items(data: Any) -> Any:
    if not isinstance(data, dict):
        return data
    if "jobs" in data:  # {"jobs": ...} was always read as this kind's list, even when broken
        return data["jobs"]
    if "version" in data and str(data["version"]).startswith("https://jsonfeed.org/"):
        return None  # a JSON Feed: the jsonfeed kind's
    found = _container(data)
    if found is None:
        for key in _CONTAINER_KEYS:
            if isinstance(data.get(key), dict) and (inner := _container(data[key])) is not None:
                return inner
    return found


def _title(fields: dict[str, Any]) -> Any:
    """The item's title; a generic ``name``/``text`` counts only beside a job's own field."""
    title = _first(fields, _TITLE_KEYS)
    if title is not None:
        return title
    named = _first(fields, _NAME_KEYS)
    if named is None or isinstance(named, (dict, list)):
        return None
    return named if _first(fields, _JOB_KEYS) is not None else None


def _looks_like_item(item: Any) -> bool:
    if not isinstance(item, dict):
        return False
    fields = _fields(item)
    if _OTHER_KINDS & fields.keys():
        return False
    identified = _first(fields, _URL_KEYS) is not None or bool(text(_first(fields, _ID_KEYS)))
    return _title(fields) is not None and identified


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
        title = text(_title(fields))
        link = text(_first(fields, _URL_KEYS))
        explicit = text(_first(fields, _ID_KEYS))
        external_id = explicit or (url_id(link) if link else "")
        if not title or not external_id:
            raise ParseError(source, "an item has no title, or neither an id nor a URL")
        place = _first(fields, _LOCATION_KEYS)
        places = place if isinstance(place, list) else [place]
        locations = tuple(dict.fromkeys(p for p in map(place_text, places) if p))
        posted = _first(fields, _POSTED_KEYS)
        hints: dict[str, object] = {}
        origins: dict[str, str] = {}
        key = next((k for k in _COUNTRY_KEYS if fields.get(k) not in (None, "", [])), "")
        country = country_alpha2(text(fields.get(key))) if key else None
        if country:
            hints["countries"] = [country]
            origins["countries"] = f"source:{key}"
        else:
            nested = [c for c in map(_place_country, places) if c]
            if nested:
                hints["countries"] = list(dict.fromkeys(nested))
                origins["countries"] = "source:location.country"
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
            origins=origins,
        )


def _place_country(value: Any) -> str | None:
    """The alpha-2 country a location object states (``country_code`` or ``country``)."""
    if not isinstance(value, dict):
        return None
    return country_alpha2(text(_first(_fields(value), _COUNTRY_KEYS)))


register("jsonlist")(JsonListSource)
