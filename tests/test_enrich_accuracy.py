"""Rules added for issue #4 (area and country accuracy), each on small made-up postings."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.postings.enrich import enrich
from bot.postings.gazetteer import load_gazetteer
from bot.postings.taxonomy import load_taxonomy
from tests.conftest import raw_posting

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("location", "countries"),
    [
        # A state code next to a country or city of its own country is that state.
        ("PA Pittsburgh", {"US"}),
        ("MountainView, CA, United States", {"US"}),
        ("Springfield, IL, USA", {"US"}),
        # ...but a code that stands as its own alternative is still a country.
        ("Remote CA or USA", {"US", "CA"}),
        ("Germany; CA", {"DE", "CA"}),
        ("Various US UK CA", {"US", "GB", "CA"}),
        # A state and its own country outweigh a small foreign town read from one word.
        ("Ann Arbour MI USA", {"US"}),
        # A state that contradicts its country: the city still decides.
        ("Saskatoon SK USA", {"CA"}),
        ("Chennai, TN, IND", {"IN"}),
        # An accented letter a scraper turned into a space.
        ("Z rich", {"CH"}),
        ("M nchen", {"DE"}),
        ("Foo bar", set()),
    ],
)
def test_location_formats(location: str, countries: set[str]) -> None:
    assert load_gazetteer().countries_in(location)[0] == countries


def test_phrases_sharing_a_word_both_count() -> None:
    taxonomy = load_taxonomy()
    assert {"llm", "ml"} <= taxonomy.find_in_title("Agentic AI Engineer Co-Op")
    assert {"nlp", "ml"} <= taxonomy.find_in_title("Conversational AI Engineer")


def test_a_phrase_inside_a_longer_one_is_not_counted_again() -> None:
    taxonomy = load_taxonomy()
    assert taxonomy.count("natural language processing") == {"nlp": 1}
    assert taxonomy.find("large language models") == {"llm"}


def test_ai_alone_names_ml_in_a_title_only() -> None:
    taxonomy = load_taxonomy()
    assert "ml" in taxonomy.find_in_title("Intern - AI Research")
    assert "ml" in taxonomy.find_in_title("Project Manager, Health AI")
    assert "ml" not in taxonomy.find("We are an AI company.")
    # "Generative AI" is the llm phrase; its "AI" does not also make it ml.
    assert taxonomy.find_in_title("Internship - Generative AI for finance") == {"llm"}


@pytest.mark.parametrize(
    "title",
    [
        "Agentic AI Teacher",
        "ML Data Associate-II",
        "Silicon AI/ML Architect",
        "AI and HPC Cluster Group Manager",
        "Technical Recruiter (AI + ML)",
        "MBA Internship - AI Strategy & Operations",
        "Account Executive, Machine Learning Platform",
        "Senior Director, Analyst - High Performance Computing, AI Supercomputing",
        "AI Prompt & Language Specialist - German",
    ],
)
def test_roles_without_a_research_area(title: str) -> None:
    text = "You will work with our machine learning and LLM teams every day."
    assert enrich(raw_posting(title, text), NOW).areas == ()


def test_a_research_title_is_not_mistaken_for_a_role_without_area() -> None:
    raw = raw_posting("We are recruiting research interns", "Work on machine learning models.")
    assert enrich(raw, NOW).areas == ("ml",)
    # A department in the title does not make an analytics role a sales or marketing one.
    for title in ("Marketing Data Analyst Intern", "Internship in Strategy & Data Science"):
        assert enrich(raw_posting(title), NOW).areas == ("data-science",)


def test_an_aggregator_tag_line_is_not_the_role() -> None:
    raw = raw_posting(
        "Engineering Program Manager",
        "Run the delivery of our enterprise platform.\n\n"
        "Categories: Data Science/ML/AI, Industry, Project/Program Manager\n",
    )
    assert enrich(raw, NOW).areas == ()


def test_biostatistics_is_data_science() -> None:
    assert enrich(raw_posting("Intern - Biostatistics - Oncology"), NOW).areas == ("data-science",)


def test_a_foundation_model_is_not_by_itself_a_language_model() -> None:
    taxonomy = load_taxonomy()
    assert "llm" not in taxonomy.find("foundation models for drug discovery")
    assert taxonomy.find_in_title("Applied Scientist - Multimodal Foundation Model") == {
        "ml",
        "multimodal",
    }


def test_trust_and_safety_phrases_are_fraud_abuse() -> None:
    taxonomy = load_taxonomy()
    assert "fraud-abuse" in taxonomy.find("research on manipulated media identification")
    assert "fraud-abuse" in taxonomy.find("tools for content moderation at scale")


def test_chip_design_roles_have_no_area() -> None:
    raw = raw_posting("Analog Mixed Signal Engineer - Intern", "We power generative AI and LLMs.")
    assert enrich(raw, NOW).areas == ()


def test_an_academic_background_is_a_qualification_not_an_area() -> None:
    raw = raw_posting(
        "Summer Analyst, Quantitative Research",
        "We want a strong academic background in quantitative analysis (econometrics).",
    )
    assert enrich(raw, NOW).areas == ()


def test_a_qualifications_section_is_not_the_role() -> None:
    raw = raw_posting(
        "Software Engineer, University Graduate",
        "Build services for our storage team.\n\n"
        "Minimum qualifications\n"
        "Experience working with distributed systems, machine learning or networking.\n",
    )
    assert enrich(raw, NOW).areas == ()
    duties = raw_posting(
        "Software Engineer, University Graduate",
        "What you will do\nTrain machine learning models for spam filtering.\n",
    )
    assert enrich(duties, NOW).areas == ("ml",)


@pytest.mark.parametrize(
    ("location", "countries"),
    [
        # A state code after a town the gazetteer does not know, or knows only elsewhere.
        ("Dulles, VA", {"US"}),
        ("Western Springs, IL", {"US"}),
        ("Chennai, TN", {"IN"}),  # a big city keeps its own country
        # State codes typed in mixed case.
        ("Santa Clara, Ca", {"US"}),
        # A list of one country's states or cities, closed by that country once.
        ("MD or DE or VA or PA or DC or WV USA", {"US"}),
        ("San Carlos or San Diego CA or Seattle WA USA", {"US"}),
        ("Remote SK CA", {"CA"}),
        # "LA" in a location is Los Angeles; "St." is Saint.
        ("LA", {"US"}),
        ("St. Louis, MO", {"US"}),
        ("Tbilisi, Georgia", {"GE"}),
        # A country after a small town it contradicts decides; after a big city it does not.
        ("Surrey UK", {"GB"}),
        ("Atlanta, Georgia", {"US"}),
        ("Alpharetta, Georgia", {"US"}),
        ("Dubai, Saudi Arabia", {"AE"}),
        # Australian state names ("New South Wales" is not Wales).
        ("Sydney, New South Wales", {"AU"}),
        ("Perth, Western Australia", {"AU"}),
    ],
)
def test_more_location_formats(location: str, countries: set[str]) -> None:
    assert load_gazetteer().countries_in(location)[0] == countries


def test_the_locations_of_one_posting_explain_each_other() -> None:
    gazetteer = load_gazetteer()
    assert gazetteer.countries_in_locations(["Texas", "Georgia"]) == ({"US"}, False)
    assert gazetteer.countries_in_locations(["Hartford CT", "St. Paul MN"]) == ({"US"}, False)
    assert gazetteer.countries_in_locations(["Georgia"]) == ({"GE"}, False)
    # One remote location makes the posting remote, as before.
    assert gazetteer.countries_in_locations(["Remote", "Hybrid - Berlin"]) == ({"DE"}, True)


def test_a_country_named_beside_a_city_picks_its_namesake_there() -> None:
    gazetteer = load_gazetteer()
    university = ["Lancaster University\nBailrigg, United Kingdom"]
    assert gazetteer.countries_in_locations(university) == ({"GB"}, False)
    assert gazetteer.countries_in_locations(["Lancaster University"]) == ({"US"}, False)
    # A village namesake does not move the city everybody means.
    assert gazetteer.countries_in_locations(["Paris; Toronto, Canada"]) == ({"CA", "FR"}, False)


def test_la_is_not_read_from_free_text() -> None:
    assert load_gazetteer().countries_in_text("La empresa trabaja en Madrid.") == {"ES"}


def test_a_name_joined_in_front_of_an_area_by_a_hyphen() -> None:
    taxonomy = load_taxonomy()
    assert "recsys" in taxonomy.find_in_title("ML Engineer Intern - TikTok-Recommendation")
    assert taxonomy.find("experience in non-NLP domains") == set()


def test_about_the_role_and_team_count_about_us_does_not() -> None:
    raw = raw_posting(
        "Research Intern",
        "### About the role\nYou will build recommender systems.\n"
        "### About the team\nThe team trains speech recognition models.\n"
        "### About us\nWe are a computer vision company.\n"
        "### About Acme\nAcme also does robotics.\n",
    )
    assert enrich(raw, NOW).areas == ("recsys", "speech")


def test_ml_and_llm_operations_synonyms() -> None:
    taxonomy = load_taxonomy()
    assert taxonomy.find("we run the MLOps platform") == {"ml"}
    assert taxonomy.find("scaling our LLMOps platforms") == {"llm"}


def test_an_australian_state_in_free_text_is_not_a_british_country() -> None:
    assert load_gazetteer().countries_in_text("University of New South Wales") == {"AU"}


@pytest.mark.parametrize(
    ("text", "remote"),
    [
        ("This role can be based remotely within one of our hubs in Europe.", True),
        ("Remote work within Europe may be considered, although it is less desirable.", True),
        ("Some work may be done remotely, but interns must be present for meetings.", False),
        ("(Remote work can be considered for the extension.)", False),
    ],
)
def test_remote_when_the_role_may_be_based_remotely(text: str, remote: bool) -> None:
    raw = raw_posting("Category Manager", f"Where you'll be\n\n{text}", ("Amsterdam, Netherlands",))
    assert enrich(raw, NOW).remote is remote


def test_information_extraction_and_3d_vision_synonyms() -> None:
    taxonomy = load_taxonomy()
    assert "knowledge-graphs" in taxonomy.find("NLP tools to extract information from notes")
    assert "cv" in taxonomy.find("research on 3D shape generation and editing")
    assert "cv" in taxonomy.find("deep learning for medical imaging")


def test_an_area_said_once_where_the_duties_are_stated_counts() -> None:
    # The title names RL, so one passing mention of another area is not enough...
    passing = "Our lab also publishes on large language models.\n"
    assert enrich(raw_posting("RL Research Intern", passing), NOW).areas == ("rl",)
    # ...but the same mention where the text says what the role does is.
    duty = "The team is responsible for scaling large language models with distributed RL.\n"
    assert enrich(raw_posting("RL Research Intern", duty), NOW).areas == ("llm", "rl")
    listed = "### Responsibilities\n* Train speech recognition models\n"
    assert enrich(raw_posting("ML Intern", listed), NOW).areas == ("ml", "speech")


def test_a_duty_names_its_areas_within_a_few_words_of_its_cue() -> None:
    # A long sentence drifts into the domains the team serves: those are not the work.
    text = (
        "You will join our team working on cutting-edge projects in AI safety, trustworthy "
        "systems and responsible practices across domains including design, computer vision "
        "and robotics.\n"
    )
    assert enrich(raw_posting("Machine Learning Research Scientist", text), NOW).areas == ("ml",)
    # Within reach of its cue, a long-winded duty still names its area.
    lead = (
        "You'll play a pivotal role in driving the commercialization of groundbreaking "
        "research in 3D reconstruction.\n"
    )
    assert enrich(raw_posting("Engineering Manager, Machine Learning", lead), NOW).areas == (
        "cv",
        "ml",
    )


def test_title_only_words_count_in_duties_but_everyday_words_do_not() -> None:
    ranking = "You will build ranking models for the feed.\n"
    assert enrich(raw_posting("Research Intern", ranking), NOW).areas == ("ir",)
    strategy = "You will deliver on the strategic vision for AI in security.\n"
    assert enrich(raw_posting("Applied Sciences Manager", strategy), NOW).areas == ()
    # What a role builds on AI is ML work; a workload it runs is not.
    built = "We're looking for an engineer who wants to build AI-powered production systems.\n"
    assert enrich(raw_posting("Software Development Engineer", built), NOW).areas == ("ml",)
    served = "You will develop deep expertise in HPC and AI workloads.\n"
    assert enrich(raw_posting("Software Engineer", served), NOW).areas == ()


def test_duties_read_as_pages_write_them() -> None:
    # Typographic apostrophes, as most pages have them.
    curly = "### What You’ll Do\n* Train speech recognition models\n"
    assert enrich(raw_posting("Research Intern, NLP", curly), NOW).areas == ("nlp", "speech")
    assert enrich(raw_posting("Research Intern, NLP", "You’ll train ASR models.\n"), NOW).areas == (
        "nlp",
        "speech",
    )
    roles = "**Roles and Responsibilities**\n* Build ranking models\n"
    assert enrich(raw_posting("ML Engineer", roles), NOW).areas == ("ir", "ml")
    # A window never ends inside a hyphenated word: "robot-assisted" is not robotics.
    long = (
        "You will build tools that help surgeons in busy hospitals plan and rehearse each "
        "single step of robot-assisted surgery with machine learning.\n"
    )
    assert enrich(raw_posting("Software Engineer", long), NOW).areas == ("ml",)


def test_a_bonus_section_is_a_wish_list_not_the_work() -> None:
    text = (
        "### Fields of Research\n* Build deep learning models for multi-modal understanding.\n"
        "### Bonus\n* Be familiar with one of: Natural Language Processing, Computer Vision.\n"
    )
    assert enrich(raw_posting("ML Research Intern", text), NOW).areas == (
        "deep-learning",
        "ml",
        "multimodal",
    )


def test_chinese_and_japanese_area_phrases_match_inside_running_text() -> None:
    taxonomy = load_taxonomy()
    # No spaces between words: a phrase may touch the characters around it.
    assert taxonomy.find("负责私有化知识库的建设，深入研究检索召回策略") == {
        "knowledge-graphs",
        "ir",
    }
    assert taxonomy.find("音メディアを対象とした信号処理，機械学習") == {"speech", "ml"}
    assert taxonomy.find_in_title("AI应用研发工程师") == {"ml"}
    # A Chinese phrase may touch a Latin word too: "AI大模型" is an AI large model.
    assert taxonomy.find("熟悉AI大模型和3D计算机视觉") == {"llm", "cv"}
    # A Latin word still needs its own boundaries: "xml" is not "ml".
    assert taxonomy.find("xml and html") == set()


def test_a_page_filed_as_a_blog_post_has_no_role_areas() -> None:
    blog = replace(
        raw_posting(
            "How to land a research internship",
            "Tips for students interested in natural language processing.",
        ),
        hints={"is_posting": False},
    )
    posting = enrich(blog, NOW)
    assert not posting.is_posting
    assert posting.areas == ()
    # Without that hint the same page keeps what it is about.
    assert enrich(replace(blog, hints={}), NOW).areas == ("nlp",)
