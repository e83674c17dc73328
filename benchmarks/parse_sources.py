"""Sniff and parse every real fixture with its detected kind; print timings as JSON.

Usage: python -m benchmarks.parse_sources [FIXTURES_DIR]
(default: ../shared/fixtures/real beside the repository). Nothing is fetched.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from bot.errors import ParseError
from bot.sources.base import kind_for, sniff_kind

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "real"


def measure(path: Path, root: Path, repeat: int = 3) -> dict[str, object]:
    """Best-of-``repeat`` sniff and parse times for one file."""
    body = path.read_bytes()
    started = time.perf_counter()
    kind = sniff_kind(body)
    sniff_s = time.perf_counter() - started
    row: dict[str, object] = {
        "file": str(path.relative_to(root)),
        "bytes": len(body),
        "kind": kind,
        "sniff_s": round(sniff_s, 5),
    }
    if kind is None:
        return row
    best = float("inf")
    count = 0
    for _ in range(repeat):
        started = time.perf_counter()
        try:
            count = len(kind_for(kind).parse(body, "bench", str(path)))
        except ParseError as error:
            row["error"] = str(error)
            return row
        best = min(best, time.perf_counter() - started)
    row.update(records=count, parse_s=round(best, 5), records_per_s=round(count / best))
    return row


def main(argv: list[str]) -> int:
    """Print one JSON document with a row per fixture file."""
    root = Path(argv[0]) if argv else DEFAULT
    if not root.is_dir():
        print(json.dumps({"error": f"{root} not found"}))
        return 2
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and p.name != "SOURCES.md" and "pages" not in p.parts
    )
    rows = [measure(path, root) for path in files]
    print(json.dumps({"fixtures": str(root), "files": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
