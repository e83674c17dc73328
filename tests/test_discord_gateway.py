"""One Discord gateway per bot (#16): of several jobbots sharing a store, one connects.

Three bots built by ``bot.app.build`` share one store (a SQLite file, or a PostgreSQL
database) and one fake Discord. Exactly one IDENTIFYs; all of them send through REST.
When the holder stops, or loses its database session, another opens the gateway within
its retry period. The last test runs real `jobbot run` processes and SIGKILLs the holder.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import discord
import pytest

from bot.app import JobBot, build
from bot.chat.discord_adapter import DiscordAdapter
from bot.config import load_settings
from subscriptions.model import Filter, Subscription
from tests.conftest import empty_postgres
from tests.fakes.discord_api import (
    DEFAULT_GUILD_ID,
    DEFAULT_MEMBER_PERMISSIONS,
    DEFAULT_TEXT_CHANNEL_ID,
    FakeDiscord,
)
from tests.fakes.specs import load_discord_spec

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[1]
MANAGER = DEFAULT_MEMBER_PERMISSIONS | (1 << 4)
RETRY = 0.2


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """The store the bots share: None for SQLite (the data directory), or PostgreSQL."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("postgres_url")
    empty_postgres(url)
    return url


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    """A fake Discord; discord.py's URLs are put back afterwards."""
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    gateway = discord.gateway.DiscordWebSocket
    monkeypatch.setattr(gateway, "DEFAULT_GATEWAY", gateway.DEFAULT_GATEWAY)
    async with FakeDiscord(spec=load_discord_spec()) as served:
        yield served
        assert served.violations == []


def _env(data: Path, fake: FakeDiscord) -> dict[str, str]:
    return {
        "JOBBOT_DATA_DIR": str(data),
        "DISCORD_TOKEN": fake.token,
        "DISCORD_GUILD_ID": str(DEFAULT_GUILD_ID),
        "DISCORD_API_URL": fake.api_base,
        "DISCORD_GATEWAY_URL": fake.gateway_url,
    }


def _bot(tmp_path: Path, fake: FakeDiscord, database_url: str | None) -> JobBot:
    """A jobbot on the shared store whose Discord retries the gateway every RETRY s."""
    overrides: dict[str, object] = {"default_sources": False, "metrics_port": 0}
    if database_url:
        overrides["database_url"] = database_url
    bot = build(load_settings(env=_env(tmp_path / "data", fake), cwd=tmp_path, overrides=overrides))
    adapter = _adapter(bot)
    adapter.guild_ready_timeout = 0.05
    adapter.channel_pace = 0.0
    adapter.gateway_retry = RETRY
    adapter.gateway_check = RETRY / 2
    return bot


def _adapter(bot: JobBot) -> DiscordAdapter:
    adapter = bot.adapters["discord"]
    assert isinstance(adapter, DiscordAdapter)
    return adapter


async def _until(predicate: Callable[[], bool], within: float = 10.0, what: str = "") -> None:
    async with asyncio.timeout(within):
        while not predicate():  # noqa: ASYNC110 - states of several bots, not one event
            await asyncio.sleep(0.02)


def _subscription() -> Subscription:
    return Subscription(
        id=1,
        platform="discord",
        workspace=str(DEFAULT_GUILD_ID),
        channel=str(DEFAULT_TEXT_CHANNEL_ID),
        filter=Filter(),
    )


async def _help_is_answered_once(fake: FakeDiscord) -> None:
    payload = fake.slash_interaction("jobs", "help", member_permissions=MANAGER)
    await fake.dispatch("INTERACTION_CREATE", payload)
    callback = await fake.wait_for_callback(payload["id"])
    assert "jobbot posts research-internship alerts" in callback["data"]["content"]
    await asyncio.sleep(0.2)  # a second answer would be a 40060 violation by now
    assert len([c for c in fake.callbacks if c["interaction_id"] == payload["id"]]) == 1


