"""Alerts a naive id-based bot would send versus jobbot, on real consecutive snapshots.

    python -m benchmarks.dedup_eval [--sample 20] [--seed 4] [--out PATH]

For each pair of snapshots of one list (the SimplifyJobs Summer 2025 internships,
2024-09-10 then 2024-10-25; the Databricks and Waymo Greenhouse boards, 2026-05-30 then
2026-08-22) the first snapshot is ingested through ``bot.store.Store.ingest`` as a
source's first poll (recorded, not alerted) and the second as the next poll. A naive
bot alerts every id it has not seen; jobbot alerts what ``ingest`` returns as new.
The difference is what dedup merged: a sample of merged pairs is printed for a hand
check (see benchmarks/eval/DEDUP.md). Titles and companies appear only in this output.
"""

from __future__ import annotations

import argparse
import random
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.output import emit
from bot.classify import raw_records
from bot.postings.enrich import enrich
from bot.postings.model import Posting
from bot.store import Store

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT.parent / "shared" / "fixtures" / "real"
PAIRS = [
    (
        "simplify-summer2025",
        "simplify/summer2025_listings_2024-09-10.json",
        datetime(2024, 9, 10, 20, 0, tzinfo=UTC),
        "simplify/summer2025_listings_2024-10-25.json",
        datetime(2024, 10, 25, 1, 30, tzinfo=UTC),
    ),
    (
        "greenhouse-databricks",
        "greenhouse/tech_jobs_hub/databricks_2026-05-30.json",
        datetime(2026, 5, 30, tzinfo=UTC),
        "greenhouse/tech_jobs_hub/databricks_2026-08-22.json",
        datetime(2026, 8, 22, tzinfo=UTC),
    ),
    (
        "greenhouse-waymo",
        "greenhouse/tech_jobs_hub/waymo_2026-05-30.json",
        datetime(2026, 5, 30, tzinfo=UTC),
        "greenhouse/tech_jobs_hub/waymo_2026-08-22.json",
        datetime(2026, 8, 22, tzinfo=UTC),
    ),
]


def _postings(fixtures: Path, file: str, source: str, now: datetime) -> list[Posting]:
    # The source name is the same for both snapshots, so ids are compared as a bot would.
    _, records = raw_records((fixtures / file).read_bytes(), source)
    return [enrich(record, now) for record in records]


def _brief(posting: Posting) -> dict[str, Any]:
    return {
        "id": posting.external_id,
        "company": posting.company,
        "title": posting.title,
        "countries": list(posting.countries),
        "locations": list(posting.locations)[:3],
    }


def evaluate_pair(
    fixtures: Path, source: str, first: str, first_at: datetime, second: str, second_at: datetime
) -> dict[str, Any]:
    """Naive and jobbot alert counts for one snapshot pair, and every merged pair."""
    before = _postings(fixtures, first, source, first_at)
    after = _postings(fixtures, second, source, second_at)
    store = Store.memory()
    try:
        first_poll = store.ingest(before, first_at, alert=False)
        second_poll = store.ingest(after, second_at, alert=True)
        seen_ids = {p.external_id for p in before}
        naive = len({p.external_id for p in after if p.external_id not in seen_ids})
        merged: list[dict[str, Any]] = []
        for stored in store.duplicates_since(second_at):
            assert stored.duplicate_of is not None
            original = store.posting(stored.duplicate_of)
            if original is None:
                continue
            merged.append({"new": _brief(stored.posting), "kept": _brief(original.posting)})
    finally:
        store.close()
    return {
        "source": source,
        "first_snapshot": first,
        "second_snapshot": second,
        "first_poll": {"seen": first_poll.seen, "merged_within": first_poll.duplicates},
        "second_poll": {
            "seen": second_poll.seen,
            "already_known_ids": second_poll.updated,
            "merged_as_duplicates": second_poll.duplicates,
        },
        "naive_alerts": naive,
        "jobbot_alerts": len(second_poll.new),
        "merged": merged,
    }


def main(argv: list[str] | None = None) -> int:
    """Print the comparison as JSON (and write it to --out when given)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=20, help="merged pairs to show")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--fixtures", type=Path, default=FIXTURES)
    args = parser.parse_args(argv)
    if not args.fixtures.is_dir():
        print(f"fixtures not found: {args.fixtures}", file=sys.stderr)
        return 2
    results = [evaluate_pair(args.fixtures, *pair) for pair in PAIRS]
    pool = [dict(pair, source=r["source"]) for r in results for pair in r["merged"]]
    sample = random.Random(args.seed).sample(pool, min(args.sample, len(pool)))
    report = {
        "pairs": [{k: v for k, v in r.items() if k != "merged"} for r in results],
        "naive_alerts": sum(r["naive_alerts"] for r in results),
        "jobbot_alerts": sum(r["jobbot_alerts"] for r in results),
        "merged_total": len(pool),
        "sample": sample,
    }
    emit(report, args.out, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
