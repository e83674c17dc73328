"""Recruitee careers sites: ``{company}.recruitee.com/api/offers/``.

The list answer is ``{"offers": [...]}``; one offer (``/api/offers/{slug}``) is
``{"offer": {...}}`` and is read as a list of one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast, get_args
from urllib.parse import urlsplit

from bot.errors import ParseError
from bot.postings.model import Pay, PayPeriod, RawPosting
from bot.postings.stated import degree_of_credentials
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
    place_text,
    states_internship,
    strip_tags,
    text,
    unique,
)

__all__ = ["RecruiteeSource", "offers_url"]


def offers_url(url_or_token: str) -> str:
    """The offers endpoint for a careers-site subdomain; URLs are kept as given."""
    if is_bare_token(url_or_token):
        return f"https://{url_or_token.strip()}.recruitee.com/api/offers/"
    return url_or_token


def _is_offer(item: Any) -> bool:
    return isinstance(item, dict) and "id" in item and "careers_url" in item


def _offers(data: Any) -> Any:
    if not isinstance(data, dict):
        return None
    if "offer" in data and "offers" not in data:
        return [data["offer"]]
    return data.get("offers")


class RecruiteeSource:
    """A company's Recruitee careers site."""

    name = "recruitee"
    # Every poll lists every published offer, so an offer it stops listing has closed.
    lists_everything = True

    async def fetch(self, spec: SourceSpec, state: PollState, fetcher: Fetcher) -> FetchResult:
        """Poll the offers conditionally; a bare subdomain is expanded to its endpoint."""
        return await fetch_once(self, spec, state, fetcher, offers_url(spec.url))

    def sniff(self, body: bytes) -> bool:
        """True for ``{"offers": [...]}`` (or ``{"offer": {...}}``) with ``careers_url``."""
        data = peek_json(body)
        offers = _offers(data)
        if isinstance(offers, list) and not offers:
            return isinstance(data, dict) and set(data) <= {"offers", "meta"}
        return isinstance(offers, list) and _is_offer(offers[0])

    def parse(self, body: bytes, source: str, url: str) -> list[RawPosting]:
        """Every offer; other shapes raise ParseError."""
        offers = _offers(load_json(body, source))
        if offers is None:
            raise ParseError(source, "expected a Recruitee object with 'offers' (or 'offer')")
        checked = as_list(offers, source, "'offers'")
        return guarded(source, lambda: [_record(o, source, url) for o in checked])


def _record(offer: dict[str, Any], source: str, url: str) -> RawPosting:
    offer_id = offer.get("id")
    if isinstance(offer_id, bool) or not text(offer_id) or not text(offer.get("title")):
        raise ParseError(source, "an offer has no id or title")
    careers_url = text(offer.get("careers_url"))
    hints: dict[str, object] = {}
    origins: dict[str, str] = {}
    places = [text(offer.get("location"))]
    codes = [text(offer.get("country_code"))]
    extra = offer.get("locations")
    for place in extra if isinstance(extra, list) else []:
        if isinstance(place, dict):
            places.append(place_text(place))
            codes.append(text(place.get("country_code")))
    if not any(places):
        places.append(place_text(offer))
    countries = unique(country_alpha2(code) or "" for code in codes)
    if countries:
        hints["countries"] = list(countries)
        origins["countries"] = "source:country_code"
    if offer.get("remote") is True:
        hints["remote"] = True
        origins["remote"] = "source:remote"
    elif offer.get("remote") is False and (offer.get("on_site") or offer.get("hybrid")):
        hints["remote"] = False
        origins["remote"] = "source:on_site" if offer.get("on_site") else "source:hybrid"
    if states_internship(text(offer.get("employment_type_code")).replace("_", " ")):
        hints["is_internship"] = True
        origins["is_internship"] = "source:employment_type_code"
    # "master_degree", "doctorate", "some_high_school": read as a credential's category.
    degree = degree_of_credentials((text(offer.get("education_code")).replace("_", " "),))
    if degree is not None:
        hints["degree"] = degree
        origins["degree"] = "source:education_code"
    deadline = _time(offer.get("close_at"))
    if deadline is not None:
        hints["deadline"] = deadline.date().isoformat()
        origins["deadline"] = "source:close_at"
    pay = _pay(offer.get("salary"))
    if pay is not None:
        hints["pay"] = pay
        origins["pay"] = "source:salary"
    parts = [strip_tags(text(offer.get(key))) for key in ("description", "requirements")]
    return RawPosting(
        source=source,
        external_id=text(offer_id),
        url=careers_url or text(offer.get("careers_apply_url")),
        title=text(offer["title"]),
        company=text(offer.get("company_name")) or _subdomain(careers_url) or _subdomain(url),
        locations=unique(places),
        description="\n".join(p for p in parts if p),
        posted=_time(offer.get("published_at")) or _time(offer.get("created_at")),
        hints=hints,
        origins=origins,
    )


def _time(value: Any) -> datetime | None:
    """Recruitee's ``2026-11-02 10:00:00 UTC`` (or ISO 8601) as an aware UTC datetime."""
    raw = text(value)
    return iso_datetime(raw.removesuffix(" UTC") + "+00:00" if raw.endswith(" UTC") else raw)


def _pay(salary: Any) -> Pay | None:
    """The pay ``{min, max, currency, period}`` states, when its figures and period are read."""
    if not isinstance(salary, dict):
        return None
    figures = []
    for key in ("min", "max"):
        try:
            figures.append(
                float(text(salary.get(key)).replace(",", "")) if salary.get(key) else None
            )
        except ValueError:
            return None
    low, high = figures
    period = text(salary.get("period")).casefold()
    currency = text(salary.get("currency")).upper()
    if period not in get_args(PayPeriod) or not currency or (low is None and high is None):
        return None
    try:
        return Pay(low, high, currency, cast(PayPeriod, period))
    except ValueError:  # a reversed range
        return None


def _subdomain(url: str) -> str:
    """The careers-site subdomain in ``https://acme.recruitee.com/...``."""
    host = urlsplit(url).hostname or ""
    if host.endswith(".recruitee.com"):
        return host.removesuffix(".recruitee.com").split(".")[-1]
    return ""


register("recruitee")(RecruiteeSource)
