"""The Discord renderer keeps every message within Discord's limits and neutralises posting text."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from bot.chat.discord_render import (
    CLOSED_COLOUR,
    LIMITS,
    DiscordMessage,
    alert_message,
    allowed_mentions,
    area_colour,
    digest_messages,
    discord_text,
    embed_size,
    mention_text,
    notice_message,
    post_name,
    reminder_heading,
    reminder_message,
    reply_text,
    with_mention,
)
from bot.chat.render import CLOSED_NOTE
from bot.postings.model import Posting
from tests.fakes.discord_api import FakeDiscord, FormErrors, check_message_limits

POSTED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _posting(n: int = 1, **changes: object) -> Posting:
    values: dict[str, object] = {
        "source": "test",
        "external_id": f"p{n}",
        "url": f"https://jobs.example.org/{n}",
        "title": f"Research Intern {n}, NLP",
        "company": "Lingua Labs",
        "countries": ("DE",),
        "areas": ("nlp",),
        "degree": "phd-only",
        "is_internship": True,
        "posted_at": POSTED,
    }
    values.update(changes)
    return Posting(**values)  # type: ignore[arg-type]


def _payload(message: DiscordMessage) -> dict[str, object]:
    """What the adapter sends, as Discord JSON (buttons as one action row)."""
    body: dict[str, object] = {"embeds": list(message.embeds)}
    if message.content:
        body["content"] = message.content
    if message.buttons:
        row = [
            {"type": 2, "style": 5, "label": label, "url": url} for label, url in message.buttons
        ]
        body["components"] = [{"type": 1, "components": row}]
    return body


def _within_limits(message: DiscordMessage) -> list[str]:
    errors = FormErrors()
    check_message_limits(_payload(message), errors)
    return errors.paths()


def test_alert_has_linked_title_facts_footer_and_button() -> None:
    message = alert_message(_posting())
    [embed] = message.embeds
    assert embed["title"] == "Research Intern 1, NLP"
    assert embed["url"] == "https://jobs.example.org/1"
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Company"] == "Lingua Labs"
    assert fields["Countries"] == "Germany"
    assert fields["Degree"] == "PhD only"
    assert fields["Posted"] == "20 Nov 2026"
    assert embed["footer"]["text"] == "Source: test"
    assert embed["timestamp"] == POSTED.isoformat()
    assert embed["color"] == area_colour("nlp") != area_colour("cv")
    assert message.buttons == (("Apply", "https://jobs.example.org/1"),)
    assert _within_limits(message) == []


def test_alert_at_the_limits_is_cut_not_refused() -> None:
    long_url = "https://jobs.example.org/" + "a" * 600
    posting = _posting(title="T" * 5000, company="C" * 5000, url=long_url)
    message = alert_message(posting)
    [embed] = message.embeds
    assert len(embed["title"]) == LIMITS["title"] and embed["title"].endswith("…")
    assert all(len(f["value"]) <= LIMITS["field_value"] for f in embed["fields"])
    assert embed["url"] == long_url  # an embed URL may be 2048 long …
    assert message.buttons == ()  # … but a button URL only 512: no button then
    assert _within_limits(message) == []
    assert alert_message(_posting(url="javascript:alert(1)")).embeds[0].get("url") is None


def test_posting_text_cannot_mention_or_link() -> None:
    hostile = "@everyone [amazon.jobs](https://evil.example) <@123> see http://x.example"
    message = alert_message(_posting(title=hostile, company="<@&9> @here"))
    fake = FakeDiscord()
    body = _payload(message) | {"content": discord_text(hostile, 200)}
    assert fake.markdown_links(body) == []
    assert fake.link_hosts(body) == {"jobs.example.org"}
    # Even without allowed_mentions the neutralised content pings nobody.
    assert fake.pings(body) == set()
    assert "evil\u2024example" in message.embeds[0]["title"]  # shown as inert text, not dropped


def test_discord_text_escapes_markdown_and_respects_the_limit() -> None:
    assert discord_text("**bold** _x_", 100) == r"\*\*bold\*\* \_x\_"
    cut = discord_text("[" * 300, 256)
    assert len(cut) <= 256 and cut.endswith("…")


def test_digest_splits_into_messages_within_every_limit() -> None:
    areas = ["nlp", "cv", "speech", "recsys", "rl", "robotics"]
    postings = [
        _posting(i, title=f"Intern {i} " + "x" * 140, areas=(areas[i % len(areas)],))
        for i in range(300)
    ]
    messages = digest_messages("Daily digest for #1", postings)
    assert len(messages) > 1
    assert messages[0].content.startswith("Daily digest for #1 — 300 posting")
    for message in messages:
        assert len(message.embeds) <= LIMITS["embeds"]
        assert sum(embed_size(e) for e in message.embeds) <= LIMITS["total"]
        assert all(len(e["description"]) <= LIMITS["description"] for e in message.embeds)
        assert _within_limits(message) == []
    links = [
        url
        for message in messages
        for embed in message.embeds
        for url in re.findall(r"\]\((https://[^)]+)\)", embed["description"])
    ]
    assert sorted(links) == sorted(p.url for p in postings)  # each posting exactly once


def test_small_digest_is_one_message() -> None:
    messages = digest_messages("Weekly", [_posting(1), _posting(2, areas=("cv",))])
    assert len(messages) == 1 and len(messages[0].embeds) == 2
    assert digest_messages("Empty", [])[0].content.startswith("Empty — 0")


def test_reply_text_keeps_own_links_and_defuses_quoted_ones() -> None:
    reply = (
        "2 recent posting(s) match `area:nlp`; newest:\n"
        "• @everyone [amazon.jobs](https://evil.example) — Evil (Germany)\n"
        "  https://jobs.example.org/1\n"
        "• a ` [x](https://evil2.example) ` <@123>\n"
        "  https://jobs.example.org/2"
    )
    fake = FakeDiscord()
    body = {"content": reply_text(reply)}
    assert fake.markdown_links(body) == []
    assert fake.link_hosts(body) == {"jobs.example.org"}
    assert fake.pings(body) == set()
    assert len(reply_text("x" * 3000)) == LIMITS["content"]


DEADLINE = datetime(2026, 11, 27, tzinfo=UTC)


def test_a_closed_alert_keeps_its_facts_within_the_limits() -> None:
    posting = _posting(title="T" * 500, deadline=DEADLINE, active=False)
    message = alert_message(posting)
    [embed] = message.embeds
    open_embed = alert_message(_posting(title="T" * 500, deadline=DEADLINE)).embeds[0]
    assert len(embed["title"]) == LIMITS["title"]
    assert embed["title"].startswith("[Closed] T") and embed["title"].endswith("…")
    assert (embed["description"], embed["color"]) == (CLOSED_NOTE, CLOSED_COLOUR)
    assert embed["fields"] == open_embed["fields"]
    assert {f["name"]: f["value"] for f in embed["fields"]}["Apply by"] == "27 Nov 2026"
    assert message.buttons == (("Apply", "https://jobs.example.org/1"),)
    assert _within_limits(message) == []
    assert "Apply by" not in {f["name"] for f in alert_message(_posting()).embeds[0]["fields"]}


def test_mentions_become_content_and_exactly_their_allowance() -> None:
    assert (mention_text("role:42"), allowed_mentions("role:42")) == (
        "<@&42>",
        {"parse": [], "roles": ["42"]},
    )
    assert (mention_text("here"), allowed_mentions("here")) == ("@here", {"parse": ["everyone"]})
    for nobody in ("", "group:S0123", "role:x"):
        assert (mention_text(nobody), allowed_mentions(nobody)) == ("", {"parse": []})
    long = with_mention(DiscordMessage(content="x" * LIMITS["content"]), "role:42")
    assert long.content.startswith("<@&42> x") and len(long.content) == LIMITS["content"]
    assert long.mention == "role:42"
    assert with_mention(DiscordMessage(content="hi"), "") == DiscordMessage(content="hi")
    # A grouped burst speaks for several subscriptions: each of their mentions, no other.
    assert (mention_text("here role:42 role:7"), allowed_mentions("here role:42 role:7")) == (
        "@here <@&42> <@&7>",
        {"parse": ["everyone"], "roles": ["42", "7"]},
    )


def test_a_reminder_is_headed_by_the_days_left() -> None:
    posting = _posting(deadline=DEADLINE)
    assert reminder_heading(posting, 3) == "Deadline in 3 days: apply by 27 Nov 2026"
    assert reminder_heading(posting, 1) == "Deadline in 1 day: apply by 27 Nov 2026"
    assert reminder_heading(posting, 0) == "Deadline today: apply by 27 Nov 2026"
    assert reminder_heading(_posting(), 2) == "Deadline soon"
    message = reminder_message(posting, 3, "here")
    assert message.content == "@here Deadline in 3 days: apply by 27 Nov 2026"
    assert message.embeds == alert_message(posting).embeds
    assert _within_limits(message) == []


def test_a_notice_is_defused_text_within_the_limit() -> None:
    message = notice_message("@everyone <@&1> [x](https://evil.example)\n" + "y" * 3000)
    fake = FakeDiscord()
    body = _payload(message)
    assert fake.pings(body) == set() and fake.markdown_links(body) == []
    assert len(message.content) == LIMITS["content"] and message.mention == ""
    assert _within_limits(message) == []


def test_post_names_fit_discord() -> None:
    assert len(post_name("Research Intern " * 40)) == LIMITS["thread_name"]
    assert post_name("  \u200b\x00  ") == "Job posting"
    assert post_name("Intern\nsee https://evil.example/x") == "Intern see evil\u2024example/x"


@given(st.text(max_size=300))
def test_any_title_makes_a_valid_post_name(title: str) -> None:
    name = post_name(title)
    assert 1 <= len(name.strip()) <= len(name) <= LIMITS["thread_name"]


_FAKE = FakeDiscord()  # for its ping computation only; no server is started
_PINGS = {"": set(), "here": {"here"}, "role:42": {"role:42"}, "group:S0AB": set()}


@given(
    title=st.text(min_size=1, max_size=300).filter(str.strip),
    company=st.text(max_size=100),
    mention=st.sampled_from(sorted(_PINGS)),
    days=st.integers(0, 60),
)
def test_only_the_subscriptions_mention_ever_pings(
    title: str, company: str, mention: str, days: int
) -> None:
    posting = _posting(title=title, company=company, deadline=DEADLINE)
    for message in (
        with_mention(alert_message(posting), mention),
        reminder_message(posting, days, mention),
        with_mention(digest_messages(title, [posting])[0], mention),
    ):
        body = _payload(message) | {"allowed_mentions": allowed_mentions(message.mention)}
        assert _FAKE.pings(body) == _PINGS[mention]
        assert _within_limits(message) == []
