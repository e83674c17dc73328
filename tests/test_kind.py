"""Postings are told from pages that talk about internships, in several languages."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.classify_eval import load_labels
from bot.classify import classify_document
from bot.postings.kind import read_posting_kind, score_page_kind
from bot.postings.page import parse_page
from tests.conftest import NOW, REAL_FIXTURES, needs_shared

PAGES = Path(__file__).parent / "data" / "pages"


@pytest.mark.parametrize("name", ["news_article_de.txt", "intern_story_en.md"])
def test_articles_about_internships_are_not_postings(name: str) -> None:
    row = classify_document((PAGES / name).read_bytes(), name, NOW, explain=True)[0]
    assert row["is_posting"] is False and row["is_internship"] is False
    assert row["explain"]["is_posting"][0].startswith("article:")


def test_a_posting_in_french_is_a_posting() -> None:
    page = (
        "Stage de recherche en apprentissage automatique (6 mois)\n\n"
        "Description du poste\nVos missions : vous développerez des modèles de langue.\n"
        "Profil recherché : étudiant en Master 2 ou école d'ingénieur.\n"
        "Postuler : envoyez votre CV avant le 15 mars.\n"
    )
    row = classify_document(page.encode(), "stage.txt", NOW)[0]
    assert row["is_posting"] is True and row["is_internship"] is True


@pytest.mark.parametrize(
    "page",
    [
        # French: the master's page on its internship (report, defence), though it speaks
        # of the work, the application and the stipend.
        "Le stage de M2\n"
        "Vos missions : choisir un sujet avec votre encadrant et le faire valider.\n"
        "Candidature : le sujet est proposé dès l'inscription. Gratification selon la loi.\n"
        "Le rapport de stage fait 20 pages ; la soutenance a lieu en septembre.\n",
        # German: the study regulations on the compulsory internship.
        "Pflichtpraktikum im Master\n"
        "Ihre Aufgaben im Praktikum legen Sie mit dem Betrieb fest. Bewerbung beim Betrieb.\n"
        "Der Praktikumsbericht wird benotet; es gibt 15 Leistungspunkte.\n",
        # English: a department's page on internships for credit.
        "Internships in the MSc programme\n"
        "Requirements: you must be enrolled. To apply, talk to your advisor.\n"
        "You will write an internship report and earn 10 credit points.\n",
        # Spanish: the faculty's guide to external placements.
        "Prácticas externas del máster\n"
        "Requisitos: estar matriculado. Funciones según el convenio con la empresa.\n"
        "El tutor académico evalúa la memoria de prácticas del estudiante.\n",
    ],
)
def test_a_programme_page_on_how_the_internship_is_credited_is_not_a_posting(
    page: str,
) -> None:
    row = classify_document(page.encode(), "programme.txt", NOW)[0]
    assert row["is_posting"] is False and row["is_internship"] is False


def test_a_posting_that_mentions_credit_once_is_a_posting() -> None:
    page = (
        "Research Intern, Machine Learning\n"
        "Responsibilities: you will train models.\n"
        "Qualifications: enrolled in a degree. Interns may get course credit.\n"
        "How to apply: send your CV.\n"
    )
    row = classify_document(page.encode(), "posting.txt", NOW)[0]
    assert row["is_posting"] is True and row["is_internship"] is True


def test_reported_speech_in_chinese_news_is_an_article() -> None:
    page = (
        "博士生的暑期实习\n"
        "去年夏天，一名化学博士生在一家能源公司实习了三个月。\n"
        "“那是一段很特别的经历，”他说，“我学会了怎样和工程师合作。”\n"
    )
    row = classify_document(page.encode(), "news.txt", NOW)[0]
    assert row["is_posting"] is False and row["is_internship"] is False


def test_each_cue_group_counts_once() -> None:
    score = score_page_kind("Responsibilities\nYou will build.\nYou will test.\nQualifications")
    assert score.posting == ("duties", "requirements")
    assert score.addressed == 2


def test_a_reading_time_run_into_the_date_is_still_a_byline() -> None:
    # Blog platforms copied without their layout glue the date to the reading time; a
    # saved page's words run together are read apart before its kind is scored.
    page = parse_page("My internship\n4 min readJul 6, 2022\nI spent a summer.\n", "p", "x")
    assert "byline" in score_page_kind(f"{page.title}\n{page.description}").article
    assert "byline" not in score_page_kind("Research Intern\nYou will read papers.").article


def test_a_saved_page_with_as_many_story_cues_as_job_cues_is_an_article() -> None:
    title = "Lab intern for first years"
    text = "Our tips for a first summer at a lab.\nRequirements: be a first-year student.\n"
    assert read_posting_kind(title, text, page=True)[0] is False
    # A feed item or a record with a board around it keeps the stricter test.
    assert read_posting_kind(title, text)[0] is True


def test_a_job_board_entry_stays_a_posting_whatever_its_text_says() -> None:
    text = "He said the interns, according to the team, loved it. Read more. My internship…"
    assert read_posting_kind("Software Engineer Intern", text, structured=True)[0] is True
    assert read_posting_kind("Software Engineer Intern", text)[0] is False


# Real pages that talk about internships without offering one (files in ../shared with a
# label of is_posting false in benchmarks/eval/labels.jsonl or pages2/INDEX.md).
REAL_NON_POSTINGS = [
    "pages/007-nii-koyama-lab-opportunities-en.md",
    "pages/008-nii-koyama-lab-opportunities-ja.md",
    "pages/015-projectyl-news-iitgn-jncasr-applications.md",
    "pages/017-guide-microsoft-undergrad-research-internship.md",
    "pages/032-guide-getting-a-research-internship.md",
    "pages/058-list-research-opportunities-australia.md",
    "pages2/120-amazon-science-largest-class-science-interns.txt",
    "pages2/129-tagesspiegel-die-masterarbeit-portal-news.txt",
    "pages2/132-note-research-intern-manga-hci-ja.txt",
    "pages/011-inria-resibots-open-positions.rst",
]


@needs_shared()
@pytest.mark.shared
@pytest.mark.parametrize("file", REAL_NON_POSTINGS)
def test_real_non_postings_are_read_as_not_postings(file: str) -> None:
    labelled = {label["file"]: label for label in load_labels()}
    if file in labelled:
        assert labelled[file]["is_posting"] is False
    row = classify_document((REAL_FIXTURES / file).read_bytes(), file, NOW)[0]
    assert row["is_posting"] is False and row["is_internship"] is False


def test_a_french_offer_that_heads_its_topic_sujet_du_stage_is_a_posting() -> None:
    # One run-on paragraph whose only duties cue is "sujet du stage" (not "sujet de stage").
    page = (
        "CONTEXTE Notre équipe propose une offre de stage en traitement automatique des "
        "langues autour d'un corpus de contes anciens. SUJET DU STAGE Le stage portera sur "
        "l'alignement de textes traduits et l'extraction de motifs récurrents dans le corpus."
    )
    assert "duties" in score_page_kind(page).posting
    is_posting, _ = read_posting_kind(page[:120], page, page=True)
    assert is_posting is True
