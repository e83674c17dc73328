"""The shortcuts that make enrichment fast (issue #8) give exactly the answers of the slow path.

Each shortcut (substring cues before regexes, a prefix-tree pattern, bare-markup reading)
is compared with the path it skips, on generated text built from the words the patterns
look for, in every case and spelling, and on the real fixtures when they are present.
"""

from __future__ import annotations

import importlib
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.classify import raw_records
from bot.postings import degree, facts, text
from bot.postings.gazetteer import load_gazetteer
from bot.postings.taxonomy import (
    DUTY_PHRASE_END,
    PHRASE_END,
    PHRASE_START,
    load_taxonomy,
)
from tests.conftest import REAL_FIXTURES, needs_shared

# bot.postings exports the function enrich under the module's name.
enrich_module = importlib.import_module("bot.postings.enrich")

MANY = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

LEVEL_WORDS = [
    "PhD", "Ph.D.", "ph d", "Doctoral", "doctorate", "博士", "Promotion", "Doktorandin",
    "postdoc", "Post-doc", "Master's", "master’s", "masters degree", "Master student",
    "MS", "M.S.", "MSc", "M.Sc", "MS/PhD", "BS/MS", "mba", "MBA", "m1", "M2", "硕士",
    "graduate students", "Graduate Intern", "graduate level", "研究生", "Bachelor's",
    "bachelors", "undergraduate", "Undergrads", "B.Tech", "HBO", "associate degree",
    "rising juniors", "juniors and seniors", "college students", "BSc", "B.S.", "UG",
    "本科", "学士", "degree in", "a university degree", "related degree", "degree-seeking",
    "enrolled in a university", "all degree levels", "any academic level", "及以上",
    "bs/ms/phd", "bachelor's, master's or PhD", "preferred", "a plus", "or", "/", "或",
    "currently", "pursuing", "student", "your PhD supervisor", "Jane Doe, PhD", "the PhD host",
    "maſter's", "ſtudent", "İntern", "unıversity", "Kelvin K",
]  # fmt: skip
PAY_WORDS = [
    "$", "€", "£", "¥", "USD", "eur", "Gbp", "CHF", "cad", "AUD", "sgd", "INR", "jpy",
    "45", "2,300", "120k", "65.38", " ", "-", "to", "/hr", "per month", "an hour", "hourly",
    "fraud", "neural", "ſgd", "\u2003", "٣",
]  # fmt: skip
SEPARATORS = [" ", " ", "\n", ". ", "; ", "! ", ", ", ".\n", " \n", "\n\n", "\t"]


def _text(words: list[str]) -> st.SearchStrategy[str]:
    piece = st.one_of(st.sampled_from(words), st.sampled_from(SEPARATORS), st.text(max_size=4))
    return st.lists(piece, max_size=30).map("".join)


def _full_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without a lower-cased text every cue check says "may match": the slow path.
    monkeypatch.setattr(degree, "_lowered", lambda _text: None)
    monkeypatch.setattr(facts, "_lowered", lambda _text: None)


@given(title=_text(LEVEL_WORDS), body=_text(LEVEL_WORDS))
@MANY
def test_degree_cues_never_change_the_degree(title: str, body: str) -> None:
    fast = facts.detect_degree(title, body)
    with pytest.MonkeyPatch.context() as patch:
        _full_path(patch)
        assert facts.detect_degree(title, body) == fast


@given(_text(PAY_WORDS))
@MANY
def test_pay_cue_never_changes_the_pay(value: str) -> None:
    fast = facts.detect_pay(value)
    with pytest.MonkeyPatch.context() as patch:
        _full_path(patch)
        assert facts.detect_pay(value) == fast


def _duration_slow(value: str) -> str | None:
    match = facts._DURATION.search(value)
    if not match:
        return None
    number = re.sub(r"\s?(?:-|–|to)\s?", "-", match.group(1))
    plural = "s" if number != "1" else ""
    return f"{number} {match.group(2).lower()}{plural}"


@given(_text(["3", "12", "6-9", " to ", "week", "WEEKS", "Month", "months", "-", "weeK"]))
@MANY
def test_duration_cue_never_changes_the_duration(value: str) -> None:
    assert facts.detect_duration(value) == _duration_slow(value)


def _says_remote_slow(value: str) -> bool:
    for match in enrich_module._REMOTE_TEXT.finditer(value):
        start = max(value.rfind(".", 0, match.start()), value.rfind("\n", 0, match.start()))
        if not enrich_module._CONDITION.search(value[start + 1 : match.start()]):
            return True
    return False


REMOTE_WORDS = [
    "fully remote", "100% Remote", "remote-first", "Fully home-based", "work-from-home arrangement",
    "open to remote candidates", "remote positions", "This role is fully remote", "if",
    "work remotely from anywhere", "work from wherever", "Remote research internship",
]  # fmt: skip


@given(_text(REMOTE_WORDS))
@MANY
def test_remote_cue_never_changes_the_answer(value: str) -> None:
    assert enrich_module._says_remote(value) == _says_remote_slow(value)


def _flat(phrases: list[str], end: str = PHRASE_END) -> re.Pattern[str]:
    """The plain longest-first alternation the prefix tree replaces."""
    ordered = sorted(phrases, key=len, reverse=True)
    alternation = "|".join(re.escape(p) for p in ordered)
    return re.compile(rf"{PHRASE_START}(?:{alternation}){end}")


