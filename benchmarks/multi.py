"""Several bots on one PostgreSQL database (issue #16): what the benchmarks share.

Three benchmarks use it, each in a module of its own:

* ``benchmarks/ingest_backends.py``: the same first poll (the same feeds, subscriptions
  and pipeline as ``scale.bench_ingest``) on a SQLite file and on PostgreSQL.
* ``benchmarks/delivery_processes.py``: three delivery processes sharing one PostgreSQL
  outbox against one process, sending to 60 rate-limited channels of the fake chat
  server.
* ``benchmarks/loop_lag.py``: how late a running bot's event loop wakes up while a big
  poll is fetched, parsed, stored, matched and queued.

Here: their sizes, a fresh PostgreSQL database for each, and a bot on either store.
PostgreSQL comes from ``JOBBOT_BENCH_DATABASE_URL`` or ``JOBBOT_TEST_DATABASE_URL``,
else the local server CI uses; each benchmark works in a database of its own, dropped
afterwards. Without a reachable server the PostgreSQL figures are null, with the reason.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from benchmarks.scale import NOW, subscribe_console
from bot.app import JobBot
from bot.config import load_settings
from bot.postings.enrich import enrich
from bot.sources.http import HttpFetcher, now_utc
from bot.sources.rss import RssSource
from bot.store import Store, mask_url
from bot.store.protocols import Store as AnyStore
from subscriptions.model import Filter

__all__ = [
    "MULTI_SIZES",
    "MultiSize",
    "bot_on",
    "empty_database",
    "open_backend",
    "postgres_database",
    "timed_first_poll",
    "warm_up",
]

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"


@dataclass(frozen=True)
class MultiSize:
    """How big the multi-process benchmarks run."""

    ingest_sources: int
    ingest_per_source: int
    runs: int  # each figure is the best of this many runs (both sides alike)
    channels: int
    channel_rate: int  # messages per second per channel the fake chat server allows
    per_channel: int  # messages queued for each channel
    lag_sources: int  # the big poll: lag_sources feeds of lag_per_source postings
    lag_per_source: int


MULTI_SIZES = {
    "full": MultiSize(50, 200, 3, 60, 50, 100, 50, 200),
    "quick": MultiSize(20, 100, 2, 60, 50, 40, 20, 100),
    "tiny": MultiSize(3, 10, 1, 6, 50, 5, 3, 10),
}


# ------------------------------------------------------------------ PostgreSQL


def postgres_base_url() -> str:
    """The server the benchmarks create their databases on."""
    return (
        os.environ.get("JOBBOT_BENCH_DATABASE_URL")
        or os.environ.get("JOBBOT_TEST_DATABASE_URL")
        or DEFAULT_DATABASE_URL
    )


@contextmanager
def postgres_database(prefix: str) -> Iterator[tuple[str | None, str | None]]:
    """``(url, None)`` of a new, empty database, dropped afterwards; or ``(None, reason)``
    when no PostgreSQL server answers."""
    base = postgres_base_url()
    try:
        import psycopg
    except ImportError as error:  # a dependency, but a benchmark should say, not crash
        yield None, f"psycopg is not installed: {error}"
        return
    name = f"jobbot_bench_{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(base, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'create database "{name}"')
    except psycopg.Error as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        yield None, f"no PostgreSQL at {mask_url(base)}: {reason}"
        return
    try:
        yield urlunsplit(urlsplit(base)._replace(path=f"/{name}")), None
    finally:
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f'drop database if exists "{name}" with (force)')


def empty_database(url: str) -> None:
    """Drop every table: the next store opened on ``url`` starts afresh."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("drop schema public cascade; create schema public")


def open_backend(backend: str, directory: Path, url: str | None) -> AnyStore:
    """A fresh store: a SQLite file in ``directory``, or the emptied database ``url``."""
    if backend == "sqlite":
        directory.mkdir(parents=True, exist_ok=True)
        return Store.open(directory / "jobbot.db")
    assert url is not None
    from bot.store.postgres import PostgresStore

    empty_database(url)
    return PostgresStore.open(url)


# ------------------------------------------------------------------ a bot on either store


def bot_on(
    store: AnyStore,
    data_dir: Path,
    database_url: str | None,
    source_urls: list[str],
    filters: list[Filter],
    backfill: int,
) -> JobBot:
    """A bot on ``store`` with the benchmark's subscriptions and one source per feed."""
    overrides: dict[str, Any] = {"allow_private_sources": True, "default_sources": False}
    if database_url:
        overrides["database_url"] = database_url  # polls claimed under a lease, as in #16
    settings = load_settings(
        env={"JOBBOT_DATA_DIR": str(data_dir)}, cwd=data_dir.parent, overrides=overrides
    )
    subscribe_console(store, filters)
    for url in source_urls:
        # backfill = everything: the first poll alerts, so matching and queueing run too.
        name = url.rsplit("/", 1)[-1]
        store.upsert_source(name, "rss", url, 3600, backfill=backfill, now=NOW)
    return JobBot(settings, store, HttpFetcher(allow_private=True), {}, now_utc)


def warm_up(body: bytes) -> None:
    """Parse and enrich one feed here: the first use loads the taxonomy and place names,
    which a running bot has long done, and which would otherwise fall on one backend."""
    for raw in RssSource().parse(body, "warm-up", "http://127.0.0.1/warm-up"):
        enrich(raw, NOW)


async def timed_first_poll(bot: JobBot) -> tuple[float, int]:
    """Seconds and postings of the first poll of every source, on a started bot."""
    bot.store.checkpoint_in_background()
    await bot.start_ingest_workers()
    started = time.perf_counter()
    reports = await bot.poll_all()
    elapsed = time.perf_counter() - started
    assert all(r.ok for r in reports), [r.error for r in reports]
    return elapsed, sum(r.seen for r in reports)
