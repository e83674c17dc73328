"""The composition root keeps the event loop free: database waits happen in threads (#16)."""

from __future__ import annotations

import asyncio
import io
import threading
import time
from datetime import timedelta

from bot.app import build
from bot.config import Settings
from subscriptions.commands import CommandContext
from tests.conftest import DATA, NOW, FeedServer

HOLD_S = 0.6


async def test_a_command_waiting_for_the_database_never_blocks_the_loop(
    settings: Settings, feed_server: FeedServer
) -> None:
    bot = build(settings, console=io.StringIO())
    try:
        ctx = CommandContext(
            platform="console", workspace="w", channel="c", user="u", now=bot.clock()
        )
        held, release = threading.Event(), threading.Event()

        def long_transaction() -> None:
            # Another writer (a big poll being stored) holds the database for a while.
            with bot.store.transaction():
                held.set()
                release.wait(5)

        writer = threading.Thread(target=long_transaction)
        writer.start()
        held.wait(5)
        threading.Timer(HOLD_S, release.set).start()
        command = asyncio.create_task(bot.command("subscribe area:speech", ctx))
        started, worst = time.monotonic(), 0.0
        while not command.done():
            before = time.monotonic()
            await asyncio.sleep(0.01)
            worst = max(worst, time.monotonic() - before - 0.01)
        reply = await command
        writer.join()
        assert reply.ok
        # The command waited for the writer, and the loop went on ticking meanwhile.
        assert time.monotonic() - started >= HOLD_S * 0.8
        assert worst < 0.1, f"the event loop stalled for {worst * 1000:.0f} ms"
    finally:
        await bot.aclose()


async def test_stopping_hands_back_the_outbox_rows_it_was_sending(
    settings: Settings, feed_server: FeedServer
) -> None:
    """Stopped while a send hangs: the rows it held are due for others at once (flagged
    as maybe sent), not when their lease ends."""
    feed_server.serve("/a.rss", (DATA / "feed_v1.rss").read_bytes())
    bot = build(settings, console=io.StringIO())
    started = asyncio.Event()

    async def hang(*_: object, **__: object) -> str | None:
        started.set()
        await asyncio.Event().wait()
        return None

    try:
        console = bot.adapters["console"]
        console.send_alert = hang  # type: ignore[method-assign]
        ctx = CommandContext(platform="console", workspace="", channel="c", user="u", now=NOW)
        assert (await bot.command("subscribe", ctx)).ok
        bot.store.upsert_source("a", "rss", feed_server.url("/a.rss"), 600, backfill=5, now=NOW)
        stop = asyncio.Event()
        running = asyncio.create_task(bot.run(stop))
        await asyncio.wait_for(started.wait(), 20)
        assert bot.store.lease_owners() == [bot.worker.owner]
        stop.set()
        await asyncio.wait_for(running, 20)
        assert bot.store.lease_owners() == [bot.worker.owner]  # still 'sending', but free:
        taken = bot.store.claim(bot.clock(), lease=timedelta(minutes=5), owner="host:2:other")
        assert taken and all(row.recovered for row in taken)
    finally:
        await bot.aclose()
