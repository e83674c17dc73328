"""Slack Block Kit rendering (pure): limits, escaping, the modal and its grammar tokens."""

from __future__ import annotations

import re
import shlex
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.chat.slack_render import (
    MAX_BLOCKS,
    alert_message,
    country_options,
    digest_messages,
    escape,
    modal_tokens,
    safe_url,
    slack_mention,
    subscribe_modal,
)
from bot.postings.model import Pay, Posting
from bot.postings.taxonomy import load_taxonomy
from subscriptions.grammar import parse_filter
from tests.fakes.slack_api import check_blocks, check_view, find_mentions

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def posting(n: int = 1, **changes: object) -> Posting:
    values: dict[str, object] = {
        "source": "test",
        "external_id": f"p{n}",
        "url": f"https://jobs.test.example/{n}",
        "title": f"Research Intern {n} – Speech Recognition (PhD)",
        "company": "Acme Speech",
        "countries": ("DE",),
        "areas": ("speech",),
        "degree": "phd-only",
        "is_internship": True,
        "posted_at": NOW - timedelta(hours=n),
    }
    values.update(changes)
    return Posting(**values)  # type: ignore[arg-type]


def test_alert_has_header_fields_apply_button_and_metadata() -> None:
    pay = Pay(52, 78, "USD", "hour")
    message = alert_message(posting(pay=pay, duration="12 weeks"), delivery_id=42)
    assert check_blocks(message.blocks) == []
    header, facts, context, actions = message.blocks
    assert header == {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": "Research Intern 1 – Speech Recognition (PhD)",
            "emoji": False,
        },
    }
    fields = [f["text"] for f in facts["fields"]]
    assert fields[0] == "*Company*\nAcme Speech"
    assert "*Pay*\nUSD 52–78 / hour" in fields and "*Duration*\n12 weeks" in fields
    assert "*Degree*\nPhD only" in fields and "*Where*\nGermany" in fields
    assert actions["elements"][0]["url"] == "https://jobs.test.example/1"
    assert message.metadata == {
        "event_type": "jobbot_alert",
        "event_payload": {"delivery_id": "42"},
    }
    payload = message.payload()
    assert payload["unfurl_links"] is False and payload["unfurl_media"] is False
    assert "link_names" not in payload and "parse" not in payload
    assert message.text.startswith("Research Intern 1")
    assert not any(f.startswith("*Pay*") for f in _fields(alert_message(posting(), 1)))


def _fields(message) -> list[str]:
    return [f["text"] for f in message.blocks[1]["fields"]]


def test_long_values_are_cut_to_slack_limits() -> None:
    message = alert_message(
        posting(title="T" * 5000, company="C" * 5000, url="https://x.example/" + "a" * 4000), 1
    )
    assert check_blocks(message.blocks) == []
    assert len(message.blocks[0]["text"]["text"]) == 150
    # A URL Slack would refuse gets no button (and no link) rather than a rejected message.
    assert message.blocks[-1]["type"] == "context"
    assert len(message.text) <= 4000


def test_escape_only_touches_the_three_control_characters() -> None:
    assert escape("a & b <!here> > *bold*") == "a &amp; b &lt;!here&gt; &gt; *bold*"


def test_safe_url() -> None:
    assert safe_url("https://jobs.example/a?b=1&c=2") == "https://jobs.example/a?b=1&c=2"
    for bad in ("javascript:alert(1)", "https://a.example/x|evil", "https://a b", "ftp://x"):
        assert safe_url(bad) is None


HOSTILE = st.text(
    alphabet=st.sampled_from(list("<>!@&|^#:/.abcehlnrtuvy UCSW0123")), max_size=80
) | st.sampled_from(
    [
        "<!channel> free money <https://evil.example|amazon.jobs>",
        "<!here>",
        "<!everyone>",
        "<@U0USER>",
        "<!subteam^S123|@team>",
        "<#C123>",
        "&lt;!channel&gt;",
        "<<!here>>",
        "@channel @here",
    ]
)


