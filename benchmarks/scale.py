"""Scale benchmarks (issue #8): matcher, ingest, re-poll, delivery and memory; and
(issue #16, in ``benchmarks/multi.py``) ingest on PostgreSQL, delivery with three
processes, and the event-loop lag during a big poll.

Each figure is measured in the same run against its own baseline, with seeded
randomness, on 127.0.0.1 only. ``run(size)`` returns one flat dict; ``__main__``
prints it as JSON. Sizes: ``full`` (the published figures), ``quick`` (under two
minutes) and ``tiny`` (seconds; used by the test suite to check every key is there).
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path
from typing import Any

import aiohttp
import feedparser
import httpx
from aiohttp import web

from bot.app import JobBot
from bot.chat.delivery import DeliveryWorker
from bot.chat.pacing import ChannelPacer
from bot.chat.render import plain_alert
from bot.config import load_settings
from bot.errors import PermanentChatError, TransientChatError
from bot.pool import EnrichPool
from bot.postings.enrich import enrich
from bot.postings.model import Posting
from bot.postings.taxonomy import load_taxonomy
from bot.sources.http import HttpFetcher, now_utc, parse_retry_after
from bot.sources.rss import RssSource
from bot.store import Store, StoredPosting
from subscriptions.matcher import SubscriptionIndex, matches
from subscriptions.model import Filter, Schedule, Subscription

__all__ = ["SIZES", "Size", "run"]

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


@dataclass(frozen=True)
class Size:
    """How big each benchmark runs."""

    subscriptions: int
    postings: int
    naive_sample: int  # postings the naive loop is timed on (it costs subs × postings)
    sources: int
    per_source: int
    channels: int
    channel_rate: int  # messages per second per channel the fake chat server allows
    per_channel: int  # messages sent to each channel
    rss_subscriptions: int
    rss_postings: int


SIZES = {
    "full": Size(100_000, 10_000, 200, 50, 200, 20, 20, 120, 100_000, 100_000),
    "quick": Size(20_000, 2_000, 100, 20, 100, 20, 20, 60, 20_000, 20_000),
    "tiny": Size(300, 40, 10, 3, 10, 3, 20, 8, 300, 300),
}

# ------------------------------------------------------------------ synthetic data

COUNTRIES = (
    ["US"] * 8
    + ["GB", "DE", "CA", "FR", "CH", "NL", "IN", "AU", "SG", "JP", "CN"] * 2
    + [
        "SE",
        "DK",
        "ES",
        "IT",
        "IL",
        "KR",
        "BR",
        "PL",
        "AT",
        "BE",
        "IE",
        "FI",
        "NO",
        "PT",
        "CZ",
    ]
)
PLACES = {
    "US": "Seattle, WA",
    "GB": "London, United Kingdom",
    "DE": "Berlin, Germany",
    "CA": "Toronto, Canada",
    "FR": "Paris, France",
    "CH": "Zurich, Switzerland",
    "NL": "Amsterdam, Netherlands",
    "IN": "Bangalore, India",
    "AU": "Sydney, Australia",
    "SG": "Singapore",
    "JP": "Tokyo, Japan",
}
COMPANIES = [
    f"{a} {b}"
    for a in (
        "Acme",
        "Nimbus",
        "Vertex",
        "Helix",
        "Quanta",
        "Orbit",
        "Lumen",
        "Cobalt",
        "Aster",
        "Pioneer",
    )
    for b in ("Labs", "AI", "Research", "Systems", "Robotics", "Analytics", "Data", "Bio")
]
WORDS = (
    "model data research team build scale evaluate experiment product users paper "
    "publish collaborate mentor summer program student graduate novel method system "
    "pipeline python distributed inference dataset annotation learn design deliver "
    "impact customer science engineer work across partner growth quality measure"
).split()
KEYWORDS = [
    "applied science",
    "pytorch",
    "speech recognition",
    "ranking",
    "graph",
    "phd",
    "reinforcement",
    "forecasting",
    "multilingual",
    "causal",
    "fraud detection",
    "large language",
    "retrieval",
    "robot",
    "distributed training",
    "benchmark",
]
ROLES = {
    "ml": "Machine Learning",
    "nlp": "Natural Language Processing",
    "llm": "Large Language Models",
    "speech": "Speech Recognition",
    "cv": "Computer Vision",
    "recsys": "Recommender Systems",
    "ir": "Search and Ranking",
    "graph-ml": "Graph Neural Networks",
    "rl": "Reinforcement Learning",
    "time-series": "Forecasting",
    "robotics": "Robotics",
    "optimization": "Operations Research",
    "causal-inference": "Causal Inference",
    "fraud-abuse": "Fraud Detection",
    "data-science": "Data Science",
    "deep-learning": "Deep Learning",
    "multimodal": "Multimodal Learning",
    "knowledge-graphs": "Knowledge Graphs",
}
DEGREE_TEXT = {
    "phd-only": "Currently enrolled in a PhD program.",
    "phd-or-masters": "Enrolled in a PhD or Master's degree.",
    "any": "Open to students at any level.",
    "unknown": "",
}


def make_postings(rng: random.Random, count: int, *, source: str = "bench") -> list[Posting]:
    """Enriched postings as the pipeline would produce them (areas, countries, degree…)."""
    slugs = load_taxonomy().slugs
    postings = []
    for i in range(count):
        areas = tuple(sorted(set(rng.sample(slugs, rng.choice((1, 1, 2))))))
        countries = tuple(sorted({rng.choice(COUNTRIES) for _ in range(rng.choice((1, 1, 2)))}))
        degree = rng.choice(("phd-only", "phd-or-masters", "any", "unknown"))
        words = " ".join(rng.choice(WORDS) for _ in range(60))
        if rng.random() < 0.3:
            words += " " + rng.choice(KEYWORDS)
        postings.append(
            Posting(
                source=source,
                external_id=str(i),
                url=f"https://jobs.example/{source}/{i}",
                title=f"{2026 + i % 2} Research Intern - {ROLES[areas[0]]} #{i}",
                company=rng.choice(COMPANIES),
                countries=countries,
                remote=rng.random() < 0.1,
                areas=areas,
                degree=degree,  # type: ignore[arg-type]
                is_internship=rng.random() < 0.85,
                posted_at=NOW - timedelta(hours=i % 500),
                description=f"{words}. {DEGREE_TEXT[degree]}",
            )
        )
    return postings


def make_filters(rng: random.Random, count: int) -> list[Filter]:
    """A mix like a busy community's: most channels name one or two areas and a country or
    two (often a degree too); some follow keywords or a company; a few take everything.

    On the generated postings about 1% of subscriptions match each posting (reported as
    ``matcher_mean_matches_per_posting``): the index's gain shrinks as that share grows,
    since every real match must be confirmed and returned.
    """
    slugs = load_taxonomy().slugs
    filters = []
    for _ in range(count):
        roll = rng.random()
        areas = frozenset(rng.sample(slugs, rng.choice((1, 1, 1, 2))))
        countries = frozenset(rng.sample(COUNTRIES, rng.choice((1, 1, 2))))
        if roll < 0.0005:
            filters.append(Filter())
        elif roll < 0.05:
            filters.append(Filter(keywords=tuple(rng.sample(KEYWORDS, rng.choice((1, 2))))))
        elif roll < 0.10:
            filters.append(Filter(companies=(rng.choice(COMPANIES).lower(),)))
        elif roll < 0.15:
            filters.append(Filter(areas=areas, degrees=frozenset({"phd-only"})))
        else:
            degrees = frozenset({rng.choice(("phd", "masters", "phd-only", "phd-or-masters"))})
            filters.append(
                Filter(
                    areas=areas,
                    countries=countries,
                    degrees=degrees if rng.random() < 0.6 else frozenset(),
                    exclude=("senior",) if rng.random() < 0.2 else (),
                    internship=rng.choice(("yes", "yes", "yes", "any")),
                )
            )
    return filters


def _sub(sub_id: int, filter_: Filter, channel: str | None = None) -> Subscription:
    return Subscription(sub_id, "bench", "w", channel or f"c{sub_id}", filter_)


# ------------------------------------------------------------------ matcher


def bench_matcher(size: Size, seed: int) -> dict[str, Any]:
    """Naive loop vs index on the same subscriptions and postings; identical matches."""
    rng = random.Random(seed)
    subs = [_sub(i + 1, f) for i, f in enumerate(make_filters(rng, size.subscriptions))]
    postings = make_postings(rng, size.postings)
    started = time.perf_counter()
    index = SubscriptionIndex(subs)
    build_s = time.perf_counter() - started

    started = time.perf_counter()
    indexed = [[s.id for s in index.match(p)] for p in postings]
    indexed_s = time.perf_counter() - started

    sample = postings[: size.naive_sample]
    started = time.perf_counter()
    naive = [[s.id for s in subs if not s.paused and matches(s.filter, p)] for p in sample]
    naive_s = time.perf_counter() - started

    per_indexed = indexed_s / len(postings)
    per_naive = naive_s / len(sample)
    return {
        "matcher_subscriptions": len(subs),
        "matcher_postings": len(postings),
        "matcher_naive_postings_timed": len(sample),
        "matcher_index_build_s": round(build_s, 3),
        "matcher_indexed_s": round(indexed_s, 3),
        "matcher_indexed_ms_per_posting": round(per_indexed * 1000, 4),
        "matcher_naive_ms_per_posting": round(per_naive * 1000, 3),
        # The naive loop costs subscriptions × postings; it is timed on a sample and the
        # speedup compares time per posting at the same subscription count.
        "matcher_naive_s_extrapolated": round(per_naive * len(postings), 1),
        "matcher_speedup": round(per_naive / per_indexed, 1),
        "matcher_identical": naive == indexed[: len(sample)],
        "matcher_mean_matches_per_posting": round(sum(map(len, indexed)) / len(indexed), 1),
        "matcher_plans": index.plans(),
    }


# ------------------------------------------------------------------ ingest and re-poll


def make_feed(rng: random.Random, source: int, count: int) -> bytes:
    """One RSS feed of internship postings, like a job board's."""
    items = []
    slugs = list(ROLES)
    for i in range(count):
        area = rng.choice(slugs)
        country = rng.choice(list(PLACES))
        degree = rng.choice(list(DEGREE_TEXT))
        words = " ".join(rng.choice(WORDS) for _ in range(80))
        if rng.random() < 0.3:
            words += " " + rng.choice(KEYWORDS)
        published = format_datetime(NOW - timedelta(hours=i))
        body = escape(
            f"<p>Join our team as a research intern working on {ROLES[area]}.</p>"
            f"<ul><li>{words}</li><li>{DEGREE_TEXT[degree]}</li></ul>"
            f"<p>Location: {PLACES[country]}</p>"
        )
        items.append(
            f"<item><title>{2026 + i % 2} Research Intern, {ROLES[area]} ({source}-{i}) - "
            f"{PLACES[country]}</title>"
            f"<link>https://jobs.example/s{source}/{i}</link><guid>s{source}-{i}</guid>"
            f"<author>{escape(rng.choice(COMPANIES))}</author><pubDate>{published}</pubDate>"
            f"<description>{body}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Board {source}</title><link>https://jobs.example/s{source}</link>"
        f"<description>jobs</description>{''.join(items)}</channel></rss>"
    ).encode()


