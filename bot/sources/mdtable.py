"""Markdown tables of internship lists (SimplifyJobs and speedyapply READMEs).

A table starts at a header row naming ``Company`` and ``Position``/``Role`` columns, and
runs until the first line that is not a table row. Each row's id is the ``href`` of the
first link in the Posting/Application column, exactly as written. ``↳`` in the Company
column means the same company as the row above.
"""

from __future__ import annotations

import html
import re

from bot.errors import ParseError
from bot.postings.model import RawPosting
from bot.sources.base import Fetcher, FetchResult, PollState, SourceSpec, register
from bot.sources.jsonapi import fetch_once, strip_tags, unique

__all__ = ["MarkdownTableSource", "age_phrase"]

_HEADER = re.compile(r"^[ \t]*\|[ \t]*company[ \t]*\|", re.IGNORECASE | re.MULTILINE)
_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_HREF = re.compile(r"""<a\s[^>]*?href\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
_MD_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)[^)]*\)")
_LINE_BREAK = re.compile(r"<\s*/?\s*br\s*/?\s*>", re.IGNORECASE)
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


def age_phrase(age: str) -> str:
    """A table's age ("2d", "3w", "1mo") as "2 days ago"; other dates ("Oct 24") as written."""
    found = _AGE.match(age.strip())
    if not found:
        return age.strip()
    count, unit = int(found.group(1)), _AGE_UNITS[found.group(2).lower()]
    return f"{count} {unit}{'' if count == 1 else 's'} ago"


def _cells(line: str) -> list[str]:
    body = line.strip()
    body = body.removeprefix("|").removesuffix("|")
    return [cell.strip() for cell in body.split("|")]


def _plain(cell: str) -> str:
    """Cell text: markdown links reduced to their text, HTML dropped, emphasis removed."""
    linked = _MD_LINK.sub(lambda m: m.group(1), cell)
    return strip_tags(linked).replace("**", "").replace("__", "").strip()


def _column_map(header: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, name in enumerate(_plain(h).lower() for h in header):
        for column, names in _COLUMNS.items():
            if column not in found and name in names:
                found[column] = index
    return found


def _first_href(cell: str) -> str:
    found = _HREF.search(cell)
    if found:
        return found.group(1)
    link = _MD_LINK.search(cell)
    return link.group(2) if link else ""


class MarkdownTableSource:
    """A README (or other markdown file) holding tables of postings."""

    name = "mdtable"

    async def fetch(self, spec: SourceSpec, state: PollState, fetcher: Fetcher) -> FetchResult:
        """Poll the markdown file conditionally (e.g. its raw.githubusercontent.com URL)."""
        return await fetch_once(self, spec, state, fetcher, spec.url)

    def sniff(self, body: bytes) -> bool:
        """True for text holding a table whose header names Company and Position/Role."""
        if body[:64].lstrip().startswith((b"<", b"{", b"[")):
            return False
        try:
            head = body[:200_000].decode("utf-8", errors="ignore")
        except ValueError:
            return False
        for match in _HEADER.finditer(head):
            line = head[match.start() : head.find("\n", match.start())]
            columns = _column_map(_cells(line))
            if "title" in columns and "link" in columns:
                return True
        return False

    def parse(self, body: bytes, source: str, url: str) -> list[RawPosting]:
        """Every table row with an apply link; a body with no such table raises ParseError."""
        if not body.strip():
            raise ParseError(source, "empty response")
        try:
            document = body.decode("utf-8")
        except UnicodeDecodeError:
            raise ParseError(source, "markdown table is not UTF-8 text") from None
        if not self.sniff(body):
            raise ParseError(source, "no table with Company and Position/Role columns")
        records: list[RawPosting] = []
        columns: dict[str, int] | None = None
        company = ""
        for line in document.splitlines():
            stripped = line.strip()
            if not stripped.startswith("|"):
                columns = None
                continue
            cells = _cells(stripped)
            if columns is None:
                mapping = _column_map(cells)
                if "company" in mapping and "title" in mapping and "link" in mapping:
                    columns, company = mapping, ""
                continue
            if _SEPARATOR.match(stripped):
                continue
            if not stripped.endswith("|") or len(cells) <= max(columns.values()):
                # Every row of these tables ends with a pipe: a body cut short would
                # silently lose the rest of the list, so it is an error for this poll.
                raise ParseError(source, f"table row is cut short: {stripped[:80]!r}")
            record, company = self._record(cells, columns, company, source)
            if record is not None:
                records.append(record)
        return records

    @staticmethod
    def _record(
        cells: list[str], columns: dict[str, int], previous: str, source: str
    ) -> tuple[RawPosting | None, str]:
        name = _plain(cells[columns["company"]])
        company = previous if name in ("↳", "") else name
        link_cell = cells[columns["link"]]
        href = _first_href(link_cell)
        title = _plain(cells[columns["title"]])
        if not href or not title:
            return None, company
        hints: dict[str, object] = {}
        if "🔒" in link_cell or "🔒" in title:
            hints["active"] = False
        if "salary" in columns:
            pay = _plain(cells[columns["salary"]])
            if pay and pay not in ("-", "N/A"):
                hints["pay_text"] = pay
        locations: tuple[str, ...] = ()
        if "location" in columns:
            cell = cells[columns["location"]]
            cell = re.sub(r"<summary>.*?</summary>", "", cell, flags=re.IGNORECASE)
            locations = unique(_plain(part) for part in _LINE_BREAK.split(cell))
        date = _plain(cells[columns["date"]]) if "date" in columns else ""
        record = RawPosting(
            source=source,
            external_id=href,
            url=html.unescape(href),
            title=title,
            company=company,
            locations=locations,
            posted=age_phrase(date) if date else None,
            hints=hints,
        )
        return record, company


register("mdtable")(MarkdownTableSource)
