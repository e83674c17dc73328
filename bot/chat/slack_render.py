"""Slack Block Kit rendering: alerts, digests and the subscribe modal (pure: values in, dicts out).

Every piece of posting text that reaches a ``mrkdwn`` object goes through ``escape``, so a
hostile posting can never produce ``<!channel>``, ``<!here>``, ``<!everyone>``, a user or
group mention, or a link dressed up as another one: Slack only parses those inside ``<…>``.
``plain_text`` objects (header, button) are never parsed by Slack, so they are only cleaned.
Limits (docs.slack.dev Block Kit reference): 50 blocks per message, header 150 characters,
section text 3000, 10 fields of 2000, button text 75, URL 3000, option text 75, value 150.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.chat.render import CLOSED_NOTE, alert_view, chat_safe, digest_sections, safe_text
from bot.errors import CommandError
from bot.postings.gazetteer import country_name, load_gazetteer, resolve_country
from bot.postings.model import Posting
from bot.postings.taxonomy import load_taxonomy
from subscriptions.grammar import parse_filter
from subscriptions.model import DEGREE_CHOICES, MODES

__all__ = [
    "MAX_BLOCKS",
    "PERSONAL_SUBSCRIBE_CALLBACK",
    "SUBSCRIBE_CALLBACK",
    "ModalField",
    "SlackMessage",
    "alert_message",
    "country_options",
    "digest_messages",
    "escape",
    "field_errors",
    "modal_tokens",
    "safe_url",
    "subscribe_modal",
]

Block = dict[str, Any]

MAX_BLOCKS = 50
MAX_HEADER = 150
MAX_SECTION = 3000
MAX_FIELD = 2000
MAX_FIELDS = 10
MAX_URL = 3000
MAX_OPTIONS = 100
MAX_OPTION_TEXT = 75
MAX_TEXT = 4000  # Slack asks to keep the fallback text under 4,000 characters
# Slack also refuses payloads whose blocks are too big as a whole (`msg_blocks_too_long`,
# seen at about 13k characters of text); a digest part stays well under that.
MAX_PART_CHARS = 10_000
SUBSCRIBE_CALLBACK = "jobs_subscribe"
# The same form for a user's own alerts (from the Home tab or the app's DM, #19).
PERSONAL_SUBSCRIBE_CALLBACK = "jobs_subscribe_me"
ALERT_EVENT = "jobbot_alert"
DIGEST_EVENT = "jobbot_digest"
NOTICE_EVENT = "jobbot_notice"
REMINDER_EVENT = "jobbot_reminder"


def escape(text: str) -> str:
    """Text safe inside a Slack ``mrkdwn`` object: only ``&``, ``<`` and ``>`` are special."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_URL_OK = re.compile(r"^https?://[^\s<>|\"]+$", re.I)


def safe_url(url: str) -> str | None:
    """The URL if it is a plain http(s) URL Slack can link (no spaces, ``<``, ``>``, ``|``)."""
    if len(url) <= MAX_URL and _URL_OK.match(url):
        return url
    return None


def _link(url: str, label: str) -> str:
    # `<url|label>`: the label is escaped, so it cannot close the link or open another.
    # Very long URLs get no link, so that cutting a line to length never splits one.
    target = safe_url(url) if len(url) <= MAX_FIELD else None
    text = escape(label)
    return f"<{target.replace('&', '&amp;')}|{text}>" if target else text


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class SlackMessage:
    """One ``chat.postMessage`` payload: fallback text, blocks and message metadata."""

    text: str
    blocks: list[Block]
    metadata: dict[str, Any]

    def payload(self) -> dict[str, Any]:
        """The keyword arguments for chat.postMessage (link unfurling off, no parsing)."""
        return {
            "text": self.text,
            "blocks": self.blocks,
            "metadata": self.metadata,
            "unfurl_links": False,
            "unfurl_media": False,
        }


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": safe_text(text, limit) or "—", "emoji": False}


def slack_mention(mention: str) -> str:
    """A subscription's mention as Slack markup ('' for none, or one that is not Slack's).

    A grouped burst carries the mentions of all its subscriptions, space-separated.
    """
    marks = []
    for one in mention.split():
        if one == "here":
            marks.append("<!here>")
        elif one.startswith("group:"):
            marks.append(f"<!subteam^{one.removeprefix('group:')}>")
    return " ".join(marks)