@settings(max_examples=300, deadline=None)
@given(title=HOSTILE, company=HOSTILE, source=HOSTILE)
def test_no_posting_text_survives_as_a_mention_or_link(
    title: str, company: str, source: str
) -> None:
    hostile = posting(title=title or "x", company=company, source=source or "s")
    own = "https://jobs.test.example/1"
    for message in [alert_message(hostile, 1), *digest_messages(title, [hostile], "k")]:
        found = find_mentions({"text": message.text, "blocks": message.blocks})
        assert not found.notifies_anyone, (title, company, found)
        assert not found.channels
        assert set(found.link_urls) <= {own}, found


def test_huge_digest_is_split_within_limits_and_keeps_every_posting() -> None:
    slugs = load_taxonomy().slugs
    postings = [
        posting(n, title=f"{n:04d} " + "Very long title " * 20, areas=(slugs[n % len(slugs)],))
        for n in range(600)
    ]
    messages = digest_messages("Daily digest: 600 new posting(s)", postings, "digest-1")
    assert len(messages) > 1
    seen: list[str] = []
    for number, message in enumerate(messages, start=1):
        assert check_blocks(message.blocks) == [], number
        assert len(message.blocks) <= MAX_BLOCKS
        assert message.blocks[0]["type"] == "header"
        assert message.blocks[0]["text"]["text"].endswith(f"({number}/{len(messages)})")
        assert sum(len(b.get("text", {}).get("text", "")) for b in message.blocks) < 12_000
        assert message.metadata["event_payload"] == {"digest_key": "digest-1", "part": number}
        for block in message.blocks[1:]:
            seen += re.findall(r"\|(\d{4}) Very", block["text"]["text"])
    assert sorted(seen) == [f"{n:04d}" for n in range(600)]


def test_digest_groups_by_area_newest_first() -> None:
    items = [
        posting(1, areas=("nlp",)),
        posting(2, areas=("speech",)),
        posting(3, areas=("nlp",)),
    ]
    [message] = digest_messages("Weekly digest", items, "k")
    texts = [b["text"]["text"] for b in message.blocks[1:]]
    assert len(texts) == 5
    nlp_at = texts.index("*Natural language processing*")
    labels = [t for t in texts if t.startswith("*") and "\n" not in t]
    assert len(labels) == 2
    # Within NLP, posting 1 (1 hour old) comes before posting 3 (3 hours old).
    assert "/1|" in texts[nlp_at + 1] and "/3|" in texts[nlp_at + 2]


def test_modal_is_valid_and_its_tokens_go_through_the_grammar() -> None:
    view = subscribe_modal("T1", "C1")
    assert check_view(view) == []
    assert len(view["blocks"][0]["element"]["options"]) == len(load_taxonomy().slugs)
    values = {
        "areas": {"areas": {"selected_options": [{"value": "nlp"}, {"value": "speech"}]}},
        "countries": {"countries": {"selected_options": [{"value": "DE"}]}},
        "degree": {"degree": {"selected_option": {"value": "phd"}}},
        "keywords": {"keywords": {"value": "applied science, research"}},
        "exclude": {"exclude": {"value": ""}},
        "mode": {"mode": {"selected_option": {"value": "instant"}}},
        "at": {"at": {"selected_time": "09:00"}},
        "tz": {"tz": {"value": "Europe/Berlin"}},
    }
    tokens = modal_tokens(values)
    # at/tz only belong to digests; an instant subscription does not send them.
    assert [block for block, _ in tokens] == ["areas", "countries", "degree", "keywords", "mode"]
    filter_, schedule = parse_filter([t for _, tok in tokens for t in shlex.split(tok)])
    assert filter_.areas == {"nlp", "speech"} and filter_.countries == {"DE"}
    assert filter_.keywords == ("applied science", "research")
    assert schedule.mode == "instant"
    values["mode"]["mode"]["selected_option"]["value"] = "weekly"
    assert [block for block, _ in modal_tokens(values)][-3:] == ["mode", "at", "tz"]


def test_country_options_type_ahead() -> None:
    assert country_options("germ")[0]["value"] == "DE"
    assert country_options("de")[0]["value"] == "DE"
    assert len(country_options("a")) <= 100
    assert all(len(o["text"]["text"]) <= 75 for o in country_options("a"))
    assert country_options("zzzz") == []


def test_a_grouped_burst_carries_each_subscriptions_mention_once() -> None:
    assert slack_mention("here group:S01 role:42") == "<!here> <!subteam^S01>"
    assert slack_mention("") == "" and slack_mention("role:42") == ""
