"""The real `jobbot run`, killed with SIGKILL at random moments, delivers each alert once.

A loopback feed serves a few hundred postings (backfilled, so the first poll alerts
them); four webhook subscriptions point at a fake receiver on 127.0.0.1 that counts
every (subscription, posting) reaching it. The bot is killed twenty times mid-flight
and restarted; at the end every match has arrived exactly once.

The PostgreSQL variant (#16) runs three bots on one database at once and kills one of
them at a time: each alert still arrives once, and the feed is fetched once, not once
per process.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from pathlib import Path

import pytest

from bot.store import Store
from bot.store.protocols import Store as AnyStore
from subscriptions.matcher import matches
from tests.conftest import FeedServer, empty_postgres
from tests.fakes.chat_receiver import ChatReceiver, chat_receiver
from tests.fakes.feeds import feed

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
POSTINGS = 300
KILLS = 20
SUBSCRIPTIONS = {
    "/all": [],  # 300 in one poll: over the burst threshold, one grouped message
    "/nlp": ["area:nlp"],  # 75 single alerts
    "/de": ["country:DE"],  # about 150 single alerts
    "/us": ["country:US"],  # about 75 single alerts
}


def _config(tmp_path: Path, feed_url: str, extra: str = "") -> Path:
    config = tmp_path / "jobbot.toml"
    config.write_text(
        f"""
data_dir = "{tmp_path / "data"}"
{extra}
default_sources = false
allow_private_sources = true
delivery_interval = 1
burst_threshold = 200
log_level = "info"

[[sources]]
name = "generated"
kind = "rss"
url = "{feed_url}"
interval = "1h"
backfill = {POSTINGS}
"""
    )
    return config


def _env(config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    env |= {"JOBBOT_CONFIG": str(config), "PYTHONPATH": str(REPO)}
    # The config file names the database; a developer's own settings must not.
    env.pop("JOBBOT_DATA_DIR", None)
    env.pop("JOBBOT_DATABASE_URL", None)
    return env


async def _jobbot(env: dict[str, str], log: Path, *args: str) -> asyncio.subprocess.Process:
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", *args, env=env, stdout=out, stderr=out, cwd=REPO
        )


def _runs(log: Path) -> int:
    """How many `jobbot run` processes have said they are running."""
    return log.read_text().count("jobbot is running") if log.exists() else 0


async def _started(log: Path, before: int) -> None:
    """Wait (up to 20 s) until one more `jobbot run` has said it is running."""
    for _ in range(1000):
        if _runs(log) > before:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("jobbot did not start")


def _poll_logged(*logs: Path) -> bool:
    """Whether some run has logged the source's first poll."""
    return any("alerts queued" in log.read_text() for log in logs if log.exists())


async def _polled(*logs: Path) -> None:
    """Wait (up to 30 s) until some run has logged the source's first poll."""
    for _ in range(1500):
        if _poll_logged(*logs):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the source was never polled")


def _outbox_settled(db_path: Path) -> bool:
    if not db_path.exists():
        return False
    store = Store.open(db_path)
    try:
        statuses = store.delivery_statuses()
    finally:
        store.db.close()
    return bool(statuses) and set(statuses) == {"sent"}


