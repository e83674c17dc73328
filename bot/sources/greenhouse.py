"""Greenhouse job boards: ``boards-api.greenhouse.io/v1/boards/{token}/jobs?content=true``.

Also reads the ``{company, fetched_at, jobs: [...]}`` wrapper that board scrapers save.
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import urlsplit

from bot.errors import ParseError
from bot.postings.model import RawPosting
from bot.sources.base import Fetcher, FetchResult, PollState, SourceSpec, register
from bot.sources.jsonapi import (
    as_list,
    fetch_once,
    guarded,
    is_bare_token,
    iso_datetime,
    load_json,
    peek_json,
    states_internship,
    text,
    unique,
)

__all__ = ["GreenhouseSource", "board_url"]


def board_url(url_or_token: str) -> str:
    """The boards-api endpoint (with content) for a board token; URLs are kept as given."""
    if is_bare_token(url_or_token):
        return (
            f"https://boards-api.greenhouse.io/v1/boards/{url_or_token.strip()}/jobs?content=true"
        )
    return url_or_token


def _board_token(url: str) -> str:
    parts = [p for p in urlsplit(url).path.split("/") if p]
    if "boards" in parts and parts.index("boards") + 1 < len(parts):
        return parts[parts.index("boards") + 1]
    return ""


def _board_in_page_url(url: str) -> str:
    """The board token in a job page URL (``boards.greenhouse.io/{token}/jobs/{id}``)."""
    parts = urlsplit(url)
    segments = [p for p in parts.path.split("/") if p]
    if (parts.hostname or "").endswith("greenhouse.io") and len(segments) >= 3:
        return segments[0] if segments[1] == "jobs" else ""
    return ""


def _is_job(item: Any) -> bool:
    return isinstance(item, dict) and "absolute_url" in item and "id" in item


def _is_single_job(data: Any) -> bool:
    return _is_job(data) and "title" in data and "jobs" not in data


def _jobs(data: Any) -> Any:
    return data.get("jobs") if isinstance(data, dict) else None


class GreenhouseSource:
    """A Greenhouse board (the public boards API, or a saved copy of it)."""

    name = "greenhouse"
    # Every poll returns the whole board, so a posting it stops listing has closed.
    lists_everything = True

    async def fetch(self, spec: SourceSpec, state: PollState, fetcher: Fetcher) -> FetchResult:
        """Poll the board conditionally; a bare token is expanded to its boards-api URL."""
        return await fetch_once(self, spec, state, fetcher, board_url(spec.url))

    def sniff(self, body: bytes) -> bool:
        """True for ``{"jobs": [...]}`` whose items carry Greenhouse's ``absolute_url``,
        or for one job's detail object (``/jobs/{id}``) on its own."""
        data = peek_json(body)
        jobs = _jobs(data)
        if isinstance(jobs, list):
            return bool(jobs) and _is_job(jobs[0])
        return _is_single_job(data)

    def parse(self, body: bytes, source: str, url: str) -> list[RawPosting]:
        """Every job on the board (or the one job of a detail object); others raise."""
        data = load_json(body, source)
        if _is_single_job(data):
            board = _board_token(url) or _board_in_page_url(text(data.get("absolute_url")))
            return guarded(source, lambda: [self._record(data, source, board)])
        if not isinstance(data, dict) or "jobs" not in data:
            raise ParseError(source, "expected a Greenhouse board object with 'jobs'")
        jobs = as_list(data["jobs"], source, "'jobs'")
        board = text(data.get("company")) or _board_token(url)
        return guarded(source, lambda: [self._record(job, source, board) for job in jobs])

    @staticmethod
    def _record(job: dict[str, Any], source: str, board: str) -> RawPosting:
        job_id = job.get("id")
        if isinstance(job_id, bool) or not isinstance(job_id, (int, str)) or not str(job_id):
            raise ParseError(source, "a job has no usable id")
        if not text(job.get("title")):
            raise ParseError(source, "a job has no title")
        location = job.get("location")
        place = text(location.get("name")) if isinstance(location, dict) else text(location)
        hints, origins = _metadata_hints(job.get("metadata"))
        deadline = iso_datetime(job.get("application_deadline"))
        if deadline is not None:
            hints["deadline"] = deadline.date().isoformat()
            origins["deadline"] = "source:application_deadline"
        offices = _office_places(job.get("offices"))
        # content is HTML with its markup entity-escaped once more (&lt;p&gt;).
        content = html.unescape(text(job.get("content")))
        return RawPosting(
            source=source,
            external_id=str(job_id),
            url=text(job.get("absolute_url")),
            title=text(job.get("title")),
            company=text(job.get("company_name")) or board,
            locations=unique([place, *offices]),
            description=content,
            posted=iso_datetime(job.get("first_published")) or iso_datetime(job.get("updated_at")),
            hints=hints,
            origins=origins,
        )


def _office_places(offices: Any) -> list[str]:
    """Where the job's offices are ("London, England, United Kingdom"), or their names."""
    if not isinstance(offices, list):
        return []
    places = []
    for office in offices:
        if isinstance(office, dict):
            places.append(text(office.get("location")) or text(office.get("name")))
    return [p for p in places if p]


def _metadata_hints(metadata: Any) -> tuple[dict[str, object], dict[str, str]]:
    """Facts a board states in its custom fields: employment type and workplace type."""
    hints: dict[str, object] = {}
    origins: dict[str, str] = {}
    if not isinstance(metadata, list):
        return hints, origins
    for field in metadata:
        if not isinstance(field, dict):
            continue
        name = text(field.get("name")).casefold()
        value = field.get("value")
        values = value if isinstance(value, list) else [value]
        written = " ".join(text(v) for v in values if v is not None).strip()
        if not written:
            continue
        origin = f"source:metadata.{text(field.get('name'))}"
        if ("employment" in name or "time type" in name or "job type" in name) and (
            states_internship(written)
        ):
            hints["is_internship"] = True
            origins["is_internship"] = origin
        elif "workplace" in name or "remote" in name:
            lowered = written.casefold()
            remote = lowered in ("remote", "true", "yes", "fully remote")
            if remote or lowered in ("hybrid", "onsite", "on-site", "in office", "false", "no"):
                hints["remote"] = remote
                origins["remote"] = origin
    return hints, origins


register("greenhouse")(GreenhouseSource)