def alert_message(
    posting: Posting, delivery_id: int, *, mention: str = "", heading: str = ""
) -> SlackMessage:
    """One alert: header, facts as fields, source, an Apply button; metadata names the delivery.

    ``mention`` (the subscription's, never the posting's) and ``heading`` (a reminder's
    "Deadline in 3 days") open the message. A closed posting keeps every fact and says
    it is closed.
    """
    view = alert_view(posting, title_limit=MAX_HEADER)
    fields = [
        _mrkdwn(_cut(f"*{name}*\n{escape(value)}", MAX_FIELD)) for name, value in view.facts()
    ]
    ping = slack_mention(mention)
    blocks: list[Block] = []
    opening = " ".join(part for part in (ping, escape(heading)) if part)
    if opening:
        blocks.append({"type": "section", "text": _mrkdwn(_cut(opening, MAX_SECTION))})
    if view.closed:
        blocks.append({"type": "section", "text": _mrkdwn(f"*{escape(CLOSED_NOTE)}*")})
    blocks += [
        {"type": "header", "text": _plain(view.title, MAX_HEADER)},
        {"type": "section", "fields": fields[:MAX_FIELDS]},
        {"type": "context", "elements": [_mrkdwn(escape(f"via {view.source}"))]},
    ]
    url = safe_url(view.url)
    if url:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Apply"},
                        "url": url,
                        "action_id": "apply",
                        "style": "primary",
                    }
                ],
            }
        )
    text = escape(f"{view.title} — {view.company} ({view.countries})")
    if view.closed:
        text = escape("[Closed] ") + text
    if url:
        text += f" {url.replace('&', '&amp;')}"
    if opening:
        text = f"{opening} {text}"
    return SlackMessage(
        text=_cut(text, MAX_TEXT),
        blocks=blocks,
        metadata={"event_type": ALERT_EVENT, "event_payload": {"delivery_id": str(delivery_id)}},
    )


def notice_message(text: str) -> SlackMessage:
    """A short notice from jobbot (a source down or back): escaped, so it pings nobody."""
    safe = _cut(escape(chat_safe(text, MAX_SECTION)), MAX_SECTION)
    return SlackMessage(
        text=safe,
        blocks=[{"type": "section", "text": _mrkdwn(safe)}],
        metadata={"event_type": NOTICE_EVENT, "event_payload": {}},
    )


def _digest_line(posting: Posting) -> str:
    view = alert_view(posting, title_limit=200)
    line = (
        f"• *{_link(view.url, view.title)}*\n"
        f"{escape(view.company)} · {escape(view.countries)} · {view.degree} · {view.posted}"
    )
    return _cut(line, MAX_SECTION)


def digest_messages(
    title: str, postings: Sequence[Posting], digest_key: str, *, mention: str = ""
) -> list[SlackMessage]:
    """A digest grouped by area, newest first, split into messages within Slack's limits.

    Each part has a header (numbered when there are several), at most ``MAX_BLOCKS``
    blocks and about ``MAX_PART_CHARS`` characters of text.
    """
    body: list[Block] = []
    for section in digest_sections(postings):
        body.append({"type": "section", "text": _mrkdwn(f"*{escape(section.label)}*")})
        body.extend({"type": "section", "text": _mrkdwn(_digest_line(p))} for p in section.postings)
    parts: list[list[Block]] = [[]]
    size = 0
    for block in body:
        length = len(block["text"]["text"])
        # Two blocks are reserved for each part's header and the first part's mention.
        if parts[-1] and (len(parts[-1]) >= MAX_BLOCKS - 2 or size + length > MAX_PART_CHARS):
            parts.append([])
            size = 0
        parts[-1].append(block)
        size += length
    clean_title = safe_text(title, 120)
    messages = []
    for number, blocks in enumerate(parts, start=1):
        heading = clean_title if len(parts) == 1 else f"{clean_title} ({number}/{len(parts)})"
        # The subscription's mention opens the first part only: one ping per digest.
        ping = slack_mention(mention) if number == 1 else ""
        opening: list[Block] = [{"type": "section", "text": _mrkdwn(ping)}] if ping else []
        summary = escape(f"{heading}: {len(postings)} posting(s)")
        messages.append(
            SlackMessage(
                text=f"{ping} {summary}" if ping else summary,
                blocks=[{"type": "header", "text": _plain(heading, MAX_HEADER)}, *opening, *blocks],
                metadata={
                    "event_type": DIGEST_EVENT,
                    "event_payload": {"digest_key": digest_key, "part": number},
                },
            )
        )
    return messages


# ------------------------------------------------------------------ the subscribe modal


@dataclass(frozen=True, slots=True)
class ModalField:
    """One input of the subscribe modal: its block id and the grammar key it fills."""

    block_id: str
    key: str


MODAL_FIELDS = (
    ModalField("areas", "area"),
    ModalField("countries", "country"),
    ModalField("degree", "degree"),
    ModalField("keywords", "keywords"),
    ModalField("exclude", "exclude"),
    ModalField("mode", "mode"),
    ModalField("at", "at"),
    ModalField("tz", "tz"),
)


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": _plain(text, MAX_OPTION_TEXT), "value": value[:150]}


def _input(block_id: str, label: str, element: dict[str, Any], *, hint: str | None = None) -> Block:
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label},
        "element": {**element, "action_id": block_id},
        "optional": True,
    }
    if hint:
        block["hint"] = {"type": "plain_text", "text": hint}
    return block


