"""Several bots on one PostgreSQL database (issue #16): ingest, delivery, event-loop lag.

* ``bench_ingest_backends``: the same first poll (the same feeds, subscriptions and
  pipeline as ``scale.bench_ingest``) on a SQLite file and on PostgreSQL, best of a few
  runs each, taken in turn so that a busy moment of the machine hits both alike.
* ``bench_delivery_processes``: three delivery processes sharing one PostgreSQL outbox
  against one process, sending to 60 rate-limited channels of the fake chat server.
* ``bench_loop_lag``: how late a running bot's event loop wakes up while a big poll is
  fetched, parsed, stored, matched and queued.

PostgreSQL comes from ``JOBBOT_BENCH_DATABASE_URL`` or ``JOBBOT_TEST_DATABASE_URL``,
else the local server CI uses; each benchmark works in a database of its own, dropped
afterwards. Without a reachable server the PostgreSQL figures are null, with the reason.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bot.app import JobBot
from bot.config import load_settings
from bot.sources.http import HttpFetcher, now_utc
from bot.store import Store, mask_url
from bot.store.protocols import Store as AnyStore
from subscriptions.model import Filter, Schedule

__all__ = [
    "MULTI_SIZES",
    "MultiSize",
    "bench_delivery_processes",
    "bench_ingest_backends",
    "bench_loop_lag",
    "postgres_database",
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


# ------------------------------------------------------------------ ingest on each backend


def _bot(
    store: AnyStore,
    data_dir: Path,
    database_url: str | None,
    source_urls: list[str],
    filters: list[Filter],
    backfill: int,
) -> JobBot:
    """A bot on ``store`` with the benchmark's subscriptions and one source per feed."""
    from benchmarks.scale import NOW

    overrides: dict[str, Any] = {"allow_private_sources": True, "default_sources": False}
    if database_url:
        overrides["database_url"] = database_url  # polls claimed under a lease, as in #16
    settings = load_settings(
        env={"JOBBOT_DATA_DIR": str(data_dir)}, cwd=data_dir.parent, overrides=overrides
    )
    with store.transaction():
        for filter_ in filters:
            store.add_subscription(
                platform="console",
                workspace="w",
                channel="c",
                filter=filter_,
                schedule=Schedule(),
                created_by="bench",
                now=NOW,
            )
    for url in source_urls:
        # backfill = everything: the first poll alerts, so matching and queueing run too.
        name = url.rsplit("/", 1)[-1]
        store.upsert_source(name, "rss", url, 3600, backfill=backfill, now=NOW)
    return JobBot(settings, store, HttpFetcher(allow_private=True), {}, now_utc)


def _warm_up(body: bytes) -> None:
    """Parse and enrich one feed here: the first use loads the taxonomy and place names,
    which a running bot has long done, and which would otherwise fall on one backend."""
    from benchmarks.scale import NOW
    from bot.postings.enrich import enrich
    from bot.sources.rss import RssSource

    for raw in RssSource().parse(body, "warm-up", "http://127.0.0.1/warm-up"):
        enrich(raw, NOW)


async def _timed_first_poll(bot: JobBot) -> tuple[float, int]:
    """Seconds and postings of the first poll of every source, on a started bot."""
    bot.store.checkpoint_in_background()
    await bot.start_ingest_workers()
    started = time.perf_counter()
    reports = await bot.poll_all()
    elapsed = time.perf_counter() - started
    assert all(r.ok for r in reports), [r.error for r in reports]
    return elapsed, sum(r.seen for r in reports)


async def _ingest_backends(size: MultiSize, seed: int, tmp: Path, url: str) -> dict[str, Any]:
    from benchmarks.scale import FeedSite, make_feed, make_filters

    rng = random.Random(seed)
    feeds = {
        f"/feed/{s}.xml": make_feed(rng, s, size.ingest_per_source)
        for s in range(size.ingest_sources)
    }
    filters = make_filters(random.Random(seed + 1), 1000)
    _warm_up(next(iter(feeds.values())))
    site = FeedSite(feeds)
    await site.start()
    best = {"sqlite": float("inf"), "postgresql": float("inf")}
    stored: dict[str, int] = {}
    try:
        for run in range(size.runs):
            for backend in best:
                store = open_backend(backend, tmp / f"{backend}{run}", url)
                bot = _bot(
                    store,
                    tmp / f"data{run}",
                    url if backend == "postgresql" else None,
                    [site.base_url + path for path in feeds],
                    filters,
                    size.ingest_per_source,
                )
                try:
                    elapsed, seen = await _timed_first_poll(bot)
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


# ------------------------------------------------------------------ delivery processes


