"""How well `jobbot classify` reads the hand-labelled real postings (JSON on stdout).

    python -m benchmarks.classify_eval [--details] [--out PATH] [--fixtures DIR] [--extra DIR]
    python -m benchmarks.classify_eval --errors dev

For every (file, id) in benchmarks/eval/labels.jsonl the fixture file is classified with
``bot.classify.classify_document`` (the code behind `jobbot classify`), the posting with
that id is looked up (a page is one record, id "page") and each field is scored against
the label. Files whose format no installed source kind parses yet are counted as
``not_found`` with the reason, so the score says what it covers.

The labels are split once (benchmarks/eval/split.py) into a **test** part, never used to
write or tune a rule, and a **dev** part; the report gives the test part's scores first
(``test``), then ``dev``, then the whole set. Labels whose file is ``extra/…`` are real pages
kept outside the repository, read from ``--extra`` (``../eval-extra``).

``areas_f1`` is the micro-F1 over the exact area sets (the target). ``areas_f1_as_matched``
adds every broader area to both sides first, as subscriptions do when they match
(``area:ml`` gets every ML sub-area), so it leaves out whether ``ml`` is written beside a
sub-area, which no subscriber can see.

``--errors dev`` prints the dev part's mismatches, one JSON line each, to find what to fix.
Only ``dev`` is accepted: the test part's errors are never listed, so no rule is written
against them.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.eval.split import part_of
from bot.classify import classify_document
from bot.postings.taxonomy import load_taxonomy

ROOT = Path(__file__).resolve().parents[1]
LABELS = ROOT / "benchmarks" / "eval" / "labels.jsonl"
FIXTURES = ROOT.parent / "shared" / "fixtures" / "real"
EXTRA = ROOT.parent / "eval-extra"
EXTRA_PREFIX = "extra/"
# A fixed fetch time: relative dates do not change the scored fields, and a fixed clock
# keeps runs comparable.
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
EXACT_FIELDS = ("countries", "remote", "degree", "is_posting", "is_internship")
# Issue #15's targets, judged on the test part.
TARGETS = {
    "countries": 0.97,
    "degree": 0.95,
    "is_posting": 0.98,
    "is_internship": 0.97,
    "areas_f1": 0.92,
}


def format_of(file: str) -> str:
    """The evaluation's format bucket: the fixture's top folder (pages, rss, greenhouse, …)."""
    return file.split("/", 1)[0]


def load_labels(path: Path = LABELS) -> list[dict[str, Any]]:
    """The hand labels, one dict per labelled posting."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _classify_files(
    files: set[str], fixtures: Path, extra: Path = EXTRA
) -> tuple[dict[str, dict[str, dict[str, Any]]], dict[str, str], dict[str, str]]:
    """Classified rows per file, files no source kind parsed, and absent outside files."""
    rows: dict[str, dict[str, dict[str, Any]]] = {}
    errors: dict[str, str] = {}
    absent: dict[str, str] = {}
    for file in sorted(files):
        if file.startswith(EXTRA_PREFIX):
            path = extra / file.removeprefix(EXTRA_PREFIX)
            if not path.is_file():
                absent[file] = f"kept outside the repository and absent here ({path})"
                continue
        else:
            path = fixtures / file
        try:
            found = classify_document(path.read_bytes(), file, NOW)
        except Exception as error:  # a format no source kind parses yet is reported, not fatal
            errors[file] = f"{type(error).__name__}: {error}"
            continue
        if len(found) == 1 and found[0]["format"] == "page":
            if not file.startswith(("pages/", "pages2/", EXTRA_PREFIX)):
                # A JSON or table file read as one page means no source kind parsed it.
                errors[file] = "no source kind recognised this format (read as a single page)"
                continue
            # A saved page is one posting; the labels call it "page" whatever its file name.
            rows[file] = {"page": found[0]}
            continue
        rows[file] = {str(row["id"]): row for row in found}
    return rows, errors, absent


