"""Markdown tables of internship lists (SimplifyJobs, vanshb03 and speedyapply READMEs).

A pipe table starts at a header row naming ``Company`` and ``Position``/``Role`` columns,
and runs until the first line that is not a table row. The same READMEs now also write
their tables as HTML ``<table>`` elements (read by ``bot.sources.htmltable``) with the
same header names. Each row's id is the ``href`` of the first link in the
Posting/Application column, exactly as written. ``↳`` in the Company column means the
same company as the row above; the legend marks (🔒, 🎓, …) are read in
``bot.sources.tablerow``, which turns a row of either layout into a record.
"""

from __future__ import annotations

import re

from bot.errors import ParseError
from bot.postings.model import RawPosting
from bot.sources.base import Fetcher, FetchResult, PollState, SourceSpec, register
from bot.sources.htmltable import html_tables
from bot.sources.jsonapi import fetch_once, strip_tags
from bot.sources.tablerow import Cell, age_phrase, column_map, row_record

__all__ = ["MarkdownTableSource", "age_phrase"]

_HEADER = re.compile(r"^[ \t]*\|[ \t]*company[ \t]*\|", re.IGNORECASE | re.MULTILINE)
_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_HREF = re.compile(r"""<a\s[^>]*?href\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
_MD_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)[^)]*\)")
_LINE_BREAK = re.compile(r"<\s*/?\s*br\s*/?\s*>", re.IGNORECASE)


def _cells(line: str) -> list[str]:
    body = line.strip()
    body = body.removeprefix("|").removesuffix("|")
    return [cell.strip() for cell in body.split("|")]


def _plain(cell: str) -> str:
    """Cell text: markdown links reduced to their text, HTML dropped, emphasis removed."""
    linked = _MD_LINK.sub(lambda m: m.group(1), cell)
    return strip_tags(linked).replace("**", "").replace("__", "").strip()


def _column_map(header: list[str]) -> dict[str, int]:
    return column_map([_plain(h) for h in header])


def _first_href(cell: str) -> str:
    found = _HREF.search(cell)
    if found:
        return found.group(1)
    link = _MD_LINK.search(cell)
    return link.group(2) if link else ""


def _cell(cell: str) -> Cell:
    """A pipe-table cell; its lines split at ``<br>`` with a ``<summary>`` left out."""
    lines = re.sub(r"<summary>.*?</summary>", "", cell, flags=re.IGNORECASE)
    parts = tuple(_plain(part) for part in _LINE_BREAK.split(lines))
    return Cell(_plain(cell), parts, _first_href(cell))


def _wanted(columns: dict[str, int]) -> bool:
    return "company" in columns and "title" in columns and "link" in columns


def _html_records(document: str, source: str) -> list[RawPosting]:
    records: list[RawPosting] = []
    for table in html_tables(document, source):
        if not table:
            continue
        columns = column_map([cell.text for cell in table[0]])
        if not _wanted(columns):
            continue
        company = ""
        for row in table[1:]:
            if len(row) <= max(columns.values()):
                continue  # a section heading spanning the table, not a posting
            record, company = row_record(row, columns, company, source)
            if record is not None:
                records.append(record)
    return records


def _sniff_html(head: str) -> bool:
    for table in html_tables(head, "sniff", complete=False):
        if table and _wanted(column_map([cell.text for cell in table[0]])):
            return True
    return False


class MarkdownTableSource:
    """A README (or other markdown file) holding tables of postings."""

    name = "mdtable"

    async def fetch(self, spec: SourceSpec, state: PollState, fetcher: Fetcher) -> FetchResult:
        """Poll the markdown file conditionally (e.g. its raw.githubusercontent.com URL)."""
        return await fetch_once(self, spec, state, fetcher, spec.url)

    def sniff(self, body: bytes) -> bool:
        """True for text holding a table whose header names Company and Position/Role."""
        start = body[:64].lstrip().lower()
        if start.startswith((b"<!", b"<?", b"<html", b"<rss", b"<feed", b"{", b"[")):
            return False
        try:
            head = body[:200_000].decode("utf-8", errors="ignore")
        except ValueError:
            return False
        if _sniff_html(head):
            return True
        if start.startswith(b"<"):
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
        html_records = _html_records(document, source)
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
            record, company = row_record([_cell(c) for c in cells], columns, company, source)
            if record is not None:
                records.append(record)
        return records + html_records


register("mdtable")(MarkdownTableSource)
