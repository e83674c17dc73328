"""The Posting value and the raw record that sources hand to enrichment."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

__all__ = [
    "DEGREES",
    "Degree",
    "Pay",
    "PayPeriod",
    "Posting",
    "RawPosting",
    "explain_json",
    "posting_json",
]

Degree = Literal["phd-only", "phd-or-masters", "any", "unknown"]
DEGREES: tuple[Degree, ...] = get_args(Degree)

PayPeriod = Literal["hour", "day", "week", "month", "year"]


@dataclass(frozen=True, slots=True)
class Pay:
    """Pay as stated by the posting: a range (or a single figure) with currency and period."""

    min: float | None
    max: float | None
    currency: str
    period: PayPeriod

    def __post_init__(self) -> None:
        if self.min is None and self.max is None:
            raise ValueError("pay needs at least one figure")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"pay range is reversed: {self.min} > {self.max}")

    def describe(self) -> str:
        """Human form, e.g. ``USD 52–78 / hour``."""
        low, high = self.min, self.max
        figures = [f"{v:,.2f}".rstrip("0").rstrip(".") for v in (low, high) if v is not None]
        amount = "–".join(dict.fromkeys(figures))
        return f"{self.currency} {amount} / {self.period}"


@dataclass(frozen=True, slots=True)
class RawPosting:
    """What a source parser extracts from one record, before any interpretation.

    Sources fill what their format states; enrichment works out the rest. ``hints``
    carries source-specific facts a parser knows for sure (for example Amazon's
    ``is_intern`` flag or a country code field) under well-known keys:
    ``countries`` (list of ISO alpha-2), ``remote`` (bool), ``is_internship`` (bool),
    ``is_posting`` (bool), ``degree`` (a Degree), ``areas`` (a tuple of slugs, empty when
    the source files the role where no research area applies), ``active`` (bool),
    ``deadline`` (ISO date), ``pay_text`` (str), ``pay`` (a Pay the source states).

    ``origins`` says, per hint key, which field of the source stated it
    (``source:degrees``, ``source:is_intern``): the evidence `jobbot classify --explain`
    and `why` show.
    """

    source: str
    external_id: str
    url: str
    title: str
    company: str = ""
    locations: tuple[str, ...] = ()
    description: str = ""
    posted: str | datetime | None = None
    hints: dict[str, object] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Posting:
    """One job posting as jobbot understands it."""

    source: str
    external_id: str
    url: str
    title: str
    company: str = ""
    locations: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    remote: bool = False
    areas: tuple[str, ...] = ()
    degree: Degree = "unknown"
    is_posting: bool = True
    is_internship: bool = False
    posted_at: datetime | None = None
    pay: Pay | None = None
    duration: str | None = None
    deadline: datetime | None = None
    description: str = ""
    active: bool = True
    # Where each fact was read, as (field, origin) pairs: ("degree", "source:degrees"),
    # ("countries", 'locations:"Aachen"'). Shown by `classify --explain` and `why`.
    evidence: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not self.source:
            raise ValueError("a posting needs a source")
        if not self.external_id:
            raise ValueError("a posting needs an external id")
        if self.degree not in DEGREES:
            raise ValueError(f"unknown degree {self.degree!r}; expected one of {DEGREES}")
        if self.posted_at is not None and self.posted_at.tzinfo is None:
            raise ValueError("posted_at must be timezone-aware (UTC)")
        for code in self.countries:
            if len(code) != 2 or not code.isupper():
                raise ValueError(f"country {code!r} is not an ISO 3166-1 alpha-2 code")


def posting_json(posting: Posting) -> dict[str, Any]:
    """What jobbot understood of a posting, as JSON (`jobbot classify`, webhooks)."""
    pay = posting.pay
    return {
        "id": posting.external_id,
        "title": posting.title,
        "company": posting.company,
        "url": posting.url,
        "locations": list(posting.locations),
        "countries": sorted(posting.countries),
        "remote": posting.remote,
        "areas": sorted(posting.areas),
        "degree": posting.degree,
        "is_posting": posting.is_posting,
        "is_internship": posting.is_internship,
        "posted_at": posting.posted_at.isoformat() if posting.posted_at else None,
        "pay": (
            {"min": pay.min, "max": pay.max, "currency": pay.currency, "period": pay.period}
            if pay
            else None
        ),
        "duration": posting.duration,
        "deadline": posting.deadline.date().isoformat() if posting.deadline else None,
        "active": posting.active,
    }


def explain_json(posting: Posting) -> dict[str, list[str]]:
    """Where each fact of a posting was read, field by field (`jobbot classify --explain`)."""
    explained: dict[str, list[str]] = {}
    for name, origin in posting.evidence:
        explained.setdefault(name, []).append(origin)
    return explained