class _Tally:
    def __init__(self) -> None:
        self.right: dict[str, int] = defaultdict(int)
        self.total = 0
        self.tp = self.fp = self.fn = 0
        # The same count over areas with their broader areas added: what subscriptions
        # see, since `area:ml` matches every ML sub-area (subscriptions/matcher.py).
        self.match_tp = self.match_fp = self.match_fn = 0

    def add(self, expected: dict[str, Any], got: dict[str, Any]) -> list[str]:
        self.total += 1
        wrong = []
        for field in EXACT_FIELDS:
            want, have = expected[field], got[field]
            if field == "countries":
                want, have = sorted(set(want)), sorted(set(have))
            if want == have:
                self.right[field] += 1
            else:
                wrong.append(field)
        want_areas, got_areas = set(expected["areas"]), set(got["areas"])
        self.tp += len(want_areas & got_areas)
        self.fp += len(got_areas - want_areas)
        self.fn += len(want_areas - got_areas)
        if want_areas != got_areas:
            wrong.append("areas")
        taxonomy = load_taxonomy()
        want_seen, got_seen = (
            taxonomy.with_ancestors(want_areas),
            taxonomy.with_ancestors(got_areas),
        )
        self.match_tp += len(want_seen & got_seen)
        self.match_fp += len(got_seen - want_seen)
        self.match_fn += len(want_seen - got_seen)
        return wrong

    def scores(self) -> dict[str, Any]:
        if not self.total:
            return {"n": 0}
        result: dict[str, Any] = {"n": self.total}
        for field in EXACT_FIELDS:
            result[field] = round(self.right[field] / self.total, 4)
        precision, recall, f1 = _prf(self.tp, self.fp, self.fn)
        result["areas_precision"] = round(precision, 4)
        result["areas_recall"] = round(recall, 4)
        result["areas_f1"] = round(f1, 4)
        result["areas_f1_as_matched"] = round(
            _prf(self.match_tp, self.match_fp, self.match_fn)[2], 4
        )
        return result


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """Micro precision, recall and F1 from counts (1.0 where nothing was to be found)."""
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def evaluate(
    fixtures: Path = FIXTURES, details: bool = False, extra: Path = EXTRA
) -> dict[str, Any]:
    """Score every labelled posting; the report described in the module docstring."""
    labels = load_labels()
    rows, errors, absent = _classify_files({label["file"] for label in labels}, fixtures, extra)
    overall = _Tally()
    parts: dict[str, _Tally] = {"test": _Tally(), "dev": _Tally()}
    per_format: dict[str, _Tally] = defaultdict(_Tally)
    # Labelling rounds: the newest one scores how rules written before it read new pages.
    per_batch: dict[str, _Tally] = defaultdict(_Tally)
    # The test part of each round alone: how pages no rule was written on read.
    per_batch_test: dict[str, _Tally] = defaultdict(_Tally)
    not_found: list[dict[str, str]] = []
    mismatches: list[dict[str, Any]] = []
    for label in labels:
        file, posting_id = label["file"], label["id"]
        got = rows.get(file, {}).get(posting_id)
        if got is None:
            reason = errors.get(file) or absent.get(
                file, "no posting with this id in the classified file"
            )
            not_found.append({"file": file, "id": posting_id, "reason": reason})
            continue
        wrong = overall.add(label, got)
        part = part_of(label)
        parts[part].add(label, got)
        per_format[format_of(file)].add(label, got)
        per_batch[f"batch {label.get('batch', 1)}"].add(label, got)
        if part == "test":
            per_batch_test[f"batch {label.get('batch', 1)}"].add(label, got)
        for field in wrong:
            mismatches.append(
                {
                    "file": file,
                    "id": posting_id,
                    "part": part,
                    "field": field,
                    "expected": label[field],
                    "got": got[field],
                }
            )
    test = parts["test"].scores()
    report: dict[str, Any] = {
        "labelled": len(labels),
        "found": len(labels) - len(not_found),
        "not_found": len(not_found),
        "test": test,
        "test_meets_targets": {
            key: test.get(key, 0.0) >= target for key, target in TARGETS.items()
        },
        "dev": parts["dev"].scores(),
        "scores": overall.scores(),
        "targets": TARGETS,
        "per_format": {name: tally.scores() for name, tally in sorted(per_format.items())},
        "per_batch": {name: tally.scores() for name, tally in sorted(per_batch.items())},
        "per_batch_test": {name: tally.scores() for name, tally in sorted(per_batch_test.items())},
        "unparsed_files": errors,
    }
    if details:
        report["not_found_postings"] = not_found
        report["mismatches"] = mismatches
    return report


def dev_mismatches(fixtures: Path = FIXTURES, extra: Path = EXTRA) -> list[dict[str, Any]]:
    """The dev part's mismatches only; the test part's are dropped before anyone sees them."""
    report = evaluate(fixtures, details=True, extra=extra)
    return [row for row in report["mismatches"] if row["part"] == "dev"]


def main(argv: list[str] | None = None) -> int:
    """Print the report as JSON (and write it to --out when given)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--details", action="store_true", help="list mismatches and misses")
    parser.add_argument("--out", type=Path, help="also write the JSON report here")
    parser.add_argument("--fixtures", type=Path, default=FIXTURES, help="the real fixtures")
    parser.add_argument(
        "--extra", type=Path, default=EXTRA, help="real pages kept outside the repository"
    )
    parser.add_argument(
        "--errors",
        choices=["dev"],
        help="print only this part's mismatches, one JSON line each (the test part's never)",
    )
    args = parser.parse_args(argv)
    if not args.fixtures.is_dir():
        print(f"fixtures not found: {args.fixtures}", file=sys.stderr)
        return 2
    if args.errors:
        for mismatch in dev_mismatches(args.fixtures, args.extra):
            print(json.dumps(mismatch, ensure_ascii=False))
        return 0
    report = evaluate(args.fixtures, details=args.details, extra=args.extra)
    text = json.dumps(report, indent=2, ensure_ascii=False)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
