"""One row of an internship-list table, pipe or HTML, read into a RawPosting.

Both readers in ``bot.sources.mdtable`` hand rows over as :class:`Cell` values, so the
columns, ``↳`` rows, the README legend and ages are read the same way for either layout.
The legend marks are taken out of the text and kept as hints where they carry one:

- 🔒 closed: ``active`` False;
- 🎓 advanced degree required: ``degree`` "phd-or-masters", unless the title names a
  PhD itself (the title is the stronger word, so the degree is left to it);
- 🛂 no sponsorship, 🇺🇸 US citizenship, 🔥 FAANG+: dropped (no hint carries them yet).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from bot.postings.degree import read_degree
from bot.postings.model import RawPosting
from bot.sources.jsonapi import unique

__all__ = ["Cell", "age_phrase", "column_map", "row_record"]

_AGE = re.compile(r"^(\d+)\s*(d|w|mo|m|h|y)$", re.IGNORECASE)
_AGE_UNITS = {"h": "hour", "d": "day", "w": "week", "mo": "month", "m": "month", "y": "year"}
_COLUMNS = {
    "company": ("company",),
    "title": ("position", "role", "title", "job"),
    "location": ("location", "locations"),
    "link": ("posting", "application", "application/link", "apply", "link"),
    "date": ("age", "date posted", "date", "posted"),
    "salary": ("salary", "pay"),
}
_CLOSED = "🔒"
_ADVANCED = "🎓"
_LEGEND = (_CLOSED, _ADVANCED, "🛂", "🇺🇸", "🔥", "\ufe0f")
_SPACES = re.compile(r"\s+")
ADVANCED_ORIGIN = "source:🎓 advanced degree"


@dataclass(frozen=True, slots=True)
class Cell:
    """A table cell: its plain text, its lines (a multi-location cell) and first link."""

    text: str
    lines: tuple[str, ...] = ()
    href: str = ""


def age_phrase(age: str) -> str:
    """A table's age ("2d", "3w", "1mo") as "2 days ago"; other dates ("Oct 24") as written."""
    found = _AGE.match(age.strip())
    if not found:
        return age.strip()
    count, unit = int(found.group(1)), _AGE_UNITS[found.group(2).lower()]
    return f"{count} {unit}{'' if count == 1 else 's'} ago"


def column_map(names: list[str]) -> dict[str, int]:
    """Which header cell (by index) holds each known column; the first match wins."""
    found: dict[str, int] = {}
    for index, name in enumerate(n.strip().lower() for n in names):
        for column, aliases in _COLUMNS.items():
            if column not in found and name in aliases:
                found[column] = index
    return found


def _unmarked(text: str) -> str:
    for mark in _LEGEND:
        text = text.replace(mark, " ")
    return _SPACES.sub(" ", text).strip()


def row_record(
    cells: list[Cell], columns: dict[str, int], previous: str, source: str
) -> tuple[RawPosting | None, str]:
    """The row's record (None without an apply link or a title) and its company.

    ``previous`` is the company of the row above, which a ``↳`` company cell repeats.
    """
    name = _unmarked(cells[columns["company"]].text)
    company = previous if name in ("↳", "") else name
    href = cells[columns["link"]].href
    raw_title = cells[columns["title"]].text
    title = _unmarked(raw_title)
    if not href or not title:
        return None, company
    hints: dict[str, object] = {}
    origins: dict[str, str] = {}
    if any(_CLOSED in cell.text for cell in cells):
        hints["active"] = False
    if _ADVANCED in raw_title and read_degree(title, "")[0] != "phd-only":
        hints["degree"] = "phd-or-masters"
        origins["degree"] = ADVANCED_ORIGIN
    if "salary" in columns:
        pay = cells[columns["salary"]].text
        if pay and pay not in ("-", "N/A"):
            hints["pay_text"] = pay
    locations: tuple[str, ...] = ()
    if "location" in columns:
        locations = unique(_unmarked(line) for line in cells[columns["location"]].lines)
    date = cells[columns["date"]].text if "date" in columns else ""
    record = RawPosting(
        source=source,
        external_id=href,
        url=html.unescape(href),
        title=title,
        company=company,
        locations=locations,
        posted=age_phrase(date) if date else None,
        hints=hints,
        origins=origins,
    )
    return record, company
