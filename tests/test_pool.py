"""Parsing and enrichment in worker processes (issue #8) give exactly what one process gives."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.app import JobBot, build
from bot.config import Settings, load_settings
from bot.errors import ConfigError, ParseError
from bot.pool import EnrichPool, usable_cores
from bot.sources.base import SourceSpec, kind_for
from bot.sources.rss import RssSource
from subscriptions.model import Filter, Schedule
from tests.conftest import DATA, NOW, FeedServer

pytestmark = pytest.mark.integration

SPEC = SourceSpec("board", "rss", "https://jobs.test.example/feed")


def _big_feed(items: int) -> bytes:
    """A feed with varied postings: degrees, places, pay, remote, areas."""
    degrees = [
        "Currently enrolled in a PhD program.",
        "Pursuing a Master's or PhD degree.",
        "Open to undergraduates and graduate students.",
        "A bachelor's degree in a related field.",
        "",
    ]
    places = ["Aachen, Germany", "Seattle, WA", "Remote", "Sydney, NSW, Australia", "Paris"]
    topics = ["speech recognition", "recommender systems", "computer vision", "robotics", "LLMs"]
    entries = []
    for i in range(items):
        entries.append(
            f"<item><title>Research Intern, {topics[i % 5]} #{i}</title>"
            f"<link>https://jobs.test.example/{i}</link><guid>g-{i}</guid>"
            f"<pubDate>Mon, 16 Nov 2026 09:00:00 +0000</pubDate>"
            f"<description><![CDATA[<p>Location: {places[i % 5]}</p>"
            f"<p>Work on {topics[(i + 1) % 5]}. {degrees[i % 5]} Pay: ${20 + i}/hr for "
            f"{1 + i % 6} months.</p>]]></description></item>"
        )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        + "".join(entries)
        + "</channel></rss>"
    ).encode()


async def test_workers_parse_and_enrich_a_feed_exactly_as_one_process_does() -> None:
    pool = EnrichPool(2, min_bytes=0)
    try:
        for body in (_big_feed(60), (DATA / "feed_v1.rss").read_bytes()):
            here = await EnrichPool(1).parse_and_enrich(RssSource(), body, SPEC, NOW)
            there = await pool.parse_and_enrich(RssSource(), body, SPEC, NOW)
            assert there == here and len(here) > 1
    finally:
        pool.close()


async def test_workers_enrich_records_another_kind_parsed_exactly_as_one_process_does() -> None:
    body = (DATA / "sources" / "greenhouse.json").read_bytes()
    records = kind_for("greenhouse").parse(body, "gh", "https://boards.example/gh")
    spec = SourceSpec("gh", "greenhouse", "acme")
    pool = EnrichPool(2, min_records=0)
    try:
        assert await pool.enrich(records, spec, NOW) == await EnrichPool(1).enrich(
            records, spec, NOW
        )
    finally:
        pool.close()


async def test_a_body_that_is_no_feed_fails_in_a_worker_as_it_does_here() -> None:
    pool = EnrichPool(2, min_bytes=0)
    try:
        with pytest.raises(ParseError) as here:
            await EnrichPool(1).parse_and_enrich(RssSource(), b"<html>no feed</html>", SPEC, NOW)
        with pytest.raises(ParseError) as there:
            await pool.parse_and_enrich(RssSource(), b"<html>no feed</html>", SPEC, NOW)
        assert there.value.problem == here.value.problem
        assert there.value.source == "board"
    finally:
        pool.close()


def test_small_bodies_stay_in_this_process_and_close_stops_the_workers() -> None:
    pool = EnrichPool(2)
    assert pool.parallel and pool.workers == 2
    assert not EnrichPool(1).parallel
    assert pool._executor is None  # nothing started until a big body comes, or start()
    pool.start()
    executor = pool._executor
    assert executor is not None
    processes = list(executor._processes.values())
    assert len(processes) == 2  # all started at once
    pool.close()
    assert pool._executor is None
    assert all(not process.is_alive() for process in processes)
    pool.close()  # twice is harmless
    # A poll still starting processes in its thread when the pool closed starts none.
    with pytest.raises(RuntimeError, match="closed"):
        pool.start()
    assert pool._executor is None


def _postings_table(bot: JobBot) -> list[dict[str, Any]]:
    return [dict(row) for row in bot.store.db.query("select * from postings order by id")]


async def _poll_everything(settings: Settings, feed_server: FeedServer, workers: int) -> Any:
    bot = build(replace(settings, ingest_workers=workers), clock=lambda: NOW)
    if workers > 1:
        bot.poller.pool = EnrichPool(workers, min_bytes=0)  # even small bodies go to workers
    try:
        for filter_ in (Filter(internship="any"), Filter(countries=frozenset({"DE"}))):
            bot.store.add_subscription(
                platform="console",
                workspace="w",
                channel="c",
                filter=filter_,
                schedule=Schedule(),
                created_by="t",
                now=NOW,
            )
        paths = ["/a.rss", "/b.rss", "/c.rss", "/d.rss", "/missing.rss"]
        for path in paths:
            bot.store.upsert_source(
                path.strip("/"), "rss", feed_server.url(path), 600, backfill=100, now=NOW
            )
        reports = await bot.poll_all()
        return reports, _postings_table(bot), bot.store.delivery_statuses()
    finally:
        await bot.aclose()
        assert bot.poller.pool._executor is None


async def test_polling_with_workers_stores_and_queues_what_one_process_does(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    # Sources share postings (b repeats a; d repeats part of c): which copy is the
    # duplicate depends on the order of storing, which must not depend on the workers.
    big = _big_feed(40)
    feed_server.serve("/a.rss", (DATA / "feed_v1.rss").read_bytes())
    feed_server.serve("/b.rss", (DATA / "feed_v2.rss").read_bytes())
    feed_server.serve("/c.rss", big)
    feed_server.serve("/d.rss", _big_feed(10))
    results = []
    for workers in (1, 2):
        settings = load_settings(
            env={"JOBBOT_DATA_DIR": str(tmp_path / f"w{workers}")},
            cwd=tmp_path,
            overrides={"allow_private_sources": True, "default_sources": False},
        )
        results.append(await _poll_everything(settings, feed_server, workers))
    (one_reports, one_rows, one_queue), (two_reports, two_rows, two_queue) = results
    assert two_reports == one_reports
    assert [r.ok for r in one_reports] == [True, True, True, True, False]
    assert two_rows == one_rows and len(one_rows) > 50
    assert any(row["duplicate_of"] for row in one_rows)
    assert two_queue == one_queue and one_queue


def test_ingest_workers_setting(tmp_path: Path) -> None:
    def load(**overrides: object) -> Settings:
        return load_settings(
            env={"JOBBOT_DATA_DIR": str(tmp_path)}, cwd=tmp_path, overrides=overrides
        )

    assert load().ingest_workers == 0  # one per usable core
    assert load(ingest_workers=1).ingest_workers == 1
    with pytest.raises(ConfigError, match="ingest_workers"):
        load(ingest_workers=-1)
    assert usable_cores() >= 1


BOT_THAT_DIES = """
import asyncio, os, sys, time
from bot.pool import EnrichPool
pool = EnrichPool(2)
executor = pool._start()
executor.submit(os.getpid).result()
print(" ".join(str(p) for p in executor._processes), flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
def test_workers_leave_when_the_bot_is_killed_without_closing_them() -> None:
    bot = subprocess.Popen(
        [sys.executable, "-c", BOT_THAT_DIES],
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert bot.stdout is not None
        workers = [int(pid) for pid in bot.stdout.readline().split()]
        assert workers  # started on demand: one for the one job
    finally:
        bot.kill()
        bot.wait()
        if bot.stdout is not None:
            bot.stdout.close()
    deadline = time.monotonic() + 30  # generous: the watch looks once a second
    while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A worker that exited stays a zombie until the fork server reaps it.
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "zombie" in status.read_text())


async def test_ready_starts_every_worker_warm_and_once() -> None:
    pool = EnrichPool(2)
    try:
        await pool.ready()
        executor = pool._executor
        assert executor is not None
        assert all(job.done() for job in pool._warming) and len(pool._warming) == 2
        processes = list(executor._processes.values())
        assert len(processes) == 2 and all(p.is_alive() for p in processes)
        await pool.ready()  # already started: the same processes
        assert pool._executor is executor
        postings = await pool.parse_and_enrich(RssSource(), _big_feed(60), SPEC, NOW)
        assert len(postings) == 60
    finally:
        pool.close()
    assert pool._executor is None
    await EnrichPool(1).ready()  # one process: nothing to start


async def _run_briefly(bot: JobBot, until: Any) -> None:
    stop = asyncio.Event()
    running = asyncio.create_task(bot.run(stop))
    try:
        for _ in range(200):
            if until():
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(running, 20)


async def test_run_starts_the_workers_when_the_bot_starts(
    settings: Settings, feed_server: FeedServer
) -> None:
    feed_server.serve("/a.rss", (DATA / "feed_v1.rss").read_bytes())  # small: no offload
    bot = build(replace(settings, ingest_workers=2), clock=lambda: NOW)
    try:
        bot.store.upsert_source("a", "rss", feed_server.url("/a.rss"), 600, now=NOW)
        pool = bot.poller.pool
        await _run_briefly(bot, lambda: pool._warming and all(job.done() for job in pool._warming))
        assert pool._executor is not None  # started with the bot, not at a big body
        assert bot.store._checkpointer is not None  # and WAL checkpoints in a thread
        assert all(job.done() and not job.cancelled() for job in pool._warming)
    finally:
        await bot.aclose()
    assert bot.poller.pool._executor is None


async def test_no_workers_without_an_enabled_source_or_for_a_one_off_poll(
    settings: Settings, feed_server: FeedServer
) -> None:
    feed_server.serve("/a.rss", (DATA / "feed_v1.rss").read_bytes())
    bot = build(replace(settings, ingest_workers=2), clock=lambda: NOW)
    try:
        bot.store.upsert_source("a", "rss", feed_server.url("/a.rss"), 600, now=NOW)
        # `poll --once`: small feeds are parsed here and no process starts.
        [report] = await bot.poll_all()
        assert report.ok and report.new == 0 and report.seen > 0
        assert bot.poller.pool._executor is None
        assert bot.store.remove_source("a")
        await bot.start_ingest_workers()  # no source: nothing to start
        assert bot.poller.pool._executor is None
    finally:
        await bot.aclose()
