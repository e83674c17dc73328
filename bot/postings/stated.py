"""Facts a posting states in structured form, turned into enrichment hints with their origin.

Two kinds of statement come before anything read from prose: the fields a source's API
or list states (mapped by each source module into ``RawPosting.hints``, with
``RawPosting.origins`` naming the field), and schema.org ``JobPosting`` data embedded in
a page or an HTML description (JSON-LD or microdata, read by bot.postings.structured).
This module maps the second onto the same hint keys, so enrichment treats both alike.
"""

from __future__ import annotations

from typing import Any

from bot.postings.degree import read_degree
from bot.postings.gazetteer import resolve_country
from bot.postings.model import Degree, Pay, PayPeriod
from bot.postings.structured import JobPostingData

__all__ = ["degree_of_credentials", "structured_hints"]

# schema.org EducationalOccupationalCredential.credentialCategory values (and the words
# career sites put there) by the degree they require. Checked in this order: a page that
# states "doctoral degree" and "postgraduate degree" asks for a PhD.
_CREDENTIALS: tuple[tuple[tuple[str, ...], Degree], ...] = (
    (("doctor", "phd", "ph.d"), "phd-only"),
    (("postgraduate", "master", "graduate degree"), "phd-or-masters"),
    (
        (
            "bachelor",
            "associate",
            "high school",
            "undergraduate",
            "certificat",
            "college",
            "vocational",
        ),
        "any",
    ),
)
_SALARY_UNITS: dict[str, PayPeriod] = {
    "HOUR": "hour",
    "WEEK": "week",
    "MONTH": "month",
    "YEAR": "year",
}


def degree_of_credentials(categories: tuple[str, ...]) -> Degree | None:
    """The degree stated by credential categories, or None when they name no level.

    With several categories the lowest level that qualifies decides: a posting that
    accepts a bachelor's or a master's is open to bachelor's students.
    """
    levels: list[Degree] = []
    for category in categories:
        for words, degree in _CREDENTIALS:
            if any(word in category for word in words):
                levels.append(degree)
                break
    for degree in ("any", "phd-or-masters", "phd-only"):
        if degree in levels:
            return degree
    return None


def _number(value: Any) -> float | None:
    try:
        number = float(str(value).replace(",", ""))
    except ValueError:
        return None
    return number if number == number and number >= 0 else None  # not NaN


def _salary(salary: dict[str, Any]) -> Pay | None:
    """A schema.org MonetaryAmount as Pay, or None where it lacks a figure or a period."""
    currency = str(salary.get("currency") or "").upper()
    value = salary.get("value")
    if not currency or not isinstance(value, dict):
        return None
    low = _number(value.get("minValue") or value.get("value") or "")
    high = _number(value.get("maxValue") or "") or low
    unit = _SALARY_UNITS.get(str(value.get("unitText") or "").upper())
    if low is None or high is None or unit is None or low > high:
        return None
    return Pay(low, high, currency[:3], unit)


def structured_hints(data: JobPostingData) -> tuple[dict[str, object], dict[str, str]]:
    """Enrichment hints from a JobPosting, and the property each came from."""
    hints: dict[str, object] = {}
    origins: dict[str, str] = {}
    where = data.where

    def state(key: str, value: object, prop: str) -> None:
        hints[key] = value
        origins[key] = f"{where}:{prop}"

    countries = [code for code in map(resolve_country, data.countries) if code]
    if countries:
        state("countries", list(dict.fromkeys(countries)), "jobLocation")
    if data.remote:
        state("remote", True, "jobLocationType")
    if "INTERN" in data.employment_types or "INTERNSHIP" in data.employment_types:
        state("is_internship", True, "employmentType")
    if data.title or data.employment_types or data.identifier:
        # Structured data that describes one JobPosting says that this page is one.
        state("is_posting", True, "@type")
    degree = degree_of_credentials(data.credential_categories)
    if degree is not None:
        state("degree", degree, "educationRequirements")
    elif data.education:
        from_text, _ = read_degree("", "\n".join(data.education))
        if from_text != "unknown":
            state("degree", from_text, "educationRequirements")
    if data.valid_through:
        state("deadline", data.valid_through, "validThrough")
    pay = _salary(data.salary)
    if pay is not None:
        state("pay", pay, "baseSalary")
    return hints, origins
