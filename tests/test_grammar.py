"""The /jobs grammar: good input parses, bad input says what is wrong, filters round-trip."""

from __future__ import annotations

import shlex

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import CommandError
from bot.postings.taxonomy import load_taxonomy
from subscriptions.grammar import format_filter, parse_command, parse_filter
from subscriptions.model import DEGREE_CHOICES, Filter, Schedule


def test_full_subscribe_line() -> None:
    command = parse_command(
        "/jobs subscribe area:nlp,recsys country:US,Germany degree:phd-only "
        'keywords:"applied science" exclude:senior company:amazon internship:yes '
        "mode:daily at:09:00 tz:Europe/Berlin"
    )
    assert command.verb == "subscribe"
    assert command.filter == Filter(
        areas=frozenset({"nlp", "recsys"}),
        countries=frozenset({"US", "DE"}),
        degrees=frozenset({"phd-only"}),
        keywords=("applied science",),
        exclude=("senior",),
        companies=("amazon",),
        internship="yes",
    )
    assert command.schedule == Schedule(mode="daily", at="09:00", tz="Europe/Berlin")


@pytest.mark.parametrize(
    ("text", "verb", "target"),
    [
        ("list", "list", None),
        ("unsubscribe 3", "unsubscribe", 3),
        ("pause #4", "pause", 4),
        ("resume 5", "resume", 5),
        ("digest now", "digest", None),
        ("digest", "digest", None),
        ("areas", "areas", None),
        ("sources", "sources", None),
        ("help", "help", None),
        ("", "help", None),
        ("ls", "list", None),
        ("rm 2", "unsubscribe", 2),
    ],
)
def test_other_verbs(text: str, verb: str, target: int | None) -> None:
    command = parse_command(text)
    assert (command.verb, command.target) == (verb, target)


def test_resume_catch_up_and_weekly_schedule() -> None:
    assert parse_command("resume 2 catch-up").catch_up
    command = parse_command("subscribe area:cv mode:weekly day:Friday at:8:30 tz:Asia/Tokyo")
    assert command.schedule == Schedule(mode="weekly", at="8:30", tz="Asia/Tokyo", weekday="fri")


def test_empty_subscribe_matches_everything() -> None:
    assert parse_command("subscribe").filter == Filter()


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("subscribe area:nlpp", "Did you mean `nlp`"),
        ("subscribe area:", "needs a value"),
        ("subscribe country:Atlantis", "not a country"),
        ("subscribe degree:phd-ish", "choose one of"),
        ("subscribe colour:blue", "not a filter I know"),
        ("subscribe nlp", "Filters look like `key:value`"),
        ("subscribe area:nlp area:cv", "given twice"),
        ('subscribe keywords:"applied science', "check your quotes"),
        ("subscribe mode:hourly", "choose one of"),
        ("subscribe mode:daily at:25:00", "not HH:MM"),
        ("subscribe mode:daily tz:Mars/Olympus", "unknown time zone"),
        ("subscribe internship:maybe", "choose one of"),
        ("unsubscribe", "needs a subscription ID"),
        ("unsubscribe abc", "not a subscription ID"),
        ("pause 1 2", "takes one subscription ID"),
        ("digest later", "only knows `now`"),
        ("subscrbe area:nlp", "Did you mean `subscribe`"),
        ("list everything", "takes no arguments"),
        ("help nothing", "no help on"),
    ],
)
def test_bad_input_says_what_is_wrong_and_shows_usage(text: str, says: str) -> None:
    with pytest.raises(CommandError) as raised:
        parse_command(text)
    assert says in str(raised.value)
    assert "Usage: /jobs" in str(raised.value)


def test_shared_grammar_accepts_country_names_and_codes() -> None:
    filter_, _ = parse_filter(["country:United Kingdom,ch,DEU"])
    assert filter_.countries == {"GB", "CH", "DE"}


_word = (
    st.text(alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyz +#-"), min_size=1, max_size=20)
    .map(str.strip)
    .filter(lambda w: w and "," not in w)
)
filters = st.builds(
    Filter,
    areas=st.frozensets(st.sampled_from(load_taxonomy().slugs), max_size=4),
    countries=st.frozensets(
        st.sampled_from(["US", "DE", "AU", "GB", "CH", "IN", "JP"]), max_size=3
    ),
    degrees=st.frozensets(st.sampled_from(sorted(DEGREE_CHOICES)), max_size=2),
    keywords=st.lists(_word, max_size=3, unique=True).map(tuple),
    exclude=st.lists(_word, max_size=2, unique=True).map(tuple),
    companies=st.lists(_word, max_size=2, unique=True).map(tuple),
    internship=st.sampled_from(["yes", "no", "any"]),
    remote=st.booleans(),
)


@given(filters)
@settings(max_examples=300)
def test_format_filter_round_trips(filter_: Filter) -> None:
    text = format_filter(filter_)
    tokens = [] if text == "(everything)" else shlex.split(text)
    assert parse_filter(tokens)[0] == filter_


@given(st.text(max_size=200))
@settings(max_examples=1000)
def test_any_text_parses_or_raises_command_error(text: str) -> None:
    try:
        parse_command(text)
    except CommandError as error:
        assert str(error)


# ------------------------------------------------------------------ hostile input (#18)


def test_a_megabyte_filter_is_refused_before_tokenising() -> None:
    import time

    started = time.perf_counter()
    with pytest.raises(CommandError, match="the most is 10000"):
        parse_command("subscribe keywords:" + "a " * 500_000)
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize("day", ["monkey", "mo", "tuesdays", "x"])
def test_a_day_that_is_not_a_weekday_is_refused(day: str) -> None:
    with pytest.raises(CommandError):
        parse_command(f"subscribe mode:weekly day:{day}")


@pytest.mark.parametrize(("day", "expected"), [("mon", "mon"), ("Monday", "mon"), ("SUN", "sun")])
def test_weekdays_by_short_or_full_name(day: str, expected: str) -> None:
    command = parse_command(f"subscribe mode:weekly day:{day}")
    assert command.schedule is not None and command.schedule.weekday == expected


@pytest.mark.parametrize("char", ["\u202e", "\u2066", "\u200b", "\x07", "\x1b"])
def test_control_and_bidi_characters_in_keywords_are_refused(char: str) -> None:
    with pytest.raises(CommandError, match=f"U\\+{ord(char):04X}"):
        parse_command(f"subscribe keywords:ab{char}cd")


@pytest.mark.parametrize("verb", ["unsubscribe", "pause", "resume"])
@pytest.mark.parametrize("target", [str(2**63), "9" * 40, "9" * 5000, "0", "-1"])
def test_ids_out_of_range_are_command_errors(verb: str, target: str) -> None:
    with pytest.raises(CommandError, match="is not a subscription ID"):
        parse_command(f"{verb} {target}")


def test_the_largest_id_is_accepted() -> None:
    assert parse_command(f"unsubscribe {2**63 - 1}").target == 2**63 - 1
