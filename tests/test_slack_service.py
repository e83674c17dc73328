"""Slack's start-up: the tokens are checked at start, and Slack fails and retries on its own.

The real bolt app against FakeSlack (and, for the test of platforms side by side, the
fake Discord) on 127.0.0.1 (#17).
"""

from __future__ import annotations

import asyncio
import io
import logging
from pathlib import Path

import discord
import pytest

from bot.app import build
from bot.chat.slack_service import SlackService
from bot.config import load_settings
from bot.errors import ConfigError
from subscriptions.commands import CommandContext
from tests.conftest import FeedServer
from tests.fakes.discord_api import DEFAULT_GUILD_ID, FakeDiscord
from tests.fakes.slack_api import BOT_TOKEN, TEAM_ID, FakeSlack
from tests.fakes.specs import load_discord_spec
from tests.test_discord import MANAGER
from tests.test_slack import CHANNEL, MT, SIGNING_SECRET, SPEC, eventually, rss, socket_mode_bot

pytestmark = pytest.mark.integration


def _env(tmp_path: Path, slack: FakeSlack, **tokens: str) -> dict[str, str]:
    return {
        "JOBBOT_DATA_DIR": str(tmp_path / "data"),
        "SLACK_API_URL": slack.api_url,
        "JOBBOT_HOST": "127.0.0.1",
        "JOBBOT_PORT": "0",
        **tokens,
    }


def _service(tmp_path: Path, slack: FakeSlack, **tokens: str):
    settings = load_settings(
        env=_env(tmp_path, slack, **tokens),
        cwd=tmp_path,
        overrides={"allow_private_sources": True, "default_sources": False},
    )
    bot = build(settings, console=io.StringIO())
    [service] = bot.services
    assert isinstance(service, SlackService)
    return bot, service


@pytest.mark.parametrize(
    ("app_token", "code"),
    [("xapp-1-wrong", "invalid_auth"), (BOT_TOKEN, "not_allowed_token_type")],
)
async def test_a_refused_app_token_stops_socket_mode_at_once_naming_it(
    tmp_path: Path, app_token: str, code: str
) -> None:
    async with FakeSlack(spec=SPEC) as slack:
        bot, service = _service(
            tmp_path, slack, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN=app_token
        )
        service.start_retry = 0.01
        try:
            with pytest.raises(ConfigError) as raised:
                await asyncio.wait_for(service.start(), 5)
        finally:
            await bot.aclose()
        assert raised.value.key == "SLACK_APP_TOKEN"
        assert code in str(raised.value) and "connections:write" in str(raised.value)
        # Asked once: no retry can make Slack take this token.
        assert len(slack.calls_to("apps.connections.open")) == 1
        assert service._socket is None


