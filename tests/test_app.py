"""The composition root keeps the event loop free: database waits happen in threads (#16)."""

from __future__ import annotations

import asyncio
import io
import threading
import time

from bot.app import build
from bot.config import Settings
from subscriptions.commands import CommandContext
from tests.conftest import FeedServer

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
