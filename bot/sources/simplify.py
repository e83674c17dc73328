"""SimplifyJobs listings: the ``.github/scripts/listings.json`` behind their internship lists."""

from __future__ import annotations

import re
from typing import Any

from bot.errors import ParseError
from bot.postings.model import Degree, RawPosting
from bot.sources.base import Fetcher, FetchResult, PollState, SourceSpec, register
from bot.sources.jsonapi import (
    as_list,
    epoch,
    fetch_once,
    guarded,
    is_bare_token,
    load_json,
    peek_json,
    text,
    unique,
)

__all__ = ["SimplifySource", "degree_of_list", "listings_url"]

_KEYS = frozenset({"company_name", "title", "locations", "date_posted", "id"})


def listings_url(url_or_repo: str) -> str:
    """The raw listings.json URL for a SimplifyJobs repository (e.g. Summer2026-Internships)."""
    if is_bare_token(url_or_repo):
        return (
            f"https://raw.githubusercontent.com/SimplifyJobs/{url_or_repo.strip()}"
            "/dev/.github/scripts/listings.json"
        )
    return url_or_repo


def _is_listing(item: Any) -> bool:
    return isinstance(item, dict) and _KEYS <= item.keys() and "id_icims" not in item


class SimplifySource:
    """A SimplifyJobs internship or new-grad list."""

    name = "simplify"
    # Every poll returns the whole board, so a posting it stops listing has closed.
    lists_everything = True

    async def fetch(self, spec: SourceSpec, state: PollState, fetcher: Fetcher) -> FetchResult:
        """Poll the listings file conditionally (raw.githubusercontent.com sends ETags)."""
        return await fetch_once(self, spec, state, fetcher, listings_url(spec.url))

    def sniff(self, body: bytes) -> bool:
        """True for a JSON array of listings with company_name, locations and date_posted."""
        data = peek_json(body)
        return isinstance(data, list) and bool(data) and _is_listing(data[0])

    def parse(self, body: bytes, source: str, url: str) -> list[RawPosting]:
        """Every listing; closed or hidden ones carry hints["active"] = False.

        Hidden listings (``is_visible: false``) were withdrawn from the list; they are
        kept so that classify and dedup still know them, but they never alert.
        """
        data = load_json(body, source)
        if not isinstance(data, list):
            raise ParseError(source, "expected a JSON array of SimplifyJobs listings")
        items = as_list(data, source, "the listings")
        return guarded(
            source,
            lambda: [self._record(item, source) for item in items],
        )

    @staticmethod
    def _record(item: dict[str, Any], source: str) -> RawPosting:
        if not text(item.get("id")) or not text(item.get("title")):
            raise ParseError(source, "a listing has no id or title")
        hints: dict[str, object] = {}
        if isinstance(item.get("active"), bool):
            hints["active"] = item["active"]
        if item.get("is_visible") is False:
            hints["active"] = False
        origins: dict[str, str] = {}
        terms = [text(t) for t in item.get("terms") or [] if text(t)]
        title = text(item["title"])
        apprenticeship = _APPRENTICESHIP.search(title) and not _SEASON.search(title)
        if any(_SEASON.search(term) for term in terms) and not apprenticeship:
            # Only the internship lists carry terms ("Summer 2025"); new-grad lists do not.
            # They list apprenticeships too, which are jobs with training, not internships,
            # unless the title makes one a summer placement ("Apprenticeship - Summer 2026").
            hints["is_internship"] = True
            origins["is_internship"] = "source:terms"
        degree = degree_of_list(item.get("degrees"))
        if degree is not None:
            hints["degree"] = degree
            origins["degree"] = "source:degrees"
        category = text(item.get("category"))
        if category.casefold() in _CATEGORIES_WITHOUT_AREA:
            # The list files chip design, trading and product roles apart from AI/ML/Data:
            # their titles name what the role serves ("AI Hardware"), not research work.
            hints["areas"] = ()
            origins["areas"] = f"source:category {category}"
        details = []
        if category:
            details.append("Category: " + category)
        if terms:
            details.append("Terms: " + ", ".join(terms))
        if text(item.get("sponsorship")):
            details.append("Sponsorship: " + text(item.get("sponsorship")))
        return RawPosting(
            source=source,
            external_id=text(item["id"]),
            url=text(item.get("url")),
            title=text(item["title"]),
            company=text(item.get("company_name")),
            locations=unique(text(place) for place in item.get("locations") or []),
            description="\n".join(details),
            posted=epoch(item.get("date_posted")),
            hints=hints,
            origins=origins,
        )


# The newer lists' ``degrees`` values, by the lowest level each admits.
_DEGREE_LEVELS: dict[str, Degree] = {
    "phd": "phd-only",
    "master's": "phd-or-masters",
    "mba": "phd-or-masters",
    "bachelor's": "any",
    "associate's": "any",
    "bootcamp": "any",
    "certificate": "any",
    "high school": "any",
}
# A term the lists give internships ("Summer 2026", "Fall 2025", "Co-op"); "N/A" is none.
_SEASON = re.compile(r"\b(?:summer|fall|autumn|winter|spring|co-?op)\b", re.I)
_APPRENTICESHIP = re.compile(r"\bapprentice(?:ship)?s?\b", re.I)
_CATEGORIES_WITHOUT_AREA = frozenset({"hardware", "quant", "product"})


def degree_of_list(degrees: object) -> Degree | None:
    """The degree a listing's ``degrees`` states: the lowest level it admits decides.

    ``["PhD"]`` is PhD-only; ``["Master's", "PhD"]`` PhD or Master's; any list with a
    Bachelor's is open to all. An empty or missing list states nothing.
    """
    if not isinstance(degrees, list):
        return None
    levels = {_DEGREE_LEVELS.get(text(d).casefold()) for d in degrees} - {None}
    for degree in ("any", "phd-or-masters", "phd-only"):
        if degree in levels:
            return degree
    return None


register("simplify")(SimplifySource)
