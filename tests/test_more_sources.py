"""SmartRecruiters, Recruitee, Personio and JSON Feed, single Greenhouse/Lever/Ashby objects,
the wider jsonlist, and JSON that holds no postings.

The contract suite in tests/test_sources.py runs each new kind against its fixture in
tests/data/sources/; here each format's fields are checked one by one on an item written
for the test, with the origin each hint is credited to.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bot.classify import classify_document
from bot.errors import ParseError
from bot.postings.model import Pay, RawPosting
from bot.sources import personio, recruitee, smartrecruiters
from bot.sources.base import PollState, SourceSpec, kind_for, sniff_kind
from bot.sources.http import HttpFetcher
from tests.conftest import FeedServer


def _one(kind: str, body: bytes, url: str = "https://example.org/x") -> RawPosting:
    assert sniff_kind(body) == kind
    [record] = kind_for(kind).parse(body, "t", url)
    return record


# --- SmartRecruiters --------------------------------------------------------------------------


def _sr_posting(n: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"74400010000{n:04d}",
        "name": f"Student Researcher, Perception {n}",
        "refNumber": f"R-{n}",
        "company": {"identifier": "AcmeRobotics", "name": "Acme Robotics AG"},
        "releasedDate": "2026-11-10T08:00:00.000Z",
        "location": {
            "city": "Zurich",
            "region": "ZH",
            "country": "ch",
            "remote": False,
            "fullLocation": "Zurich, ZH, Switzerland",
        },
        "typeOfEmployment": {"id": "intern", "label": "Internship"},
        "experienceLevel": {"id": "internship", "label": "Internship"},
        "department": {"label": "Autonomy"},
        "function": {"label": "Research"},
        "ref": f"https://api.smartrecruiters.com/v1/companies/AcmeRobotics/postings/74400010000{n:04d}",
        **extra,
    }


def test_smartrecruiters_list_item_maps_its_fields() -> None:
    body = json.dumps(
        {"offset": 0, "limit": 100, "totalFound": 1, "content": [_sr_posting()]}
    ).encode()
    record = _one("smartrecruiters", body)
    assert record.external_id == "744000100000001"
    assert record.title == "Student Researcher, Perception 1"
    assert record.url == "https://jobs.smartrecruiters.com/AcmeRobotics/744000100000001"
    assert record.company == "Acme Robotics AG"
    assert record.locations == ("Zurich, ZH, Switzerland",)
    assert record.posted == datetime.fromisoformat("2026-11-10T08:00:00+00:00")
    assert record.hints == {"countries": ["CH"], "remote": False, "is_internship": True}
    assert record.origins == {
        "countries": "source:location.country",
        "remote": "source:location.remote",
        "is_internship": "source:typeOfEmployment.label",
    }


def test_smartrecruiters_detail_reads_the_job_ad_and_posting_url() -> None:
    detail = _sr_posting(
        2,
        typeOfEmployment={"label": "Full-time"},
        location={
            "city": "Austin",
            "country": "us",
            "remote": True,
            "fullLocation": "Austin, , US",
        },
        jobAd={
            "sections": {
                "companyDescription": {"title": "Company Description", "text": "<p>Robots.</p>"},
                "jobDescription": {"title": "Job Description", "text": "<ul><li>SLAM</li></ul>"},
                "qualifications": {"title": "Qualifications", "text": "<p>MSc students</p>"},
                "additionalInformation": {"title": "Additional Information", "text": ""},
            }
        },
        postingUrl="https://jobs.smartrecruiters.com/AcmeRobotics/744000100000002-student",
        applyUrl="https://jobs.smartrecruiters.com/AcmeRobotics/744000100000002-student?oga=true",
    )
    record = _one("smartrecruiters", json.dumps(detail).encode())
    assert record.url == "https://jobs.smartrecruiters.com/AcmeRobotics/744000100000002-student"
    assert record.locations == ("Austin, US",)
    # Full-time, yet the experience level says internship.
    assert record.hints == {"countries": ["US"], "remote": True, "is_internship": True}
    assert record.origins["is_internship"] == "source:experienceLevel"
    assert record.description == (
        "Company Description\nRobots.\nJob Description\nSLAM\nQualifications\nMSc students\n"
        "Additional Information"
    )


def test_smartrecruiters_company_comes_from_the_url_when_the_item_has_none() -> None:
    item = _sr_posting(3)
    del item["company"]
    body = json.dumps({"totalFound": 1, "content": [item]}).encode()
    url = "https://api.smartrecruiters.com/v1/companies/AcmeRobotics/postings?offset=0"
    [record] = kind_for("smartrecruiters").parse(body, "t", url)
    assert record.company == "AcmeRobotics"
    assert record.url == "https://jobs.smartrecruiters.com/AcmeRobotics/744000100000003"


def test_bare_tokens_expand_to_each_new_kind_s_endpoint() -> None:
    assert smartrecruiters.postings_url("Visa") == (
        "https://api.smartrecruiters.com/v1/companies/Visa/postings"
    )
    assert recruitee.offers_url("acme") == "https://acme.recruitee.com/api/offers/"
    assert personio.feed_url("acme") == "https://acme.jobs.personio.de/xml"
    url = "https://acme.jobs.personio.com/xml?language=en"
    assert personio.feed_url(url) == url


@pytest.mark.integration
async def test_smartrecruiters_reads_every_page_up_to_total_found(
    feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(smartrecruiters, "PAGE_SIZE", 2)
    postings = [_sr_posting(n) for n in range(1, 6)]
    for offset in (0, 2, 4):
        page = {"offset": offset, "limit": 2, "totalFound": 5, "content": postings[offset:][:2]}
        path = f"/v1/companies/AcmeRobotics/postings?offset={offset}&limit=2"
        feed_server.serve(path, json.dumps(page).encode(), "application/json")
    spec = SourceSpec(
        "acme", "smartrecruiters", feed_server.url("/v1/companies/AcmeRobotics/postings")
    )
    fetcher = HttpFetcher(allow_private=True)  # a loopback server
    try:
        result = await kind_for("smartrecruiters").fetch(spec, PollState(), fetcher)
        again = await kind_for("smartrecruiters").fetch(spec, PollState(etag=result.etag), fetcher)
    finally:
        await fetcher.aclose()
    assert [r.external_id for r in result.records] == [p["id"] for p in postings]
    assert again.not_modified and again.records == []
    assert feed_server.statuses("/v1/companies/AcmeRobotics/postings") == [200, 200, 200, 304]


# --- Recruitee --------------------------------------------------------------------------------


def _offer(**extra: Any) -> dict[str, Any]:
    return {
        "id": 998877,
        "slug": "phd-intern-graph-learning",
        "title": "PhD Intern, Graph Learning",
        "company_name": "Acme Data",
        "city": "Eindhoven",
        "country": "Netherlands",
        "country_code": "NL",
        "location": "Eindhoven, Netherlands",
        "remote": False,
        "hybrid": False,
        "on_site": True,
        "employment_type_code": "internship",
        "education_code": "doctorate",
        "description": "<p>Graph neural networks for <em>logistics</em>.</p>",
        "requirements": "<ul><li>PhD candidate</li></ul>",
        "careers_url": "https://acmedata.recruitee.com/o/phd-intern-graph-learning",
        "careers_apply_url": "https://acmedata.recruitee.com/o/phd-intern-graph-learning/c/new",
        "created_at": "2026-11-01 09:00:00 UTC",
        "published_at": "2026-11-03 12:30:00 UTC",
        **extra,
    }


def test_recruitee_offer_maps_its_fields() -> None:
    record = _one("recruitee", json.dumps({"offers": [_offer()]}).encode())
    assert record.external_id == "998877"
    assert record.title == "PhD Intern, Graph Learning"
    assert record.url == "https://acmedata.recruitee.com/o/phd-intern-graph-learning"
    assert record.company == "Acme Data"
    assert record.locations == ("Eindhoven, Netherlands",)
    assert record.posted == datetime.fromisoformat("2026-11-03T12:30:00+00:00")
    assert record.description == "Graph neural networks for logistics .\nPhD candidate"
    assert record.hints == {
        "countries": ["NL"],
        "remote": False,
        "is_internship": True,
        "degree": "phd-only",
    }
    assert record.origins == {
        "countries": "source:country_code",
        "remote": "source:on_site",
        "is_internship": "source:employment_type_code",
        "degree": "source:education_code",
    }


def test_recruitee_single_offer_with_locations_salary_and_deadline() -> None:
    offer = _offer(
        company_name=None,
        location="",
        city="",
        country_code="",
        remote=True,
        employment_type_code="fulltime",
        education_code="master_degree",
        locations=[
            {"city": "Eindhoven", "country": "Netherlands", "country_code": "NL"},
            {"city": "Leuven", "country": "Belgium", "country_code": "BE"},
        ],
        salary={"min": "2400", "max": "2800", "period": "month", "currency": "EUR"},
        close_at="2027-01-15T23:59:00Z",
    )
    record = _one("recruitee", json.dumps({"offer": offer}).encode())
    assert record.company == "acmedata"  # the careers site's subdomain
    assert record.locations == ("Eindhoven, Netherlands", "Leuven, Belgium")
    assert record.hints == {
        "countries": ["NL", "BE"],
        "remote": True,
        "degree": "phd-or-masters",
        "deadline": "2027-01-15",
        "pay": Pay(2400.0, 2800.0, "EUR", "month"),
    }
    assert record.origins["pay"] == "source:salary"
    assert record.origins["deadline"] == "source:close_at"


# --- Personio ---------------------------------------------------------------------------------

PERSONIO = b"""<?xml version="1.0" encoding="UTF-8"?>
<workzag-jobs>
  <position>
    <id>2044913</id>
    <subcompany>Acme Mobility GmbH</subcompany>
    <office>Hamburg</office>
    <additionalOffices><office>Remote (Germany)</office><office>Hamburg</office></additionalOffices>
    <department>Data</department>
    <recruitingCategory>Students</recruitingCategory>
    <name>Working Student Machine Learning (all genders)</name>
    <jobDescriptions>
      <jobDescription>
        <name>What you will do</name>
        <value><![CDATA[<p>Forecast demand &amp; build features.</p>]]></value>
      </jobDescription>
    </jobDescriptions>
    <employmentType>working_student</employmentType>
    <seniority>student</seniority>
    <schedule>part-time</schedule>
    <yearsOfExperience>lt-1</yearsOfExperience>
    <occupation>data_science</occupation>
    <occupationCategory>it_software</occupationCategory>
    <createdAt>2026-11-07T09:45:00+01:00</createdAt>
  </position>