class FeedSite:
    """Serves generated feeds on 127.0.0.1 with ETags; counts requests and 304s."""

    def __init__(self, feeds: dict[str, bytes]) -> None:
        self.feeds = feeds
        self.etags = {path: f'"{hash(body) & 0xFFFFFFFF:x}"' for path, body in feeds.items()}
        self.requests = 0
        self.not_modified = 0
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        etag = self.etags[request.path]
        if request.headers.get("If-None-Match") == etag:
            self.not_modified += 1
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(
            body=self.feeds[request.path],
            content_type="application/rss+xml",
            headers={"ETag": etag},
        )

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@contextmanager
def count_parse_calls() -> Any:
    """Count the feed bodies parsed (benchmark instrumentation, not production).

    A body the poller hands to ``EnrichPool.parse_and_enrich`` counts once, whether it is
    parsed here or in a worker process (where a patch of this process cannot see it); any
    other call of the RSS kind's parse counts too.
    """
    original_parse = RssSource.parse
    original_pool = EnrichPool.parse_and_enrich
    calls = [0]
    inside = [0]

    def counted(self: RssSource, body: bytes, source: str, url: str) -> Any:
        if not inside[0]:
            calls[0] += 1
        return original_parse(self, body, source, url)

    async def counted_pool(self: EnrichPool, kind: Any, body: bytes, spec: Any, now: Any) -> Any:
        calls[0] += 1
        inside[0] += 1
        try:
            return await original_pool(self, kind, body, spec, now)
        finally:
            inside[0] -= 1

    RssSource.parse = counted  # type: ignore[method-assign]
    EnrichPool.parse_and_enrich = counted_pool  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        RssSource.parse = original_parse  # type: ignore[method-assign]
        EnrichPool.parse_and_enrich = original_pool  # type: ignore[method-assign]


