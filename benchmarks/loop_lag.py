"""The event-loop lag of a running bot while a big poll is stored (issue #16)."""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

from benchmarks.multi import (
    MultiSize,
    bot_on,
    open_backend,
    warm_up,
)
from benchmarks.scale import FeedSite, make_feed, make_filters

__all__ = ["LAG_TICK_S", "bench_loop_lag"]

LAG_TICK_S = 0.01


async def _loop_lag(size: MultiSize, seed: int, tmp: Path) -> dict[str, Any]:
    rng = random.Random(seed)
    feeds = {
        f"/lag/{s}.xml": make_feed(rng, s, size.lag_per_source) for s in range(size.lag_sources)
    }
    filters = make_filters(random.Random(seed + 1), 1000)
    warm_up(next(iter(feeds.values())))
    site = FeedSite(feeds)
    await site.start()
    store = open_backend("sqlite", tmp / "lag", None)
    bot = bot_on(
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