def _queue_alerts(url: str, size: MultiSize, seed: int) -> int:
    """An empty outbox database with ``per_channel`` alerts queued for each channel."""
    from benchmarks.scale import NOW, make_postings
    from bot.store.postgres import PostgresStore

    empty_database(url)
    store = PostgresStore.open(url)
    try:
        postings = make_postings(random.Random(seed), size.per_channel, source="delivery")
        stored = store.ingest(postings, NOW, alert=True).new
        with store.transaction():
            subs = [
                store.add_subscription(
                    platform="bench",
                    workspace="w",
                    channel=f"ch{c}",
                    filter=Filter(),
                    schedule=Schedule(),
                    created_by="b",
                    now=NOW,
                )
                for c in range(size.channels)
            ]
        return store.enqueue([(sub, p.id) for p in stored for sub in subs], NOW)
    finally:
        store.close()


@contextmanager
def _chat_server(rate: int) -> Iterator[tuple[str, Callable[[], dict[str, int]], int]]:
    """The fake chat server in a process of its own: its URL, a way to read its counts,
    and its process id."""
    import httpx

    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.chat_server", "--rate", str(rate)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()

        def stats() -> dict[str, int]:
            return dict(httpx.get(f"{base_url}/stats", timeout=10).json())

        yield base_url, stats, server.pid
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stdout is not None:
            server.stdout.close()


def _deliver_with(processes: int, url: str, size: MultiSize) -> dict[str, Any]:
    """Start ``processes`` delivery processes on the queued outbox; time them from the
    moment all are ready (imports and connections are not counted) to the last send."""
    with _chat_server(size.channel_rate) as (chat_url, stats, server_pid):
        server_before = _server_cpu_s(server_pid)
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.delivery_process",
                    url,
                    chat_url,
                    str(size.channel_rate),
                ],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(processes)
        ]
        try:
            for proc in procs:
                assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
            for proc in procs:
                assert proc.stdin is not None
                proc.stdin.write("go\n")
                proc.stdin.flush()
            reports = []
            for proc in procs:
                out, _ = proc.communicate(timeout=600)
                reports.append(json.loads(out.strip().splitlines()[-1]))
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        counts = stats()
        server_after = _server_cpu_s(server_pid)
    server_cpu = (
        round(1000 * (server_after - server_before) / counts["accepted"], 3)
        if server_before is not None and server_after is not None
        else None
    )
    elapsed = max(r["finished"] for r in reports) - min(r["started"] for r in reports)
    return {
        "msgs_per_s": round(counts["accepted"] / elapsed, 1),
        "s": round(elapsed, 3),
        "delivered": counts["accepted"],
        "extra_429s": counts["rejected"],
        "duplicates": counts["duplicates"],
        "sent_per_process": [r["sent"] for r in reports],
        "cpu_ms_per_msg": round(1000 * sum(r["cpu_s"] for r in reports) / counts["accepted"], 3),
        "server_cpu_ms_per_msg": server_cpu,
    }