# Both sides of ingest_ratio are the best of this many runs: on a shared machine one run
# of either moves by a tenth, and the best is the least disturbed.
INGEST_RUNS = 3


async def _bench_ingest(size: Size, seed: int, tmp: Path) -> dict[str, Any]:
    rng = random.Random(seed)
    feeds = {f"/feed/{s}.xml": make_feed(rng, s, size.per_source) for s in range(size.sources)}
    total = size.sources * size.per_source

    # Baseline: feedparser alone on the same bodies, with the options the bot uses.
    bare_s = float("inf")
    for _ in range(INGEST_RUNS):
        started = time.perf_counter()
        parsed = 0
        for body in feeds.values():
            parsed += len(
                feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False).entries
            )
        bare_s = min(bare_s, time.perf_counter() - started)
        assert parsed == total

    site = FeedSite(feeds)
    await site.start()
    filters = make_filters(random.Random(seed + 1), 1000)
    try:
        # The published figure: the bot as configured by default (ingest_workers = one
        # process per usable core), each run on a fresh store. Then the same first poll
        # with everything in one process.
        full_runs: list[float] = []
        for run in range(INGEST_RUNS):
            bot, store = _ingest_bot(site, feeds, filters, size, tmp / f"ingest{run}", {})
            try:
                # A running bot (`jobbot run`) starts its worker processes and its
                # checkpoint thread when it starts, not in its first poll: what is timed is
                # a poll of a started bot.
                bot.store.checkpoint_in_background()
                await bot.start_ingest_workers()
                with count_parse_calls() as calls:
                    started = time.perf_counter()
                    reports = await bot.poll_all()
                    full_runs.append(time.perf_counter() - started)
                    first_parses = calls[0]
                    seen = sum(r.seen for r in reports)
                    queued = sum(r.queued for r in reports)
                    before = site.requests
                    started = time.perf_counter()
                    again = await bot.poll_all()
                    repoll_s = time.perf_counter() - started
                    repoll_parses = calls[0] - first_parses
                assert all(r.ok for r in reports + again), [r.error for r in reports + again]
                stored = store.counts()["postings"]
                workers = bot.poller.pool.workers
                repoll_requests = site.requests - before
            finally:
                await bot.aclose()
        full_s = min(full_runs)
        one, one_store = _ingest_bot(site, feeds, filters, size, tmp / "one", {"ingest_workers": 1})
        try:
            started = time.perf_counter()
            one_reports = await one.poll_all()
            one_s = time.perf_counter() - started
            assert all(r.ok for r in one_reports), [r.error for r in one_reports]
            assert one_store.counts()["postings"] == stored
        finally:
            await one.aclose()
    finally:
        await site.stop()
    stages = _ingest_stages(feeds, filters, tmp)
    return {
        "ingest_subscriptions": len(filters),
        "ingest_stage_s": stages,
        "ingest_sources": size.sources,
        "ingest_postings": total,
        "ingest_stored": stored,
        "ingest_alerts_queued": queued,
        "ingest_bare_parse_postings_per_s": round(parsed / bare_s, 1),
        "ingest_postings_per_s": round(seen / full_s, 1),
        "ingest_postings_per_s_runs": [round(seen / t, 1) for t in full_runs],
        "ingest_runs": INGEST_RUNS,
        "ingest_ratio": round((seen / full_s) / (parsed / bare_s), 3),
        "ingest_workers": workers,
        "ingest_one_process_postings_per_s": round(seen / one_s, 1),
        "ingest_first_poll_parse_calls": first_parses,
        "repoll_requests_per_source": repoll_requests / size.sources,
        "repoll_not_modified": sum(r.not_modified for r in again),
        "repoll_parse_calls": repoll_parses,
        "repoll_s": round(repoll_s, 3),
    }


