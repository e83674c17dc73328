"""The evaluation's area scores, on hand-made label/result pairs (no shared fixtures)."""

from __future__ import annotations

from typing import Any

from benchmarks.classify_eval import _Tally


def _row(areas: list[str]) -> dict[str, Any]:
    return {
        "countries": ["US"],
        "remote": False,
        "degree": "unknown",
        "is_posting": True,
        "is_internship": True,
        "areas": areas,
    }


def test_a_parent_beside_its_sub_area_counts_against_exact_f1_only() -> None:
    tally = _Tally()
    assert tally.add(_row(["llm"]), _row(["llm", "ml"])) == ["areas"]
    scores = tally.scores()
    assert scores["areas_precision"] == 0.5
    assert scores["areas_f1_as_matched"] == 1.0


def test_a_wrong_sub_area_counts_against_both() -> None:
    tally = _Tally()
    tally.add(_row(["cv"]), _row(["nlp"]))
    scores = tally.scores()
    assert scores["areas_f1"] == 0.0
    # Both sides still share the parent ml, which is what an `area:ml` subscriber sees.
    assert 0.0 < scores["areas_f1_as_matched"] < 1.0
