"""What an alert says, independent of platform, and the plain-text (console) rendering.

Everything here is pure: values in, strings out. Platform renderers (Slack blocks,
Discord embeds) build on ``AlertView`` so that every platform shows the same facts.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.postings.gazetteer import country_name
from bot.postings.model import Posting
from bot.postings.taxonomy import load_taxonomy

__all__ = [
    "CLOSED_NOTE",
    "AlertView",
    "DigestSection",
    "alert_view",
    "chat_safe",
    "digest_sections",
    "plain_alert",
    "plain_digest",
    "reminder_heading",
    "safe_text",
    "safe_url",
]

DEGREE_LABELS = {
    "phd-only": "PhD only",
    "phd-or-masters": "PhD or Master's",
    "any": "Any degree level",
    "unknown": "Not stated",
}
# C0/C1 controls (including ESC, which starts terminal escape sequences), bidi overrides
# and zero-width characters: none belongs in a job title, and each can disguise text.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)


# A URL inside a title or company name is how a posting smuggles in a link of its own:
# the scheme goes and the host's dots become one-dot leaders, so nothing makes it a link.
_URL_IN_TEXT = re.compile(
    r"(?:[a-z0-9+.-]*:/{2,}|(?:javascript|vbscript):(?=\S)|data:(?=[a-z]+/))([^\s/?#<>()\[\]{}|\"'`:]*)",
    re.I,
)


def _defang(match: re.Match[str]) -> str:
    return match.group(1).replace(".", "\u2024")


def safe_text(value: str, limit: int) -> str:
    """Text without control or invisible characters or live URLs, cut to ``limit`` with '…'."""
    return _cut(_clean(value), limit)


def _clean(value: str) -> str:
    cleaned = _UNSAFE.sub("", unicodedata.normalize("NFC", value))
    cleaned = " ".join(cleaned.split())
    # Each pass removes a scheme's colon, so this ends; "http:http://x" needs two.
    while _URL_IN_TEXT.search(cleaned):
        cleaned = _URL_IN_TEXT.sub(_defang, cleaned)
    return cleaned


def _cut(cleaned: str, limit: int) -> str:
    if len(cleaned) > limit:
        cleaned = cleaned[: max(0, limit - 1)].rstrip() + "…"
    return cleaned


_HTTP_URL = re.compile(r"^https?://[^\s/?#]+", re.I)
# Chat markup a posting's text could use to ping people or dress up a link: Slack's
# <!channel>, <@U123>, <http://x|y>; Discord's <@123>, <@&123>, [text](url); and the
# bare @everyone / @here both platforms honour.
_BROADCAST = re.compile(r"@(everyone|here|channel)", re.I)  # no \b: a cut can end the word
_MASKED_LINK = re.compile(r"\]\s*\(")


def safe_url(url: str) -> str:
    """The posting's URL if it is a plain http(s) URL, else '' (nothing to click).

    A URL with whitespace or control characters (which could break a line and fake
    another field) or another scheme (javascript:, data:, file:) is dropped.
    """
    cleaned = url.strip()
    if _UNSAFE.search(cleaned) or any(ch.isspace() or not ch.isprintable() for ch in cleaned):
        return ""
    return cleaned if _HTTP_URL.match(cleaned) else ""


def chat_safe(value: str, limit: int) -> str:
    """``safe_text`` for text a chat platform reads as markup (command replies).

    Angle brackets become look-alike quotes and a bare @everyone/@here/@channel gets a
    full-width at sign, so nothing can mention anyone or hide a link; ``](`` is split so
    that Markdown cannot mask a link. Visible characters only: nothing invisible is added.
    """
    # Defused after cleaning (so a stripped zero-width character cannot rejoin "](")
    # and before cutting (so the result stays within the limit).
    text = _clean(value).replace("<", "‹").replace(">", "›")
    text = _BROADCAST.sub(lambda m: "＠" + m.group(1), text)
    return _cut(_MASKED_LINK.sub("] (", text), limit)


@dataclass(frozen=True, slots=True)
class AlertView:
    """The facts an alert shows, already cleaned and cut to sane lengths."""

    title: str
    url: str
    company: str
    countries: str
    areas: str
    degree: str
    posted: str
    pay: str
    duration: str
    source: str
    primary_area: str | None
    deadline: str = ""
    closed: bool = False

    def facts(self, where: str = "Where") -> list[tuple[str, str]]:
        """The (label, value) facts every alert shows, in order; optional ones when known."""
        facts = [
            ("Company", self.company),
            (where, self.countries),
            ("Areas", self.areas),
            ("Degree", self.degree),
            ("Posted", self.posted),
        ]
        for label, value in (
            ("Apply by", self.deadline),
            ("Pay", self.pay),
            ("Duration", self.duration),
        ):
            if value:
                facts.append((label, value))
        return facts


CLOSED_NOTE = "Closed: the source no longer lists this posting."


def alert_view(posting: Posting, *, title_limit: int = 250) -> AlertView:
    """The facts of one posting for display."""
    taxonomy = load_taxonomy()
    countries = ", ".join(country_name(c) for c in posting.countries)
    if posting.remote:
        countries = f"{countries} (remote)" if countries else "Remote"
    areas = ", ".join(taxonomy.areas[a].label if a in taxonomy.areas else a for a in posting.areas)
    return AlertView(
        title=safe_text(posting.title, title_limit),
        url=safe_url(posting.url),
        company=safe_text(posting.company, 200) or "—",
        countries=safe_text(countries, 300) or "Not stated",
        areas=safe_text(areas, 300) or "—",
        degree=DEGREE_LABELS[posting.degree],
        posted=_date(posting.posted_at),
        pay=posting.pay.describe() if posting.pay else "",
        duration=posting.duration or "",
        source=safe_text(posting.source, 100),
        primary_area=posting.areas[0] if posting.areas else None,
        deadline=_date(posting.deadline) if posting.deadline else "",
        closed=not posting.active,
    )


def reminder_heading(posting: Posting, days: int) -> str:
    """``Deadline in 3 days: apply by 27 Nov 2026`` (jobbot's own words, no posting text)."""
    view = alert_view(posting)
    if not view.deadline:
        return "Deadline soon"
    if days <= 0:
        return f"Deadline today: apply by {view.deadline}"
    when = "1 day" if days == 1 else f"{days} days"
    return f"Deadline in {when}: apply by {view.deadline}"


def _date(moment: datetime | None) -> str:
    return moment.strftime("%d %b %Y") if moment else "Not stated"


def plain_alert(posting: Posting) -> str:
    """A console alert: title, facts on one line each, and the link."""
    view = alert_view(posting)
    lines = [f"▶ {view.title}"]
    lines += [f"  {label + ':':<10} {value}" for label, value in view.facts()]
    lines.append(f"  Apply:     {view.url or '(no usable link)'}")
    if view.closed:
        lines.append(f"  {CLOSED_NOTE}")
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class DigestSection:
    """Postings of one area (the first area of each posting), newest first."""

    area: str
    label: str
    postings: tuple[Posting, ...]


def digest_sections(postings: Sequence[Posting]) -> list[DigestSection]:
    """Group postings by their first area (in taxonomy order), each group newest first."""
    taxonomy = load_taxonomy()
    order = {slug: i for i, slug in enumerate(taxonomy.slugs)}
    groups: dict[str, list[Posting]] = {}
    for posting in postings:
        groups.setdefault(posting.areas[0] if posting.areas else "", []).append(posting)
    sections = []
    for area in sorted(groups, key=lambda a: order.get(a, len(order))):
        items = sorted(
            groups[area], key=lambda p: (p.posted_at is not None, p.posted_at), reverse=True
        )
        label = taxonomy.areas[area].label if area in taxonomy.areas else "Other"
        sections.append(DigestSection(area, label, tuple(items)))
    return sections


def plain_digest(title: str, postings: Sequence[Posting]) -> str:
    """A console digest: a heading, then one section per area with one line per posting."""
    lines = [f"══ {safe_text(title, 200)} — {len(postings)} posting(s) ══"]
    for section in digest_sections(postings):
        lines.append(f"\n[{section.label}]")
        for posting in section.postings:
            view = alert_view(posting, title_limit=150)
            lines.append(
                f"  • {view.title} — {view.company} · {view.countries} · "
                f"{view.degree} · {view.posted}"
            )
            lines.append(f"    {view.url or '(no usable link)'}")
    return "\n".join(lines)