def _server_cpu_s(pid: int) -> float | None:
    """CPU seconds a process has used so far (Linux), to see where the cores went."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_delivery_processes(size: MultiSize, seed: int) -> dict[str, Any]:
    """Delivery with three processes sharing one PostgreSQL outbox ÷ with one process.

    Each process is the real ``DeliveryWorker`` (claims with ``FOR UPDATE SKIP LOCKED``,
    a lane per channel, each channel paced at its limit) posting with aiohttp to the fake
    chat server, which refuses (429) whatever goes over a channel's limit.

    What the ratio measures depends on where the limit sits. Where the channels' limits
    add up to less than one process can push, one process already sends at the
    platform's ceiling (``delivery_efficiency``: 0.99 of 400 msg/s in one event loop),
    and more processes cannot add anything: the ratio would be about 1 whatever the
    code. So the fake server allows each of the 60 channels ``channel_rate`` messages a
    second, a sum (``delivery_processes_limit_msgs_per_s``) above what one process,
    and what three, can send: one process is then bound by its own CPU (one event loop
    rendering, posting and recording each message; ``cpu_ms_per_msg``), and the ratio
    says how much three event loops add. Each process paces every channel by itself, so
    three processes could together go over a channel's limit; the fake server would
    refuse that, and ``delivery_processes_extra_429s`` counts it.

    On a machine with fewer cores than processes the three compete for the same cores
    (with the fake server and PostgreSQL): ``machine.nproc`` says how many there were.
    """
    skipped = {
        "delivery_one_process_msgs_per_s": None,
        "delivery_three_processes_msgs_per_s": None,
        "delivery_processes_ratio": None,
    }
    with postgres_database("delivery") as (url, reason):
        if url is None:
            return skipped | {"delivery_processes_skipped": reason}
        best: dict[int, dict[str, Any]] = {}
        total = 0
        for _ in range(size.runs):
            for processes in (1, 3):
                total = _queue_alerts(url, size, seed)
                figures = _deliver_with(processes, url, size)
                # Everything went, each message once, and nothing is left in the outbox.
                assert figures["delivered"] == total and figures["duplicates"] == 0, figures
                if processes not in best or figures["msgs_per_s"] > best[processes]["msgs_per_s"]:
                    best[processes] = figures
    one, three = best[1], best[3]
    return {
        "delivery_processes_channels": size.channels,
        "delivery_processes_rate_limit_per_channel": size.channel_rate,
        "delivery_processes_limit_msgs_per_s": size.channels * size.channel_rate,
        "delivery_processes_messages": total,
        "delivery_processes_runs": size.runs,
        "delivery_one_process_msgs_per_s": one["msgs_per_s"],
        "delivery_three_processes_msgs_per_s": three["msgs_per_s"],
        "delivery_processes_ratio": round(three["msgs_per_s"] / one["msgs_per_s"], 3),
        "delivery_processes_sent_per_process": three["sent_per_process"],
        "delivery_processes_cpu_ms_per_msg": {
            "one": one["cpu_ms_per_msg"],
            "three": three["cpu_ms_per_msg"],
        },
        "delivery_processes_server_cpu_ms_per_msg": {
            "one": one["server_cpu_ms_per_msg"],
            "three": three["server_cpu_ms_per_msg"],
        },
        "delivery_processes_extra_429s": {"one": one["extra_429s"], "three": three["extra_429s"]},
        "delivery_processes_duplicates": one["duplicates"] + three["duplicates"],
        "delivery_processes_skipped": None,
    }


# ------------------------------------------------------------------ event-loop lag

# How often the probe wakes: each wake-up's overshoot is how long the loop was busy.
LAG_TICK_S = 0.01


async def _loop_lag(size: MultiSize, seed: int, tmp: Path) -> dict[str, Any]:
    from benchmarks.scale import FeedSite, make_feed, make_filters

    rng = random.Random(seed)
    feeds = {
        f"/lag/{s}.xml": make_feed(rng, s, size.lag_per_source) for s in range(size.lag_sources)
    }
    filters = make_filters(random.Random(seed + 1), 1000)
    _warm_up(next(iter(feeds.values())))
    site = FeedSite(feeds)
    await site.start()
    store = open_backend("sqlite", tmp / "lag", None)
    bot = _bot(
        store,
        tmp / "lag-data",
        None,
        [site.base_url + path for path in feeds],
        filters,
        size.lag_per_source,
    )
    loop = asyncio.get_running_loop()
    lags: list[float] = []
    polling = asyncio.Event()

    async def probe() -> None:
        while True:
            before = loop.time()
            await asyncio.sleep(LAG_TICK_S)
            if polling.is_set():
                lags.append(loop.time() - before - LAG_TICK_S)

    def all_polled() -> bool:
        return all(s.polls or s.last_error for s in store.sources())

    try:
        # The bot as `jobbot run` has it once started: its ingest workers up. Then its
        # scheduler starts every due source's poll at once, as at a start or a busy hour.
        bot.store.checkpoint_in_background()
        await bot.start_ingest_workers()
        stop = asyncio.Event()
        ticking = asyncio.create_task(probe())
        polling.set()
        started = time.perf_counter()
        running = asyncio.create_task(bot.run(stop))
        for _ in range(6000):  # ten minutes at most
            if await asyncio.to_thread(all_polled):
                break
            await asyncio.sleep(0.1)
        else:
            raise TimeoutError("the sources were not all polled in ten minutes")
        poll_s = time.perf_counter() - started
        polling.clear()
        stop.set()
        await running
        ticking.cancel()
        with suppress(asyncio.CancelledError):
            await ticking
        stored = store.counts()["postings"]
    finally:
        await bot.aclose()
        await site.stop()
    ordered = sorted(lags)
    return {
        "loop_lag_postings": size.lag_sources * size.lag_per_source,
        "loop_lag_stored": stored,
        "loop_lag_poll_s": round(poll_s, 3),
        "loop_lag_samples": len(lags),
        "loop_lag_tick_ms": LAG_TICK_S * 1000,
        "loop_lag_max_ms": round(ordered[-1] * 1000, 1),
        "loop_lag_p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))] * 1000, 1),
        "loop_lag_median_ms": round(statistics.median(ordered) * 1000, 1),
    }


def bench_loop_lag(size: MultiSize, seed: int) -> dict[str, Any]:
    """How late a running bot's event loop wakes while a big poll is stored.

    A task sleeps ``LAG_TICK_S`` in a loop and records how much later than asked it
    woke: the longest the loop was held by one piece of work (parsing on the loop,
    matching, a database call made outside a thread). Measured from the bot's start,
    its ingest workers already up, until every source's first poll (backfilled: stored,
    matched and queued, ``lag_sources × lag_per_source`` postings) has been recorded.
    """
    with tempfile.TemporaryDirectory() as tmp:
        return asyncio.run(_loop_lag(size, seed, Path(tmp)))
