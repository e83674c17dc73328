"""SmartRecruiters postings: ``api.smartrecruiters.com/v1/companies/{company}/postings``.

The list answer is ``{offset, limit, totalFound, content: [...]}``, paged with
offset/limit; one posting's detail (``.../postings/{id}``) is the same object with its
``jobAd`` sections and ``postingUrl``, and is read as a list of one.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from bot.errors import ParseError
from bot.postings.model import RawPosting
from bot.sources.base import Fetcher, FetchResult, PollState, SourceSpec, register
from bot.sources.jsonapi import (
    Paging,
    as_list,
    country_alpha2,
    fetch_paged,
    guarded,
    is_bare_token,
    iso_datetime,
    load_json,
    peek_json,
    place_text,
    states_internship,
    strip_tags,
    text,
    unique,
    with_query,
)

__all__ = ["SmartRecruitersSource", "postings_url"]

PAGE_SIZE = 100
MAX_PAGES = 20
_SECTIONS = ("companyDescription", "jobDescription", "qualifications", "additionalInformation")


def postings_url(url_or_token: str) -> str:
    """The Posting API list URL for a company identifier; URLs are kept as given."""
    if is_bare_token(url_or_token):
        return f"https://api.smartrecruiters.com/v1/companies/{url_or_token.strip()}/postings"
    return url_or_token


def _is_posting(item: Any) -> bool:
    return (
        isinstance(item, dict)
        and "id" in item
        and "name" in item
        and ("releasedDate" in item or "jobAd" in item)
        and ("typeOfEmployment" in item or "refNumber" in item or "jobAd" in item)
    )


def _is_list(data: Any) -> bool:
    if not isinstance(data, dict) or not isinstance(data.get("content"), list):
        return False
    content = data["content"]
    return _is_posting(content[0]) if content else "totalFound" in data


def _label(value: Any) -> str:
    return text(value.get("label")) if isinstance(value, dict) else ""


class SmartRecruitersSource:
    """A company's public SmartRecruiters postings."""

    name = "smartrecruiters"
    # Every poll lists every open posting of the company, so a missing one has closed.
    lists_everything = True

    async def fetch(self, spec: SourceSpec, state: PollState, fetcher: Fetcher) -> FetchResult:
        """Poll every page (offset/limit) up to ``totalFound``; the first conditionally."""
        base = postings_url(spec.url)
        first = with_query(base, offset=0, limit=PAGE_SIZE)

        def next_url(paging: Paging) -> str | None:
            if paging.total is None or paging.fetched >= paging.total:
                return None
            return with_query(base, offset=paging.pages * PAGE_SIZE, limit=PAGE_SIZE)

        return await fetch_paged(
            fetcher,
            state,
            first,
            lambda body, url: self._page(body, spec.name, url),
            next_url,
            MAX_PAGES,
        )

    def sniff(self, body: bytes) -> bool:
        """True for a ``{totalFound, content: [...]}`` list or one posting's detail."""
        data = peek_json(body)
        return _is_list(data) or (_is_posting(data) and "jobAd" in data)

    def parse(self, body: bytes, source: str, url: str) -> list[RawPosting]:
        """Every posting in one page (or the one posting of a detail answer)."""
        records, _ = self._page(body, source, url)
        return records

    def _page(self, body: bytes, source: str, url: str) -> tuple[list[RawPosting], int]:
        data = load_json(body, source)
        if _is_posting(data):
            return guarded(source, lambda: [_record(data, source, url)]), 1
        if not isinstance(data, dict) or "content" not in data:
            raise ParseError(source, "expected a SmartRecruiters postings object with 'content'")
        postings = as_list(data["content"], source, "'content'")
        total = data.get("totalFound")
        if isinstance(total, bool) or not isinstance(total, int):
            total = len(postings)
        return guarded(source, lambda: [_record(p, source, url) for p in postings]), total


def _record(job: dict[str, Any], source: str, url: str) -> RawPosting:
    if not text(job.get("id")) or not text(job.get("name")):
        raise ParseError(source, "a posting has no id or name")
    company = job.get("company")
    if not isinstance(company, dict):
        company = {}
    identifier = text(company.get("identifier")) or _company_token(url)
    hints: dict[str, object] = {}
    origins: dict[str, str] = {}
    location = job.get("location")
    place = ""
    if isinstance(location, dict):
        place = place_text(location)
        country = country_alpha2(text(location.get("country")))
        if country:
            hints["countries"] = [country]
            origins["countries"] = "source:location.country"
        if isinstance(location.get("remote"), bool):
            hints["remote"] = location["remote"]
            origins["remote"] = "source:location.remote"
    employment = _label(job.get("typeOfEmployment"))
    level = job.get("experienceLevel")
    level_id = text(level.get("id")) if isinstance(level, dict) else ""
    if states_internship(employment):
        hints["is_internship"] = True
        origins["is_internship"] = "source:typeOfEmployment.label"
    elif level_id == "internship" or states_internship(_label(level)):
        hints["is_internship"] = True
        origins["is_internship"] = "source:experienceLevel"
    job_id = text(job["id"])
    link = text(job.get("postingUrl")) or text(job.get("applyUrl"))
    if not link and identifier:
        link = f"https://jobs.smartrecruiters.com/{identifier}/{job_id}"
    return RawPosting(
        source=source,
        external_id=job_id,
        url=link,
        title=text(job["name"]),
        company=text(company.get("name")) or identifier,
        locations=unique([place]),
        description=_description(job.get("jobAd")),
        posted=iso_datetime(job.get("releasedDate")),
        hints=hints,
        origins=origins,
    )


def _description(job_ad: Any) -> str:
    """The job ad's sections, each headed by its title, as plain text."""
    sections = job_ad.get("sections") if isinstance(job_ad, dict) else None
    if not isinstance(sections, dict):
        return ""
    parts = []
    for key in _SECTIONS:
        section = sections.get(key)
        if isinstance(section, dict):
            parts.append(text(section.get("title")))
            parts.append(strip_tags(text(section.get("text"))))
    return "\n".join(p for p in parts if p)


def _company_token(url: str) -> str:
    """The company identifier in a ``/v1/companies/{company}/postings`` URL."""
    parts = [p for p in urlsplit(url).path.split("/") if p]
    if "companies" in parts and parts.index("companies") + 1 < len(parts):
        return parts[parts.index("companies") + 1]
    return ""


register("smartrecruiters")(SmartRecruitersSource)