PHRASES = sorted(load_taxonomy()._slug_of)


def _spelt(phrase: str, cut: int, case: int) -> str:
    phrase = phrase[: max(1, len(phrase) - cut)]
    return (phrase, phrase.upper(), phrase.title())[case]


_phrase_text = st.lists(
    st.one_of(
        st.builds(
            _spelt, st.sampled_from(PHRASES), st.integers(0, 3) | st.just(0), st.integers(0, 2)
        ),
        st.sampled_from(["", " ", "-", "/", "s", "-x", " x", ",", "ing ", "_", "ſ"]),
    ),
    max_size=12,
).map("".join)


@given(_phrase_text)
@MANY
def test_the_prefix_tree_matches_what_the_alternation_matches(value: str) -> None:
    taxonomy = load_taxonomy()
    title_only = {p for area in taxonomy.areas.values() for p in area.title_only}
    everyday = {p for area in taxonomy.areas.values() for p in area.everyday}
    body = _flat([p for p in PHRASES if p not in title_only])
    duties = _flat([p for p in PHRASES if p not in everyday], DUTY_PHRASE_END)
    for flat, tree in (
        (body, taxonomy._pattern),
        (_flat(PHRASES), taxonomy._title_pattern),
        (duties, taxonomy._duty_pattern),
    ):
        assert tree is not None
        # The patterns read casefolded text (as Taxonomy's methods give them).
        folded = value.casefold()
        assert [m.span() for m in tree.finditer(folded)] == [
            m.span() for m in flat.finditer(folded)
        ]


MARKUP = [
    "<p>", "</p>", "<P>", "<br>", "<br/>", "<br />", "</br>", "<li>", "</LI>", "<ul>", "<b>",
    "</b>", "<h2>", "<div/>", "<script>", "</script>", "<style>", "<title>", "<svg>", "</svg>",
    "<a href='x'>", "<!-- c -->", "<!DOCTYPE html>", "<p class=x>", "< p>", "<", ">", "&amp;",
    "&lt;b&gt;", "&", "&#233;", "&nbsp;", "R&D", "text", " ", "\n", "\u200b", "é", "</>",
]  # fmt: skip


def _with_html_parser(markup: str) -> str:
    extractor = text._TextExtractor()
    extractor.feed(markup)
    extractor.close()
    return "".join(extractor.parts)


@given(st.lists(st.sampled_from(MARKUP), max_size=25).map("".join))
@MANY
def test_bare_markup_reads_as_html_parser_reads_it(markup: str) -> None:
    bare = text._bare_markup_text(markup)
    if bare is not None:
        assert bare == _with_html_parser(markup)


def test_bare_markup_is_taken_for_simple_feeds_only() -> None:
    assert text._bare_markup_text("<p>A &amp; B</p><ul><li>x</li></ul><br/>") is not None
    assert text._bare_markup_text('<p class="x">A</p>') is None
    assert text._bare_markup_text("<p>a < b</p>") is None
    assert text._bare_markup_text("<script>x</script>") is None


@given(_text(["<b>", "&amp;", "a", "B", " ", "\t", "\x1c", "\u00a0", "\u200b", "é"]))
@MANY
def test_clean_inline_shortcut_agrees_with_html_to_text(value: str) -> None:
    assert text.clean_inline(value) == " ".join(text.html_to_text(value).split())


@needs_shared()
def test_real_fixtures_read_the_same_without_the_shortcuts(monkeypatch: pytest.MonkeyPatch) -> None:
    now = datetime(2026, 11, 23, tzinfo=UTC)
    records = []
    for path in sorted(Path(REAL_FIXTURES).rglob("*")):
        if path.is_file():
            try:
                records += raw_records(path.read_bytes(), path.name)[1][:40]
            except Exception:  # a file classify cannot read is no case for this test
                continue
    assert len(records) > 200
    fast = [enrich_module.enrich(record, now) for record in records]
    _full_path(monkeypatch)
    monkeypatch.setattr(text, "_bare_markup_text", lambda _markup: None)
    monkeypatch.setattr(enrich_module, "_REMOTE_CUES", ("",))  # "" is in every text
    load_gazetteer()._segment_hits.clear()
    assert [enrich_module.enrich(record, now) for record in records] == fast


def test_places_read_from_the_segment_cache_are_what_a_fresh_read_gives() -> None:
    gazetteer = load_gazetteer()
    samples = [
        "Seattle, WA",
        "Berlin, Germany",
        "Remote - US",
        "Chennai, TN, IND",
        "Research Intern - Paris, France",
        "Katya Rodriguez joined us in Manila; Manila is home",
        "authorized to work in the US",
    ]

    def read() -> list[object]:
        return [(gazetteer.countries_in(s), gazetteer.countries_in_text(s)) for s in samples]

    cached = read()
    assert read() == cached
    gazetteer._segment_hits.clear()
    assert read() == cached


@given(st.text(alphabet=st.characters(max_codepoint=127)))
@MANY
def test_ascii_keys_are_what_the_word_pattern_gives(value: str) -> None:
    lowered = value.lower()
    expected = " ".join(text._NON_WORD.sub(" ", lowered).replace("_", " ").split())
    assert text.normalise_key(value) == expected
