"""A single posting page (saved from a browser as text, or HTML) read as one raw record."""

from __future__ import annotations

import re

from bot.postings.model import RawPosting
from bot.postings.text import clean_inline, html_to_text

__all__ = ["parse_page"]

_TITLE_TAG = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)
_H1 = re.compile(r"<h1[^>]*>(.*?)</h1>", re.I | re.S)
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)
_FRONT_TITLE = re.compile(r"^title\s*:\s*[\"']?(.+?)[\"']?\s*$", re.M | re.I)
_MD_HEADING = re.compile(r"^\s{0,3}#{1,3}\s+(.+?)\s*#*\s*$", re.M)


def _title(text: str) -> str:
    front = _FRONT_MATTER.match(text)
    if front:
        found = _FRONT_TITLE.search(front.group(1))
        if found:
            return clean_inline(found.group(1))
    for pattern in (_H1, _TITLE_TAG):
        found = pattern.search(text)
        if found:
            return clean_inline(found.group(1))
    heading = _MD_HEADING.search(text)
    if heading:
        return clean_inline(heading.group(1))
    for line in html_to_text(text).splitlines():
        if len(line.split()) >= 2:
            return clean_inline(line)[:200]
    return ""


def parse_page(body: str, source: str, name: str) -> RawPosting:
    """One posting from a page's text or HTML; the name (a file name) is its id."""
    return RawPosting(
        source=source,
        external_id=name,
        url="",
        title=_title(body),
        description=body,
    )
