"""Postings are told from pages that talk about internships, in several languages."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.classify_eval import load_labels
from bot.classify import classify_document
from bot.postings.kind import read_posting_kind, score_page_kind
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


def test_each_cue_group_counts_once() -> None:
    score = score_page_kind("Responsibilities\nYou will build.\nYou will test.\nQualifications")
    assert score.posting == ("duties", "requirements")
    assert score.addressed == 2


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
