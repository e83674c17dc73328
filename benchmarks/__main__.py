"""``python -m benchmarks [--quick | --tiny] [--out PATH] [--seed N]``: one JSON object.

Measures the matcher (index vs the plain loop), ingest (full pipeline vs feedparser
alone), a re-poll of unchanged sources, delivery against a rate-limited fake chat
server, and the memory of a process holding the subscriptions; then ingest on
PostgreSQL vs SQLite, delivery with three processes vs one, and the event-loop lag
during a big poll (null, with the reason, where no PostgreSQL answers). Everything runs
on 127.0.0.1 with seeded randomness. Progress goes to stderr; the JSON to stdout.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks.output import emit
from benchmarks.scale import run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", help="smaller sizes, under two minutes")
    group.add_argument("--tiny", action="store_true", help="a few seconds (smoke test)")
    parser.add_argument("--out", type=Path, help="also write the JSON to this file")
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args(argv)
    size = "quick" if args.quick else "tiny" if args.tiny else "full"
    result = run(size, args.seed, log=lambda line: print(line, file=sys.stderr, flush=True))
    emit(result, args.out, sort_keys=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