def _ingest_bot(
    site: FeedSite,
    feeds: dict[str, bytes],
    filters: list[Filter],
    size: Size,
    data_dir: Path,
    overrides: dict[str, Any],
) -> tuple[JobBot, Store]:
    """A bot on a fresh store with the benchmark's subscriptions and one source per feed."""
    settings = load_settings(
        env={"JOBBOT_DATA_DIR": str(data_dir)},
        cwd=data_dir.parent,
        overrides={"allow_private_sources": True, "default_sources": False} | overrides,
    )
    store = Store.open(settings.database_path)
    subscribe_console(store, filters)
    for path in feeds:
        # backfill = everything: the first poll alerts, so matching and queueing run too.
        store.upsert_source(
            path.rsplit("/", 1)[-1],
            "rss",
            site.base_url + path,
            3600,
            backfill=size.per_source,
            now=NOW,
        )
    return JobBot(settings, store, HttpFetcher(allow_private=True), {}, now_utc), store


def _ingest_stages(feeds: dict[str, bytes], filters: list[Filter], tmp: Path) -> dict[str, float]:
    """Where the pipeline's time goes: each stage timed alone on the same feeds."""
    times: dict[str, float] = {}

    def timed(name: str, work: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        value = work()
        times[name] = round(time.perf_counter() - started, 3)
        return value

    kind = RssSource()
    raws = timed(
        "parse",
        lambda: [r for path, body in feeds.items() for r in kind.parse(body, path, path)],
    )
    postings = timed("enrich", lambda: [enrich(r, NOW) for r in raws])
    store = Store.open(tmp / "stages.db")
    new = timed("store", lambda: store.ingest(postings, NOW, alert=True).new)
    subs = [_sub(i + 1, f) for i, f in enumerate(filters)]
    index = SubscriptionIndex(subs)
    pairs = timed("match", lambda: [(s, n.id) for n in new for s in index.match(n.posting)])
    with store.db.atomic():
        for sub in subs:
            store.add_subscription(
                platform="console",
                workspace="w",
                channel="c",
                filter=sub.filter,
                schedule=Schedule(),
                created_by="b",
                now=NOW,
            )
    timed("enqueue", lambda: store.enqueue(pairs, NOW))
    store.close()
    return times


def bench_ingest(size: Size, seed: int) -> dict[str, Any]:
    """Full pipeline (JobBot.poll_all, real Store file) vs feedparser alone; then a re-poll.

    The bot is timed as `jobbot run` has it once started: its ingest worker processes
    already up (``JobBot.start_ingest_workers``, called when the bot starts), so their
    start-up (about a second, once per bot) is not counted in the poll, and its WAL
    checkpoints done by a thread beside the writer (``Store.checkpoint_in_background``).
    The one-process figure needs no workers (and keeps SQLite's own checkpoints).
    """
    with tempfile.TemporaryDirectory() as tmp:
        return asyncio.run(_bench_ingest(size, seed, Path(tmp)))


# ------------------------------------------------------------------ delivery


class HttpChatAdapter:
    """A ChatAdapter that posts over HTTP to the fake chat server, as Slack/Discord would.

    ``client`` is "aiohttp" (what slack_sdk's async client and discord.py post with) or
    "httpx" (what jobbot fetches sources with).
    """

    platform = "bench"

    def __init__(self, base_url: str, client: str) -> None:
        self.base_url = base_url
        self.client = client
        self._aiohttp: aiohttp.ClientSession | None = None
        self._httpx: httpx.AsyncClient | None = None

    async def __aenter__(self) -> HttpChatAdapter:
        if self.client == "aiohttp":
            self._aiohttp = aiohttp.ClientSession(self.base_url)
        else:
            self._httpx = httpx.AsyncClient(
                base_url=self.base_url, limits=httpx.Limits(max_connections=20)
            )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._aiohttp is not None:
            await self._aiohttp.close()
        if self._httpx is not None:
            await self._httpx.aclose()

    async def _post(self, payload: dict[str, Any]) -> tuple[int, str | None, Any]:
        if self._aiohttp is not None:
            async with self._aiohttp.post("/post", json=payload) as response:
                return response.status, response.headers.get("Retry-After"), await response.json()
        assert self._httpx is not None
        reply = await self._httpx.post("/post", json=payload)
        return reply.status_code, reply.headers.get("Retry-After"), reply.json()

    async def stats(self) -> dict[str, int]:
        async with aiohttp.ClientSession(self.base_url) as session:
            async with session.get("/stats") as response:
                return dict(await response.json())

    async def send_alert(
        self, subscription: Subscription, posting: StoredPosting, delivery_id: int
    ) -> str | None:
        status, retry_after, body = await self._post(
            {
                "channel": subscription.channel,
                "delivery": delivery_id,
                "text": plain_alert(posting.posting),
            }
        )
        if status == 429:
            raise TransientChatError(
                "bench", "rate_limited", retry_after=parse_retry_after(retry_after)
            )
        if status == 404:
            raise PermanentChatError("bench", "channel_not_found")
        if status != 200:
            raise TransientChatError("bench", f"http_{status}")
        return str(body["ts"])

    async def send_digest(
        self,
        subscription: Subscription,
        postings: Any,
        title: str,
        digest_key: str,
        *,
        progress: Any = None,
    ) -> list[str]:
        raise AssertionError("the benchmark sends alerts one by one (no bursts)")


def queue_for_channels(store: Any, stored: Sequence[Any], channels: int) -> int:
    """One match-everything subscription per channel, every stored posting queued for
    each; how many rows were queued."""
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
            for c in range(channels)
        ]
    return int(store.enqueue([(sub, p.id) for p in stored for sub in subs], NOW))


