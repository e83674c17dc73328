"""Fuzzing with hypothesis: the command grammar, the location/date/pay readers, the RSS
parser, the JSON loader and the text cleaners never crash and never let hostile text
through. About 2,500 cases in all, in a few seconds."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.chat.render import chat_safe, safe_text, safe_url
from bot.errors import CommandError, ParseError
from bot.postings.facts import (
    detect_degree,
    detect_duration,
    detect_pay,
    is_internship,
    looks_like_posting,
    parse_posted,
)
from bot.postings.gazetteer import load_gazetteer, resolve_country
from bot.sources.jsonsafe import load_json
from bot.sources.rss import RssSource
from subscriptions.grammar import format_filter, parse_command
from tests.conftest import DATA, NOW

FAST = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KEYS = [
    "area", "country", "degree", "keywords", "exclude", "company", "internship", "remote",
    "mode", "at", "tz", "day", "kind", "interval", "name", "backfill", "",
]  # fmt: skip
VERBS = ["subscribe", "preview", "sources add", "sources remove", "pause", "resume", "list", "x"]
_value = st.text(
    alphabet=st.sampled_from(list("abcdeUSDE,:;\"' -_/09@<>&.\u200b\u202e\n")), max_size=12
)
_token = st.builds(lambda k, v: f"{k}:{v}" if k else v, st.sampled_from(KEYS), _value)
_command = st.builds(
    lambda verb, tokens: " ".join([verb, *tokens]),
    st.sampled_from(VERBS),
    st.lists(_token, max_size=6),
)


@given(_command)
@FAST
def test_grammar_parses_or_explains_and_subscriptions_round_trip(text: str) -> None:
    try:
        command = parse_command(text)
    except CommandError as error:
        assert error.problem and len(str(error)) < 2_000
        return
    if command.verb == "subscribe" and command.filter is not None:
        text = format_filter(command.filter)
        again = parse_command("subscribe" if text == "(everything)" else f"subscribe {text}")
        assert again.filter == command.filter
    if command.source is not None:
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", command.source.name)
        assert command.source.url == "" or command.source.url.lower().startswith("http")


_place = st.one_of(
    st.text(max_size=60),
    st.lists(
        st.sampled_from(
            ["US", "WA", "Seattle", "Remote", "-", "Germany", "Aachen", "Sydney", "UK", "NYC",
             "Berlin", "São Paulo", "Zürich", "", ",", "  ", "CA", "Georgia", "India", "??"]
        ),
        max_size=6,
    ).map(", ".join),
)  # fmt: skip


@given(_place)
@FAST
def test_location_reader_gives_iso_codes_or_nothing(text: str) -> None:
    countries, remote = load_gazetteer().countries_in(text)
    assert isinstance(remote, bool)
    assert all(re.fullmatch(r"[A-Z]{2}", code) for code in countries)
    code = resolve_country(text)
    assert code is None or re.fullmatch(r"[A-Z]{2}", code)


_money = st.one_of(
    st.text(max_size=80),
    st.builds(
        lambda cur, a, b, per: f"{cur}{a}{b} {per}",
        st.sampled_from(["$", "€", "£", "USD ", "EUR ", "", "CHF "]),
        st.integers(min_value=0, max_value=10**12).map(str),
        st.sampled_from(["", " - $90", "k", "–120k", ".5", ",000", " to 1e308"]),
        st.sampled_from(["per hour", "/hr", "a month", "per year", "annually", "", "/week"]),
    ),
)


@given(_money, st.text(max_size=40))
@FAST
def test_pay_degree_duration_readers_never_crash(text: str, title: str) -> None:
    pay = detect_pay(text)
    if pay is not None:
        figures = [v for v in (pay.min, pay.max) if v is not None]
        assert figures and all(math.isfinite(v) and v >= 0 for v in figures)
        assert pay.describe()
    assert detect_degree(title, text) in ("phd-only", "phd-or-masters", "any", "unknown")
    assert isinstance(is_internship(title, text), bool)
    assert isinstance(looks_like_posting(title, text), bool)
    duration = detect_duration(text)
    assert duration is None or len(duration) < 200


_date = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["10 hours ago", "yesterday", "3 days ago", "Posted 2 weeks ago", "today"]),
    st.integers(0, 10**20).map(lambda n: f"{n} years ago"),
    st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"]),
    st.builds(
        lambda y, m, d, rest: f"{y}-{m:02d}-{d:02d}{rest}",
        st.integers(0, 99999),
        st.integers(0, 99),
        st.integers(0, 99),
        st.sampled_from(["", "T25:61:61Z", "T10:00:00+14:00", " 12:00", "T00:00:00.123456789Z"]),
    ),
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(allow_nan=True, allow_infinity=True),
)


@given(_date)
@FAST
def test_date_reader_gives_an_aware_datetime_or_nothing(value: str | int | float) -> None:
    result = parse_posted(value, NOW)
    assert result is None or (isinstance(result, datetime) and result.tzinfo is not None)


FEED = (DATA / "feed_v1.rss").read_bytes()


@given(st.integers(0, len(FEED)), st.integers(0, 64), st.binary(max_size=64))
@example(at=69, cut=0, insert=b"\xa0")  # a ValueError inside feedparser's strict parser
@settings(max_examples=300, deadline=None)
def test_rss_parser_reads_mutated_feeds_or_raises_parse_error(
    at: int, cut: int, insert: bytes
) -> None:
    body = FEED[:at] + insert + FEED[at + cut :]
    try:
        records = RssSource().parse(body, "fuzz", "http://example.org/")
    except ParseError as error:
        assert error.problem
        return
    assert all(isinstance(r.title, str) and r.external_id for r in records)


_hostile_text = st.lists(
    st.one_of(
        st.text(max_size=8),
        st.sampled_from(
            ["@everyone", "@here", "<!channel>", "<@U1>", "](http://e.x)", "\u202e", "https://e.x"]
        ),
    ),
    max_size=30,
).map("".join)


@given(_hostile_text, st.text(max_size=200))
@settings(max_examples=300, deadline=None)
def test_items_of_an_rss_feed_are_text_whatever_they_hold(title: str, link: str) -> None:
    from xml.sax.saxutils import escape

    clean = "".join(ch for ch in title + link if ch.isprintable() or ch in "\n\t")
    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>f</title>'
        f"<item><title>{escape(clean[:300])}</title><link>{escape(clean[:100])}</link>"
        "<guid>g1</guid></item></channel></rss>"
    ).encode("utf-8", "surrogatepass")
    try:
        records = RssSource().parse(body, "fuzz", "http://example.org/")
    except ParseError:
        return
    assert all(isinstance(r.title, str) for r in records)


@given(
    st.one_of(
        st.binary(max_size=300),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=10),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=5), inner, max_size=3)
            ),
            max_leaves=20,
        ).map(lambda v: repr(v).replace("'", '"').replace("None", "null").encode()),
    )
)
@settings(max_examples=300, deadline=None)
def test_json_loader_returns_data_or_parse_error(body: bytes) -> None:
    try:
        load_json(body, "fuzz")
    except ParseError as error:
        assert error.problem


_FORBIDDEN = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)


@given(_hostile_text, st.integers(1, 300))
@settings(max_examples=400, deadline=None)
def test_cleaned_text_has_no_hidden_characters_mentions_or_live_links(
    text: str, limit: int
) -> None:
    for cleaned in (safe_text(text, limit), chat_safe(text, limit)):
        assert len(cleaned) <= limit
        assert not _FORBIDDEN.search(cleaned)
        assert "://" not in cleaned
    chat = chat_safe(text, limit)
    assert "<" not in chat and ">" not in chat and "](" not in chat
    assert not re.search(r"(?<![\w＠])@(everyone|here|channel)\b", chat, re.I)


@given(st.text(max_size=100))
@FAST
def test_safe_url_is_a_plain_http_url_or_empty(url: str) -> None:
    cleaned = safe_url(url)
    assert cleaned == "" or (
        re.match(r"https?://", cleaned, re.I) and not any(c.isspace() for c in cleaned)
    )


@pytest.mark.parametrize("value", [datetime(2026, 1, 1, tzinfo=UTC), None, ""])
def test_date_reader_passes_edge_values(value: datetime | str | None) -> None:
    result = parse_posted(value, NOW)
    assert result is None or result.tzinfo is not None
