"""Discord rendering: alerts and digests as embed payloads (plain dicts), within Discord's limits.

Pure: postings in, JSON-ready dicts out. The adapter turns them into ``discord.Embed`` and
sends them with ``allowed_mentions`` that allow at most the subscription's own mention
(the real guarantee against pings: posting text sits in embeds, which never ping); the
text here is also neutralised so that a posting cannot show a mention, a markdown link
or a clickable URL other than its own.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.chat.render import (
    CLOSED_NOTE,
    alert_view,
    digest_sections,
    reminder_heading,
    safe_text,
)
from bot.postings.model import Posting

__all__ = [
    "CLOSED_COLOUR",
    "LIMITS",
    "DiscordMessage",
    "alert_message",
    "allowed_mentions",
    "area_colour",
    "digest_messages",
    "discord_text",
    "embed_size",
    "link_url",
    "mention_text",
    "notice_message",
    "post_name",
    "reminder_message",
    "reply_text",
    "with_mention",
]

# Discord's documented message limits (docs: resources/message "Embed Limits").
LIMITS = {
    "content": 2000,
    "embeds": 10,
    "title": 256,
    "description": 4096,
    "fields": 25,
    "field_name": 256,
    "field_value": 1024,
    "footer": 2048,
    "total": 6000,
    "button_url": 512,
    "embed_url": 2048,
    "thread_name": 100,
}
# Two full digest embeds (plus their titles) fit the 6000-character message total.
DIGEST_DESCRIPTION = 2900
DEFAULT_COLOUR = 0x5865F2
# Discord's own grey for muted things: a closed posting's alert.
CLOSED_COLOUR = 0x99AAB5
CLOSED_PREFIX = "[Closed] "
# Characters Discord markdown gives meaning to; a backslash shows them literally.
_MARKDOWN = re.compile(r"([\\*_~|`>\[\]()#-])")
_ZWSP = "\u200b"


def discord_text(value: str, limit: int) -> str:
    """Posting text safe to show in Discord: no markdown, mentions or autolinks; ≤ ``limit``."""
    text = safe_text(value, limit)
    text = _MARKDOWN.sub(r"\\\1", text)
    # A zero-width space after '@' and '<' and inside '://' breaks mentions, channel
    # links and bare-URL autolinks without changing what a reader sees.
    text = (
        text.replace("@", "@" + _ZWSP).replace("<", "<" + _ZWSP).replace("://", ":" + _ZWSP + "//")
    )
    if len(text) > limit:
        text = text[: max(0, limit - 1)].rstrip("\\" + _ZWSP + " ") + "…"
    return text


_URL = re.compile(r"(?:https?|discord)://", re.I)


def _neutral_line(line: str) -> str:
    # Everywhere, code spans included: a posting title with a stray backtick could
    # otherwise make jobbot misjudge where a code span ends.
    line = line.replace("](", "]\\(").replace("[", "\\[").replace("]", "\\]")
    line = line.replace("@", "@" + _ZWSP).replace("<", "<" + _ZWSP)
    # A URL stays clickable only when it stands on its own line, as jobbot writes
    # posting links; one inside other text (say, a posting title) is defused.
    if _URL.match(line.strip()) is None:
        line = _URL.sub(lambda m: m.group(0)[:-2] + _ZWSP + "//", line)
    return line


def reply_text(text: str, limit: int = LIMITS["content"]) -> str:
    """A command reply (which may quote posting titles) that links and pings nothing new."""
    text = "\n".join(_neutral_line(line) for line in text.split("\n"))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def link_url(url: str, limit: int) -> str | None:
    """``url`` if it is an http(s) URL Discord accepts as a link (≤ ``limit``), else None."""
    if not re.match(r"^https?://[^\s<>]+$", url) or len(url) > limit:
        return None
    # Parentheses would end a markdown link early; percent-encoding keeps the same target.
    return url.replace("(", "%28").replace(")", "%29")


def area_colour(area: str | None) -> int:
    """A stable colour for a research area (the same slug always gets the same colour)."""
    if not area:
        return DEFAULT_COLOUR
    digest = hashlib.sha256(area.encode()).digest()
    # Keep each channel in 0x30..0xCF so that colours are visible on light and dark themes.
    return int.from_bytes(bytes(0x30 + b % 0xA0 for b in digest[:3]), "big")


def embed_size(embed: dict[str, Any]) -> int:
    """The characters Discord counts toward the 6000 per-message total."""
    size = len(embed.get("title", "")) + len(embed.get("description", ""))
    size += sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields", []))
    size += len(embed.get("footer", {}).get("text", ""))
    size += len(embed.get("author", {}).get("name", ""))
    return size


@dataclass(frozen=True, slots=True)
class DiscordMessage:
    """One message to send: optional content, embeds (dicts) and link buttons (label, url).

    ``mention`` is the subscription's stored mention (``role:ID``, ``here`` or '') that
    the content starts with; the adapter allows exactly that one to ping.
    """

    content: str = ""
    embeds: tuple[dict[str, Any], ...] = ()
    buttons: tuple[tuple[str, str], ...] = field(default=())
    mention: str = ""


def _timestamp(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def mention_text(mention: str) -> str:
    """The content that pings a stored mention: ``<@&ID>`` for a role, ``@here``, or ''.

    A Slack user group (``group:…``) means nothing on Discord and pings nobody. A grouped
    burst carries the mentions of all its subscriptions, space-separated.
    """
    texts = []
    for one in mention.split():
        if one == "here":
            texts.append("@here")
        elif one.startswith("role:") and one[5:].isdigit():
            texts.append(f"<@&{one[5:]}>")
    return " ".join(texts)


def allowed_mentions(mention: str) -> dict[str, Any]:
    """Discord's ``allowed_mentions`` letting exactly ``mention`` ping (nothing when '').

    ``@here`` can only be allowed together with @everyone (``parse: ["everyone"]``), so
    the content of such a message holds no text but jobbot's own.
    """
    parts = mention.split()
    roles = [one[5:] for one in parts if one.startswith("role:") and one[5:].isdigit()]
    allowed: dict[str, Any] = {"parse": ["everyone"] if "here" in parts else []}
    if roles:
        allowed["roles"] = roles
    return allowed


def with_mention(message: DiscordMessage, mention: str) -> DiscordMessage:
    """``message`` with the subscription's mention in front of its content."""
    text = mention_text(mention)
    if not text:
        return message
    content = f"{text} {message.content}" if message.content else text
    return DiscordMessage(
        content=content[: LIMITS["content"]],
        embeds=message.embeds,
        buttons=message.buttons,
        mention=mention,
    )


