"""Ashby job boards: ``api.ashbyhq.com/posting-api/job-board/{org}?includeCompensation=true``."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from bot.errors import ParseError
from bot.postings.model import RawPosting
from bot.sources.base import Fetcher, FetchResult, PollState, SourceSpec, register
from bot.sources.jsonapi import (
    as_list,
    country_alpha2,
    fetch_once,
    guarded,
    is_bare_token,
    iso_datetime,
    load_json,
    peek_json,
    states_internship,
    strip_tags,
    text,
    unique,
)

__all__ = ["AshbySource", "board_url"]


def board_url(url_or_token: str) -> str:
    """The posting-API URL (with compensation) for an organisation token."""
    if is_bare_token(url_or_token):
        org = url_or_token.strip()
        return f"https://api.ashbyhq.com/posting-api/job-board/{org}?includeCompensation=true"
    return url_or_token


def _is_job(item: Any) -> bool:
    return isinstance(item, dict) and "jobUrl" in item and "id" in item


def _is_single_job(data: Any) -> bool:
    return _is_job(data) and "title" in data and "jobs" not in data


def _country(address: Any) -> str | None:
    if not isinstance(address, dict):
        return None
    postal = address.get("postalAddress")
    if not isinstance(postal, dict):
        return None
    return country_alpha2(text(postal.get("addressCountry")))


def _pay_text(compensation: Any) -> str:
    if not isinstance(compensation, dict):
        return ""
    return text(compensation.get("compensationTierSummary")) or text(
        compensation.get("scrapeableCompensationSalarySummary")
    )


class AshbySource:
    """An organisation's Ashby job board."""

    name = "ashby"
    # Every poll returns the whole board, so a posting it stops listing has closed.
    lists_everything = True

    async def fetch(self, spec: SourceSpec, state: PollState, fetcher: Fetcher) -> FetchResult:
        """Poll the board conditionally; a bare token is expanded to the posting API."""
        return await fetch_once(self, spec, state, fetcher, board_url(spec.url))

    def sniff(self, body: bytes) -> bool:
        """True for ``{"jobs": [...]}`` whose items carry Ashby's ``jobUrl``, or for one
        job object on its own."""
        data = peek_json(body)
        jobs = data.get("jobs") if isinstance(data, dict) else None
        if isinstance(jobs, list):
            return bool(jobs) and _is_job(jobs[0])
        return _is_single_job(data)

    def parse(self, body: bytes, source: str, url: str) -> list[RawPosting]:
        """Every listed job on the board (or the one job object); others raise."""
        data = load_json(body, source)
        if _is_single_job(data):
            return guarded(source, lambda: [self._record(data, source, _org(url))])
        if not isinstance(data, dict) or "jobs" not in data:
            raise ParseError(source, "expected an Ashby job board object with 'jobs'")
        jobs = as_list(data["jobs"], source, "'jobs'")
        org = _org(url)
        return guarded(
            source,
            lambda: [
                self._record(job, source, org) for job in jobs if job.get("isListed") is not False
            ],
        )

    @staticmethod
    def _record(job: dict[str, Any], source: str, org: str) -> RawPosting:
        if not text(job.get("id")) or not text(job.get("title")):
            raise ParseError(source, "a job has no id or title")
        secondary = job.get("secondaryLocations") or []
        locations = unique(
            [text(job.get("location"))]
            + [text(s.get("location")) if isinstance(s, dict) else text(s) for s in secondary]
        )
        countries = unique(
            [_country(job.get("address")) or ""]
            + [_country(s.get("address")) or "" for s in secondary if isinstance(s, dict)]
        )
        hints: dict[str, object] = {}
        workplace = text(job.get("workplaceType")).lower()
        if job.get("isRemote") is True or workplace == "remote":
            hints["remote"] = True
        elif workplace in ("onsite", "hybrid"):
            hints["remote"] = False
        origins: dict[str, str] = {"remote": "source:workplaceType"}
        if countries:
            hints["countries"] = list(countries)
            origins["countries"] = "source:address"
        if states_internship(text(job.get("employmentType"))):
            hints["is_internship"] = True
            origins["is_internship"] = "source:employmentType"
        pay = _pay_text(job.get("compensation"))
        if pay:
            hints["pay_text"] = pay
        description = text(job.get("descriptionPlain")) or strip_tags(
            text(job.get("descriptionHtml"))
        )
        job_url = text(job.get("jobUrl"))
        return RawPosting(
            source=source,
            external_id=text(job["id"]),
            url=job_url or text(job.get("applyUrl")),
            title=text(job["title"]),
            company=_org(job_url) or org,
            locations=locations,
            description=description,
            posted=iso_datetime(job.get("publishedAt")),
            hints=hints,
            origins=origins,
        )


def _org(url: str) -> str:
    """The organisation in a jobs.ashbyhq.com or posting-api URL."""
    parts = [p for p in urlsplit(url).path.split("/") if p]
    if "job-board" in parts and parts.index("job-board") + 1 < len(parts):
        return parts[parts.index("job-board") + 1]
    if "jobs.ashbyhq.com" in url and parts:
        return parts[0]
    return ""


register("ashby")(AshbySource)
