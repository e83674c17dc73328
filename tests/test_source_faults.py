"""Broken sources: a 500, a hang, a truncated body or garbage for a while, then healing.

The other sources keep being polled on time, the broken one backs off and shows as
unhealthy with its last error, recovers by itself, and no posting is lost.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import JobBot, build
from bot.cli import main
from bot.config import Settings, load_settings
from bot.ingest import BACKOFF_CEILING, failure_backoff
from subscriptions.commands import CommandContext
from subscriptions.model import Filter, Schedule
from tests.conftest import FeedServer
from tests.fakes.chat_receiver import ChatReceiver, chat_receiver
from tests.fakes.feeds import feed

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
INTERVAL = 60
STEP = timedelta(seconds=INTERVAL * 1.1 + 1)  # one interval plus the largest jitter
GOOD = ("good-a", "good-b")


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def fast_settings(tmp_path: Path) -> Settings:
    return load_settings(
        env={"JOBBOT_DATA_DIR": str(tmp_path / "data")},
        cwd=tmp_path,
        overrides={"allow_private_sources": True, "default_sources": False, "fetch_timeout": 1},
    )


@pytest.fixture
async def receiver() -> AsyncIterator[ChatReceiver]:
    async with chat_receiver() as running:
        yield running


def _break(server: FeedServer, fault: str) -> None:
    path = "/flaky.rss"
    if fault == "500":
        server.fail(path, 500)
    elif fault == "timeout":
        server.hang(path, 3.0)  # the fetch timeout is 1 s
    elif fault == "truncated":
        server.truncate(path, feed(range(40), prefix="f"))
    else:
        server.serve(path, b"\x00\xff<<not a feed at all>>{]", "application/xml")


async def _setup(settings: Settings, server: FeedServer, receiver: ChatReceiver) -> JobBot:
    clock = Clock()
    bot = build(settings, console=io.StringIO(), clock=clock)
    bot.store.add_subscription(
        platform="webhook",
        workspace="",
        channel=receiver.url("/all"),
        filter=Filter(),
        schedule=Schedule(),
        created_by="t",
        now=T0,
    )
    for name in (*GOOD, "flaky"):
        server.serve(f"/{name}.rss", feed(range(2), prefix=name[-1]))
        bot.store.upsert_source(name, "rss", server.url(f"/{name}.rss"), INTERVAL, now=T0)
    await bot.poll_due()  # first polls: the backlog is recorded without alerts
    return bot


def _advance(bot: JobBot) -> None:
    assert isinstance(bot.clock, Clock)
    bot.clock.now += STEP


@pytest.mark.parametrize("fault", ["500", "timeout", "truncated", "garbage"])
async def test_a_broken_source_backs_off_shows_unhealthy_and_recovers(
    fault: str,
    fast_settings: Settings,
    feed_server: FeedServer,
    receiver: ChatReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bot = await _setup(fast_settings, feed_server, receiver)
    _break(feed_server, fault)
    steps = 6
    for step in range(1, steps + 1):
        _advance(bot)
        for name in GOOD:  # each good source gains a posting every interval
            feed_server.serve(f"/{name}.rss", feed(range(2 + step), prefix=name[-1]))
        started = {t.get_name() for t in bot.start_due_polls()}
        assert {f"poll:{name}" for name in GOOD} <= started  # on time, every interval
        await asyncio.gather(*bot._in_flight.values())
        await bot.worker.run_once()
    reports = {s.name: s for s in bot.store.sources()}
    flaky = reports["flaky"]
    # The good sources were polled every interval; the broken one backed off.
    for name in GOOD:
        assert reports[name].polls == steps + 1 and reports[name].healthy
    assert 3 <= flaky.consecutive_failures < steps
    assert not flaky.healthy and flaky.last_error
    assert flaky.next_poll_at is not None and flaky.next_poll_at - bot.clock() > STEP
    # Unhealthy, with the last error, in chat and on the command line.
    ctx = CommandContext(platform="console", workspace="", channel="c", user="u", now=bot.clock())
    shown = (await bot.command("sources", ctx)).text
    assert "flaky (rss)" in shown and "UNHEALTHY" in shown and flaky.last_error in shown
    config = fast_settings.database_path.parent.parent / "cli.toml"
    config.write_text("default_sources = false\nallow_private_sources = true\n")
    monkeypatch.setenv("JOBBOT_CONFIG", str(config))
    monkeypatch.setenv("JOBBOT_DATA_DIR", str(fast_settings.database_path.parent))
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)  # main() prints; capsys cannot reach a thread
    assert await asyncio.to_thread(main, ["sources", "list"]) == 0
    listing = out.getvalue()
    assert "UNHEALTHY" in listing and f"last error: {flaky.last_error}" in listing

    # It heals: everything it published meanwhile is alerted once, and it is healthy again.
    feed_server.serve("/flaky.rss", feed(range(9), prefix="y"))
    while not bot.store.source("flaky").consecutive_failures == 0:  # type: ignore[union-attr]
        _advance(bot)
        await bot.poll_due()
    await bot.worker.run_once()
    healed = bot.store.source("flaky")
    await bot.aclose()
    assert healed is not None and healed.healthy and healed.last_error is None
    titles = [p["title"].split()[2] for m in receiver.messages for p in m["postings"]]
    assert sorted(t for t in titles if t.startswith("y")) == [f"y{n}" for n in range(2, 9)]
    for name in GOOD:
        prefix = name[-1]
        expected = [f"{prefix}{n}" for n in range(2, 2 + steps)]
        assert sorted(t for t in titles if t.startswith(prefix)) == sorted(expected)
    assert receiver.duplicates() == {}


async def test_a_hanging_source_never_holds_up_the_others(
    fast_settings: Settings, feed_server: FeedServer, receiver: ChatReceiver
) -> None:
    bot = await _setup(fast_settings, feed_server, receiver)
    feed_server.hang("/flaky.rss", 3.0)
    _advance(bot)
    tasks = {task.get_name().removeprefix("poll:"): task for task in bot.start_due_polls()}
    good = [tasks[name] for name in GOOD]
    await asyncio.wait(good)
    # Both good polls finished while the hanging one is still waiting for its answer,
    # and a new round of starts does not wait for it either.
    assert not tasks["flaky"].done()
    assert all(t.result().ok for t in good)
    _advance(bot)
    again = {t.get_name() for t in bot.start_due_polls()}
    assert again == {f"poll:{name}" for name in GOOD}  # the hanging one is still in flight
    report = await tasks["flaky"]
    assert not report.ok and "timed out" in (report.error or "")
    await asyncio.gather(*bot._in_flight.values())
    await bot.aclose()


async def test_retry_after_from_a_source_is_honoured(
    fast_settings: Settings, feed_server: FeedServer, receiver: ChatReceiver
) -> None:
    bot = await _setup(fast_settings, feed_server, receiver)
    feed_server.fail("/flaky.rss", 503, {"Retry-After": "1800"})
    _advance(bot)
    await bot.poll_due()
    flaky = bot.store.source("flaky")
    await bot.aclose()
    assert flaky is not None and flaky.next_poll_at == bot.clock() + timedelta(seconds=1800)


def test_backoff_doubles_up_to_a_ceiling() -> None:
    delays = [failure_backoff(600, n, None) for n in range(1, 12)]
    assert delays[:4] == [timedelta(seconds=s) for s in (300, 600, 1200, 2400)]
    assert all(a <= b for a, b in zip(delays, delays[1:], strict=False))
    assert delays[-1] == BACKOFF_CEILING
