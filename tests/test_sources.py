"""One contract suite for every source kind: parse, sniff, broken bodies, fetch, poll.

Each kind is checked against its own small fixture in tests/data/sources/ and, where
../shared is present, against the real responses in /work/shared/fixtures/real with the
ids that benchmarks/eval/labels.jsonl keys its labels by.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import build
from bot.cli import main
from bot.config import Settings, default_source_specs
from bot.errors import ParseError
from bot.postings.model import RawPosting
from bot.sources import amazon, ashby, greenhouse, lever, simplify
from bot.sources.base import PollState, SourceSpec, kind_for, registered_kinds, sniff_kind
from bot.sources.http import HttpFetcher
from bot.sources.jsonapi import country_alpha2
from bot.sources.jsonlist import url_id
from bot.sources.mdtable import age_phrase
from bot.sources.workday import posted_phrase
from tests.conftest import DATA, REAL_FIXTURES, FeedServer, needs_shared

SOURCES = DATA / "sources"
ROOT = Path(__file__).resolve().parents[1]
LABELS = ROOT / "benchmarks" / "eval" / "labels.jsonl"


@dataclass(frozen=True)
class Real:
    """A real fixture file: how many records it holds and ids that must be among them."""

    path: str
    count: int
    ids: tuple[str, ...]


@dataclass(frozen=True)
class Case:
    """One kind: its own fixture, the ids in it, and its real fixtures."""

    kind: str
    fixture: str
    ids: tuple[str, ...]
    content_type: str = "application/json"
    real: tuple[Real, ...] = field(default=())

    def body(self) -> bytes:
        return (SOURCES / self.fixture).read_bytes()


CASES = [
    Case(
        "greenhouse",
        "greenhouse.json",
        ("4100001", "4100002", "4100003"),
        real=(
            Real("greenhouse/careerkit_greenhouse.json", 2, ("8636903002",)),
            Real("greenhouse/ats_polling_greenhouse.json", 2, ()),
            Real("greenhouse/tech_jobs_hub/databricks_2026-08-22.json", 816, ("8559344002",)),
            Real("greenhouse/tech_jobs_hub/catawiki_content_true.json", 50, ()),
        ),
    ),
    Case(
        "lever",
        "lever.json",
        ("0b7d1c9e-1111-4aaa-9bbb-000000000001", "0b7d1c9e-1111-4aaa-9bbb-000000000002"),
        real=(
            Real("lever/careerkit_lever.json", 2, ("a24ec4e5-5caa-473d-abd4-b71f09a8167b",)),
            Real("lever/ats_polling_lever.json", 2, ("ac978161-6f46-4f6b-ad9e-a258e642751c",)),
        ),
    ),
    Case(
        "ashby",
        "ashby.json",
        ("5e0c2a10-2222-4ccc-8ddd-000000000001", "5e0c2a10-2222-4ccc-8ddd-000000000002"),
        real=(
            Real("ashby/careerkit_ashby.json", 2, ("90fb3621-899e-4b59-925d-25080ec91e18",)),
            Real("ashby/ats_polling_ashby.json", 2, ("4c577aae-1ad0-444b-9e15-2ad994333de4",)),
        ),
    ),
    Case(
        "amazon",
        "amazon.json",
        ("3100001", "3100002"),
        real=(
            Real("amazon/ai_job_tracker_search_response.json", 2, ("10413895", "10418340")),
            Real("amazon/jobwatch_amazon_search_jobs.json", 4, ("10517491",)),
        ),
    ),
    Case(
        "simplify",
        "simplify.json",
        (
            "9d1e0000-4444-4aaa-8bbb-000000000001",
            "9d1e0000-4444-4aaa-8bbb-000000000002",
            "9d1e0000-4444-4aaa-8bbb-000000000003",
            "9d1e0000-4444-4aaa-8bbb-000000000004",
            "9d1e0000-4444-4aaa-8bbb-000000000005",
        ),
        real=(
            # 6000 listings, 631 of them hidden (is_visible: false) and kept as inactive.
            Real(
                "simplify/summer2025_listings_2024-10-25.json",
                6000,
                ("0b82dc72-56a8-4fc9-aae5-c008f6da0b02",),
            ),
            Real(
                "simplify/newgrad_listings_2024-10-25.json",
                1288,
                ("694040e9-673d-400c-9fed-0d9b222403bc",),
            ),
        ),
    ),
    Case(
        "workday",
        "workday.json",
        (
            "/job/Germany---Berlin/PhD-Research-Intern---Optimization_R0001",
            "/job/California---San-Jose/Software-Engineer_R0002",
        ),
        real=(
            Real(
                "workday/careerkit_workday.json",
                2,
                (
                    "/job/Illinois---Chicago/Customer-Success-Manager---Global-Public-Sector"
                    "--State---Local-Gov-_JR332446",
                ),
            ),
        ),
    ),
    Case(
        "jsonlist",
        "jsonlist.json",
        ("77001", "123456789012", "https://university.example.edu/vacancies/lab-assistant"),
        real=(
            Real("amazon/jobuzz_scraped_amazon_jobs.json", 164, ("3123093", "3137911")),
            Real(
                "google/jobuzz_scraped_google_jobs.json",
                269,
                ("74939955737961158", "137033164110340806"),
            ),
            Real("academic/research_computing_teams_jobs.json", 350, ("3520",)),
        ),
    ),
    Case("smartrecruiters", "smartrecruiters.json", ("744000091234567", "744000091234590")),
    Case("recruitee", "recruitee.json", ("2210457", "2210499")),
    Case("personio", "personio.xml", ("1587301", "1587344"), content_type="application/xml"),
    Case(
        "jsonfeed",
        "jsonfeed.json",
        ("https://jobs.example.ac.uk/vacancies/4471", "4480"),
        content_type="application/feed+json",
    ),
    Case(
        "mdtable",
        "mdtable.md",
        (
            "https://jobs.example.org/job/101?src=list&amp;ref=md",
            "https://jobs.example.org/job/102",
            "https://tiny.example.com/apply/7",
        ),
        content_type="text/markdown",
        real=(
            Real(
                "speedyapply/ai_README_INTERN_USA_2026-07-02.md",
                143,
                ("https://explore.jobs.netflix.net/careers/job/790316547536",),
            ),
            Real("speedyapply/ai_INTERN_INTL_2026-07-02.md", 227, ()),
            Real("speedyapply/ai_NEW_GRAD_USA_2026-07-02.md", 234, ()),
            Real("speedyapply/ai_NEW_GRAD_INTL_2026-07-02.md", 240, ()),
            Real(
                "simplify/summer2025_README_table_snippet.md",
                60,
                (
                    "https://jobs.smartrecruiters.com/WesternDigital/744000022564052"
                    "?utm_source=Simplify&ref=Simplify",
                ),
            ),
        ),
    ),
    Case(
        "mdtable",
        "mdtable_html.md",
        (
            "https://jobs.example.org/apply/201?utm_source=Simplify&amp;ref=Simplify",
            "https://jobs.example.org/apply/202",
            "https://tiny.example.com/careers/77",
            "https://closed.example.net/jobs/9",
        ),
        content_type="text/markdown",
    ),
]
# A kind may have more than one layout (mdtable: pipe and HTML tables); the first case
# of a kind is the one BY_KIND names, and each case's id is its fixture's name.
BY_KIND: dict[str, Case] = {}
for _case in CASES:
    BY_KIND.setdefault(_case.kind, _case)
IDS = [Path(case.fixture).stem for case in CASES]


def test_every_registered_kind_has_a_contract_case() -> None:
    assert set(registered_kinds()) == set(BY_KIND) | {"rss"}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_parses_its_own_fixture(case: Case) -> None:
    records = kind_for(case.kind).parse(case.body(), "own", "https://example.org/x")
    assert [r.external_id for r in records] == list(case.ids)
    for record in records:
        assert record.source == "own" and record.title and record.url


@needs_shared()
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_parses_its_real_fixtures(case: Case) -> None:
    for real in case.real:
        path = REAL_FIXTURES / real.path
        if not path.is_file():
            pytest.skip(f"{real.path} is not among the shared fixtures")
        records = kind_for(case.kind).parse(path.read_bytes(), real.path, real.path)
        ids = {r.external_id for r in records}
        assert len(records) == real.count, real.path
        assert set(real.ids) <= ids, real.path
        assert all(r.title for r in records), real.path


@needs_shared()
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_every_labelled_id_is_produced(case: Case) -> None:
    """The evaluation set keys labels by (file, id): this kind must yield those ids."""
    if not LABELS.is_file():
        pytest.skip("benchmarks/eval/labels.jsonl is absent")
    if not case.real:
        pytest.skip(f"no real {case.kind} response is among the shared fixtures yet")
    wanted: dict[str, set[str]] = {}
    for line in LABELS.read_text("utf-8").splitlines():
        label = json.loads(line)
        wanted.setdefault(label["file"], set()).add(label["id"])
    checked = 0
    for real in case.real:
        path = REAL_FIXTURES / real.path
        if real.path not in wanted or not path.is_file():
            continue
        ids = {r.external_id for r in kind_for(case.kind).parse(path.read_bytes(), "r", "r")}
        missing = wanted[real.path] - ids
        assert not missing, (real.path, sorted(missing)[:5])
        checked += 1
    assert checked, "no labelled file for this kind"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_sniff_claims_its_own_format_and_no_other(case: Case) -> None:
    kind = kind_for(case.kind)
    assert kind.sniff(case.body())
    assert sniff_kind(case.body()) == case.kind
    others = [c.body() for c in CASES if c.kind != case.kind]
    others.append((DATA / "feed_v1.rss").read_bytes())
    for body in others:
        assert not kind.sniff(body), body[:60]


@needs_shared()
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_sniff_detects_each_real_fixture_as_this_kind(case: Case) -> None:
    for real in case.real:
        path = REAL_FIXTURES / real.path
        if path.is_file():
            body = path.read_bytes()
            claims = [name for name in registered_kinds() if kind_for(name).sniff(body)]
            assert claims == [case.kind], real.path


@needs_shared()
def test_no_kind_claims_a_single_posting_page() -> None:
    pages = sorted((REAL_FIXTURES / "pages").iterdir())
    assert pages
    for page in pages:
        assert sniff_kind(page.read_bytes()) is None, page.name


def _broken_bodies(case: Case) -> list[bytes]:
    body = case.body()
    return [
        b"",
        b"  \n ",
        b"<html><body>Maintenance</body></html>",
        b"\x00\xff\xfe binary",
        b"not json at all",
        body[: len(body) // 2],  # truncated mid-way
        body[: len(body) - 3],  # truncated near the end
        b"null",
        b'"a string"',
        b"42",
        b'{"unexpected": true}',
        b'{"jobs": 5, "jobPostings": "x"}',
        b"[1, 2, 3]",
        b'[{"x": 1}]',
        b'{"jobs": [{"x": 1}], "jobPostings": [{"x": 1}], "hits": 1}',
        b'{"jobs": [null]}',
    ]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_broken_bodies_raise_parse_error(case: Case) -> None:
    kind = kind_for(case.kind)
    for body in _broken_bodies(case):
        with pytest.raises(ParseError):
            kind.parse(body, "broken", "https://example.org/x")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "jobs",
                    "id",
                    "title",
                    "text",
                    "url",
                    "hits",
                    "jobPostings",
                    "externalPath",
                    "id_icims",
                    "absolute_url",
                    "hostedUrl",
                    "categories",
                    "jobUrl",
                    "location",
                    "locations",
                    "company_name",
                    "date_posted",
                    "Title",
                    "URL",
                    "JobID",
                    "content",
                ]
            ),
            inner,
            max_size=6,
        )
    ),
    max_leaves=20,
)


@pytest.mark.parametrize("case", CASES, ids=IDS)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=json_values)
def test_any_json_value_parses_or_raises_parse_error(case: Case, value: Any) -> None:
    body = json.dumps(value).encode()
    try:
        records = kind_for(case.kind).parse(body, "fuzz", "https://example.org/x")
    except ParseError:
        return
    assert all(isinstance(r, RawPosting) and r.external_id for r in records)


def test_what_each_kind_puts_into_hints() -> None:
    def records(kind: str) -> dict[str, RawPosting]:
        body = BY_KIND[kind].body()
        return {r.external_id: r for r in kind_for(kind).parse(body, "s", "u")}

    gh = records("greenhouse")["4100001"]
    assert gh.hints == {"deadline": "2026-12-15"}
    assert gh.origins == {"deadline": "source:application_deadline"}
    student = records("greenhouse")["4100003"]
    assert student.hints == {"is_internship": True, "remote": False}
    assert student.origins == {
        "is_internship": "source:metadata.Employment Type",
        "remote": "source:metadata.Workplace Type",
    }
    # The job's offices are where it is, beside its location name.
    assert student.locations == ("Toronto", "Toronto, Ontario, Canada")
    assert gh.description.startswith("<p>Join our speech team")  # entities decoded once
    assert gh.company == "Example Labs" and gh.locations == ("Zurich, Switzerland",)
    assert gh.posted is not None and gh.posted.isoformat() == "2026-11-02T14:00:00+00:00"

    lv = records("lever")
    # categories.commitment "Intern" is the board's own statement of an internship.
    assert lv["0b7d1c9e-1111-4aaa-9bbb-000000000001"].hints == {
        "remote": False,
        "countries": ["CA"],
        "is_internship": True,
    }
    assert lv["0b7d1c9e-1111-4aaa-9bbb-000000000001"].origins["is_internship"] == (
        "source:categories.commitment"
    )
    assert lv["0b7d1c9e-1111-4aaa-9bbb-000000000002"].hints == {
        "remote": True,
        "countries": ["US"],
        "is_internship": True,
    }
    first = lv["0b7d1c9e-1111-4aaa-9bbb-000000000001"]
    assert first.locations == ("Toronto, ON", "Montreal, QC")
    assert "- Enrolled in a Master's or PhD program" in first.description
    assert "CAD 40-45" in first.description and first.company == "examplelabs"

    ab = records("ashby")
    robotics = ab["5e0c2a10-2222-4ccc-8ddd-000000000001"]
    assert robotics.locations == ("Munich", "Paris")
    assert robotics.hints == {
        "remote": False,
        "countries": ["DE", "FR"],
        "is_internship": True,
        "pay_text": "€3K – €3.5K per month",
    }
    assert robotics.origins["is_internship"] == "source:employmentType"
    remote = ab["5e0c2a10-2222-4ccc-8ddd-000000000002"]
    assert remote.hints == {"remote": True} and remote.description == "NLP evaluation.\nPython"

    az = records("amazon")
    intern = az["3100001"]
    assert (
        intern.url
        == "https://www.amazon.jobs/en/jobs/3100001/applied-scientist-intern-computer-vision"
    )
    assert intern.hints == {
        "countries": ["US"],
        "is_internship": True,
        "pay_text": "USA, WA, Seattle - 52.00 - 78.00 USD hourly",
    }
    assert intern.posted is not None and intern.posted.date().isoformat() == "2026-11-03"
    assert az["3100002"].hints == {"countries": ["GB"], "remote": True}

    sj = records("simplify")
    assert sj["9d1e0000-4444-4aaa-8bbb-000000000002"].hints == {
        "active": False,
        "is_internship": True,
    }
    # The newer lists state degrees and a category.
    speech = sj["9d1e0000-4444-4aaa-8bbb-000000000004"]
    assert speech.hints == {"active": True, "is_internship": True, "degree": "phd-only"}
    assert speech.origins == {"is_internship": "source:terms", "degree": "source:degrees"}
    chips = sj["9d1e0000-4444-4aaa-8bbb-000000000005"]
    assert chips.hints["degree"] == "phd-or-masters" and chips.hints["areas"] == ()
    assert chips.origins["areas"] == "source:category Hardware"
    assert sj["9d1e0000-4444-4aaa-8bbb-000000000001"].locations == ("New York, NY", "Remote in USA")

    wd = records("workday")
    berlin = wd["/job/Germany---Berlin/PhD-Research-Intern---Optimization_R0001"]
    assert berlin.locations == ("Germany - Berlin", "Berlin, Germany")
    assert berlin.posted == "0 days ago"
    assert wd["/job/California---San-Jose/Software-Engineer_R0002"].locations == (
        "California - San Jose",
    )

    md = records("mdtable")
    speech = md["https://jobs.example.org/job/101?src=list&amp;ref=md"]
    assert speech.company == "Example Labs" and speech.posted == "2 days ago"
    assert speech.url == "https://jobs.example.org/job/101?src=list&ref=md"
    assert speech.hints == {"pay_text": "$60/hr"}
    follow = md["https://jobs.example.org/job/102"]
    assert follow.company == "Example Labs"  # ↳ repeats the row above
    assert follow.locations == ("Paris, France", "Berlin, Germany") and follow.hints == {}
    assert md["https://tiny.example.com/apply/7"].company == "Tiny Startup"

    jl = records("jsonlist")
    assert jl["77001"].posted == "Posted November 1, 2026" and jl["77001"].company == "Example Labs"
    assert jl["77001"].hints == {"countries": ["KR"]} and jl["123456789012"].hints == {}


def test_country_codes_and_names_become_alpha2() -> None:
    assert [country_alpha2(v) for v in ("USA", "GB", "UK", "Germany", "Atlantis", "")] == [
        "US",
        "GB",
        "GB",
        "DE",
        None,
        None,
    ]


def test_relative_dates_and_url_ids() -> None:
    assert age_phrase("2d") == "2 days ago" and age_phrase("1mo") == "1 month ago"
    assert age_phrase("Oct 24") == "Oct 24"
    assert posted_phrase("Posted Yesterday") == "1 day ago"
    assert posted_phrase("Posted 30+ Days Ago") == "30 days ago"
    assert url_id("https://x.org/jobs/results/141544156919931590-swe?location=India&page=2") == (
        "141544156919931590"
    )
    assert url_id("https://www.amazon.jobs/en/jobs/3129727/some-title") == "3129727"
    assert url_id("https://x.org/careers/engineer") == "https://x.org/careers/engineer"


def test_a_bare_token_expands_to_the_kind_s_public_endpoint() -> None:
    assert greenhouse.board_url("databricks") == (
        "https://boards-api.greenhouse.io/v1/boards/databricks/jobs?content=true"
    )
    assert lever.postings_url("palantir") == "https://api.lever.co/v0/postings/palantir?mode=json"
    assert ashby.board_url("openai") == (
        "https://api.ashbyhq.com/posting-api/job-board/openai?includeCompensation=true"
    )
    assert simplify.listings_url("Summer2026-Internships").startswith(
        "https://raw.githubusercontent.com/SimplifyJobs/Summer2026-Internships/"
    )
    assert amazon.search_url("applied scientist intern") == (
        "https://www.amazon.jobs/en/search.json?base_query=applied+scientist+intern&sort=recent"
    )
    url = "https://boards-api.greenhouse.io/v1/boards/x/jobs"
    assert greenhouse.board_url(url) == url


# --- fetch through a real loopback server -------------------------------------------------


def _spy_parses(kind: Any) -> list[str]:
    """Count every body the kind parses (its public parse and any page reader)."""
    calls: list[str] = []
    for attr in ("parse", "_page"):
        original: Callable[..., Any] | None = getattr(kind, attr, None)
        if original is None:
            continue

        def spy(*args: Any, _original: Callable[..., Any] = original, _attr: str = attr) -> Any:
            calls.append(_attr)
            return _original(*args)

        setattr(kind, attr, spy)
    return calls


@pytest.mark.integration
@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_fetch_then_a_304_repoll_costs_no_parse(case: Case, feed_server: FeedServer) -> None:
    feed_server.serve("/api/board", case.body(), case.content_type)
    spec = SourceSpec("t", case.kind, feed_server.url("/api/board"))
    kind = kind_for(case.kind)
    parses = _spy_parses(kind)
    fetcher = HttpFetcher(allow_private=True)  # a loopback server
    try:
        first = await kind.fetch(spec, PollState(), fetcher)
        assert [r.external_id for r in first.records] == list(case.ids)
        assert first.etag and not first.not_modified
        assert parses
        parses.clear()
        again = await kind.fetch(spec, PollState(etag=first.etag), fetcher)
    finally:
        await fetcher.aclose()
    assert again.not_modified and again.records == [] and again.etag == first.etag
    assert parses == []
    assert feed_server.statuses("/api/board") == [200, 304]


def _lever_posting(n: int) -> dict[str, Any]:
    return {
        "id": f"posting-{n:03d}",
        "text": f"Research Intern {n}",
        "categories": {"location": "Remote"},
        "createdAt": 1762000000000 + n,
        "hostedUrl": f"https://jobs.lever.co/acme/posting-{n:03d}",
    }


@pytest.mark.integration
async def test_lever_reads_every_page(
    feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lever, "PAGE_SIZE", 2)
    pages = [[_lever_posting(1), _lever_posting(2)], [_lever_posting(3), _lever_posting(4)]]
    pages.append([_lever_posting(5)])
    for index, page in enumerate(pages):
        path = f"/v0/postings/acme?mode=json&skip={index * 2}&limit=2"
        feed_server.serve(path, json.dumps(page).encode(), "application/json")
    spec = SourceSpec("acme", "lever", feed_server.url("/v0/postings/acme?mode=json"))
    fetcher = HttpFetcher(allow_private=True)  # a loopback server
    try:
        result = await kind_for("lever").fetch(spec, PollState(), fetcher)
        assert [r.external_id for r in result.records] == [f"posting-{n:03d}" for n in range(1, 6)]
        assert feed_server.statuses("/v0/postings/acme") == [200, 200, 200]
        # Unchanged first page: one conditional request, nothing else fetched.
        again = await kind_for("lever").fetch(spec, PollState(etag=result.etag), fetcher)
    finally:
        await fetcher.aclose()
    assert again.not_modified
    assert feed_server.statuses("/v0/postings/acme") == [200, 200, 200, 304]


def _amazon_job(n: int) -> dict[str, Any]:
    return {
        "id_icims": str(1000 + n),
        "title": f"Applied Scientist Intern {n}",
        "job_path": f"/en/jobs/{1000 + n}/x",
    }


@pytest.mark.integration
async def test_amazon_reads_pages_until_hits(feed_server: FeedServer) -> None:
    jobs = [_amazon_job(n) for n in range(5)]
    for offset in (0, 2, 4):
        body = json.dumps({"hits": 5, "jobs": jobs[offset : offset + 2]}).encode()
        path = f"/en/search.json?base_query=intern&offset={offset}&result_limit=2"
        feed_server.serve(path, body, "application/json")
    spec = SourceSpec(
        "az", "amazon", feed_server.url("/en/search.json?base_query=intern&result_limit=2")
    )
    fetcher = HttpFetcher(allow_private=True)  # a loopback server
    try:
        result = await kind_for("amazon").fetch(spec, PollState(), fetcher)
    finally:
        await fetcher.aclose()
    assert [r.external_id for r in result.records] == [str(1000 + n) for n in range(5)]
    assert feed_server.statuses("/en/search.json") == [200, 200, 200]


@pytest.mark.integration
async def test_amazon_stops_when_the_server_ignores_the_offset(feed_server: FeedServer) -> None:
    body = json.dumps({"hits": 10000, "jobs": [_amazon_job(1), _amazon_job(2)]}).encode()
    feed_server.serve("/en/search.json", body, "application/json")
    fetcher = HttpFetcher(allow_private=True)  # a loopback server
    try:
        result = await kind_for("amazon").fetch(
            SourceSpec("az", "amazon", feed_server.url("/en/search.json")), PollState(), fetcher
        )
    finally:
        await fetcher.aclose()
    assert [r.external_id for r in result.records] == ["1001", "1002"]
    assert feed_server.statuses("/en/search.json") == [200, 200]


@pytest.mark.integration
async def test_amazon_reads_at_most_max_pages(feed_server: FeedServer) -> None:
    for offset in range(amazon.MAX_PAGES + 2):
        body = json.dumps({"hits": 10000, "jobs": [_amazon_job(offset)]}).encode()
        feed_server.serve(f"/s.json?offset={offset}&result_limit=1", body, "application/json")
    fetcher = HttpFetcher(allow_private=True)  # a loopback server
    try:
        result = await kind_for("amazon").fetch(
            SourceSpec("az", "amazon", feed_server.url("/s.json?result_limit=1")),
            PollState(),
            fetcher,
        )
    finally:
        await fetcher.aclose()
    assert len(result.records) == amazon.MAX_PAGES
    assert feed_server.statuses("/s.json") == [200] * amazon.MAX_PAGES


# --- a broken answer through the poller ---------------------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_a_broken_answer_fails_that_poll_and_loses_no_posting(
    case: Case, settings: Settings, feed_server: FeedServer
) -> None:
    feed_server.serve("/board", case.body(), case.content_type)
    bot = build(settings, console=io.StringIO())
    try:
        bot.store.upsert_source("t", case.kind, feed_server.url("/board"), 600, now=bot.clock())
        [report] = await bot.poll_all()
        assert report.ok and report.seen == len(case.ids)
        before = bot.store.counts()["postings"]
        assert before == len(case.ids)
        for body in (b"", b"<html>Maintenance</html>", case.body()[:-20], b'{"jobs": "x"}'):
            feed_server.serve("/board", body, "text/html")
            [report] = await bot.poll_all()
            assert not report.ok and report.error
        assert bot.store.counts()["postings"] == before
        assert bot.store.source("t").consecutive_failures == 4
        feed_server.serve("/board", case.body(), case.content_type)
        [report] = await bot.poll_all()
        assert report.ok and report.new == 0
    finally:
        await bot.aclose()


# --- configuration --------------------------------------------------------------------------


def test_the_default_source_list_uses_known_kinds_and_public_https_endpoints() -> None:
    specs = default_source_specs(3600)
    assert len(specs) >= 5
    for spec in specs:
        kind_for(spec.kind)  # raises for an unknown kind
        assert spec.url.startswith("https://") or "://" not in spec.url, spec
    assert {"greenhouse", "amazon", "simplify"} <= {s.kind for s in specs}


def test_sources_add_takes_a_board_token_with_a_kind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "jobbot.toml"
    config.write_text("default_sources = false\n")
    monkeypatch.setenv("JOBBOT_CONFIG", str(config))
    monkeypatch.setenv("JOBBOT_DATA_DIR", str(tmp_path / "data"))
    assert main(["sources", "add", "databricks", "--kind", "greenhouse"]) == 0
    assert "Added source 'greenhouse-databricks' (greenhouse)" in capsys.readouterr().out
    assert main(["sources", "list"]) == 0
    assert "greenhouse-databricks  [greenhouse]  databricks" in capsys.readouterr().out
    assert main(["sources", "add", "databricks"]) == 2
    assert "give --kind" in capsys.readouterr().err
