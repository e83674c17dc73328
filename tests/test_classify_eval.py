"""The classification evaluation runs over the real fixtures and reports every labelled posting."""

from __future__ import annotations

import json

import pytest

from benchmarks import classify_eval
from tests.conftest import REAL_FIXTURES, needs_shared

pytestmark = [needs_shared(), pytest.mark.shared]


def test_scorer_finds_every_labelled_posting_and_reports_each_field() -> None:
    report = classify_eval.evaluate(REAL_FIXTURES, details=True)
    assert report["labelled"] == len(classify_eval.load_labels())
    # Every labelled posting is found, except real pages kept outside the repository
    # (extra/…) where that folder is absent: they are listed with the reason, never
    # silently dropped.
    assert report["found"] + report["not_found"] == report["labelled"]
    assert len(report["not_found_postings"]) == report["not_found"]
    for miss in report["not_found_postings"]:
        assert miss["file"].startswith("extra/") and "outside the repository" in miss["reason"]
    assert report["unparsed_files"] == {}
    # The frozen test part is reported first and is at least 30% of the set.
    assert list(report)[3:5] == ["test", "test_meets_targets"]
    assert report["test"]["n"] + report["dev"]["n"] == report["found"]
    assert report["test"]["n"] >= 0.3 * report["found"]
    scores = report["scores"]
    for key in (
        "countries",
        "remote",
        "degree",
        "is_posting",
        "is_internship",
        "areas_precision",
        "areas_recall",
        "areas_f1",
    ):
        assert 0.0 <= scores[key] <= 1.0
    assert set(report["per_format"]) >= {"pages", "rss"}
    for mismatch in report["mismatches"]:
        assert set(mismatch) == {"file", "id", "part", "field", "expected", "got"}


def test_the_split_is_fixed_by_batch_file_and_id() -> None:
    from benchmarks.eval.split import part_of

    assert part_of({"file": "pages/001.md", "id": "page"}) == "dev"  # batch 1: tuned on
    label = {"file": "pages2/104.txt", "id": "page", "batch": 2}
    assert part_of(label) == part_of(dict(label))  # the same answer every time
    parts = [part_of({"file": f"f{i}", "id": str(i), "batch": 2}) for i in range(2000)]
    assert 0.5 < parts.count("test") / len(parts) < 0.6


def test_command_line_writes_the_same_json(tmp_path, capsys) -> None:
    out = tmp_path / "eval.json"
    assert classify_eval.main(["--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert json.loads(out.read_text()) == printed
    assert "mismatches" not in printed


def test_errors_lists_dev_mismatches_only(capsys) -> None:
    assert classify_eval.main(["--errors", "dev"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows and all(row["part"] == "dev" for row in rows)
    # The test part's errors are never listed: asking for them is a usage error.
    with pytest.raises(SystemExit):
        classify_eval.main(["--errors", "test"])
