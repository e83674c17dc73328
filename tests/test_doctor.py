"""`jobbot doctor` against local fakes: a wrong token is named with how to fix it."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from bot.logs import mask_urls
from bot.store import SCHEMA_VERSION, Store
from subscriptions.model import Filter, Schedule
from tests.conftest import DATA, NOW, FeedServer, empty_postgres
from tests.fakes.slack_api import BOT_TOKEN, FakeSlack
from tests.test_ops import DISCORD, SLACK_BOT

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[1]
GOOD_DISCORD = "MTAwMDAwMDAwMDAwMDAwMDAwMA.GoodOk.goodgoodgoodgoodgoodgoodgoodgood"


@pytest.fixture
async def fake_discord() -> AsyncIterator[str]:
    """Discord's /users/@me and /channels/{id} on 127.0.0.1: 401 for any other token."""

    async def me(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bot {GOOD_DISCORD}":
            return web.json_response({"message": "401: Unauthorized", "code": 0}, status=401)
        return web.json_response({"id": "42", "username": "jobbot"})

    async def channel(request: web.Request) -> web.Response:
        if request.match_info["id"] == "100":
            return web.json_response({"id": "100", "type": 0})
        return web.json_response({"message": "Missing Access", "code": 50001}, status=403)

    app = web.Application()
    app.router.add_get("/api/v10/users/@me", me)
    app.router.add_get("/api/v10/channels/{id}", channel)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/api/v10"
    await runner.cleanup()


async def _doctor(tmp_path: Path, config: str, **env: str) -> tuple[int, str]:
    (tmp_path / "jobbot.toml").write_text(config)
    full = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_", "JOBBOT_"))
    }
    full |= {"JOBBOT_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(ROOT), **env}
    # The fakes run on this event loop, so the CLI runs as an asyncio subprocess.
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "doctor",
        cwd=tmp_path,
        env=full,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode is not None
    return process.returncode, out.decode()


QUIET = "default_sources = false\nallow_private_sources = true\n"


async def test_wrong_tokens_are_named_with_the_fix_and_exit_non_zero(
    tmp_path: Path, fake_discord: str
) -> None:
    async with FakeSlack(per_channel_interval=0) as slack:
        code, out = await _doctor(
            tmp_path,
            QUIET,
            SLACK_BOT_TOKEN=SLACK_BOT,
            SLACK_API_URL=slack.api_url,
            DISCORD_TOKEN=DISCORD,
            DISCORD_API_URL=fake_discord,
        )
    assert code == 1, out
    assert "BAD  Slack bot token (SLACK_BOT_TOKEN): rejected by Slack (invalid_auth)" in out
    assert "BAD  Discord token (DISCORD_TOKEN): rejected by Discord (401 Unauthorized)" in out
    assert "fix: copy the Bot User OAuth Token" in out and "set SLACK_BOT_TOKEN" in out
    assert "Reset Token, and set DISCORD_TOKEN" in out
    assert SLACK_BOT not in out and DISCORD not in out
    assert "2 problem(s) found." in out


async def test_good_tokens_channels_and_sources_pass(
    tmp_path: Path, fake_discord: str, feed_server: FeedServer
) -> None:
    feed_server.serve("/jobs.rss", (DATA / "feed_v1.rss").read_bytes())
    config = (
        QUIET + f'[[sources]]\nname = "lab"\nkind = "rss"\nurl = "{feed_server.url("/jobs.rss")}"\n'
    )
    store = Store.open(tmp_path / "data" / "jobbot.db")
    for channel in ("100", "200", "@42"):  # "@42": a user's personal alerts, by DM
        store.add_subscription(
            platform="discord",
            workspace="G1",
            channel=channel,
            filter=Filter(areas=frozenset({"nlp"})),
            schedule=Schedule(),
            created_by="t",
            now=NOW,
        )
    store.close()
    async with FakeSlack(per_channel_interval=0) as slack:
        code, out = await _doctor(
            tmp_path,
            config,
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_API_URL=slack.api_url,
            DISCORD_TOKEN=GOOD_DISCORD,
            DISCORD_API_URL=fake_discord,
        )
    assert "ok   Slack bot token (SLACK_BOT_TOKEN): valid for workspace" in out, out
    assert "ok   Discord token (DISCORD_TOKEN): valid for bot user jobbot" in out
    assert "ok   Discord channel 100" in out
    assert "ok   personal subscriptions: 1 user(s) get alerts by direct message" in out
    assert "channel @42" not in out
    assert "ok   Discord commands: /jobs is global" in out
    assert "BAD  Discord channel 200: a subscription posts here but Discord answers HTTP 403" in out
    assert "ok   source lab:" in out and "posting(s) in one request" in out
    assert code == 1 and "1 problem(s) found." in out


async def test_a_broken_source_and_a_bad_setting_are_reported(tmp_path: Path) -> None:
    code, out = await _doctor(
        tmp_path,
        'default_sources = false\n[[sources]]\nname = "meta"\nkind = "rss"\n'
        'url = "http://169.254.169.254/latest/"\n',
    )
    assert code == 1
    assert "BAD  source meta: refused to fetch 169.254.169.254" in out
    assert "fix: check http://169.254.169.254/latest/" in out
    code, out = await _doctor(tmp_path, "fetch_timeout = 'soon'\n")
    assert code == 1 and "BAD  config: setting 'fetch_timeout'" in out and "fix:" in out


async def test_slack_channels_and_scopes_are_checked(tmp_path: Path) -> None:
    from bot.config import load_settings
    from bot.doctor import format_findings, run_doctor

    settings = load_settings(
        env={"JOBBOT_DATA_DIR": str(tmp_path / "data"), "SLACK_BOT_TOKEN": BOT_TOKEN},
        cwd=tmp_path,
        overrides={"default_sources": False},
    )
    store = Store.open(settings.database_path)
    for channel in ("C0GENERAL", "C0OUT", "C0GONE"):
        store.add_subscription(
            platform="slack",
            workspace="T0FAKE",
            channel=channel,
            filter=Filter(),
            schedule=Schedule(),
            created_by="t",
            now=NOW,
        )
    store.close()
    async with FakeSlack(per_channel_interval=0, channels={"C0GENERAL": "general"}) as slack:
        slack.add_channel("C0OUT", "outside", bot_is_member=False)
        out = format_findings(await run_doctor(settings, slack_api_url=slack.api_url))
    assert "ok   Slack channel C0GENERAL: the bot can post here" in out
    assert "BAD  Slack channel C0OUT: the bot is not a member" in out and "/invite" in out
    assert "BAD  Slack channel C0GONE: a subscription posts here but Slack answers " in out
    assert "channel_not_found" in out

    # Scopes come from the X-OAuth-Scopes header of auth.test, as Slack sends it.
    async def auth_test(request: web.Request) -> web.Response:
        return web.json_response(
            {"ok": True, "team": "Lab", "team_id": "T1"}, headers={"X-OAuth-Scopes": "chat:write"}
        )

    app = web.Application()
    app.router.add_post("/api/auth.test", auth_test)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        api = f"http://127.0.0.1:{runner.addresses[0][1]}/api/"
        empty = load_settings(
            env={"JOBBOT_DATA_DIR": str(tmp_path / "other"), "SLACK_BOT_TOKEN": BOT_TOKEN},
            cwd=tmp_path,
            overrides={"default_sources": False},
        )
        out = format_findings(await run_doctor(empty, slack_api_url=api))
    finally:
        await runner.cleanup()
    assert "BAD  Slack scopes: missing commands" in out and "Bot Token Scopes" in out
    # Each other scope missing costs one feature, named.
    assert "BAD  Slack scope im:write: missing: no personal alerts" in out
    assert "BAD  Slack scope channels:read: missing: no checking at subscribe time" in out


async def test_an_unreachable_postgresql_is_named_without_its_password(tmp_path: Path) -> None:
    url = "postgresql://bot:hunter2@127.0.0.1:1/jobs"
    code, out = await _doctor(tmp_path, QUIET, JOBBOT_DATABASE_URL=url)
    assert code == 1
    # The whole user-info is masked, as in every URL jobbot prints (#18).
    assert "BAD  database: cannot open postgresql://[redacted]@127.0.0.1:1/jobs" in out
    assert "Connection refused" in out
    assert "fix: check database_url / JOBBOT_DATABASE_URL" in out
    assert "hunter2" not in out


async def test_postgresql_connection_and_schema_version_are_checked(
    tmp_path: Path, postgres_url: str
) -> None:
    empty_postgres(postgres_url)
    code, out = await _doctor(tmp_path, QUIET, JOBBOT_DATABASE_URL=postgres_url)
    shown = mask_urls(postgres_url)
    version = f"schema {SCHEMA_VERSION} of {SCHEMA_VERSION}"
    assert f"ok   database: {shown} ({version}, 0 subscription(s)" in out, out
