"""HTML tables inside a README (the current SimplifyJobs and vanshb03 lists), read as cells.

The reader is the standard library's :class:`html.parser.HTMLParser`, fed the document
once. It keeps no stack of open elements: only whether it is in a table, row, cell or
``<summary>``, and how deep a table sits inside a cell, so deeply nested or unclosed
markup costs time in proportion to its size. A table still open at the end of the body
(the body was cut short) raises ParseError, as a cut-short pipe row does.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from bot.errors import ParseError
from bot.sources.tablerow import Cell

__all__ = ["MAX_HTML_CHARS", "html_tables"]

# Far above the largest list README (a few MB); a bigger body is refused, not parsed.
MAX_HTML_CHARS = 16_000_000
# Reads the href out of one start tag's own text (get_starttag_text), so the id keeps
# the attribute exactly as written ("&amp;" stays "&amp;"), as the pipe tables do.
_HREF = re.compile(r"""\shref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_SPACES = re.compile(r"\s+")


def _tidy(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


class _Reader(HTMLParser):
    """Collects each top-level table as rows of cells."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[Cell]]] = []
        self.open_table = False
        self._rows: list[list[Cell]] = []
        self._row: list[Cell] | None = None
        self._in_cell = False
        self._text: list[str] = []
        self._lines: list[str] = []
        self._line: list[str] = []
        self._href = ""
        self._summary = 0
        self._nested = 0

    def _break(self) -> None:
        self._lines.append(_tidy("".join(self._line)))
        self._line = []

    def _end_cell(self) -> None:
        if self._in_cell and self._row is not None:
            self._break()
            lines = tuple(line for line in self._lines if line)
            self._row.append(Cell(_tidy("".join(self._text)), lines, self._href))
        self._in_cell, self._text, self._lines, self._line = False, [], [], []
        self._href, self._summary = "", 0

    def _end_row(self) -> None:
        self._end_cell()
        if self._row:
            self._rows.append(self._row)
        self._row = None

    def keep_open_table(self) -> None:
        """Keep the rows of a table still open (the head of a body being sniffed)."""
        self._nested = 0
        self.handle_endtag("table")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            if self.open_table:
                self._nested += 1
            else:
                self.open_table, self._rows = True, []
        elif not self.open_table:
            return
        elif self._nested == 0 and tag == "tr":
            self._end_row()
            self._row = []
        elif self._nested == 0 and tag in ("td", "th"):
            self._end_cell()
            if self._row is None:
                self._row = []
            self._in_cell = True
        elif not self._in_cell:
            return
        elif tag == "br":
            self._break()
        elif tag == "summary":
            self._summary += 1
        elif tag == "a" and not self._href:
            found = _HREF.search(self.get_starttag_text() or "")
            if found:
                self._href = next(group for group in found.groups() if group is not None)

    def handle_endtag(self, tag: str) -> None:
        if not self.open_table:
            return
        if tag == "table":
            if self._nested:
                self._nested -= 1
                return
            self._end_row()
            self.tables.append(self._rows)
            self.open_table, self._rows = False, []
        elif self._nested == 0 and tag == "tr":
            self._end_row()
        elif self._nested == 0 and tag in ("td", "th"):
            self._end_cell()
        elif self._in_cell and tag == "br":  # "</br>", as the lists write it
            self._break()
        elif self._in_cell and tag == "summary":
            self._summary = max(0, self._summary - 1)

    def handle_data(self, data: str) -> None:
        if self._in_cell:
            self._text.append(data)
            if not self._summary:
                self._line.append(data)


def html_tables(document: str, source: str, *, complete: bool = True) -> list[list[list[Cell]]]:
    """Every top-level ``<table>`` in the document as rows of cells, header row first.

    With ``complete`` (parsing a whole body), a table left open at the end raises
    ParseError; sniffing a body's head passes False and keeps what was read.
    """
    if len(document) > MAX_HTML_CHARS:
        raise ParseError(source, f"body of {len(document):,} characters is too large")
    if "<table" not in document.lower():
        return []
    reader = _Reader()
    # No close(): it rescans an unterminated tag or quote once per "<" after it, which is
    # quadratic. feed() stops at the first unterminated construct; a table still open
    # there is cut short, and what follows the last closed table holds no table.
    reader.feed(document)
    if reader.open_table:
        if complete:
            raise ParseError(source, "HTML table is cut short (no </table>)")
        reader.keep_open_table()
    return reader.tables
