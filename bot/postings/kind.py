"""Is a page a job posting, or a page that talks about internships?

A posting offers a role: it states duties, requirements, a way to apply and the terms.
A news item, guide, FAQ, blog post or programme overview talks about internships: it has
bylines, reported speech, a first-person story, questions as headings and a news site's
furniture. The cues of each kind live in ``bot/data/page_kinds.toml``, in every language
the bot reads; a page scores one point per group of cues it hits.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from bot.postings.facts import _LANDING_TITLE, looks_like_posting

__all__ = ["PageKindScore", "read_posting_kind", "score_page_kind"]

# The opening of a page holds what it is; a long page's tail is mostly site furniture
# of other pages ("related jobs", "more stories"), read only in its first part.
_SCAN = 6_000
# Different coursework cues ("soutenance", "rapport de stage") that make a programme page:
# one alone may be a posting's aside ("the internship can count for ECTS credits").
_COURSEWORK_CUES = 2


@dataclass(frozen=True, slots=True)
class PageKindScore:
    """The groups of posting cues and of article cues a page hits."""

    posting: tuple[str, ...]
    article: tuple[str, ...]
    # How often the page speaks to its reader ("you"), and talks of interns or students
    # in the third person ("the interns will attend").
    addressed: int = 0
    talked_about: int = 0
    # How many different coursework cues the page hits (its report, defence, credits).
    coursework: int = 0


@cache
def _groups() -> dict[str, dict[str, re.Pattern[str]]]:
    data = tomllib.loads(
        resources.files("bot.data").joinpath("page_kinds.toml").read_text(encoding="utf-8")
    )
    groups: dict[str, dict[str, re.Pattern[str]]] = {}
    for kind in ("posting", "article", "reader", "programme"):
        groups[kind] = {}
        for name, cues in data[kind].items():
            latin = [re.escape(c) for c in cues if c.isascii() or _latin(c)]
            other = [re.escape(c) for c in cues if not (c.isascii() or _latin(c))]
            parts = []
            if latin:
                parts.append(r"(?<![\w'])(?:" + "|".join(latin) + r")(?![\w])")
            if other:
                parts.append("(?:" + "|".join(other) + ")")
            groups[kind][name] = re.compile("|".join(parts))
    return groups


def _latin(cue: str) -> bool:
    return all(ch.isascii() or "\u00c0" <= ch <= "\u024f" for ch in cue)


def score_page_kind(text: str) -> PageKindScore:
    """The cue groups of each kind that the opening of a page hits."""
    lowered = text[:_SCAN].lower().replace("’", "'")
    groups = _groups()
    return PageKindScore(
        posting=tuple(name for name, cue in groups["posting"].items() if cue.search(lowered)),
        article=tuple(name for name, cue in groups["article"].items() if cue.search(lowered)),
        addressed=len(groups["reader"]["second_person"].findall(lowered)),
        talked_about=len(groups["reader"]["third_person"].findall(lowered)),
        coursework=len(set(groups["programme"]["coursework"].findall(lowered))),
    )


def _reads_as_article(score: PageKindScore, page: bool = False) -> bool:
    """More kinds of article cues than of posting cues, or a page about interns, not to one.

    A saved page (no feed or board around it) needs only as many kinds of article cues as
    of posting cues: a page that offers a role says more of it than any story does.
    """
    if len(score.article) >= 2 and len(score.article) > len(score.posting):
        return True
    if page and score.article and len(score.article) >= len(score.posting):
        return True
    if score.addressed == 0 and "narrative" in score.article and len(score.posting) <= 1:
        return True  # a first-person story that never speaks to a candidate
    # News and programme pages speak of "the interns" and never to "you".
    return score.addressed == 0 and score.talked_about >= 3 and not score.posting


def _is_prose(title: str) -> bool:
    """A heading that is a sentence: many words, a sentence's end, or a long CJK line."""
    stripped = title.strip()
    wide = sum(1 for ch in stripped if ord(ch) > 0x2E80)
    return (
        len(stripped.split()) > 12
        or wide > 24
        or stripped.endswith(("。", ".", "!", "！", "?", "？"))
    )


def read_posting_kind(
    title: str, text: str, hint: bool | None = None, structured: bool = False, page: bool = False
) -> tuple[bool, str]:
    """Whether a record is a job posting, and why (the evidence `why` shows).

    What the source states decides (``hint``; a JobPosting in the page). A job-board
    entry (``structured``) is a posting unless its title reads as news. A saved ``page``
    (no feed or board around it) whose only sign of a role is a heading is not. A page is an
    article when it hits at least two groups of article cues and more of them than of
    posting cues, or when it says how a degree programme reports and credits its
    internship; otherwise the title and the words of a job decide, as before.
    """
    if hint is True:
        return True, "stated"
    base = looks_like_posting(title, text, hint, structured)
    if hint is False:
        return base, "stated" if not base else f'title:"{title[:80]}" announces an opening'
    if structured:
        return base, "job-board entry" if base else "title reads as news"
    score = score_page_kind(f"{title}\n{text}")
    landing = _LANDING_TITLE.search(title) is not None
    if score.coursework >= _COURSEWORK_CUES:
        # How the internship is reported, defended and credited: a degree programme's page
        # about its internship, however much it says about the work and how to apply.
        return False, "programme page: says how the internship is reported and credited"
    if page and base and not score.posting and (score.article or _is_prose(title)):
        # A page that offers a role states its duties, its requirements, a way to apply or
        # its terms; a role word inside a sentence ("…インターンシップについて") does not.
        cues = ", ".join(score.article)
        return False, f"article: {cues}" if cues else "not a posting: a sentence about a role"
    if base and _reads_as_article(score, page):
        cues = ", ".join(score.article) or "speaks of interns, never to the reader"
        return False, f"article: {cues}"
    if base:
        cues = ", ".join(score.posting) or "a role title"
        return True, f"posting: {cues}"
    if landing:
        return False, f'landing page: "{title[:80]}"'
    if len(score.posting) >= 2 and score.addressed >= 3 and not score.article:
        return True, "posting: " + ", ".join(score.posting)
    if score.article:
        return False, "article: " + ", ".join(score.article)
    return False, "not a posting: no role offered"
