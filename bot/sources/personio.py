"""Personio job feeds: ``{company}.jobs.personio.de/xml`` (``<workzag-jobs>``).

Each ``<position>`` gives its id, name, offices, department, employment type, seniority,
creation time and its description sections (``<jobDescriptions>``, HTML in CDATA). The
posting's page is ``https://{company}.jobs.personio.de/job/{id}``.

The XML is read with the standard library's expat parser only after refusing any
document type declaration: a feed has no business declaring entities, and internal ones
are how "billion laughs" expands a few hundred bytes into gigabytes (as in rss.py).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

from bot.errors import ParseError
from bot.postings.model import RawPosting
from bot.sources.base import Fetcher, FetchResult, PollState, SourceSpec, register
from bot.sources.jsonapi import (
    fetch_once,
    is_bare_token,
    iso_datetime,
    states_internship,
    strip_tags,
    unique,
)
from bot.sources.jsonsafe import MAX_JSON_BYTES
from bot.sources.rss import refuse_unsafe_xml

__all__ = ["PersonioSource", "feed_url"]

_ROOT = b"<workzag-jobs"
_DECLARATION = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.I)


def feed_url(url_or_token: str) -> str:
    """The XML feed URL for a company's Personio subdomain; URLs are kept as given."""
    if is_bare_token(url_or_token):
        return f"https://{url_or_token.strip()}.jobs.personio.de/xml"
    return url_or_token


def _child(element: ET.Element, tag: str) -> str:
    found = element.find(tag)
    return (found.text or "").strip() if found is not None else ""


class PersonioSource:
    """A company's Personio job feed."""

    name = "personio"
    # The feed lists every open position, so a position it stops listing has closed.
    lists_everything = True

    async def fetch(self, spec: SourceSpec, state: PollState, fetcher: Fetcher) -> FetchResult:
        """Poll the feed conditionally; a bare subdomain is expanded to its XML feed."""
        return await fetch_once(self, spec, state, fetcher, feed_url(spec.url))

    def sniff(self, body: bytes) -> bool:
        """True for an XML document whose root is ``<workzag-jobs>``."""
        head = body[:2048].lstrip()
        return head.startswith(b"<") and _ROOT in head

    def parse(self, body: bytes, source: str, url: str) -> list[RawPosting]:
        """Every position in the feed; anything else raises ParseError."""
        if not body.strip():
            raise ParseError(source, "empty response")
        if len(body) > MAX_JSON_BYTES:
            raise ParseError(source, f"XML body of {len(body)} bytes is over the cap")
        if not self.sniff(body):
            raise ParseError(source, "response is not a Personio XML feed (<workzag-jobs>)")
        refuse_unsafe_xml(body, source, _DECLARATION, "a document type or XML entities")
        try:
            root = ET.fromstring(body)
        except ET.ParseError as error:
            raise ParseError(source, f"feed is truncated or not well-formed XML: {error}") from None
        if root.tag != "workzag-jobs":
            raise ParseError(source, f"expected <workzag-jobs> as the root, not <{root.tag}>")
        return [_record(p, source, url) for p in root.iter("position")]


def _record(position: ET.Element, source: str, url: str) -> RawPosting:
    position_id = _child(position, "id")
    title = _child(position, "name")
    if not position_id or not title:
        raise ParseError(source, "a position has no id or name")
    offices = [_child(position, "office")]
    extra = position.find("additionalOffices")
    if extra is not None:
        offices += [(o.text or "").strip() for o in extra.iter("office")]
    parts = []
    for section in position.iter("jobDescription"):
        parts.append(_child(section, "name"))
        parts.append(strip_tags(_child(section, "value")))
    hints: dict[str, object] = {}
    origins: dict[str, str] = {}
    employment = _child(position, "employmentType")
    if states_internship(employment.replace("_", " ")):
        hints["is_internship"] = True
        origins["is_internship"] = "source:employmentType"
    return RawPosting(
        source=source,
        external_id=position_id,
        url=_job_url(url, position_id),
        title=title,
        company=_child(position, "subcompany") or _company(url),
        locations=unique(offices),
        description="\n".join(p for p in parts if p),
        posted=iso_datetime(_child(position, "createdAt")),
        hints=hints,
        origins=origins,
    )


def _job_url(feed: str, position_id: str) -> str:
    """The position's page beside the feed: ``https://acme.jobs.personio.de/job/{id}``."""
    parts = urlsplit(feed)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}/job/{position_id}"


def _company(feed: str) -> str:
    """The company's subdomain in a Personio feed URL (``acme.jobs.personio.de``)."""
    host = urlsplit(feed).hostname or ""
    return host.split(".", 1)[0] if ".jobs.personio." in host else ""


register("personio")(PersonioSource)
