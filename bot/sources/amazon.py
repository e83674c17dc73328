"""amazon.jobs search: ``www.amazon.jobs/en/search.json``, paged with offset/result_limit.

Reads the search envelope ``{hits, jobs: [...]}`` and also a bare list of its job objects.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bot.errors import ParseError
from bot.postings.model import RawPosting
from bot.sources.base import Fetcher, FetchResult, PollState, SourceSpec, register
from bot.sources.jsonapi import (
    Paging,
    as_list,
    country_alpha2,
    fetch_paged,
    guarded,
    load_json,
    peek_json,
    states_internship,
    strip_tags,
    text,
    unique,
    with_query,
)

__all__ = ["AmazonSource", "search_url"]

SITE = "https://www.amazon.jobs"
PAGE_SIZE = 100
MAX_PAGES = 10  # amazon.jobs reports up to 10,000 hits; a poll reads the newest 1,000
_PAY_LINE = re.compile(r"\d[\d,.]*\s*-\s*\d[\d,.]*\s+[A-Z]{3}\b")


def search_url(url_or_query: str) -> str:
    """The search.json URL; anything that is not a URL is taken as a search query."""
    if "://" in url_or_query:
        return url_or_query
    return with_query(f"{SITE}/en/search.json", base_query=url_or_query.strip(), sort="recent")


def _is_job(item: Any) -> bool:
    return isinstance(item, dict) and "id_icims" in item


def _jobs_of(data: Any, source: str) -> tuple[list[dict[str, Any]], int | None]:
    if isinstance(data, list):
        return as_list(data, source, "the job list"), None
    if isinstance(data, dict) and "jobs" in data:
        hits = data.get("hits")
        total = hits if isinstance(hits, int) and not isinstance(hits, bool) else None
        return as_list(data["jobs"], source, "'jobs'"), total
    raise ParseError(source, "expected an amazon.jobs search envelope or a list of jobs")


def _posted(value: Any) -> datetime | None:
    # "May  7, 2026": the day is space-padded, so collapse runs of spaces first.
    raw = " ".join(text(value).split())
    for fmt in ("%B %d, %Y", "%b %d, %Y"):
        try:
            return datetime.strptime(raw, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def _site_locations(job: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``locations`` entries, which are JSON objects encoded as strings."""
    sites = []
    for entry in job.get("locations") or []:
        if isinstance(entry, str):
            try:
                entry = json.loads(entry)
            except ValueError:
                continue
        if isinstance(entry, dict):
            sites.append(entry)
    return sites


def _pay_text(qualifications: str) -> str:
    lines = re.split(r"<br\s*/?>", qualifications)
    return "\n".join(strip_tags(line) for line in lines if _PAY_LINE.search(line))


class AmazonSource:
    """Job search results from amazon.jobs."""

    name = "amazon"

    async def fetch(self, spec: SourceSpec, state: PollState, fetcher: Fetcher) -> FetchResult:
        """Read pages until the reported ``hits`` (at most MAX_PAGES); page one is conditional.

        Searches sorted by recency put new postings on page one, so a 304 there means
        nothing new.
        """
        base = search_url(spec.url)
        asked = dict(parse_qsl(urlsplit(base).query)).get("result_limit", "")
        limit = int(asked) if asked.isdigit() and int(asked) > 0 else PAGE_SIZE
        first = with_query(base, offset=0, result_limit=limit)

        def next_url(paging: Paging) -> str | None:
            if not paging.last or paging.total is None or paging.fetched >= paging.total:
                return None
            return with_query(base, offset=paging.fetched, result_limit=limit)

        return await fetch_paged(
            fetcher,
            state,
            first,
            lambda body, url: self._page(body, spec.name, url),
            next_url,
            MAX_PAGES,
        )

    def sniff(self, body: bytes) -> bool:
        """True for a search envelope or a list whose jobs carry ``id_icims``."""
        data = peek_json(body)
        jobs = data.get("jobs") if isinstance(data, dict) else data
        return isinstance(jobs, list) and bool(jobs) and _is_job(jobs[0])

    def parse(self, body: bytes, source: str, url: str) -> list[RawPosting]:
        """Every job in one page of results; other shapes raise ParseError."""
        records, _ = self._page(body, source, url)
        return records

    def _page(self, body: bytes, source: str, url: str) -> tuple[list[RawPosting], int | None]:
        jobs, hits = _jobs_of(load_json(body, source), source)
        return guarded(source, lambda: [self._record(job, source) for job in jobs]), hits

    @staticmethod
    def _record(job: dict[str, Any], source: str) -> RawPosting:
        if not text(job.get("id_icims")) or not text(job.get("title")):
            raise ParseError(source, "a job has no id_icims or title")
        sites = _site_locations(job)
        countries = unique(
            [country_alpha2(text(job.get("country_code"))) or ""]
            + [
                text(site.get("countryIso2a"))
                or country_alpha2(text(site.get("countryIso3a")))
                or ""
                for site in sites
            ]
        )
        hints: dict[str, object] = {}
        if countries:
            hints["countries"] = list(countries)
        if any(text(site.get("type")).upper() == "VIRTUAL" for site in sites):
            hints["remote"] = True
        origins = {"countries": "source:country_code", "remote": "source:locations.type"}
        if isinstance(job.get("is_intern"), bool):
            hints["is_internship"] = job["is_intern"]
            origins["is_internship"] = "source:is_intern"
        elif job.get("university_job") is True and states_internship(text(job.get("title"))):
            # A university-program job whose title says intern: an internship for students.
            hints["is_internship"] = True
            origins["is_internship"] = "source:university_job"
        preferred = text(job.get("preferred_qualifications"))
        pay = _pay_text(preferred)
        if pay:
            hints["pay_text"] = pay
        description = "\n\n".join(
            part
            for part in (
                text(job.get("description")),
                "Basic qualifications:\n" + text(job.get("basic_qualifications"))
                if text(job.get("basic_qualifications"))
                else "",
                "Preferred qualifications:\n" + preferred if preferred else "",
            )
            if part
        )
        path = text(job.get("job_path"))
        return RawPosting(
            source=source,
            external_id=text(job["id_icims"]),
            url=SITE + path if path.startswith("/") else path or text(job.get("url_next_step")),
            title=text(job["title"]),
            company=text(job.get("company_name")) or "Amazon",
            locations=unique(
                [text(job.get("location"))] + [text(site.get("location")) for site in sites]
            ),
            description=description,
            posted=_posted(job.get("posted_date")),
            hints=hints,
            origins=origins,
        )


register("amazon")(AmazonSource)
