"""Hostile postings through every renderer: no mention, no foreign link, no hidden or
control characters, no injected lines, and within each platform's limits.

Adding a renderer is one entry in ``RENDERERS``: a function from a Posting to the texts
a reader sees, the platform's limit per text, and the platform's own reading of those
texts (which mentions and which link targets it would act on).
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.chat import discord_render, slack_render
from bot.chat.render import plain_alert, plain_digest
from bot.postings.model import Posting
from bot.store import Store
from subscriptions.commands import CommandContext, run_command
from tests.conftest import NOW

POSTING_URL = "https://jobs.example.org/postings/42"
EVIL = "evil.example"

# Mention syntax any chat platform acts on (Slack: <!channel> <!here> <@U…> <!subteam^…>;
# Discord: <@123> <@!123> <@&123>; both: bare @everyone / @here).
_CHAT_MENTIONS = re.compile(r"<[!@][^>]*>|(?<![\w＠])@(?:everyone|here|channel)\b", re.I)
# Slack acts only on its own <…> syntax (a bare @everyone is text unless link_names is set,
# which jobbot never does).
_SLACK_MENTIONS = re.compile(r"<[!@#][^>]*>")
# Link markup: Slack <url|text> and <url>, Markdown [text](url), and any bare URL.
_CHAT_LINKS = re.compile(r"<(https?://[^|>]+)(?:\|[^>]*)?>|\]\((https?://[^)\s]+)\)|(https?://\S+)")


def _chat_links(text: str) -> list[str]:
    return [next(g for g in m.groups() if g) for m in _CHAT_LINKS.finditer(text)]


def _console_links(text: str) -> list[str]:
    # A terminal makes any URL clickable; only the Apply line (and digest link lines)
    # may carry one, so a URL inside the title counts as a foreign link.
    return re.findall(r"https?://[^\s)\]>|]+", text)


@dataclass(frozen=True)
class Renderer:
    """One way a posting reaches a reader."""

    name: str
    render: Callable[[Posting], Sequence[str]]
    max_chars: int
    mentions: Callable[[str], list[str]]
    links: Callable[[str], list[str]]
    # Invisible characters the renderer itself inserts on purpose (Discord's escaping puts
    # a zero-width space after "@" so that nothing pings).
    own_invisibles: str = ""


_SKIP_KEYS = {"type", "action_id", "block_id", "style", "event_type", "timestamp", "color"}


def _strings(payload: Any) -> list[str]:
    """Every text a chat payload shows. Slack plain_text is shown literally, so it is
    given as Slack would show equivalent mrkdwn: with &, < and > escaped."""
    found: list[str] = []
    if isinstance(payload, dict):
        if payload.get("type") == "plain_text" and isinstance(payload.get("text"), str):
            return [slack_render.escape(payload["text"])]
        for key, value in payload.items():
            if key not in _SKIP_KEYS and key != "metadata":
                found += _strings(value)
    elif isinstance(payload, list | tuple):
        for item in payload:
            found += _strings(item)
    elif isinstance(payload, str):
        found.append(payload)
    elif dataclasses.is_dataclass(payload):
        found += _strings({f.name: getattr(payload, f.name) for f in dataclasses.fields(payload)})
    return found


def _slack(posting: Posting) -> list[str]:
    messages = [slack_render.alert_message(posting, 1)]
    messages += slack_render.digest_messages("Daily digest", [posting], "d1")
    return [text for message in messages for text in _strings(message)]


def _discord(posting: Posting) -> list[str]:
    messages = [discord_render.alert_message(posting)]
    messages += discord_render.digest_messages("Daily digest", [posting])
    return [text for message in messages for text in _strings(message)]


def _preview_reply(posting: Posting) -> list[str]:
    store = Store.memory()
    try:
        store.ingest([posting], NOW, alert=False)
        ctx = CommandContext("slack", "T1", "C1", "U1", NOW)
        return [run_command("preview internship:any", ctx, store).text]
    finally:
        store.close()


RENDERERS: list[Renderer] = [
    # The terminal notifies no one, so console texts have no mention syntax to act on;
    # they are still held to the link, character, line and length rules.
    Renderer("console-alert", lambda p: [plain_alert(p)], 2_000, lambda t: [], _console_links),
    Renderer(
        "console-digest",
        lambda p: [plain_digest("Daily digest", [p])],
        2_000,
        lambda t: [],
        _console_links,
    ),
    # A /jobs preview reply is platform-neutral text that Slack and Discord read as markup.
    Renderer("preview-reply", _preview_reply, 4_000, _CHAT_MENTIONS.findall, _chat_links),
    Renderer("slack", _slack, 3_000, _SLACK_MENTIONS.findall, _chat_links),
    Renderer("discord", _discord, 4_096, _CHAT_MENTIONS.findall, _chat_links, "\u200b"),
]

LONG = "Research Intern " * 6_250  # 100,000 characters
HOSTILE_TITLES = {
    "everyone": "Research Intern @everyone apply now",
    "here": "@here Applied Scientist Intern",
    "slack-channel": "Intern <!channel> <!here> <!everyone>",
    "slack-user": "Intern <@U123> and <@U123|admin>",
    "discord-role": "Intern <@&123> <@!456> <@789>",
    "slack-subteam": "Intern <!subteam^S123|@team>",
    "markdown-link": f"Intern [apply here](https://{EVIL}/phish)",
    "mrkdwn-link": f"Intern <https://{EVIL}/phish|Apply here>",
    "bare-link": f"Intern — apply at https://{EVIL}/form",
    "zero-width": "Re\u200bsearch\u200c In\u200dtern\u2060\ufeff",
    "rtl-override": "Intern \u202egnp.exe\u202c \u2066x\u2069",
    "terminal-escape": "Intern \x1b[2J\x1b[31mRED\x1b]8;;https://evil.example\x07link\x1b]8;;\x07",
    "fake-lines": f"Intern\n  Apply:     https://{EVIL}/\r\n  Degree:    PhD only",
    "controls": "Intern\x00\x07\x08\x7f\x85\x9b",
    "long": LONG,
    "combining": "Intern " + "e\u0301" * 5_000,
}


def _posting(title: str, *, company: str = "Acme Research", url: str = POSTING_URL) -> Posting:
    return Posting(
        source="hostile",
        external_id="42",
        url=url,
        title=title,
        company=company,
        countries=("DE",),
        areas=("nlp",),
        degree="phd-only",
        is_internship=True,
        posted_at=datetime(2026, 11, 20, tzinfo=UTC),
    )


CASES = [(name, _posting(title)) for name, title in HOSTILE_TITLES.items()] + [
    ("hostile-company", _posting("Intern", company=f"@everyone <!channel> [x](https://{EVIL})")),
    ("javascript-url", _posting("Intern", url="javascript:alert(1)")),
    ("url-with-newline", _posting("Intern", url=f"{POSTING_URL}\n  Apply: https://{EVIL}/")),
]
_FORBIDDEN = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)


def _baseline_lines(renderer: Renderer, posting: Posting) -> list[int]:
    # The same posting with a plain title and company: only the URL may shape the message.
    plain = dataclasses.replace(posting, title="Research Intern", company="Acme Research")
    return [text.count("\n") for text in renderer.render(plain)]


@pytest.mark.parametrize("renderer", RENDERERS, ids=lambda r: r.name)
@pytest.mark.parametrize(("case", "posting"), CASES, ids=[c for c, _ in CASES])
def test_hostile_posting_is_rendered_harmlessly(
    renderer: Renderer, case: str, posting: Posting
) -> None:
    texts = renderer.render(posting)
    assert texts, "nothing rendered"
    for text in texts:
        assert len(text) <= renderer.max_chars, f"{len(text)} characters"
        hidden = [ch for ch in _FORBIDDEN.findall(text) if ch not in renderer.own_invisibles]
        assert not hidden, "control, bidi or zero-width characters survive"
        assert unicodedata.is_normalized("NFC", text)
        assert renderer.mentions(text) == [], "a mention would reach the channel"
        foreign = [link for link in renderer.links(text) if not link.startswith(POSTING_URL)]
        assert foreign == [], "a link to another host is rendered as a link"
        # The attacker's host is never shown as a domain a client would linkify.
        assert EVIL not in text
    assert [t.count("\n") for t in texts] == _baseline_lines(renderer, posting), (
        "lines were injected"
    )