async def test_sigkill_at_random_moments_loses_and_repeats_nothing(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    feed_server.serve("/generated.rss", feed(range(POSTINGS)))
    config = _config(tmp_path, feed_server.url("/generated.rss"))
    env = _env(config)
    log = tmp_path / "jobbot.log"
    async with chat_receiver(delay=0.01) as receiver:
        for path, filters in SUBSCRIPTIONS.items():
            proc = await _jobbot(
                env,
                log,
                "subs",
                "add",
                *filters,
                "--platform",
                "webhook",
                "--channel",
                receiver.url(path),
            )
            assert await proc.wait() == 0, log.read_text()

        rng = random.Random(20261123)
        seen_at_kill = []
        for kill in range(KILLS):
            started = log.read_text().count("jobbot is running")
            proc = await _jobbot(env, log, "run")
            # Kill at a random moment after start-up: the first kill may land in the first
            # poll (which starts the ingest workers and can take over a second on a busy
            # machine); the others are timed from the end of that poll, so that they land
            # while alerts are going out however slow the machine is.
            await _started(log, started)
            if kill > 0:
                await _polled(log)
            await asyncio.sleep(rng.uniform(0.0, 0.7))
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
            seen_at_kill.append(sum(receiver.received.values()))

        started = log.read_text().count("jobbot is running")
        proc = await _jobbot(env, log, "run")
        db_path = tmp_path / "data" / "jobbot.db"
        for _ in range(300):
            # Stop once all went out and the bot is up (its SIGTERM handler installed).
            running = log.read_text().count("jobbot is running") > started
            if running and _outbox_settled(db_path):
                break
            await asyncio.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        assert await proc.wait() == 0, log.read_text()[-3000:]

    store = Store.open(db_path)
    try:
        _assert_exactly_once(store, receiver)
    finally:
        store.close()
    expected = sum(receiver.received.values())
    # The kills landed mid-delivery, not only before or after it.
    assert any(0 < seen < expected for seen in seen_at_kill), seen_at_kill
    assert "taking over" in log.read_text()


def _assert_exactly_once(store: AnyStore, receiver: ChatReceiver) -> None:
    postings = store.recent_postings(limit=10 * POSTINGS)
    subs = store.subscriptions()
    statuses = store.delivery_statuses()
    assert len(postings) == POSTINGS
    expected = {
        (sub.id, stored.id)
        for sub in subs
        for stored in postings
        if matches(sub.filter, stored.posting)
    }
    assert len(expected) > 2 * POSTINGS
    assert statuses == {"sent": len(expected)}
    assert receiver.duplicates() == {}
    assert set(receiver.received) == expected


# ---------------------------------------------------------------- three bots, one PostgreSQL

PROCESSES = 3
PG_KILLS = 10
FEED = "/generated.rss"


async def _start(env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    """Start one `jobbot run` and wait until it says it is running."""
    before = _runs(log)
    proc = await _jobbot(env, log, "run")
    await _started(log, before)
    return proc


async def _add_subscriptions(env: dict[str, str], log: Path, receiver: ChatReceiver) -> None:
    # All four at once on the empty database: they migrate it together, as bots started
    # side by side (compose.yaml) do, under the migrations' advisory lock.
    procs = [
        await _jobbot(
            env,
            log,
            "subs",
            "add",
            *filters,
            "--platform",
            "webhook",
            "--channel",
            receiver.url(path),
        )
        for path, filters in SUBSCRIPTIONS.items()
    ]
    codes = [await proc.wait() for proc in procs]
    assert codes == [0] * len(procs), _tail(log)


def _tail(log: Path) -> str:
    """The end of a log, for an assertion's message."""
    return log.read_text()[-3000:]


async def test_three_bots_on_postgresql_killed_at_random_deliver_once_and_poll_once(
    tmp_path: Path, feed_server: FeedServer, postgres_url: str
) -> None:
    from bot.store.postgres import PostgresStore

    empty_postgres(postgres_url)
    feed_server.serve(FEED, feed(range(POSTINGS)))
    # One ingest process per bot: three bots with worker pools would be nine processes
    # on a small CI machine, and 300 postings need none.
    config = _config(
        tmp_path,
        feed_server.url(FEED),
        extra=f'database_url = "{postgres_url}"\ningest_workers = 1',
    )
    env = _env(config)
    logs = [tmp_path / f"jobbot{slot}.log" for slot in range(PROCESSES)]
    procs: list[asyncio.subprocess.Process] = []
    # A slower receiver than the SQLite test's: delivery lasts several seconds, so that
    # kills land while all three bots are sending.
    async with chat_receiver(delay=0.03) as receiver:
        try:
            await _add_subscriptions(env, tmp_path / "subs.log", receiver)
            procs = list(await asyncio.gather(*(_start(env, log) for log in logs)))
            # The first poll is left to finish: a bot killed inside it would hold the
            # source's poll lease (10 minutes) and nothing would be stored in this test.
            await _polled(*logs)
            rng = random.Random(20261124)
            seen_at_kill = []
            for _ in range(PG_KILLS):
                await asyncio.sleep(rng.uniform(0.1, 1.0))
                slot = rng.randrange(PROCESSES)
                procs[slot].send_signal(signal.SIGKILL)
                await procs[slot].wait()
                seen_at_kill.append(sum(receiver.received.values()))
                # The others go on sending while this one starts again.
                procs[slot] = await _start(env, logs[slot])

            store = PostgresStore.open(postgres_url)
            try:
                for _ in range(600):
                    statuses = store.delivery_statuses()
                    if statuses and set(statuses) == {"sent"}:
                        break
                    await asyncio.sleep(0.1)
                for proc in procs:
                    proc.send_signal(signal.SIGTERM)
                for slot, proc in enumerate(procs):
                    assert await proc.wait() == 0, _tail(logs[slot])
                _assert_exactly_once(store, receiver)
            finally:
                store.close()
        finally:
            for proc in procs:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()

    expected = sum(receiver.received.values())
    assert any(0 < seen < expected for seen in seen_at_kill), seen_at_kill
    # A bot killed with alerts in flight: another one took them over (the lease owner's
    # process is gone), and the receiver's lookup kept them from going out twice.
    assert any("taking over" in log.read_text() for log in logs)
    # Once per interval, not once per process. The interval is an hour and a claimed poll
    # holds its source for a 10-minute lease, both longer than this test: the source is
    # polled exactly once however many bots start and restart. Three bots that each
    # polled would have fetched it at least three times (they start side by side, each
    # with its first poll due), and more with every restart.
    fetches = feed_server.statuses(FEED)
    assert fetches == [200], fetches