def subscribe_modal(team: str, channel: str, *, personal: bool = False) -> dict[str, Any]:
    """The `/jobs subscribe` modal for one channel (its id rides in ``private_metadata``),
    or, ``personal``, for the alerts of the user who opens it, sent as direct messages."""
    taxonomy = load_taxonomy()
    areas = [_option(f"{a.label} ({a.slug})", a.slug) for a in taxonomy.areas.values()]
    degrees = [_option(slug, slug) for slug in DEGREE_CHOICES]
    modes = [_option(mode, mode) for mode in MODES]
    text_input = {"type": "plain_text_input"}
    blocks = [
        _input(
            "areas",
            "Research areas",
            {"type": "multi_static_select", "options": areas[:MAX_OPTIONS]},
            hint="Empty: every area. A broader area includes its narrower ones.",
        ),
        _input(
            "countries",
            "Countries",
            {"type": "multi_external_select", "min_query_length": 1},
            hint="Type to search. Empty: anywhere.",
        ),
        _input("degree", "Degree", {"type": "static_select", "options": degrees}),
        _input(
            "keywords",
            "Keywords",
            {**text_input, "placeholder": {"type": "plain_text", "text": "applied science"}},
            hint="Commas between alternatives; one must appear in the title or text.",
        ),
        _input(
            "exclude",
            "Exclude",
            {**text_input, "placeholder": {"type": "plain_text", "text": "senior, staff"}},
        ),
        _input(
            "mode",
            "When",
            {
                "type": "static_select",
                "options": modes,
                "initial_option": modes[0],
            },
        ),
        _input("at", "Digest time", {"type": "timepicker", "initial_time": "09:00"}),
        _input(
            "tz",
            "Time zone",
            {**text_input, "placeholder": {"type": "plain_text", "text": "Europe/Berlin"}},
        ),
    ]
    if personal:
        note = "These alerts come to you alone, as direct messages from jobbot."
        blocks.insert(0, {"type": "context", "elements": [{"type": "mrkdwn", "text": note}]})
    return {
        "type": "modal",
        "callback_id": PERSONAL_SUBSCRIBE_CALLBACK if personal else SUBSCRIBE_CALLBACK,
        "title": {"type": "plain_text", "text": "Your job alerts" if personal else "Job alerts"},
        "submit": {"type": "plain_text", "text": "Subscribe"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": json.dumps({"team": team, "channel": channel}),
        "blocks": blocks,
    }


def field_errors(tokens: list[tuple[str, str]]) -> dict[str, str]:
    """Each field of a submitted form through the grammar on its own, so that an error
    sits next to its field (block id → problem)."""
    mode = [token for block, token in tokens if block == "mode"]
    errors = {}
    for block, token in tokens:
        # Time and zone only mean something with the digest mode they belong to.
        batch = [*mode, token] if block in ("at", "tz") else [token]
        try:
            parse_filter([t for part in batch for t in shlex.split(part)])
        except CommandError as error:
            errors[block] = error.problem
    return errors


def _state_value(state: Mapping[str, Any]) -> str:
    if state.get("selected_options") is not None:
        return ",".join(o["value"] for o in state["selected_options"])
    if state.get("selected_option"):
        return str(state["selected_option"]["value"])
    if "selected_time" in state:
        return str(state["selected_time"] or "")
    return str(state.get("value") or "")


def modal_tokens(values: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> list[tuple[str, str]]:
    """The grammar tokens the submitted modal stands for, each with the block it came from.

    The caller runs them through the same grammar as typed commands, so there is one
    validation. A digest time is only sent for daily or weekly subscriptions.
    """
    raw = {
        f.block_id: _state_value(values.get(f.block_id, {}).get(f.block_id, {}))
        for f in MODAL_FIELDS
    }
    tokens = []
    digest = raw.get("mode") in ("daily", "weekly")
    for field in MODAL_FIELDS:
        value = raw[field.block_id].strip()
        if not value or (field.key in ("at", "tz") and not digest):
            continue
        if field.key in ("keywords", "exclude"):
            value = ",".join(v.strip() for v in value.split(",") if v.strip())
        tokens.append((field.block_id, f"{field.key}:{shlex.quote(value)}"))
    return tokens


def country_options(query: str) -> list[dict[str, Any]]:
    """Countries for the type-ahead: an exact code or alias first, then names starting with
    ``query``, then names containing it; at most 100 (Slack's limit)."""
    needle = query.strip().lower()
    if not needle:
        return []
    exact = resolve_country(needle)
    found: list[tuple[int, str, str]] = []
    for code in sorted(load_gazetteer().alpha2):
        name = country_name(code)
        low = name.lower()
        if code == exact:
            found.append((0, name, code))
        elif low.startswith(needle):
            found.append((1, name, code))
        elif needle in low:
            found.append((2, name, code))
    found.sort()
    return [_option(f"{name} ({code})", code) for _, name, code in found[:MAX_OPTIONS]]
