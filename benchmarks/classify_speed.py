"""Throughput of `jobbot classify` on one core (JSON on stdout).

    python -m benchmarks.classify_speed [--repeat N] [--out PATH]

Every file under /work/shared/fixtures/real (../shared from the repo) that a source kind
or the page reader understands is classified with ``bot.classify.classify_document``,
the code behind `jobbot classify`, ``--repeat`` times; parsing is included. The
gazetteer and taxonomy are loaded once before timing (a running bot loads them once).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.output import emit
from bot.classify import classify_document
from bot.postings.gazetteer import load_gazetteer
from bot.postings.taxonomy import load_taxonomy

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT.parent / "shared" / "fixtures" / "real"
SUFFIXES = {".json", ".rss", ".xml", ".md", ".html", ".rst", ".atom"}


def _documents(fixtures: Path) -> list[tuple[str, bytes]]:
    return [
        (str(path.relative_to(fixtures)), path.read_bytes())
        for path in sorted(fixtures.rglob("*"))
        if path.is_file() and path.suffix in SUFFIXES
    ]


def measure(fixtures: Path = FIXTURES, repeat: int = 3) -> dict[str, object]:
    """Postings per second over the fixtures, best of ``repeat`` runs."""
    load_gazetteer()
    load_taxonomy()
    documents = _documents(fixtures)
    fetched = datetime.now(UTC)
    best = float("inf")
    postings = 0
    skipped: list[str] = []
    for _ in range(repeat):
        count = 0
        started = time.perf_counter()
        for name, body in documents:
            try:
                count += len(classify_document(body, name, fetched))
            except Exception:  # a file no parser reads is left out of the count
                if name not in skipped:
                    skipped.append(name)
        best = min(best, time.perf_counter() - started)
        postings = count
    return {
        "postings": postings,
        "documents": len(documents) - len(skipped),
        "seconds": round(best, 3),
        "postings_per_second": round(postings / best, 1) if best else None,
        "repeat": repeat,
        "skipped_files": skipped,
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs "
        f"({platform.processor() or 'unknown CPU'}), one core used",
    }


def main(argv: list[str] | None = None) -> int:
    """Print the measurement as JSON (and write it to --out when given)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--fixtures", type=Path, default=FIXTURES)
    args = parser.parse_args(argv)
    if not args.fixtures.is_dir():
        print(f"fixtures not found: {args.fixtures}", file=sys.stderr)
        return 2
    emit(measure(args.fixtures, args.repeat), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