def subscribe_console(store: Any, filters: Iterable[Filter]) -> None:
    """These filters as subscriptions of one console channel, in one transaction."""
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


async def _bench_delivery(
    size: Size, seed: int, tmp: Path, base_url: str, client: str
) -> dict[str, Any]:
    store = Store.open(tmp / "delivery.db")
    postings = make_postings(random.Random(seed), size.per_channel, source="delivery")
    stored = store.ingest(postings, NOW, alert=True).new
    total = queue_for_channels(store, stored, size.channels)
    # Exactly the server's limit: slots count from when each request finished, so
    # jitter on the wire cannot push a window over it (see bot/chat/pacing.py).
    pacer = ChannelPacer(size.channel_rate, 1.0, spread=True)
    async with HttpChatAdapter(base_url, client) as adapter:
        worker = DeliveryWorker(
            store,
            {"bench": adapter},
            now_utc,
            burst_threshold=10**9,
            pacers={"bench": pacer},
        )
        started = time.perf_counter()
        sent = retried = 0
        deadline = started + 120
        while sent < total and time.perf_counter() < deadline:
            report = await worker.run_once()
            sent += report.sent
            retried += report.retried
            if sent < total:
                await asyncio.sleep(0.05)  # rows put back after a 429 become due
        elapsed = time.perf_counter() - started
        stats = await adapter.stats()
    statuses = store.delivery_statuses()
    store.close()
    limit = size.channels * size.channel_rate
    # Efficiency is the steady rate over the limit: each channel's first message goes at
    # once, so the rest, (delivered - channels), took ``elapsed`` seconds. The strictest
    # bound also credits the one full window a sender could burst at the start (the
    # pacer spreads instead, so it leaves that burst unused on purpose).
    steady = (stats["accepted"] - size.channels) / elapsed
    burst_bound = limit * (1 + elapsed)
    return {
        "delivery_channels": size.channels,
        "delivery_rate_limit_per_channel": size.channel_rate,
        "delivery_messages": total,
        "delivery_delivered": stats["accepted"],
        "delivery_s": round(elapsed, 3),
        "delivery_msgs_per_s": round(stats["accepted"] / elapsed, 1),
        "delivery_limit_msgs_per_s": limit,
        "delivery_efficiency": round(steady / limit, 3),
        "delivery_efficiency_vs_burst_bound": round(stats["accepted"] / burst_bound, 3),
        "delivery_extra_429s": stats["rejected"],
        "delivery_duplicates": stats["duplicates"],
        "delivery_outbox": statuses,
        "delivery_retried": retried,
    }


