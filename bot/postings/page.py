"""A single posting page (saved from a browser as text, or HTML) read as one raw record."""

from __future__ import annotations

import re
import tomllib
from functools import cache
from importlib import resources

from bot.postings.model import RawPosting
from bot.postings.structured import find_job_posting
from bot.postings.text import clean_inline, html_to_text

__all__ = ["parse_page"]

_TITLE_TAG = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)
_H1 = re.compile(r"<h1[^>]*>(.*?)</h1>", re.I | re.S)
_FRONT_MATTER = re.compile(r"\A(?:---|\+\+\+)\s*\n(.*?)\n(?:---|\+\+\+)\s*\n", re.S)
_FRONT_TITLE = re.compile(r"^title\s*[:=]\s*[\"']?(.+?)[\"']?\s*$", re.M | re.I)
_MD_HEADING = re.compile(r"^\s{0,3}#{1,3}\s+(.+?)\s*#*\s*$", re.M)
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"[*_`]{1,3}")
# Server-side template code left in a saved page ("<%=program.Item("title")%>", "{{ title }}").
_TEMPLATE = re.compile(r"<%|%>|\{\{|\}\}")
# A static-site front matter that marks a blog post or news item, not a job posting.
_BLOG_LAYOUT = re.compile(r"^layout\s*[:=]\s*[\"']?(post|posts|blog|news|article)\b", re.M | re.I)
_BLOG_PERMALINK = re.compile(r"^permalink\s*[:=].*/(post|posts|blog|news)[-/\d]", re.M | re.I)
_JOB_CATEGORY = re.compile(r"^(categor(y|ies)|tags)\s*[:=].*\b(jobs?|careers?|vacanc)", re.M | re.I)


def _clean_title(value: str) -> str:
    """A heading as plain text: markdown links, emphasis and heading marks removed."""
    value = _MD_LINK.sub(r"\1", value)
    value = re.sub(r"^\s*#+\s*", "", value)
    return clean_inline(_MD_EMPHASIS.sub("", value))


# A list item, a label line ("Location: …") or a label left without its value ("Posted in",
# "Filed under", where a blog's category links were).
_NOT_A_TITLE = re.compile(
    r"^\s*[-*•]\s|^\s*(location|date|posted|category|tags)\s*:|"
    r"^\W*(posted in|filed under)\W*$",
    re.I,
)
# "date: 2024-09-01" in front matter, or a "Date: 12/09/2017" header line of a saved post.
_DATE_LINE = re.compile(
    r"^(?:date|posted|published)\s*[:=]\s*[\"']?([^\"'\n]+?)[\"']?\s*$", re.I | re.M
)


# A line longer than this is prose, whatever words it holds: never dropped as chrome.
_CHROME_MAX_WORDS = 12


@cache
def _page_kinds() -> dict[str, dict[str, list[str]]]:
    data: dict[str, dict[str, list[str]]] = tomllib.loads(
        resources.files("bot.data").joinpath("page_kinds.toml").read_text(encoding="utf-8")
    )
    return data


@cache
def _title_label() -> re.Pattern[str]:
    """A line that names the role after a label ("Job title: …", "Sujet de stage : …")."""
    labels = sorted(_page_kinds()["page"]["title_labels"], key=len, reverse=True)
    return re.compile(
        r"^\W*(?:" + "|".join(re.escape(label) for label in labels) + r")\s*[:：]\s*\S", re.I
    )


@cache
def _page_words() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """(site chrome, section headings, start of other postings) from page_kinds.toml."""
    kinds = _page_kinds()
    data = kinds["page"]
    # A line that is only a duties or requirements cue ("Your tasks") heads a section.
    sections = data["section_headings"] + kinds["posting"]["duties"]
    sections += kinds["posting"]["requirements"]

    def alternation(words: list[str]) -> str:
        return "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))

    return (
        re.compile(alternation(data["chrome"]), re.I),
        re.compile(r"^\W*(?:" + alternation(sections) + r")\W*$", re.I),
        re.compile(r"^\W*(?:" + alternation(data["tail"]) + r")\b", re.I),
    )


def _is_chrome(line: str) -> bool:
    """A short line of the site around the posting (a button, a banner, a breadcrumb)."""
    chrome, _, _ = _page_words()
    return (
        len(line.split()) <= _CHROME_MAX_WORDS
        and chrome.search(line) is not None
        or (len(line) <= 200 and "cookie" in line.lower())
    )