def alert_message(posting: Posting) -> DiscordMessage:
    """One alert: an embed whose title links to the posting, its facts, and an Apply button.

    A closed posting keeps every field: its title says so, the colour turns grey and a
    line explains. A deadline shows as an "Apply by" field.
    """
    view = alert_view(posting)
    prefix = CLOSED_PREFIX if view.closed else ""
    embed: dict[str, Any] = {
        "type": "rich",
        "title": prefix + discord_text(posting.title, LIMITS["title"] - len(prefix)),
        "color": CLOSED_COLOUR if view.closed else area_colour(view.primary_area),
    }
    if view.closed:
        embed["description"] = CLOSED_NOTE
    url = link_url(posting.url, LIMITS["embed_url"])
    if url:
        embed["url"] = url
    embed["fields"] = [
        {"name": name, "value": discord_text(value, LIMITS["field_value"]) or "—", "inline": True}
        for name, value in view.facts(where="Countries")
    ]
    if view.source:
        embed["footer"] = {"text": discord_text(f"Source: {view.source}", LIMITS["footer"])}
    stamp = _timestamp(posting.posted_at)
    if stamp:
        embed["timestamp"] = stamp
    button_url = link_url(posting.url, LIMITS["button_url"])
    return DiscordMessage(embeds=(embed,), buttons=(("Apply", button_url),) if button_url else ())


def reminder_message(posting: Posting, days: int, mention: str = "") -> DiscordMessage:
    """A deadline reminder: the alert again, headed by the days left, with the mention."""
    alert = alert_message(posting)
    message = DiscordMessage(
        content=reminder_heading(posting, days), embeds=alert.embeds, buttons=alert.buttons
    )
    return with_mention(message, mention)


def notice_message(text: str) -> DiscordMessage:
    """A notice from jobbot (a source is failing, or back): plain text that pings nobody."""
    return DiscordMessage(content=reply_text(text.strip() or "(empty notice)"))


def post_name(text: str) -> str:
    """A forum post's name: one line of safe text within Discord's 100 characters.

    Names show literally (no markdown, no mentions), so only control characters, live
    URLs and length need care; a name that would be blank falls back to "Job posting".
    """
    return safe_text(text, LIMITS["thread_name"]).strip() or "Job posting"


def _digest_line(posting: Posting) -> str:
    view = alert_view(posting, title_limit=150)
    title = discord_text(posting.title, 150)
    url = link_url(posting.url, 600)
    head = f"**[{title}]({url})**" if url else f"**{title}**"
    facts = " · ".join(
        discord_text(part, 200) for part in (view.company, view.countries, view.degree)
    )
    return f"{head}\n{facts} · {view.posted}"


def _section_embeds(label: str, area: str, lines: list[str]) -> list[dict[str, Any]]:
    """One or more embeds for one area, each description ≤ DIGEST_DESCRIPTION."""
    embeds: list[dict[str, Any]] = []
    current: list[str] = []
    length = 0
    for line in lines:
        if current and length + len(line) + 2 > DIGEST_DESCRIPTION:
            embeds.append({"description": "\n\n".join(current)})
            current, length = [], 0
        current.append(line)
        length += len(line) + 2
    if current:
        embeds.append({"description": "\n\n".join(current)})
    for index, embed in enumerate(embeds):
        suffix = f" (continued {index + 1})" if index else ""
        embed.update(
            type="rich",
            title=discord_text(label, 200) + suffix,
            color=area_colour(area or None),
        )
    return embeds


def digest_messages(title: str, postings: Sequence[Posting]) -> list[DiscordMessage]:
    """A digest as several messages, each ≤ 10 embeds and ≤ 6000 embed characters."""
    embeds: list[dict[str, Any]] = []
    for section in digest_sections(postings):
        lines = [_digest_line(p) for p in section.postings]
        embeds.extend(_section_embeds(section.label, section.area, lines))
    # The heading is jobbot's own text (no posting text), so it keeps its characters;
    # reply_text still defuses any mention in it, as the message may allow one to ping.
    heading = reply_text(safe_text(f"{title} — {len(postings)} posting(s)", LIMITS["content"]))
    messages: list[DiscordMessage] = []
    batch: list[dict[str, Any]] = []
    total = 0
    for embed in embeds:
        size = embed_size(embed)
        if batch and (len(batch) == LIMITS["embeds"] or total + size > LIMITS["total"]):
            messages.append(DiscordMessage(embeds=tuple(batch)))
            batch, total = [], 0
        batch.append(embed)
        total += size
    if batch or not messages:
        messages.append(DiscordMessage(embeds=tuple(batch)))
    first = messages[0]
    messages[0] = DiscordMessage(content=heading, embeds=first.embeds, buttons=first.buttons)
    return messages
