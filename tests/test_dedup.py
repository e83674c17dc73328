"""The pure dedup rules: when an item with an unknown GUID continues a stored listing (#18)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from bot.postings.dedup import (
    NEAR_DUPLICATE_WINDOW,
    continued_listing,
    is_near_duplicate,
    names_one_job,
)
from bot.postings.model import Posting
from tests.conftest import NOW

EARLIER = NOW - timedelta(minutes=10)


def _item(guid: str, **changes: object) -> Posting:
    """An RSS item with no author, as the feeds of issue #18 send them."""
    base = Posting(
        source="feed",
        external_id=guid,
        url="https://jobs.example/jobs/4012345",
        title="Research Intern - Speech Recognition",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _listed(*postings: Posting, seen: datetime | None = EARLIER) -> dict[int, tuple]:
    return {row_id: (p, seen) for row_id, p in enumerate(postings, start=1)}


@pytest.mark.parametrize(
    ("url", "one_job"),
    [
        ("https://boards.greenhouse.io/acme/jobs/4012345", True),
        ("https://jobs.lever.co/acme/cc4bc2b7-ee87-43be-81c9-09c8b0411a7e", True),
        ("https://acme.wd1.myworkdayjobs.com/External/job/Berlin/Intern_JR-1234", True),
        ("https://www.acme.com/careers/apply?gh_jid=5695257003", True),
        ("https://careers.oracle.com/jobs", False),
        ("https://acme.example/careers", False),
        ("https://acme.example/", False),
        ("https://acme.example/careers/engineering", False),
    ],
)
def test_a_job_page_carries_an_identifier_and_a_careers_page_none(url: str, one_job: bool) -> None:
    assert names_one_job(url) is one_job


def test_the_same_url_under_a_new_guid_is_the_same_listing() -> None:
    old = _item("guid-1")
    assert continued_listing(_item("guid-2"), NOW, _listed(old)) == 1


def test_no_company_same_title_and_link_is_the_same_listing_even_at_a_careers_page() -> None:
    careers = "https://acme.example/careers"
    old = _item("guid-1", url=careers)
    assert continued_listing(_item("guid-2", url=careers), NOW, _listed(old)) == 1
    # Title keys ignore case, punctuation and noise words, as near-duplicates do.
    renamed = _item("guid-3", url=careers, title="NEW: research intern – speech recognition!")
    assert continued_listing(renamed, NOW, _listed(old)) == 1


def test_different_titles_at_a_careers_page_are_different_jobs() -> None:
    careers = "https://acme.example/careers"
    old = _item("guid-1", url=careers, title="Research Intern - Speech Recognition")
    new = _item("guid-2", url=careers, title="Research Intern - Computer Vision")
    assert continued_listing(new, NOW, _listed(old)) is None
    # Each item of such a board finds its own listing by title.
    vision = _item("guid-0", url=careers, title="Research Intern - Computer Vision")
    assert continued_listing(new, NOW, _listed(old, vision)) == 2


def test_a_new_title_at_a_job_page_is_an_edit_of_the_only_listing_there() -> None:
    old = _item("guid-1")
    edited = _item("guid-2", title="Research Intern - Automatic Speech Recognition (ASR)")
    assert continued_listing(edited, NOW, _listed(old)) == 1
    # Where the source lists several jobs at that page, a new title is not an edit of one.
    other = _item("guid-0", title="Research Intern - Computer Vision")
    assert continued_listing(edited, NOW, _listed(old, other)) is None


def test_different_companies_at_one_link_are_different_jobs() -> None:
    careers = "https://aggregator.example/"
    old = _item("guid-1", url=careers, company="Acme")
    other = _item("guid-2", url=careers, company="Beta")
    assert continued_listing(other, NOW, _listed(old)) is None
    # Legal suffixes do not make another company.
    same = _item("guid-2", url=careers, company="ACME Inc.")
    assert continued_listing(same, NOW, _listed(old)) == 1


def test_only_the_same_source_and_url_count() -> None:
    elsewhere = _item("guid-1", source="other")
    assert continued_listing(_item("guid-2"), NOW, _listed(elsewhere)) is None
    moved = _item("guid-1", url="https://jobs.example/jobs/999")
    assert continued_listing(_item("guid-2"), NOW, _listed(moved)) is None
    assert continued_listing(_item("guid-2", url=""), NOW, _listed(_item("g", url=""))) is None


def test_a_listing_this_poll_already_accounts_for_is_not_continued() -> None:
    old = _item("guid-1")
    # Listed by its own GUID (or claimed by another item) in this poll: two listings.
    assert continued_listing(_item("guid-2"), NOW, _listed(old), taken={1}) is None
    # Seen at this very poll: stored by an earlier part of it.
    assert continued_listing(_item("guid-2"), NOW, _listed(old, seen=NOW)) is None
    # Of two copies, the free one is continued; the oldest first when both are free.
    copies = _listed(old, _item("guid-0"))
    assert continued_listing(_item("guid-2"), NOW, copies, taken={1}) == 2
    assert continued_listing(_item("guid-2"), NOW, copies) == 1


def test_the_same_title_at_a_careers_page_after_the_window_is_a_new_opening() -> None:
    careers = "https://acme.example/careers"
    old = _item("guid-1", url=careers)
    gone = NOW - NEAR_DUPLICATE_WINDOW - timedelta(days=1)
    assert continued_listing(_item("guid-2", url=careers), NOW, _listed(old, seen=gone)) is None
    # Posted a year apart while still listed: the next edition of the programme.
    posted = _item("guid-1", url=careers, posted_at=NOW - timedelta(days=365))
    fresh = _item("guid-2", url=careers, posted_at=NOW)
    assert continued_listing(fresh, NOW, _listed(posted)) is None
    # At a job's own page it is that job, however long ago it was seen.
    assert continued_listing(_item("guid-2"), NOW, _listed(_item("guid-1"), seen=gone)) == 1


def test_without_a_company_a_copy_at_the_same_link_on_one_source_is_a_near_duplicate() -> None:
    old = _item("guid-1", countries=("DE",))
    assert is_near_duplicate(_item("guid-2", countries=("DE",)), NOW, old, EARLIER)
    # Another link, another source or another title: a title alone says too little.
    assert not is_near_duplicate(_item("g", url="https://jobs.example/jobs/9"), NOW, old, EARLIER)
    assert not is_near_duplicate(_item("guid-2", source="other"), NOW, old, EARLIER)
    assert not is_near_duplicate(_item("guid-2", title="Data Intern"), NOW, old, EARLIER)
    assert not is_near_duplicate(_item("guid-2", url=""), NOW, _item("guid-1", url=""), EARLIER)
    # The other rules still hold: countries apart, or seen too long ago.
    assert not is_near_duplicate(_item("guid-2", countries=("US",)), NOW, old, EARLIER)
    gone = NOW - NEAR_DUPLICATE_WINDOW - timedelta(days=1)
    assert not is_near_duplicate(_item("guid-2"), NOW, old, gone)
    # With a company on one side only, neither rule applies.
    assert not is_near_duplicate(_item("guid-2"), NOW, _item("guid-1", company="Acme"), EARLIER)
    assert not is_near_duplicate(_item("guid-2", company="Acme"), NOW, old, EARLIER)