async def test_one_gateway_among_three_and_another_takes_over(
    tmp_path: Path, fake: FakeDiscord, database_url: str | None
) -> None:
    bots = [_bot(tmp_path, fake, database_url) for _ in range(3)]
    adapters = [_adapter(bot) for bot in bots]
    try:
        for adapter in adapters:
            await adapter.start()
        await fake.wait_until_identified()
        await _until(lambda: all(a.gateway != "starting" for a in adapters))
        await asyncio.sleep(4 * RETRY)  # the others have tried again meanwhile
        assert len(fake.identifies) == 1 and fake.live_sessions == 1
        assert sorted(a.gateway for a in adapters) == [
            "another process",
            "another process",
            "this process",
        ]
        assert len(fake.command_syncs) == 1  # only the holder syncs
        shown = sorted(str(bot.health().as_json()["gateways"]) for bot in bots)
        assert shown == [
            "{'discord': 'another process'}",
            "{'discord': 'another process'}",
            "{'discord': 'this process'}",
        ]
        await _help_is_answered_once(fake)
        # Every bot sends through REST, the holder or not.
        for n, adapter in enumerate(adapters):
            await adapter.send_notice(_subscription(), f"hello from bot {n}", f"hello-{n}")
        assert len(fake.messages_in(DEFAULT_TEXT_CHANNEL_ID)) == 3

        [holder] = [a for a in adapters if a.gateway == "this process"]
        await holder.close()
        rest = [a for a in adapters if a is not holder]
        await fake.wait_for(lambda: len(fake.identifies) == 2, within=10 * RETRY, what="takeover")
        await _until(lambda: sorted(a.gateway for a in rest) == ["another process", "this process"])
        assert fake.live_sessions == 1
        assert fake.peak_sessions == 1  # the old gateway closed before the lock was let go
        await _help_is_answered_once(fake)
    finally:
        for bot in bots:
            await bot.aclose()


async def test_a_holder_whose_database_session_ends_closes_its_gateway(
    tmp_path: Path, fake: FakeDiscord, postgres_url: str
) -> None:
    import psycopg

    empty_postgres(postgres_url)
    bots = [_bot(tmp_path, fake, postgres_url) for _ in range(2)]
    adapters = [_adapter(bot) for bot in bots]
    try:
        for adapter in adapters:
            await adapter.start()
        await fake.wait_until_identified()
        await _until(lambda: all(a.gateway != "starting" for a in adapters))
        first = fake.identifies[-1]
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            ended = admin.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity "
                "where application_name = 'jobbot lock'"
            ).fetchall()
        assert ended == [(True,)]
        # The holder notices within its check period and closes the gateway; one of the
        # two (either may win the lock) opens a new one.
        await fake.wait_for(lambda: len(fake.identifies) == 2, within=5.0, what="a new gateway")
        assert fake.identifies[-1] is not first
        await _until(lambda: sorted(a.gateway for a in adapters) == [
            "another process",
            "this process",
        ])  # fmt: skip
        await fake.wait_for(lambda: fake.live_sessions == 1, what="one gateway")
        await _help_is_answered_once(fake)
    finally:
        for bot in bots:
            await bot.aclose()


# ---------------------------------------------------------------- real processes


def _config(tmp_path: Path, database_url: str | None) -> Path:
    config = tmp_path / "jobbot.toml"
    lines = [
        f'data_dir = "{tmp_path / "data"}"',
        "default_sources = false",
        "metrics_port = 0",
        'log_level = "info"',
    ]
    if database_url:
        lines.append(f'database_url = "{database_url}"')
    config.write_text("\n".join(lines) + "\n")
    return config


async def _run(env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=env, stdout=out, stderr=out, cwd=REPO
        )


@pytest.mark.slow
async def test_sigkill_of_the_holder_lets_another_process_identify(
    tmp_path: Path, fake: FakeDiscord, database_url: str | None
) -> None:
    config = _config(tmp_path, database_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    env |= _env(tmp_path / "data", fake) | {"JOBBOT_CONFIG": str(config), "PYTHONPATH": str(REPO)}
    env.pop("JOBBOT_DATA_DIR")
    logs = [tmp_path / f"run{n}.log" for n in range(2)]
    procs = [await _run(env, log) for log in logs]
    try:
        await fake.wait_until_identified(within=30)

        def said(text: str) -> list[int]:
            return [n for n, log in enumerate(logs) if text in log.read_text()]

        try:
            await _until(
                lambda: (
                    len(said("this process runs the Discord gateway")) == 1
                    and len(said("this one sends through REST")) == 1
                ),
                # Generous: both start ingest workers and build the place names first,
                # which takes long on a loaded machine; only the outcome is asserted.
                within=90,
            )
        except TimeoutError as error:
            tails = "\n".join(
                f"--- run{n}\n{log.read_text()[-2000:]}" for n, log in enumerate(logs)
            )
            raise AssertionError(
                f"the bots never settled who holds the gateway\n{tails}"
            ) from error
        [holder] = said("this process runs the Discord gateway")
        assert len(fake.identifies) == 1
        procs[holder].send_signal(signal.SIGKILL)
        await procs[holder].wait()
        # The default retry is 15 s: the other one takes over well within a minute.
        await fake.wait_for(lambda: len(fake.identifies) == 2, within=40, what="takeover")
        assert said("this process runs the Discord gateway") == [0, 1]
        await fake.wait_for(lambda: fake.live_sessions == 1, what="one gateway")
        await _help_is_answered_once(fake)
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            await asyncio.wait_for(proc.wait(), 30)