async def test_a_refused_bot_token_holds_slack_alerts_until_it_works(
    tmp_path: Path, feed_server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    async with FakeSlack(spec=SPEC, per_channel_interval=0) as slack:
        bot, service = _service(
            tmp_path,
            slack,
            SLACK_BOT_TOKEN="xoxb-not-yet",
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
        )
        try:
            with caplog.at_level(logging.ERROR, "jobbot.slack"):
                await service.start()
            # Started all the same: the endpoint serves, Slack alone is held.
            assert service.port is not None
            [error] = [r for r in caplog.records if r.levelno == logging.ERROR]
            assert "Slack refused SLACK_BOT_TOKEN (invalid_auth)" in error.getMessage()
            held = bot.worker.health.held("slack")
            assert held is not None and "SLACK_BOT_TOKEN" in held.reason
            assert not bot.health().ok
            ctx = CommandContext("slack", TEAM_ID, CHANNEL, "U0USER", bot.clock())
            assert (await bot.command("subscribe area:nlp", ctx)).ok
            feed_server.serve("/jobs.rss", rss())
            bot.store.upsert_source(
                "test", "rss", feed_server.url("/jobs.rss"), 600, now=bot.clock()
            )
            await bot.poll_all()
            feed_server.serve("/jobs.rss", rss(MT))
            await bot.poll_all()
            await bot.worker.run_once()
            # Held, not failed: the row waits and the subscription is not paused.
            assert slack.calls_to("chat.postMessage") == []
            assert bot.store.delivery_statuses() == {"retry": 1}
            assert not bot.store.subscriptions()[0].paused
            slack.add_token("xoxb-not-yet")  # the workspace takes the token again
            held.next_check = bot.clock()
            await bot.worker.run_once()
            assert bot.store.delivery_statuses() == {"sent": 1}
            assert len(slack.messages_in(CHANNEL)) == 1
            assert bot.worker.health.held("slack") is None
        finally:
            await service.close()
            await bot.aclose()


async def test_slack_down_at_start_comes_up_when_it_returns(tmp_path: Path) -> None:
    async with FakeSlack(spec=SPEC) as slack:
        bot, service = _service(
            tmp_path, slack, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET
        )
        service.start_retry = 0.05
        slack.start_outage()
        starting = asyncio.create_task(service.start())
        try:
            await eventually(lambda: len(slack.calls_to("auth.test")) >= 2)
            assert not starting.done() and service.port is None
            slack.end_outage()
            await asyncio.wait_for(starting, 5)
            assert service.port is not None
            assert bot.worker.health.held("slack") is None  # an outage is not a refusal
        finally:
            starting.cancel()
            await service.close()
            await bot.aclose()


async def test_wrong_slack_tokens_stop_neither_discord_nor_polling(
    tmp_path: Path,
    feed_server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # build() points discord.py at the fake; put its URLs back afterwards.
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    gateway = discord.gateway.DiscordWebSocket
    monkeypatch.setattr(gateway, "DEFAULT_GATEWAY", gateway.DEFAULT_GATEWAY)
    feed_server.serve("/jobs.rss", rss(MT))
    async with FakeSlack(spec=SPEC) as slack, FakeDiscord(spec=load_discord_spec()) as fake:
        env = _env(
            tmp_path,
            slack,
            SLACK_BOT_TOKEN="xoxb-wrong",
            SLACK_APP_TOKEN="xapp-wrong",
            DISCORD_TOKEN=fake.token,
            DISCORD_GUILD_ID=str(DEFAULT_GUILD_ID),
            DISCORD_API_URL=fake.api_base,
            DISCORD_GATEWAY_URL=fake.gateway_url,
        )
        source = {"name": "test", "kind": "rss", "url": feed_server.url("/jobs.rss")}
        settings = load_settings(
            env=env,
            cwd=tmp_path,
            overrides={
                "allow_private_sources": True,
                "default_sources": False,
                "sources": [source],
            },
        )
        bot = build(settings, console=io.StringIO())
        stop = asyncio.Event()
        with caplog.at_level(logging.ERROR):
            running = asyncio.create_task(bot.run(stop))
            try:
                await fake.wait_until_identified()
                await eventually(lambda: bot.store.source("test").last_success_at is not None)
                await eventually(lambda: "SLACK_APP_TOKEN" in caplog.text)
                assert not running.done()  # Discord and polling go on
                assert "Slack refused SLACK_BOT_TOKEN" in caplog.text
                assert len(slack.calls_to("apps.connections.open")) == 1
                assert bot.worker.health.held("slack") is not None
                assert bot.worker.health.held("discord") is None
                payload = fake.slash_interaction("jobs", "help", member_permissions=MANAGER)
                await fake.dispatch("INTERACTION_CREATE", payload)
                callback = await fake.wait_for_callback(payload["id"])
                assert "jobbot posts research-internship alerts" in callback["data"]["content"]
            finally:
                stop.set()
                await asyncio.wait_for(running, 10)
                await bot.aclose()


async def test_an_app_token_revoked_while_running_is_named_once_and_waited_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with socket_mode_bot(tmp_path) as (server, bot):
        [service] = bot.services
        assert isinstance(service, SlackService)
        service.app_token_retry = 0.2
        await service.start()
        await asyncio.wait_for(server.connected.wait(), timeout=5)
        # Revoked while connected: Slack drops the socket and refuses a new URL.
        server.app_token_refused = True
        server.connected.clear()
        assert server.socket is not None
        with caplog.at_level(logging.INFO):
            await server.socket.close()
            await asyncio.sleep(2.0)  # several asks, with backoff
            refused = [r for r in caplog.records if "refused the app-level token" in r.message]
            assert len(refused) == 1 and refused[0].levelno == logging.ERROR
            assert "SLACK_APP_TOKEN" in refused[0].message
            # No traceback from the SDK for each try.
            assert not [r for r in caplog.records if r.exc_info and r.name.startswith("slack")]
            assert not server.connected.is_set()
            server.app_token_refused = False  # a token Slack takes again
            await asyncio.wait_for(server.connected.wait(), timeout=10)
        assert any("takes the app-level token again" in r.message for r in caplog.records)