def bench_delivery(size: Size, seed: int) -> dict[str, Any]:
    """The real DeliveryWorker against a rate-limited fake chat server on 127.0.0.1.

    Run twice, each against a fresh server: posting with aiohttp (the client of
    slack_sdk's async API and of discord.py: the headline figures) and with httpx.
    """
    result: dict[str, Any] = {}
    for client in ("aiohttp", "httpx"):
        server = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.chat_server", "--rate", str(size.channel_rate)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout is not None
            base_url = server.stdout.readline().strip()
            with tempfile.TemporaryDirectory() as tmp:
                figures = asyncio.run(_bench_delivery(size, seed, Path(tmp), base_url, client))
        finally:
            server.terminate()
            server.wait(timeout=10)
            if server.stdout is not None:
                server.stdout.close()
        if client == "aiohttp":
            result |= figures
        else:
            result |= {
                k.replace("delivery_", "delivery_httpx_"): figures[k]
                for k in (
                    "delivery_msgs_per_s",
                    "delivery_efficiency",
                    "delivery_extra_429s",
                    "delivery_duplicates",
                )
            }
    return result


# ------------------------------------------------------------------ memory


def build_memory_store(path: Path, subscriptions: int, postings: int, seed: int) -> None:
    """A store with this many subscriptions and postings (for the memory probe)."""
    rng = random.Random(seed)
    store = Store.open(path)
    with store.db.atomic():
        for i, filter_ in enumerate(make_filters(rng, subscriptions)):
            store.add_subscription(
                platform="slack",
                workspace="T1",
                channel=f"C{i % 5000}",
                filter=filter_,
                schedule=Schedule(),
                created_by="bench",
                now=NOW,
            )
    batch = 2000
    for start in range(0, postings, batch):
        chunk = make_postings(rng, min(batch, postings - start), source=f"s{start}")
        store.ingest(chunk, NOW, alert=False)
    store.close()


