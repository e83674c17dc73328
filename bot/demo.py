"""`jobbot demo`: the whole flow on bundled feeds served from 127.0.0.1, in a temp directory."""

from __future__ import annotations

import io
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

from aiohttp import web

from bot.app import build
from bot.config import load_settings
from subscriptions.commands import CommandContext

__all__ = ["DEMO_SUBSCRIPTIONS", "run_demo", "serve_directory"]

DEMO_FEEDS = ("industry-labs.rss", "university-labs.atom", "community-board.rss")
# (channel, filters): a few channels a university ML community might set up.
DEMO_SUBSCRIPTIONS = (
    ("speech-and-language", "area:speech,nlp degree:phd-only,phd-or-masters"),
    ("vision-europe", "area:cv,robotics,multimodal country:DE,CH,FR,GB,NL"),
    ("recsys-search", "area:recsys,ir"),
    ("phd-only-anywhere", "degree:phd-only exclude:senior"),
    ("ml-daily-digest", "area:ml mode:daily at:09:00 tz:Europe/Berlin"),
)


@asynccontextmanager
async def serve_directory(directory: Path) -> AsyncIterator[str]:
    """Serve a directory's files on 127.0.0.1 (with ETag and Last-Modified); yield the base URL."""
    app = web.Application()
    app.router.add_static("/", directory, show_index=False)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def run_demo(*, quiet: bool = False) -> int:
    """Run the demo and print its summary line; returns the exit code."""
    feeds = resources.files("bot.data").joinpath("demo")
    with tempfile.TemporaryDirectory(prefix="jobbot-demo-") as tmp:
        feed_dir = Path(tmp) / "feeds"
        feed_dir.mkdir()
        for name in DEMO_FEEDS:
            (feed_dir / name).write_bytes(feeds.joinpath(name).read_bytes())
        settings = load_settings(
            env={"JOBBOT_DATA_DIR": str(Path(tmp) / "data")},
            cwd=Path(tmp),
            overrides={"allow_private_sources": True, "default_sources": False},
        )
        async with serve_directory(feed_dir) as base_url:
            # Quiet mode still renders every alert (the same code runs), into a buffer.
            bot = build(settings, console=io.StringIO() if quiet else None)
            try:
                if not quiet:
                    print("jobbot demo: serving bundled feeds at", base_url)
                for name in DEMO_FEEDS:
                    # Backfill: a new source's first poll normally alerts nobody; the demo
                    # asks for everything so that there is something to show.
                    bot.store.upsert_source(
                        name.split(".")[0],
                        "rss",
                        f"{base_url}/{name}",
                        3600,
                        backfill=1000,
                        now=bot.clock(),
                    )
                for channel, filters in DEMO_SUBSCRIPTIONS:
                    ctx = CommandContext(
                        platform="console",
                        workspace="demo",
                        channel=channel,
                        user="demo",
                        now=bot.clock(),
                    )
                    reply = await bot.command(f"subscribe {filters}", ctx)
                    if not reply.ok:
                        raise RuntimeError(f"demo subscription {filters!r}: {reply.text}")
                    if not quiet:
                        print(f"#{channel}: {reply.text.splitlines()[0]}")
                reports = await bot.poll_all()
                sent = (await bot.worker.run_once()).sent
                digest_ids = [
                    s.id for s in bot.store.subscriptions() if s.schedule.mode != "instant"
                ]
                digests = await bot.digests.send_now(digest_ids)
                # A second poll finds nothing new: every feed answers 304 Not Modified.
                again = await bot.poll_all()
                sent += (await bot.worker.run_once()).sent
                if not quiet:
                    unchanged = sum(1 for r in again if r.not_modified)
                    print(
                        f"\nSecond poll: {unchanged} of {len(again)} feeds not modified; "
                        "nothing is sent twice."
                    )
                postings = sum(r.seen for r in reports)
                new = sum(r.new for r in reports)
                print(f"{postings} postings, {new} new, {sent} alerts sent, {digests} digests sent")
            finally:
                await bot.aclose()
    return 0
