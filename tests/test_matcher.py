"""The matcher: dimensions AND, values OR, empty matches all; the index agrees with the loop."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.postings.model import Posting
from bot.postings.taxonomy import load_taxonomy
from subscriptions.matcher import SubscriptionIndex, matches, mismatch
from subscriptions.model import DEGREE_CHOICES, Filter, Subscription

POSTING = Posting(
    source="t",
    external_id="1",
    url="https://x.example/1",
    title="2026 Applied Science Internship (Machine Learning, Recommender Systems), Sydney",
    company="Amazon Development Centre Australia",
    countries=("AU",),
    areas=("ml", "recsys"),
    degree="phd-only",
    is_internship=True,
    posted_at=datetime(2026, 11, 20, tzinfo=UTC),
    description="Build recommendation models. Currently enrolled in a PhD program.",
)


@pytest.mark.parametrize(
    ("filter_", "reason"),
    [
        (Filter(), None),
        (Filter(areas=frozenset({"recsys", "cv"})), None),
        (Filter(areas=frozenset({"ml"})), None),
        (Filter(areas=frozenset({"cv"})), "area"),
        (Filter(countries=frozenset({"AU", "US"})), None),
        (Filter(countries=frozenset({"US"})), "country"),
        (Filter(degrees=frozenset({"phd-only"})), None),
        (Filter(degrees=frozenset({"phd"})), None),
        (Filter(degrees=frozenset({"masters"})), "degree"),
        (Filter(keywords=("applied science",)), None),
        (Filter(keywords=("computer vision",)), "keywords"),
        (Filter(exclude=("senior",)), None),
        (Filter(exclude=("sydney",)), "exclude"),
        (Filter(companies=("amazon",)), None),
        (Filter(companies=("google",)), "company"),
        (Filter(internship="no"), "internship"),
        (Filter(remote=True), "remote"),
        (Filter(areas=frozenset({"recsys"}), countries=frozenset({"US"})), "country"),
    ],
)
def test_each_dimension(filter_: Filter, reason: str | None) -> None:
    assert mismatch(filter_, POSTING) == reason


def test_child_area_matches_parent_subscription_but_not_the_reverse() -> None:
    llm = replace(POSTING, areas=("llm",))
    assert matches(Filter(areas=frozenset({"nlp"})), llm)
    assert matches(Filter(areas=frozenset({"ml"})), llm)
    generic = replace(POSTING, areas=("ml",))
    assert not matches(Filter(areas=frozenset({"nlp"})), generic)


def test_non_postings_and_full_time_roles_do_not_match_by_default() -> None:
    assert mismatch(Filter(), replace(POSTING, is_posting=False)) == "not a job posting"
    assert mismatch(Filter(), replace(POSTING, active=False)) == "closed"
    assert mismatch(Filter(), replace(POSTING, is_internship=False)) == "internship"
    assert matches(Filter(internship="any"), replace(POSTING, is_internship=False))


def _sub(sub_id: int, filter_: Filter, paused: bool = False) -> Subscription:
    return Subscription(
        id=sub_id,
        platform="console",
        workspace="w",
        channel=f"c{sub_id}",
        filter=filter_,
        paused=paused,
    )


def test_index_skips_paused_and_removed() -> None:
    index = SubscriptionIndex(
        [
            _sub(1, Filter()),
            _sub(2, Filter(), paused=True),
            _sub(3, Filter(areas=frozenset({"recsys"}))),
        ]
    )
    assert [s.id for s in index.match(POSTING)] == [1, 3]
    index.remove(3)
    assert [s.id for s in index.match(POSTING)] == [1]


slugs = load_taxonomy().slugs
countries = ["US", "DE", "AU", "GB", "CH"]
# Phrases chosen to hit the index's edge cases: accents and punctuation that normalise
# away, several words, a word that is part of another word, a phrase that normalises to
# nothing, and company suffixes.
phrases = ["applied science", "phd", "speech", "Ré-search", "intern", "in", "--", "ml ops"]
company_names = ["Amazon", "amazon web", "Acme GmbH", "me", "Siemens AG", "!!"]
filter_strategy = st.builds(
    Filter,
    areas=st.frozensets(st.sampled_from(slugs), max_size=3),
    countries=st.frozensets(st.sampled_from(countries), max_size=2),
    degrees=st.frozensets(st.sampled_from(sorted(DEGREE_CHOICES)), max_size=2),
    keywords=st.lists(st.sampled_from(phrases), max_size=2, unique=True).map(tuple),
    exclude=st.lists(st.sampled_from(["senior", "sydney"]), max_size=1, unique=True).map(tuple),
    companies=st.lists(st.sampled_from(company_names), max_size=2, unique=True).map(tuple),
    internship=st.sampled_from(["yes", "no", "any"]),
    remote=st.booleans(),
)
posting_strategy = st.builds(
    lambda areas, cs, degree, intern, remote, title, company, description, is_posting, active: (
        replace(
            POSTING,
            areas=tuple(sorted(areas)),
            countries=tuple(sorted(cs)),
            degree=degree,
            is_internship=intern,
            remote=remote,
            title=title,
            company=company,
            description=description,
            is_posting=is_posting,
            active=active,
        )
    ),
    st.frozensets(st.sampled_from(slugs), max_size=3),
    st.frozensets(st.sampled_from(countries), max_size=2),
    st.sampled_from(["phd-only", "phd-or-masters", "any", "unknown"]),
    st.booleans(),
    st.booleans(),
    st.sampled_from(
        ["Applied Science Intern, Sydney", "Senior Speech Scientist", "PhD Intern", "", "Internal"]
    ),
    st.sampled_from(["Amazon Web Services", "ACME gmbh", "Siemens", "", "Name Me Inc"]),
    st.sampled_from(["", "Research on speech.", "ML-Ops and résearch", "internship in Aachen"]),
    st.booleans(),
    st.booleans(),
)


@given(st.lists(filter_strategy, min_size=1, max_size=30), st.lists(posting_strategy, max_size=10))
@settings(max_examples=300)
def test_index_gives_the_same_matches_as_the_plain_loop(filters, postings) -> None:
    subs = [_sub(i + 1, f) for i, f in enumerate(filters)]
    index = SubscriptionIndex(subs)
    for posting in postings:
        expected = [s.id for s in subs if matches(s.filter, posting)]
        assert [s.id for s in index.match(posting)] == expected


@given(
    st.lists(filter_strategy, min_size=1, max_size=20),
    st.lists(st.integers(min_value=1, max_value=20), max_size=10),
    st.lists(posting_strategy, min_size=1, max_size=5),
)
@settings(max_examples=100)
def test_index_stays_identical_after_removals_and_replacements(filters, removed, postings) -> None:
    subs = {i + 1: _sub(i + 1, f) for i, f in enumerate(filters)}
    index = SubscriptionIndex(subs.values())
    for sub_id in removed:
        index.remove(sub_id)
        subs.pop(sub_id, None)
    # Re-adding under the same id files the subscription afresh, wherever it now belongs.
    for sub_id, sub in list(subs.items())[:3]:
        subs[sub_id] = _sub(sub_id, replace(sub.filter, companies=("amazon",)))
        index.add(subs[sub_id])
    for posting in postings:
        expected = [s.id for s in subs.values() if matches(s.filter, posting)]
        assert [s.id for s in index.match(posting)] == sorted(expected)


def test_index_files_subscriptions_under_their_most_selective_dimension() -> None:
    index = SubscriptionIndex(
        [
            _sub(1, Filter(companies=("amazon",), areas=frozenset({"ml"}))),
            _sub(2, Filter(keywords=("speech recognition",))),
            _sub(3, Filter(areas=frozenset({"recsys"}), countries=frozenset({"AU"}))),
            _sub(4, Filter(internship="any")),
        ]
    )
    assert index.plans() == {"company": 1, "keyword": 1, "area+country+internship": 1, "any": 1}
    # A posting from another company in another country visits neither list.
    other = replace(POSTING, company="Google", countries=("US",), description="")
    assert index.candidates(other) == {4}


def test_keywords_in_a_long_text_match_as_the_plain_loop_does() -> None:
    # A text with far more words than the keyword plan has keys is searched key by key:
    # a word inside another word ("learn"), a pair across a sentence ("ops learning") and
    # a phrase that normalises to two words ("re search") count exactly as in the loop.
    long_text = " ".join(["Research on speech-recognition, ML-Ops. Learning;"] * 30)
    posting = replace(POSTING, description=long_text)
    words = ["speech recognition", "ml ops", "learn", "learning", "ops learning", "ré-search"]
    subs = [_sub(i + 1, Filter(keywords=(w,), internship="any")) for i, w in enumerate(words)]
    index = SubscriptionIndex(subs)
    expected = [s.id for s in subs if matches(s.filter, posting)]
    assert [s.id for s in index.match(posting)] == expected == [1, 2, 4, 5]
    short = replace(POSTING, title="Learn", description="")  # fewer words than keys
    assert [s.id for s in index.match(short)] == [s.id for s in subs if matches(s.filter, short)]