def memory_probe(path: Path) -> dict[str, Any]:
    """In this process: load every subscription into the index and match recent postings."""
    store = Store.open(path)
    index = SubscriptionIndex(store.subscriptions())
    counts = store.counts()
    matched = sum(len(index.match(s.posting)) for s in store.recent_postings(1000))
    store.close()
    return {
        "subscriptions": counts["subscriptions"],
        "postings": counts["postings"],
        "matched": matched,
        "max_rss_mb": peak_rss_mb(),
    }


def peak_rss_mb() -> float:
    """This process's peak resident memory.

    VmHWM belongs to the process image, so it starts afresh at exec; ``ru_maxrss`` on
    Linux carries the parent's peak over fork and exec, which would report the
    benchmark's own memory rather than the probe's.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def bench_memory(size: Size, seed: int) -> dict[str, Any]:
    """Peak RSS of a separate process holding the subscriptions, over a store of postings."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "memory.db"
        started = time.perf_counter()
        build_memory_store(path, size.rss_subscriptions, size.rss_postings, seed)
        build_s = time.perf_counter() - started
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.memory_probe", str(path)],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    probe = json.loads(out)
    return {
        "rss_subscriptions": probe["subscriptions"],
        "rss_postings": probe["postings"],
        "rss_store_build_s": round(build_s, 1),
        "peak_rss_mb": probe["max_rss_mb"],
    }


# ------------------------------------------------------------------ all


def machine() -> dict[str, Any]:
    """Where the figures came from."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": model or platform.processor(),
        "python": platform.python_version(),
        "sqlite": __import__("sqlite3").sqlite_version,
        # Other work on a shared machine takes cores the figures would otherwise get.
        "load_average_1m_at_start": round(os.getloadavg()[0], 2)
        if hasattr(os, "getloadavg")
        else None,
    }


def run(
    size_name: str = "full", seed: int = 8, log: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Every benchmark at one size; one flat dict of figures."""
    # Imported here: they import this module (its data and servers) at their top.
    from benchmarks.delivery_processes import bench_delivery_processes
    from benchmarks.ingest_backends import bench_ingest_backends
    from benchmarks.loop_lag import bench_loop_lag
    from benchmarks.multi import MULTI_SIZES

    size = SIZES[size_name]
    multi = MULTI_SIZES[size_name]
    result: dict[str, Any] = {"size": size_name, "seed": seed, "machine": machine()}
    benches: tuple[tuple[str, Callable[[Size, int], dict[str, Any]]], ...] = (
        ("matcher", bench_matcher),
        ("ingest", bench_ingest),
        ("delivery", bench_delivery),
        ("memory", bench_memory),
        ("ingest on each backend", lambda _, seed: bench_ingest_backends(multi, seed)),
        ("delivery processes", lambda _, seed: bench_delivery_processes(multi, seed)),
        ("event-loop lag", lambda _, seed: bench_loop_lag(multi, seed)),
    )
    for name, bench in benches:
        started = time.perf_counter()
        result |= bench(size, seed)
        if log is not None:
            log(f"{name}: {time.perf_counter() - started:.1f} s")
    return result
