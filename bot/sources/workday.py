"""Workday career sites: the CXS job list ``{total, jobPostings: [...]}``.

The live CXS endpoint (``/wday/cxs/{tenant}/{site}/jobs``) wants a POST with a JSON body
for each page; jobbot's fetcher only GETs, so ``fetch`` reads one GET-able copy of that
answer (a proxy or a saved file) and the POST paging is not done.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from bot.errors import ParseError
from bot.postings.model import RawPosting
from bot.sources.base import Fetcher, FetchResult, PollState, SourceSpec, register
from bot.sources.jsonapi import as_list, fetch_once, guarded, load_json, peek_json, text, unique

__all__ = ["WorkdaySource", "posted_phrase"]

_COUNT_ONLY = re.compile(r"^\d+\s+locations?$", re.IGNORECASE)
_DAYS_AGO = re.compile(r"(\d+)\+?\s+days?\s+ago", re.IGNORECASE)


def posted_phrase(value: str) -> str | None:
    """Workday's "Posted Yesterday" / "Posted 3 Days Ago" as a relative phrase for enrichment."""
    lowered = value.lower()
    if "today" in lowered:
        return "0 days ago"
    if "yesterday" in lowered:
        return "1 day ago"
    found = _DAYS_AGO.search(value)
    return f"{found.group(1)} days ago" if found else None


def _primary_location(external_path: str) -> str:
    """The location slug in the path: /job/Illinois---Chicago/... → Illinois - Chicago."""
    parts = [p for p in external_path.split("/") if p]
    if len(parts) < 3 or parts[0] != "job":
        return ""
    return " - ".join(piece.replace("-", " ").strip() for piece in parts[1].split("---"))


def _site_base(url: str) -> str:
    """The public site URL for a CXS endpoint: https://host/wday/cxs/t/site/jobs → https://host/site."""
    parts = urlsplit(url)
    path = [p for p in parts.path.split("/") if p]
    if parts.scheme and parts.netloc and len(path) >= 4 and path[:2] == ["wday", "cxs"]:
        return f"{parts.scheme}://{parts.netloc}/{path[3]}"
    if parts.scheme and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return ""


class WorkdaySource:
    """A Workday career site's job list (one page)."""

    name = "workday"

    async def fetch(self, spec: SourceSpec, state: PollState, fetcher: Fetcher) -> FetchResult:
        """GET the job list conditionally (see the module note on paging)."""
        return await fetch_once(self, spec, state, fetcher, spec.url)

    def sniff(self, body: bytes) -> bool:
        """True for an object with a ``jobPostings`` list."""
        data = peek_json(body)
        return isinstance(data, dict) and isinstance(data.get("jobPostings"), list)

    def parse(self, body: bytes, source: str, url: str) -> list[RawPosting]:
        """Every job posting in the list; other shapes raise ParseError."""
        data = load_json(body, source)
        if not isinstance(data, dict) or "jobPostings" not in data:
            raise ParseError(source, "expected a Workday job list with 'jobPostings'")
        postings = as_list(data["jobPostings"], source, "'jobPostings'")
        base = _site_base(url)
        return guarded(source, lambda: [self._record(p, source, base) for p in postings])

    @staticmethod
    def _record(job: dict[str, Any], source: str, base: str) -> RawPosting:
        path = text(job.get("externalPath"))
        if not path or not text(job.get("title")):
            raise ParseError(source, "a posting has no externalPath or title")
        shown = text(job.get("locationsText"))
        locations = unique([_primary_location(path), "" if _COUNT_ONLY.match(shown) else shown])
        bullets = [text(b) for b in job.get("bulletFields") or []]
        return RawPosting(
            source=source,
            external_id=path,
            url=base + path if base else path,
            title=text(job["title"]),
            locations=locations,
            description="\n".join(b for b in bullets if b),
            posted=posted_phrase(text(job.get("postedOn"))),
        )


register("workday")(WorkdaySource)
