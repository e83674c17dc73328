"""Enrichment of posting text: countries, remote, areas, degree, posting kind, dates, pay."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.postings.enrich import enrich
from bot.postings.facts import (
    detect_degree,
    detect_duration,
    detect_pay,
    is_internship,
    looks_like_posting,
    parse_posted,
)
from bot.postings.gazetteer import load_gazetteer
from bot.postings.model import RawPosting
from bot.postings.page import parse_page
from bot.postings.taxonomy import load_taxonomy
from tests.conftest import raw_posting

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("location", "countries", "remote"),
    [
        ("US, WA, Seattle", {"US"}, False),
        ("Seattle, WA", {"US"}, False),
        ("Aachen", {"DE"}, False),
        ("Sydney, Melbourne", {"AU"}, False),
        ("Sydney, Melbourne, Adelaide, Brisbane", {"AU"}, False),
        ("Remote - US", {"US"}, True),
        ("London, UK", {"GB"}, False),
        ("IN, KA, Bengaluru", {"IN"}, False),
        ("Zürich", {"CH"}, False),
        ("Toronto, ON", {"CA"}, False),
        ("United States", {"US"}, False),
        ("Chennai, TN, IND", {"IN"}, False),
        ("US, CA, San Francisco", {"US"}, False),
        ("Various US UK CA", {"US", "GB", "CA"}, False),
        ("Remote CA or USA", {"US", "CA"}, True),
        ("Montreal QC CA", {"CA"}, False),
        ("Finland; Remote - Denmark; Stockholm, Sweden", {"FI", "DK", "SE"}, True),
        ("Austin, Remote US, London, Remote UK", {"US", "GB"}, True),
        ("Dubai, Saudi Arabia", {"AE"}, False),
        ("Saskatoon SK USA", {"CA"}, False),
        ("Hybrid - Berlin", {"DE"}, False),
        ("Multiple Locations", set(), False),
        ("Remote", set(), True),
        ("Can Work from Home", set(), True),
        ("Eindhoven", {"NL"}, False),
        ("Bangalore", {"IN"}, False),
        ("Hong Kong, STP", {"HK"}, False),
        ("Remote in North America", {"US", "CA"}, True),
    ],
)
def test_countries_from_locations_as_written(
    location: str, countries: set[str], remote: bool
) -> None:
    assert load_gazetteer().countries_in(location) == (countries, remote)


def test_countries_from_text_need_a_place_context() -> None:
    gazetteer = load_gazetteer()
    assert gazetteer.countries_in_text("The internship is based in Aachen.") == {"DE"}
    assert gazetteer.countries_in_text("Our office in Seattle, WA is hiring.") == {"US"}
    assert gazetteer.countries_in_text("Data assembled in Australia.") == {"AU"}
    # A surname that is also a town, an acronym and a first name are not places.
    assert gazetteer.countries_in_text("Contact Katya Rodriguez (HR Analyst).") == set()
    assert gazetteer.countries_in_text("Machine Learning Manager - MILA") == set()
    assert gazetteer.countries_in_text("Ask Jordan about it.") == set()


def test_countries_read_from_a_location_line_when_no_field_gives_one() -> None:
    raw = raw_posting("Data Engineer", "<p><strong>Location:</strong> Saskatoon SK USA</p>")
    assert enrich(raw, NOW).countries == ("CA",)
    summary = "The TL;DR\n• Role: Internship\n• Location: In-person, US\n"
    bulleted = raw_posting("ML Intern", summary)
    assert enrich(bulleted, NOW).countries == ("US",)


def test_a_saved_page_header_line_that_is_only_a_place_is_its_location() -> None:
    page = parse_page(
        "Data Analyst Intern\nAcme Widgets\n- Utrecht, Provincie Utrecht\n- Stage\n"
        "You will clean survey data with our analysts.",
        "page",
        "p.txt",
    )
    assert enrich(page, NOW).countries == ("NL",)


def test_a_saved_page_header_line_of_role_and_level_is_no_location() -> None:
    page = parse_page(
        "Intern, Data Scientist\nYou will clean survey data with our analysts.", "page", "p.txt"
    )
    assert enrich(page, NOW).countries == ()


@pytest.mark.parametrize(
    "text",
    [
        "Para entrar no programa, envie o seu currículo à equipa de Lisboa.",
        "Para solicitar las prácticas hay que escribir al tutor académico.",
        "연구실 인턴이란 무엇인가? 대전의 연구소에서 일한 이야기.",
        "Leon, a student from Hamburg, wrote his thesis with us.",
    ],
)
def test_everyday_words_that_are_place_names_add_no_country(text: str) -> None:
    found = load_gazetteer().countries_in_text(text)
    assert not found & {"BR", "IR", "MX"}


def test_a_remote_from_anywhere_role_takes_no_country_from_its_text() -> None:
    raw = raw_posting(
        "Student Internship Program",
        "These internships are 100% remote; past interns joined from Australia and India.",
    )
    posting = enrich(raw, NOW)
    assert posting.countries == ()
    assert posting.remote


def test_a_page_without_places_takes_the_country_of_its_links() -> None:
    raw = raw_posting("Internship", "Write to lab@cs.uu.nl or see https://www.uu.nl/research.")
    assert enrich(raw, NOW).countries == ("NL",)


def test_title_names_a_country() -> None:
    posting = enrich(raw_posting("AI Engineering Intern - Colombia", locations=("Remote",)), NOW)
    assert posting.countries == ("CO",)
    assert posting.remote


def test_hybrid_text_beats_a_remote_header() -> None:
    raw = raw_posting("Data Scientist", "You work in a hybrid model, 2 days a week.", ("Remote",))
    assert not enrich(raw, NOW).remote
    strong = raw_posting("Research Intern", "This role is available as fully home-based.")
    assert enrich(strong, NOW).remote


def test_a_conditional_remote_sentence_is_not_remote() -> None:
    raw = raw_posting(
        "Sales Expert",
        "We enjoy a hybrid work model. If the job description states that the position is "
        "fully remote, that arrangement will apply instead.",
        ("Amsterdam, Netherlands",),
    )
    assert not enrich(raw, NOW).remote


@pytest.mark.parametrize(
    ("title", "text", "degree"),
    [
        ("Research Intern", "Enrolled in a PhD program in CS.", "phd-only"),
        ("Research Intern", "Enrolled in a PhD or Master's degree program.", "phd-or-masters"),
        ("PhD Student Science Recruiting", "", "phd-only"),
        ("Applied Scientist Intern", "Join our team.", "unknown"),
        ("Software Engineer Intern", "Pursuing a Bachelor's, Master's or PhD degree.", "any"),
        ("Intern", "Currently pursuing a degree in Mathematics or Statistics.", "any"),
        ("Intern", "Must be pursuing a Master Degree or PhD degree in CS.", "phd-or-masters"),
        ("Quant Intern", "A Master's level subject is desirable.", "unknown"),
        ("EMBARK Postdoc", "", "phd-only"),
        ("Data Science Intern (enrolled for PhD/MS Degree)", "", "phd-or-masters"),
        ("Campus Quantitative Researcher – M1/M2 Intern", "", "phd-or-masters"),
        ("AI Software Engineering Undergraduate Intern", "PhD welcome.", "any"),
        ("Intern", "Work closely with your PhD student host.", "unknown"),
        ("Intern", "Must be a graduate student. Bachelor's degree in planning.", "phd-or-masters"),
        ("Intern", "UG rising juniors and seniors, and graduate students.", "any"),
        ("Trader", "Jane Doe, PhD, will be your manager.", "unknown"),
        ("Intern", "A bachelor's, master's, or PhD degree in statistics.", "any"),
        ("Intern", "Graduate students pursuing a PhD are eligible.", "phd-only"),
        ("Art Intern", "You love the Old Masters.", "unknown"),
        ("Office Intern", "Currently enrolled in a Dutch university.", "any"),
        ("Data Associate", "An Associate’s Degree or related work experience.", "any"),
        ("Expert", "Work with stakeholders at all levels.", "unknown"),
        ("Intern", "You are currently studying physics or chemistry.", "any"),
        ("Graduate Tooling Group Intern - Summer", "", "phd-or-masters"),
        ("Graduate Intern", "Undergraduates may apply too.", "any"),
        ("Design Intern/Graduate", "", "unknown"),
        ("New Graduate Intern Program", "", "unknown"),
        ("Intern", "You are enrolled for the whole term at an accredited university.", "any"),
        ("Intern", "You are currently enrolled in a PhD programme.", "phd-only"),
        (
            "Stage",
            "Nous cherchons un stagiaire de niveau master en linguistique.",
            "phd-or-masters",
        ),
        ("Stage", "Profil : formation Bac+5 en informatique ou équivalent.", "phd-or-masters"),
        (
            "Stage",
            "Ouvert aux étudiants en master ; le doctorat n'est pas requis.",
            "phd-or-masters",
        ),
        ("Stage", "Le stage de master dure six mois.", "phd-or-masters"),
        ("Stage", "Utiliser Master Data Management au quotidien.", "unknown"),
        ("Research Intern", "You will work alongside fellow PhD students.", "unknown"),
        ("Intern", "This role is ideal for students pursuing a Master's degree.", "unknown"),
        ("Research Intern", "Fellow interns are enrolled in a PhD program.", "phd-only"),
    ],
)
def test_degree(title: str, text: str, degree: str) -> None:
    assert detect_degree(title, text) == degree


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Applied Scientist Intern", True),
        ("Software Engineering Co-op", True),
        ("Student Researcher, 2026", True),
        ("Duaal-/deeltijd student Marketing", True),
        ("Pflichtpraktikant - Data Science", True),
        ("Data Science for Social Good Summer Fellowship", True),
        ("Senior Software Engineer", False),
        ("Engineering Manager, Intern Programs", True),
        ("Machine Learning New Grad (PhD)", False),
        ("Part-Time Student Lab Assistant", True),
    ],
)
def test_is_internship(title: str, expected: bool) -> None:
    assert is_internship(title, "") is expected


def test_a_text_that_calls_the_role_an_internship_makes_one() -> None:
    assert is_internship("Play a part in our research.", "This internship offers a chance.")
    assert is_internship("Contexte", "L'objectif du stage est d'étudier le drift.")
    assert not is_internship("Play a part in our research.", "Our internship alumni say hi.")


def test_full_time_roles_that_mention_interns_are_not_internships() -> None:
    text = "You will mentor interns and new graduates."
    assert not is_internship("Staff Research Scientist", text)


@pytest.mark.parametrize(
    ("title", "hint", "expected"),
    [
        ("Getting a Research Internship", None, False),
        ("Opportunities", None, False),
        ("Open Positions", None, False),
        ("Company announces new AI lab", None, False),
        ("Microsoft Research Internships", False, False),
        ("Openings: Intern students on AI Infrastructure", False, True),
        ("Research Intern, Summer 2026", None, True),
        ("Head of Machine Learning - Parallel Domain", None, True),
        ("Vice President, Translational Data Science", None, True),
        ("Coordinator of Research Computing", None, True),
    ],
)
def test_looks_like_posting(title: str, hint: bool | None, expected: bool) -> None:
    assert looks_like_posting(title, "", hint) is expected


def test_a_structured_record_is_a_posting_without_role_words() -> None:
    assert looks_like_posting("Product Counsel, Crypto", "", structured=True)
    assert not looks_like_posting("Product Counsel, Crypto", "")


def test_blog_front_matter_marks_a_page_as_not_a_posting() -> None:
    page = parse_page('---\nlayout: post\ntitle: "Tips for interns"\n---\nText.', "p", "x")
    assert page.hints == {"is_posting": False}
    assert page.title == "Tips for interns"
    job = parse_page("---\nlayout: post\ncategories: Jobs\n---\n# Intern\n", "p", "y")
    assert job.hints == {}


def test_page_title_skips_template_code_and_markdown_links() -> None:
    html = '<h1><%=program.Item("title")%></h1><h2>Quant Summer Analyst</h2>'
    assert parse_page(html, "p", "x").title == "Quant Summer Analyst"
    markdown = "# [Research Intern, PhD](https://example.org/apply)\n\nText"
    assert parse_page(markdown, "p", "y").title == "Research Intern, PhD"


def test_photo_credits_and_theme_buttons_are_never_a_page_title() -> None:
    text = "Select Page\n\nPhoto: J. Doe / Unsplash\n\nSpeech Recognition Intern\n\nYou will…\n"
    assert parse_page(text, "p", "x").title == "Speech Recognition Intern"
    credited = "© 2024 Example Lab\nRobot Learning Internship (6 months)\n"
    assert parse_page(credited, "p", "y").title == "Robot Learning Internship (6 months)"
    korean = "콘텐츠 바로가기 영역\n연구 인턴 모집 (딥러닝)\n"
    assert parse_page(korean, "p", "k").title == "연구 인턴 모집 (딥러닝)"
    unlabelled = "Posted in\n\nIntern – Perception\n\nCompanyExample\n"
    assert parse_page(unlabelled, "p", "z").title == "Intern – Perception"


def test_words_run_together_are_read_apart_but_the_title_keeps_its_capitals() -> None:
    text = (
        "OpenStack Research Intern\n"
        "You will improve recommendation systemsExtend a two-tower deep learningModel.\n"
    )
    raw = parse_page(text, "p", "x")
    assert raw.title == "OpenStack Research Intern"
    assert "systems Extend" in raw.description
    assert "deep-learning" in enrich(raw, NOW).areas


def test_a_labelled_role_name_is_the_page_title_however_long() -> None:
    text = (
        "Description du poste\n"
        "*Sujet de stage : Apprentissage en continu pour l'analyse des sentiments en flux "
        "des réseaux sociaux*\n"
        "Un premier travail a permis de construire un pipeline :\n"
    )
    assert parse_page(text, "p", "x").title.startswith("Sujet de stage : Apprentissage")


def test_areas_from_title_and_role_text_not_degree_fields_tools_or_boilerplate() -> None:
    raw = raw_posting(
        "Applied Scientist Intern (Recommender Systems)",
        "### About the role\nYou will build recommender systems for search ranking.\n"
        "### Qualifications\nPhD in Operations Research, Statistics or related fields.\n"
        "Experience with Java, C++, Python.\n"
        "### About us\nWe are an AI company working on computer vision and speech.\n",
    )
    # Search ranking, named in the duties, is part of the work (issue #4's duty reading).
    assert enrich(raw, NOW).areas == ("ir", "ml", "recsys")


def test_what_a_candidate_should_bring_is_not_an_area() -> None:
    raw = raw_posting(
        "Research Intern",
        "You will build ranking models for product search.\n"
        "A strong background in computer vision helps.\n"
        "Knowledge of NLP is a plus.\n",
    )
    assert enrich(raw, NOW).areas == ("ir",)


def test_title_only_phrases_count_in_titles_only() -> None:
    taxonomy = load_taxonomy()
    assert "cv" in taxonomy.find_in_title("Perception Engineer Intern")
    assert "cv" not in taxonomy.find("Our vision is a better world.")
    assert {"llm", "multimodal"} <= taxonomy.find_in_title("ML Engineer LLM/VLM")


def test_no_taxonomy_phrase_points_to_two_slugs() -> None:
    taxonomy = load_taxonomy()
    for area in taxonomy.areas.values():
        assert not set(area.synonyms) & set(area.title_only)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10 hours ago", NOW - timedelta(hours=10)),
        ("2 days ago", NOW - timedelta(days=2)),
        ("Posted 3 weeks ago", NOW - timedelta(weeks=3)),
        ("2024-10-25T01:30:00Z", datetime(2024, 10, 25, 1, 30, tzinfo=UTC)),
        ("March 5, 2026", datetime(2026, 3, 5, tzinfo=UTC)),
        ("Tue, 10 Sep 2024 20:00:00 GMT", datetime(2024, 9, 10, 20, 0, tzinfo=UTC)),
        ("yesterday", NOW - timedelta(days=1)),
    ],
)
def test_posted_dates(text: str, expected: datetime) -> None:
    assert parse_posted(text, NOW) == expected


@pytest.mark.parametrize(
    ("text", "low", "high", "currency", "period"),
    [
        ("$65.38/hr to $107.40/hr", 65.38, 107.40, "USD", "hour"),
        ("$107 / hour", 107, 107, "USD", "hour"),
        ("€2,300 per month", 2300, 2300, "EUR", "month"),
        ("$60 - $65 per hour", 60, 65, "USD", "hour"),
    ],
)
def test_pay(text: str, low: float, high: float, currency: str, period: str) -> None:
    pay = detect_pay(text)
    assert pay is not None
    assert (pay.min, pay.max, pay.currency, pay.period) == (low, high, currency, period)


@pytest.mark.parametrize(
    ("text", "duration"),
    [
        ("a 12-week internship", "12 weeks"),
        ("for 6 months", "6 months"),
        ("3 - 6 months", "3-6 months"),
    ],
)
def test_duration(text: str, duration: str) -> None:
    assert detect_duration(text) == duration


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_location_parser_never_crashes(text: str) -> None:
    countries, remote = load_gazetteer().countries_in(text)
    assert all(len(c) == 2 and c.isupper() for c in countries)
    assert isinstance(remote, bool)
    assert all(len(c) == 2 for c in load_gazetteer().countries_in_text(text))


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=80), st.integers(0, 4_000_000_000), st.none()))
def test_date_parser_never_crashes(value: str | int | None) -> None:
    parsed = parse_posted(value, NOW)
    assert parsed is None or parsed.tzinfo is not None


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("$€£0123456789.,-– /hrmonthperyk to"), max_size=60))
def test_pay_parser_never_crashes(text: str) -> None:
    pay = detect_pay(text)
    assert pay is None or (pay.min is None or pay.max is None or pay.min <= pay.max)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.text(max_size=80))
def test_enrich_never_crashes(description: str, title: str) -> None:
    enrich(raw_posting(title or "x", description, (description[:40],)), NOW)


def test_page_date_and_title_lines() -> None:
    page = parse_page("Title: Data Intern\nDate: 2024-09-01\n\n# Data Intern\nText", "p", "x")
    assert page.posted == "2024-09-01"
    assert enrich(page, NOW).posted_at == datetime(2024, 9, 1, tzinfo=UTC)
    html = "<h1><%=title%></h1><p>- Location: London</p><p>Quant Summer Analyst</p>"
    assert parse_page(html, "p", "y").title == "Quant Summer Analyst"


def test_a_deadline_the_source_states_is_kept(now) -> None:
    raw = RawPosting(
        source="gh",
        external_id="1",
        url="https://x.example/1",
        title="Research Intern",
        hints={"deadline": "2027-01-15"},
    )
    assert enrich(raw, now).deadline == datetime(2027, 1, 15, tzinfo=UTC)
    assert enrich(replace(raw, hints={"deadline": 15}), now).deadline is None


def test_a_trust_team_in_a_title_is_trust_and_safety() -> None:
    taxonomy = load_taxonomy()
    assert "fraud-abuse" in taxonomy.find_in_title("Data Analyst, Trust (Payments)")
    assert "fraud-abuse" not in taxonomy.find_in_title("Trusted Compute Engineer")
    assert "fraud-abuse" not in taxonomy.find("Our users trust us with their data.")


def test_what_a_candidate_wants_to_learn_is_not_an_area() -> None:
    raw = raw_posting(
        "Office Coordinator",
        "You will keep our calendars in order.\n"
        "We value a desire to learn how LLMs could help the front desk.\n"
        "You get the opportunity to learn computer vision basics in our reading group.\n",
    )
    assert enrich(raw, NOW).areas == ()


def test_an_ai_accelerator_role_is_chip_design() -> None:
    taxonomy = load_taxonomy()
    assert taxonomy.is_role_without_area("Research Engineer - AI Accelerator Architecture")
    assert not taxonomy.is_role_without_area("Research Engineer - AI for Drug Discovery")


def test_a_work_mode_glued_to_a_title_does_not_hide_its_area() -> None:
    assert enrich(raw_posting("Intern - Data Science-Remote"), NOW).areas == ("data-science",)
    assert enrich(raw_posting("Computer Vision-Hybrid Intern"), NOW).areas == ("cv",)


def test_examples_after_a_duty_cue_are_not_the_duty() -> None:
    raw = raw_posting(
        "Research Intern",
        "You will measure side effects like anomaly detection drift in our labelling tools.",
    )
    assert enrich(raw, NOW).areas == ()


def test_a_requirements_heading_run_into_the_sentence_before_it_is_still_a_heading() -> None:
    page = parse_page(
        "Research Intern\n- Oslo\nYou may pick Oslo or Bergen.Minimum qualifications:\n"
        "- Experience in one or more of: computer vision, speech, reinforcement learning.\n",
        "page",
        "p.txt",
    )
    assert "\nMinimum qualifications:\n" in page.description
    assert enrich(page, NOW).areas == ()


def test_a_sentence_run_into_another_is_not_split_as_a_heading() -> None:
    page = parse_page("Research Intern\nWe build robots.Our lab is in Oslo.\n", "page", "p.txt")
    assert "We build robots.Our lab is in Oslo." in page.description


def test_a_bare_duties_heading_ends_the_company_section_before_it() -> None:
    page = parse_page(
        "Data Intern\nAbout Acme\nAcme sells garden tools across Europe.\n"
        "Why You Should Join Acme:\nWe grow fast.\nPosition Overview\n"
        "The intern builds entity linking for our product catalogue.\n",
        "page",
        "p.txt",
    )
    assert "knowledge-graphs" in enrich(page, NOW).areas


def test_a_sentence_that_starts_like_a_duties_heading_is_not_one() -> None:
    page = parse_page(
        "Data Intern\nAbout Acme\nAcme sells garden tools.\n"
        "Responsibilities include entity linking.\n",
        "page",
        "p.txt",
    )
    assert "knowledge-graphs" not in enrich(page, NOW).areas


@pytest.mark.parametrize(
    "text",
    [
        "Le stage portera sur la fouille de textes juridiques anciens.",
        "Las prácticas tratan de minería de textos en noticias.",
        "本实习负责文本挖掘相关工作。",
    ],
)
def test_text_mining_in_other_languages_is_nlp(text: str) -> None:
    assert "nlp" in enrich(raw_posting("Stage", text), NOW).areas


@pytest.mark.parametrize(
    ("text", "remote"),
    [
        ("The internship is expected to be remote; mentors meet students online.", True),
        ("The programme will be entirely remote.", True),
        ("If the office closes, the internship will be remote.", False),
        ("The internship is expected to be in person.", False),
    ],
)
def test_a_role_said_to_be_remote_is_remote(text: str, remote: bool) -> None:
    assert enrich(raw_posting("Research Intern", text), NOW).remote is remote


def test_a_plain_heading_line_ends_the_company_section_before_it() -> None:
    page = parse_page(
        "Research Placements\nAbout the Placement Scheme\n"
        "The scheme pairs students with partner companies.\n\nWhere the work happens\n"
        "Placements take place at our campus in Osaka.\n",
        "page",
        "p.txt",
    )
    assert enrich(page, NOW).countries == ("JP",)


@pytest.mark.parametrize(
    ("text", "countries"),
    [
        ("The stipend is £1,500 a month for ten weeks.", ("GB",)),
        ("Bolsa de R$ 1.200 por mês durante o estágio.", ("BR",)),
        ("Pay: £900 a month here, or R$ 4.000 at our other site.", ()),
        ("The stipend is $3,000 a month.", ()),
    ],
)
def test_a_page_naming_no_place_takes_the_country_of_its_currency(
    text: str, countries: tuple[str, ...]
) -> None:
    assert enrich(raw_posting("Summer Internship", text), NOW).countries == countries
