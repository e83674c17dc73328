"""schema.org JobPosting data in pages and descriptions is read, and what it states wins."""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.classify import classify_document
from bot.postings.enrich import enrich
from bot.postings.structured import find_job_posting
from bot.sources.base import kind_for
from tests.conftest import NOW, REAL_FIXTURES, needs_shared

PAGES = Path(__file__).parent / "data" / "pages"
SOURCES = Path(__file__).parent / "data" / "sources"


def _classify(name: str) -> dict:
    rows = classify_document((PAGES / name).read_bytes(), name, NOW, explain=True)
    assert len(rows) == 1
    return rows[0]


def test_a_page_with_json_ld_takes_title_country_and_employment_type_from_it() -> None:
    row = _classify("jsonld_posting.html")
    # The page's own heading is a button label; the JobPosting names the role.
    assert row["title"] == "Applied Science Intern, Speech Recognition"
    assert row["company"] == "Example Labs"
    # "We also have internships in Paris, Madrid and Toronto" adds no country.
    assert row["countries"] == ["DE"]
    assert row["is_internship"] is True and row["is_posting"] is True
    assert row["degree"] == "phd-only"
    assert row["deadline"] == "2027-01-15"
    assert row["posted_at"].startswith("2026-11-20")
    assert row["pay"] == {"min": 2800.0, "max": 3200.0, "currency": "EUR", "period": "month"}
    assert "speech" in row["areas"]
    explain = row["explain"]
    assert explain["degree"] == ["jsonld:educationRequirements"]
    assert explain["is_internship"] == ["jsonld:employmentType"]
    assert "jsonld:jobLocation" in explain["countries"]
    assert explain["is_posting"] == ["jsonld:@type"]


def test_microdata_is_read_like_json_ld() -> None:
    row = _classify("microdata_posting.html")
    assert row["title"] == "Research Intern, Recommender Systems"
    assert row["countries"] == ["AU"]
    assert row["is_internship"] is True
    assert row["degree"] == "phd-only"
    assert row["explain"]["degree"] == ["microdata:educationRequirements"]
    assert "recsys" in row["areas"]


def test_json_ld_inside_a_greenhouse_description_is_read() -> None:
    records = kind_for("greenhouse").parse((SOURCES / "greenhouse.json").read_bytes(), "gh", "u")
    student = enrich({r.external_id: r for r in records}["4100003"], NOW)
    # The board's metadata says Intern; the JSON-LD in its content adds the degree
    # ("postgraduate degree") and the deadline.
    assert student.is_internship and student.degree == "phd-or-masters"
    assert student.deadline is not None and student.deadline.date().isoformat() == "2027-01-31"
    assert student.countries == ("CA",)
    evidence = dict(student.evidence)
    assert evidence["degree"] == "jsonld:educationRequirements"
    assert evidence["is_internship"] == "source:metadata.Employment Type"


def test_a_stated_degree_wins_over_the_text() -> None:
    records = kind_for("simplify").parse((SOURCES / "simplify.json").read_bytes(), "sj", "u")
    by_id = {r.external_id: enrich(r, NOW) for r in records}
    speech = by_id["9d1e0000-4444-4aaa-8bbb-000000000004"]
    assert speech.degree == "phd-only"  # the title says nothing; the list says PhD
    assert ("degree", "source:degrees") in speech.evidence
    chips = by_id["9d1e0000-4444-4aaa-8bbb-000000000005"]
    assert chips.degree == "phd-or-masters"
    assert chips.areas == ()  # filed under Hardware: "AI Hardware" names what it serves


def test_broken_json_ld_is_skipped_and_the_page_still_read() -> None:
    page = (
        '<script type="application/ld+json">{"@type": "JobPosting", "title": </script>'
        "<h1>Machine Learning Intern</h1><p>You will train models. Apply now.</p>"
    )
    assert find_job_posting(page) is None
    row = classify_document(page.encode(), "broken.html", NOW)[0]
    assert row["title"] == "Machine Learning Intern" and row["is_internship"] is True


def test_other_structured_types_are_not_postings() -> None:
    article = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Interns"}
    page = f'<script type="application/ld+json">{json.dumps(article)}</script><p>Text</p>'
    assert find_job_posting(page) is None


@given(st.text(max_size=400))
def test_any_text_inside_a_json_ld_block_never_crashes(body: str) -> None:
    find_job_posting(f'<script type="application/ld+json">{html.escape(body)}</script>')
    find_job_posting(f'<div itemscope itemtype="https://schema.org/JobPosting">{body}</div>')


@needs_shared()
@pytest.mark.shared
def test_real_simplify_listings_state_their_degrees() -> None:
    body = (REAL_FIXTURES / "simplify/summer2026_listings_degrees_head.json").read_bytes()
    items = json.loads(body)
    records = kind_for("simplify").parse(body, "sj", "u")
    by_id = {r.external_id: r for r in records}
    checked = 0
    for item in items:
        degrees = item.get("degrees") or []
        if degrees not in (["PhD"], ["Master's", "PhD"]):
            continue
        posting = enrich(by_id[item["id"]], NOW)
        expected = "phd-only" if degrees == ["PhD"] else "phd-or-masters"
        assert posting.degree == expected, item["title"]
        assert ("degree", "source:degrees") in posting.evidence
        checked += 1
    assert checked >= 20


@needs_shared()
@pytest.mark.shared
def test_a_real_amazon_search_states_internships() -> None:
    body = (REAL_FIXTURES / "amazon/ai_job_tracker_search_response.json").read_bytes()
    for record in kind_for("amazon").parse(body, "az", "u"):
        posting = enrich(record, NOW)
        if "is_internship" in record.hints:
            assert posting.is_internship == record.hints["is_internship"]
            assert dict(posting.evidence)["is_internship"] == "source:is_intern"
        assert dict(posting.evidence)["countries"]


def test_an_apprenticeship_on_an_internship_list_is_no_internship() -> None:
    listing = {"id": "a1", "title": "", "terms": ["Fall 2026"], "locations": ["Leeds, UK"]}
    titles = {
        "Apprentice Network Technician": False,
        "Data Apprenticeship Level 4": False,
        "Engineering Apprenticeship - Summer 2026": True,
        "Network Technician Intern": True,
    }
    body = json.dumps([dict(listing, id=str(i), title=t) for i, t in enumerate(titles)])
    records = kind_for("simplify").parse(body.encode(), "sj", "u")
    assert [enrich(r, NOW).is_internship for r in records] == list(titles.values())