# A heading glued to the sentence before it, as pages copied without their block breaks
# have it: "…we hope you will be too!Your responsibilities", "…Munich.Minimum
# qualifications:". No space after the sentence's end, then a short capitalised run.
_GLUED = re.compile(r"(?<=[a-z)][.!?])(?=[A-Z][^.!?\n]{2,60}$)")


def _unglued(line: str) -> list[str]:
    """A line whose end is a section heading run into its last sentence, split in two."""
    found = _GLUED.search(line)
    if found is None:
        return [line]
    _, heading, _ = _page_words()
    tail = line[found.start() :].strip()
    if tail.endswith(":") and len(tail.split()) <= 6 or heading.match(tail):
        return [line[: found.start()], tail]
    return [line]


# Words run together where a page's blocks met ("recommendation systemsExtend and…",
# "Computer Vision & Deep LearningFull PhD"): a lower-case word and a capitalised one.
# It also splits names ("OpenStack"), which costs the reading nothing.
_GLUED_WORDS = re.compile(r"(?<=[a-z]{3})(?=[A-Z][a-z]{2})")


def posting_text(text: str) -> str:
    """A saved page's text without the site around the posting.

    Buttons, banners, breadcrumbs and counters are dropped, a section heading run into the
    sentence before it gets its own line, and the page ends where the board's lists of
    other postings ("Similar jobs") begin.
    """
    _, _, tail = _page_words()
    kept: list[str] = []
    for line in (part for whole in text.splitlines() for part in _unglued(whole)):
        stripped = line.strip()
        if kept and tail.match(stripped):
            break
        if stripped and _is_chrome(stripped):
            continue
        kept.append(line)
    return "\n".join(kept)


def _usable(title: str) -> bool:
    _, heading, _ = _page_words()
    return (
        bool(title)
        and not _TEMPLATE.search(title)
        and not _NOT_A_TITLE.search(title)
        and not heading.match(title)
        and not _is_chrome(title)
    )


# A labelled role name is looked for in a page's opening lines only: further down,
# "Position: …" lines belong to the requirements or to other openings.
_LABEL_LINES = 8


def _title(text: str) -> str:
    front = _FRONT_MATTER.match(text)
    if front:
        found = _FRONT_TITLE.search(front.group(1))
        if found and _usable(_clean_title(found.group(1))):
            return _clean_title(found.group(1))
    for pattern in (_H1, _TITLE_TAG, _MD_HEADING):
        for found in pattern.finditer(text):
            title = _clean_title(found.group(1))
            if _usable(title):
                return title
    lines = [line for line in html_to_text(text).splitlines() if _usable(line.strip())]
    # A labelled role name is the title even when it runs long: a page states it there.
    for line in lines[:_LABEL_LINES]:
        if _title_label().match(_clean_title(line)):
            return _clean_title(line)[:200]
    # A heading-like line (a few words) first; else the start of the first paragraph.
    for line in lines:
        if 2 <= len(line.split()) <= 15:
            return _clean_title(line)[:200]
    for line in lines:
        if len(line.split()) >= 2:
            return _clean_title(line)[:120]
    return ""


def _hints(text: str) -> dict[str, object]:
    front = _FRONT_MATTER.match(text)
    if front is None:
        return {}
    matter = front.group(1)
    blog = _BLOG_LAYOUT.search(matter) or _BLOG_PERMALINK.search(matter)
    if blog and not _JOB_CATEGORY.search(matter):
        return {"is_posting": False}
    return {}


def parse_page(body: str, source: str, name: str) -> RawPosting:
    """One posting from a page's text or HTML; the name (a file name) is its id.

    A schema.org JobPosting in the page gives its title (enrichment takes its other
    facts); otherwise the title is the first heading that is neither site chrome nor a
    section name ("Job description").
    """
    structured = find_job_posting(body)
    text = body if structured else posting_text(body)
    return RawPosting(
        source=source,
        external_id=name,
        url="",
        title=structured.title if structured and structured.title else _title(text),
        # Split for reading only: the title keeps a name's own capitals ("OpenStack"), and
        # a page with structured data keeps its markup ("hiringOrganization") whole.
        description=text if structured else _GLUED_WORDS.sub(" ", text),
        posted=_posted(body),
        hints=_hints(body),
    )


def _posted(text: str) -> str | None:
    """The date a saved page gives itself in its header, as written (parsed later)."""
    found = _DATE_LINE.search(text[:3000])
    return found.group(1).strip() if found else None
