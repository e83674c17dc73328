"""Quiet logs from `jobbot run` and the CLI (#18): a long delivery pass is skipped, not
warned about, every tick; SIGTERM during a pass stops without a traceback; a configured
Slack token adds no bolt warning to every command."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web

from bot.postings.model import Posting
from bot.store import Store
from subscriptions.model import Filter, Schedule
from tests.conftest import FeedServer
from tests.fakes.feeds import feed

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
async def slow_receiver() -> AsyncIterator[tuple[str, list[float]]]:
    """A webhook receiver on 127.0.0.1 that holds every POST for 30 seconds."""
    hits: list[float] = []

    async def hold(request: web.Request) -> web.Response:
        hits.append(asyncio.get_running_loop().time())
        await asyncio.sleep(30)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hold)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/hook", hits
    await runner.cleanup()


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    return env | {
        "JOBBOT_CONFIG": str(tmp_path / "jobbot.toml"),
        "JOBBOT_DATA_DIR": str(tmp_path / "data"),
        **extra,
    }


async def test_a_long_pass_is_skipped_quietly_and_sigterm_stops_cleanly(
    tmp_path: Path, slow_receiver: tuple[str, list[float]]
) -> None:
    url, hits = slow_receiver
    (tmp_path / "jobbot.toml").write_text(
        "default_sources = false\ndelivery_interval = 1\nmetrics_port = 0\n"
    )
    store = Store.open(tmp_path / "data" / "jobbot.db")
    sub = store.add_subscription(
        platform="webhook",
        workspace="",
        channel=url,
        filter=Filter(),
        schedule=Schedule(),
        created_by="test",
        now=T0,
    )
    posting = Posting(
        source="test", external_id="p1", url="https://jobs.example/p/1", title="Research Intern"
    )
    stored = store.ingest([posting], T0, alert=True).new
    store.enqueue([(sub, p.id) for p in stored], T0)
    store.close()
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=ROOT,
        env=_env(tmp_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        for _ in range(300):  # the pass is under way once the receiver holds the POST
            if hits:
                break
            await asyncio.sleep(0.1)
        assert hits, "the delivery pass never reached the receiver"
        await asyncio.sleep(3.5)  # three more ticks while the pass still runs
        child.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(child.communicate(), timeout=30)
    finally:
        if child.returncode is None:
            child.kill()
    log = out.decode() + err.decode()
    assert child.returncode == 0, log
    assert "maximum number of running instances" not in log
    assert "Traceback" not in log and "CancelledError" not in log, log
    assert len(hits) == 1  # the skipped ticks started no second pass


async def test_a_configured_slack_token_adds_no_bolt_warning(tmp_path: Path) -> None:
    (tmp_path / "jobbot.toml").write_text("default_sources = false\n")
    env = _env(
        tmp_path,
        SLACK_BOT_TOKEN="xoxb-1234567890-abcdefghijkl",
        SLACK_SIGNING_SECRET="0123456789abcdef",
    )
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "subs",
        "list",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(child.communicate(), timeout=60)
    assert child.returncode == 0, err.decode()
    assert "No subscriptions" in out.decode()
    assert err.decode() == ""


async def test_a_tick_while_its_pass_runs_is_counted_not_started(tmp_path: Path) -> None:
    from bot.app import build
    from bot.config import load_settings

    (tmp_path / "jobbot.toml").write_text("default_sources = false\nmetrics_port = 0\n")
    bot = build(load_settings(env=_env(tmp_path), cwd=tmp_path))
    started: list[int] = []
    release = asyncio.Event()

    async def slow_pass() -> None:
        started.append(1)
        await release.wait()

    try:
        tick = bot._tick("deliver", slow_pass)
        for _ in range(3):
            await tick()
            await asyncio.sleep(0)
        assert started == [1]
        metrics = bot.metrics.render().decode()
        assert 'jobbot_passes_skipped_total{job="deliver"} 2.0' in metrics
        release.set()
        await asyncio.sleep(0.01)
        await tick()
        await asyncio.sleep(0)
        assert started == [1, 1]
    finally:
        release.set()
        await bot.aclose()


async def test_ctrl_c_stops_the_bot_and_its_ingest_workers_without_a_traceback(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """Ctrl-C in a terminal signals the whole process group, ingest workers included."""
    feed_server.serve("/jobs.rss", feed(range(3)))
    (tmp_path / "jobbot.toml").write_text(
        "default_sources = false\nallow_private_sources = true\nmetrics_port = 0\n"
        "ingest_workers = 2\n"
        f'[[sources]]\nname = "t"\nkind = "rss"\nurl = "{feed_server.url("/jobs.rss")}"\n'
    )
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=ROOT,
        env=_env(tmp_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,  # its own process group, as a terminal's job is
    )
    assert child.stdout is not None
    seen = b""
    try:
        async with asyncio.timeout(90):
            while b"ingest worker processes" not in seen:
                line = await child.stdout.readline()
                assert line, seen.decode()
                seen += line
        os.killpg(child.pid, signal.SIGINT)
        out, _ = await asyncio.wait_for(child.communicate(), timeout=30)
    finally:
        if child.returncode is None:
            os.killpg(child.pid, signal.SIGKILL)
    log = seen.decode() + out.decode()
    assert "jobbot stopped." in log, log
    assert "Traceback" not in log and "KeyboardInterrupt" not in log, log
