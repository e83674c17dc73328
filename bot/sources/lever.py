"""Lever postings: ``api.lever.co/v0/postings/{company}?mode=json``, paged with skip/limit."""

from __future__ import annotations

from typing import Any

from bot.errors import ParseError
from bot.postings.model import RawPosting
from bot.sources.base import Fetcher, FetchResult, PollState, SourceSpec, register
from bot.sources.jsonapi import (
    Paging,
    as_list,
    country_alpha2,
    epoch,
    fetch_paged,
    guarded,
    is_bare_token,
    load_json,
    peek_json,
    states_internship,
    strip_tags,
    text,
    unique,
    with_query,
)

__all__ = ["LeverSource", "postings_url"]

PAGE_SIZE = 100
MAX_PAGES = 20


def postings_url(url_or_token: str) -> str:
    """The postings API URL for a company token; URLs are kept as given."""
    if is_bare_token(url_or_token):
        return f"https://api.lever.co/v0/postings/{url_or_token.strip()}?mode=json"
    return url_or_token


def _is_posting(item: Any) -> bool:
    return isinstance(item, dict) and "hostedUrl" in item and "categories" in item


class LeverSource:
    """A company's Lever job site."""

    name = "lever"
    # Every poll returns the whole board, so a posting it stops listing has closed.
    lists_everything = True

    async def fetch(self, spec: SourceSpec, state: PollState, fetcher: Fetcher) -> FetchResult:
        """Poll every page; the first page is asked conditionally.

        Lever lists the newest postings first, so an unchanged first page (304) means
        nothing new; later pages are fetched unconditionally when the first has changed.
        """
        base = postings_url(spec.url)
        first = with_query(base, skip=0, limit=PAGE_SIZE)

        def next_url(paging: Paging) -> str | None:
            if len(paging.last) < PAGE_SIZE:
                return None
            return with_query(base, skip=paging.pages * PAGE_SIZE, limit=PAGE_SIZE)

        return await fetch_paged(
            fetcher,
            state,
            first,
            lambda body, url: (self.parse(body, spec.name, url), None),
            next_url,
            MAX_PAGES,
        )

    def sniff(self, body: bytes) -> bool:
        """True for a JSON array of Lever postings (``hostedUrl`` and ``categories``), or
        for one posting object on its own (``/v0/postings/{company}/{id}``)."""
        data = peek_json(body)
        if isinstance(data, dict):
            return _is_posting(data)
        return isinstance(data, list) and bool(data) and _is_posting(data[0])

    def parse(self, body: bytes, source: str, url: str) -> list[RawPosting]:
        """Every posting in one page (or the one posting object); others raise."""
        data = load_json(body, source)
        if _is_posting(data):
            return guarded(source, lambda: [self._record(data, source, url)])
        if not isinstance(data, list):
            raise ParseError(source, "expected a JSON array of Lever postings")
        postings = as_list(data, source, "the postings")
        return guarded(source, lambda: [self._record(p, source, url) for p in postings])

    @staticmethod
    def _record(job: dict[str, Any], source: str, url: str) -> RawPosting:
        if not text(job.get("id")) or not text(job.get("text")):
            raise ParseError(source, "a posting has no id or title")
        categories = job.get("categories") or {}
        if not isinstance(categories, dict):
            raise ParseError(source, "a posting's categories is not an object")
        all_locations = categories.get("allLocations") or []
        locations = unique([text(categories.get("location"))] + [text(v) for v in all_locations])
        parts = [text(job.get("descriptionPlain"))]
        for block in job.get("lists") or []:
            if isinstance(block, dict):
                parts.append(text(block.get("text")))
                items = strip_tags(text(block.get("content")))
                parts.extend(f"- {line}" for line in items.splitlines())
        parts.append(text(job.get("additionalPlain")))
        hints: dict[str, object] = {}
        origins: dict[str, str] = {}
        workplace = text(job.get("workplaceType")).lower()
        if workplace == "remote":
            hints["remote"] = True
        elif workplace in ("on-site", "onsite", "hybrid"):
            hints["remote"] = False
        origins["remote"] = "source:workplaceType"
        country = country_alpha2(text(job.get("country")))
        if country:
            hints["countries"] = [country]
            origins["countries"] = "source:country"
        if states_internship(text(categories.get("commitment"))):
            hints["is_internship"] = True
            origins["is_internship"] = "source:categories.commitment"
        hosted = text(job.get("hostedUrl"))
        return RawPosting(
            source=source,
            external_id=text(job["id"]),
            url=hosted or text(job.get("applyUrl")),
            title=text(job["text"]),
            company=_company(hosted) or _company(url),
            locations=locations,
            description="\n".join(p for p in parts if p),
            posted=epoch(job.get("createdAt"), millis=True),
            hints=hints,
            origins=origins,
        )


def _company(url: str) -> str:
    """The company token in a jobs.lever.co or api.lever.co URL."""
    marker = "/postings/" if "/v0/postings/" in url else "jobs.lever.co/"
    if marker not in url:
        return ""
    return url.split(marker, 1)[1].split("/", 1)[0].split("?", 1)[0]


register("lever")(LeverSource)