</workzag-jobs>
"""


def test_personio_position_maps_its_fields() -> None:
    record = _one("personio", PERSONIO, "https://acme.jobs.personio.de/xml?language=en")
    assert record.external_id == "2044913"
    assert record.title == "Working Student Machine Learning (all genders)"
    assert record.url == "https://acme.jobs.personio.de/job/2044913"
    assert record.company == "Acme Mobility GmbH"
    assert record.locations == ("Hamburg", "Remote (Germany)")
    assert record.description == "What you will do\nForecast demand & build features."
    assert record.posted == datetime.fromisoformat("2026-11-07T08:45:00+00:00")
    assert record.hints == {"is_internship": True}
    assert record.origins == {"is_internship": "source:employmentType"}


def test_personio_without_subcompany_takes_the_subdomain_and_reads_permanent_as_no_intern() -> None:
    body = PERSONIO.replace(b"<subcompany>Acme Mobility GmbH</subcompany>", b"").replace(
        b"working_student", b"permanent"
    )
    [record] = kind_for("personio").parse(body, "t", "https://acme.jobs.personio.com/xml")
    assert record.company == "acme" and record.hints == {} and record.origins == {}


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (
            b'<?xml version="1.0"?><!DOCTYPE workzag-jobs [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            b"<workzag-jobs><position><id>1</id><name>&b;</name></position></workzag-jobs>",
            "declares a document type or XML entities",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE workzag-jobs [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b"<workzag-jobs><position><id>1</id><name>&x;</name></position></workzag-jobs>",
            "declares a document type or XML entities",
        ),
        (PERSONIO[:-40], "truncated or not well-formed"),
        (b"<workzag-jobs><position><id>1</id></position></workzag-jobs>", "no id or name"),
        (b"<workzag-jobs>\x00</workzag-jobs>", "NUL bytes"),
        (b'<rss version="2.0"><channel/></rss>', "not a Personio XML feed"),
        (b"", "empty response"),
    ],
)
def test_hostile_or_malformed_personio_feeds_raise_parse_error(body: bytes, problem: str) -> None:
    with pytest.raises(ParseError, match=problem):
        kind_for("personio").parse(body, "p", "https://acme.jobs.personio.de/xml")


# --- JSON Feed --------------------------------------------------------------------------------


def test_json_feed_1_1_item_maps_its_fields() -> None:
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Lab openings",
        "items": [
            {
                "id": "opening-31",
                "url": "https://lab.example.edu/openings/31",
                "title": "Visiting Research Intern, Climate Modelling",
                "content_text": "Three months with the climate group.",
                "date_published": "2026-11-09T12:00:00-05:00",
                "tags": ["internship"],
                "authors": [{"name": "Example University"}],
                "_jobs": {
                    "location": ["Boulder, CO"],
                    "country": "USA",
                    "remote": False,
                    "type": "Internship",
                },
            }
        ],
    }
    record = _one("jsonfeed", json.dumps(feed).encode())
    assert record.external_id == "opening-31"
    assert record.url == "https://lab.example.edu/openings/31"
    assert record.title == "Visiting Research Intern, Climate Modelling"
    assert record.company == "Example University"
    assert record.locations == ("Boulder, CO",)
    assert record.description == "Three months with the climate group."
    assert record.posted == datetime.fromisoformat("2026-11-09T17:00:00+00:00")
    assert record.hints == {"countries": ["US"], "remote": False, "is_internship": True}
    assert record.origins == {
        "countries": "source:_jobs.country",
        "remote": "source:_jobs.remote",
        "is_internship": "source:_jobs.type",
    }


def test_json_feed_1_items_without_id_use_their_url_and_items_with_neither_are_skipped() -> None:
    feed = {
        "version": "https://jsonfeed.org/version/1",
        "items": [
            {"url": "https://jobs.example.com/7", "title": "Intern", "author": {"name": "Ex"}},
            {"title": "no id, no url", "content_html": "<p>x</p>"},
        ],
    }
    [record] = kind_for("jsonfeed").parse(json.dumps(feed).encode(), "t", "u")
    assert record.external_id == record.url == "https://jobs.example.com/7"
    assert record.company == "Ex"


@pytest.mark.parametrize(
    ("kind", "body", "problem"),
    [
        ("jsonfeed", b'{"version": "https://jsonfeed.org/version/1.1", "items": [1]}', "items"),
        ("jsonfeed", b'{"version": "1.1", "items": []}', "expected a JSON Feed"),
        ("jsonfeed", b'{"version": "https://jsonfeed.org/version/1", "items": [{', "not valid"),
        ("recruitee", b'{"offers": {"id": 1}}', "'offers'"),
        ("recruitee", b'{"offers": [{"id": 1, "careers_url": "u"}]}', "no id or title"),
        ("recruitee", b'{"jobs": []}', "expected a Recruitee object"),
        ("smartrecruiters", b'{"totalFound": 1, "content": "x"}', "'content'"),
        ("smartrecruiters", b'{"totalFound": 1, "content": [{"id": ""}]}', "no id or name"),
        ("smartrecruiters", b'{"postings": []}', "expected a SmartRecruiters"),
        ("smartrecruiters", b"[" * 100 + b"]" * 100, "nested 100 levels"),
    ],
)
def test_malformed_json_bodies_raise_a_clear_parse_error(
    kind: str, body: bytes, problem: str
) -> None:
    with pytest.raises(ParseError, match=problem):
        kind_for(kind).parse(body, "m", "https://example.org/x")


# --- one Greenhouse, Lever or Ashby object on its own -----------------------------------------


def test_a_single_greenhouse_job_object_is_a_list_of_one() -> None:
    job = {
        "id": 5512001,
        "internal_job_id": 4400,
        "title": "Research Scientist Intern (PhD)",
        "updated_at": "2026-11-05T10:00:00-05:00",
        "absolute_url": "https://job-boards.greenhouse.io/acmeai/jobs/5512001",
        "location": {"name": "London, UK"},
        "content": "&lt;p&gt;Language models.&lt;/p&gt;",
        "offices": [{"name": "London", "location": "London, England, United Kingdom"}],
        "departments": [{"name": "Research"}],
        "metadata": [{"name": "Employment Type", "value": "Intern"}],
    }
    record = _one("greenhouse", json.dumps(job).encode())
    assert (record.external_id, record.title) == ("5512001", "Research Scientist Intern (PhD)")
    assert record.url == "https://job-boards.greenhouse.io/acmeai/jobs/5512001"
    assert record.company == "acmeai"
    assert record.locations == ("London, UK", "London, England, United Kingdom")
    assert record.description == "<p>Language models.</p>"
    assert record.hints == {"is_internship": True}
    assert record.origins == {"is_internship": "source:metadata.Employment Type"}


def test_a_single_lever_posting_object_is_a_list_of_one() -> None:
    posting = {
        "id": "c0ffee00-1234-4abc-9def-000000000042",
        "text": "Machine Learning Intern",
        "categories": {"commitment": "Internship", "location": "Austin, TX", "team": "ML"},
        "country": "US",
        "workplaceType": "onsite",
        "createdAt": 1762500000000,
        "descriptionPlain": "Ranking models.",
        "lists": [],
        "hostedUrl": "https://jobs.lever.co/acmeco/c0ffee00-1234-4abc-9def-000000000042",
        "applyUrl": "https://jobs.lever.co/acmeco/c0ffee00-1234-4abc-9def-000000000042/apply",
    }
    record = _one("lever", json.dumps(posting).encode())
    assert record.external_id == "c0ffee00-1234-4abc-9def-000000000042"
    assert record.company == "acmeco" and record.locations == ("Austin, TX",)
    assert record.hints == {"remote": False, "countries": ["US"], "is_internship": True}
    assert record.origins["is_internship"] == "source:categories.commitment"


def test_a_single_ashby_job_object_is_a_list_of_one() -> None:
    job = {
        "id": "0a1b2c3d-0000-4000-8000-00000000ab01",
        "title": "Research Engineer Intern",
        "location": "Paris",
        "secondaryLocations": [],
        "employmentType": "Intern",
        "isListed": True,
        "isRemote": False,
        "workplaceType": "OnSite",
        "address": {"postalAddress": {"addressCountry": "France"}},
        "descriptionPlain": "Diffusion models.",
        "publishedAt": "2026-11-02T09:00:00.000+00:00",
        "jobUrl": "https://jobs.ashbyhq.com/acmelabs/0a1b2c3d-0000-4000-8000-00000000ab01",
        "applyUrl": "https://jobs.ashbyhq.com/acmelabs/0a1b2c3d-0000-4000-8000-00000000ab01/application",
    }
    record = _one("ashby", json.dumps(job).encode())
    assert record.external_id == "0a1b2c3d-0000-4000-8000-00000000ab01"
    assert record.company == "acmelabs" and record.locations == ("Paris",)
    assert record.hints == {"remote": False, "countries": ["FR"], "is_internship": True}
    assert record.origins["countries"] == "source:address"


# --- other JSON: the wider jsonlist, or a clear error -----------------------------------------


def test_jsonlist_finds_jobs_under_a_container_key_with_nested_locations() -> None:
    body = json.dumps(
        {
            "status": "ok",
            "data": {
                "results": [
                    {
                        "id": 4411,
                        "name": "Quantitative Research Intern",
                        "department": "Research",
                        "location": {"city": "Singapore", "country": "SG"},
                    },
                    {
                        "job_id": "x-9",
                        "job_title": "Data Engineer",
                        "locations": [{"city": "Oslo", "country_code": "NO"}, "Remote"],
                    },
                ]
            },
        }
    ).encode()
    assert sniff_kind(body) == "jsonlist"
    first, second = kind_for("jsonlist").parse(body, "t", "u")
    assert (first.external_id, first.title, first.url) == (
        "4411",
        "Quantitative Research Intern",
        "",
    )
    assert first.locations == ("Singapore, SG",)
    assert first.hints == {"countries": ["SG"]}
    assert first.origins == {"countries": "source:location.country"}
    assert (second.external_id, second.title) == ("x-9", "Data Engineer")
    assert second.locations == ("Oslo", "Remote") and second.hints == {"countries": ["NO"]}


@pytest.mark.parametrize(
    "document",
    [
        {"users": [{"id": 1, "name": "Alice"}]},
        {"data": [{"id": 1, "name": "Alice", "email": "a@example.org"}]},
        {"items": [{"id": 7, "text": "a tag"}]},
        [1, 2, 3],
        {"ok": True},
    ],
)
def test_json_that_holds_no_postings_is_a_clear_error_not_a_page(
    document: Any, now: datetime
) -> None:
    body = json.dumps(document).encode()
    assert sniff_kind(body) is None
    with pytest.raises(ParseError, match="is JSON but holds no job postings I can read"):
        classify_document(body, "x.json", now)


def test_a_bare_schema_org_job_posting_reads_as_a_page(now: datetime) -> None:
    body = json.dumps(
        {
            "@context": "https://schema.org",
            "@type": "JobPosting",
            "title": "Research Intern, Robotics",
            "description": "<p>Manipulation research in Tokyo.</p>",
            "hiringOrganization": {"@type": "Organization", "name": "Acme"},
            "employmentType": "INTERN",
        }
    ).encode()
    [row] = classify_document(body, "posting.json", now)
    assert row["format"] == "page" and row["title"] == "Research Intern, Robotics"


def test_classify_credits_each_new_format_s_own_fields(now: datetime) -> None:
    body = json.dumps({"offers": [_offer()]}).encode()
    [row] = classify_document(body, "offers.json", now, explain=True)
    assert row["format"] == "recruitee"
    assert row["countries"] == ["NL"] and row["degree"] == "phd-only" and row["is_internship"]
    assert row["explain"]["degree"] == ["source:education_code"]
    assert "source:employment_type_code" in row["explain"]["is_internship"]


# --- HTML tables in a list README (mdtable) ---------------------------------------------------

_HTML_README = Path(__file__).parent / "data" / "sources" / "mdtable_html.md"


def test_html_table_rows_read_company_locations_legend_and_id(now: datetime) -> None:
    body = _HTML_README.read_bytes()
    rows = {row["id"]: row for row in classify_document(body, "list.md", now, explain=True)}
    assert {row["format"] for row in rows.values()} == {"mdtable"}
    # The id is the first Application link exactly as written ("&amp;" kept).
    first = rows["https://jobs.example.org/apply/201?utm_source=Simplify&amp;ref=Simplify"]
    assert first["company"] == "Example Labs" and first["title"] == "Applied Scientist Intern"
    assert first["locations"] == ["Seattle, WA", "New York, NY", "Toronto, ON, Canada"]
    assert sorted(first["countries"]) == ["CA", "US"]
    assert first["degree"] == "phd-or-masters"
    assert first["explain"]["degree"] == ["source:🎓 advanced degree"]
    # ↳ repeats the company above; a PhD title outranks the 🎓 mark.
    phd = rows["https://jobs.example.org/apply/202"]
    assert phd["company"] == "Example Labs" and phd["title"] == "PhD Research Intern - Robotics"
    assert phd["degree"] == "phd-only" and phd["explain"]["degree"] != ["source:🎓 advanced degree"]
    closed = rows["https://closed.example.net/jobs/9"]
    assert closed["active"] is False and closed["title"] == "Data Science Intern"
    assert rows["https://tiny.example.com/careers/77"]["active"] is not False
    # A closed row with no link (🔒 in place of the buttons) has no id, as in the pipe tables.
    assert len(rows) == 4


def test_the_advanced_degree_mark_is_read_in_pipe_tables_too() -> None:
    body = (
        b"| Company | Role | Location | Application | Age |\n"
        b"| --- | --- | --- | --- | --- |\n"
        b'| Acme | ML Intern \xf0\x9f\x8e\x93 | Paris, France | <a href="https://a.example/1">'
        b"Apply</a> | 3d |\n"
        b'| \xe2\x86\xb3 | PhD ML Intern \xf0\x9f\x8e\x93 | Paris | <a href="https://a.example/2">'
        b"Apply</a> | 3d |\n"
    )
    first, second = kind_for("mdtable").parse(body, "t", "u")
    assert first.title == "ML Intern" and first.hints == {"degree": "phd-or-masters"}
    assert first.origins == {"degree": "source:🎓 advanced degree"}
    assert second.company == "Acme" and second.hints == {} and second.posted == "3 days ago"


@pytest.mark.parametrize(
    "body",
    [
        b"<table><tr><th>Company</th><th>Role</th><th>Application</th></tr><tr><td>A",
        b"<table><tr><th>Company</th><th>Role</th><th>Application</th></tr>"
        + b"<table><tr><td>" * 20_000,
    ],
)
def test_an_html_table_left_open_is_cut_short(body: bytes) -> None:
    with pytest.raises(ParseError, match="cut short"):
        kind_for("mdtable").parse(b"# List\n\n" + body, "t", "u")
