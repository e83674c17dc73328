"""Ingest on PostgreSQL ÷ ingest on SQLite (issue #16), in the same run.

The same first poll of a started bot (the same feeds, subscriptions and pipeline as
``scale.bench_ingest``) on a SQLite file and on PostgreSQL, best of a few runs each,
taken in turn so that a busy moment of the machine hits both alike.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.multi import (
    MultiSize,
    bot_on,
    open_backend,
    postgres_database,
    timed_first_poll,
    warm_up,
)
from benchmarks.scale import FeedSite, make_feed, make_filters

__all__ = ["bench_ingest_backends"]


async def _ingest_backends(size: MultiSize, seed: int, tmp: Path, url: str) -> dict[str, Any]:
    rng = random.Random(seed)
    feeds = {
        f"/feed/{s}.xml": make_feed(rng, s, size.ingest_per_source)
        for s in range(size.ingest_sources)
    }
    filters = make_filters(random.Random(seed + 1), 1000)
    warm_up(next(iter(feeds.values())))
    site = FeedSite(feeds)
    await site.start()
    best = {"sqlite": float("inf"), "postgresql": float("inf")}
    stored: dict[str, int] = {}
    try:
        for run in range(size.runs):
            for backend in best:
                store = open_backend(backend, tmp / f"{backend}{run}", url)
                bot = bot_on(
                    store,
                    tmp / f"data{run}",
                    url if backend == "postgresql" else None,
                    [site.base_url + path for path in feeds],
                    filters,
                    size.ingest_per_source,
                )
                try:
                    elapsed, seen = await timed_first_poll(bot)
                    best[backend] = min(best[backend], elapsed)
                    stored[backend] = store.counts()["postings"]
                finally:
                    await bot.aclose()
    finally:
        await site.stop()
    # Both stored every posting: the same work was timed on each.
    assert stored["sqlite"] == stored["postgresql"] == seen, stored
    sqlite_rate, postgres_rate = seen / best["sqlite"], seen / best["postgresql"]
    return {
        "ingest_backends_postings": seen,
        "ingest_backends_runs": size.runs,
        "ingest_sqlite_postings_per_s": round(sqlite_rate, 1),
        "ingest_postgres_postings_per_s": round(postgres_rate, 1),
        "ingest_postgres_ratio": round(postgres_rate / sqlite_rate, 3),
        "ingest_postgres_skipped": None,
    }


def bench_ingest_backends(size: MultiSize, seed: int) -> dict[str, Any]:
    """Ingest (a started bot's first poll, best of ``runs``) on SQLite and on
    PostgreSQL: the same feeds, subscriptions and pipeline; only the store differs."""
    with postgres_database("ingest") as (url, reason), tempfile.TemporaryDirectory() as tmp:
        if url is None:
            return {
                "ingest_sqlite_postings_per_s": None,
                "ingest_postgres_postings_per_s": None,
                "ingest_postgres_ratio": None,
                "ingest_postgres_skipped": reason,
            }
        return asyncio.run(_ingest_backends(size, seed, Path(tmp), url))
