"""Enterprise Grid installs get their alerts: the workspace's org finds its bot token (#17).

The real bolt app in OAuth mode against FakeSlack on 127.0.0.1: an admin installs the
app through the install pages, a workspace subscribes, a matching posting comes in, and
the alert must go out with the token of that installation.
"""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest

from bot.app import JobBot, build
from bot.chat.slack_app import SlackService
from bot.chat.slack_installs import TOKEN_TTL_S, installation_tokens
from bot.config import load_settings
from bot.store.slack_teams import SlackTeams, TeamOrg
from subscriptions.commands import CommandContext
from tests.conftest import FeedServer
from tests.fakes.slack_api import CLIENT_ID, CLIENT_SECRET, FakeSlack, slash_command_body
from tests.test_slack import MT, SIGNING_SECRET, SPEC, Harness

pytestmark = [
    pytest.mark.integration,
    # slack_sdk builds aiohttp.BasicAuth for oauth.v2.access, which aiohttp deprecates.
    pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning"),
]

ORG = "E0ORG"


@dataclass
class OAuthApp:
    """The bot serving Slack's install pages and /slack/events, and the fake behind it."""

    harness: Harness

    @property
    def bot(self) -> JobBot:
        return self.harness.bot

    @property
    def slack(self) -> FakeSlack:
        return self.harness.slack

    async def install(self, code: str) -> None:
        """An admin goes through /slack/install and Slack sends them back with ``code``."""
        base = f"http://127.0.0.1:{self.harness.service.port}"
        http = self.harness.http
        async with http.get(f"{base}/slack/install") as page:
            assert page.status == 200
            state = re.search(r"state=([\w-]+)", await page.text())
            cookie = page.headers["Set-Cookie"].split(";")[0]  # bolt marks it Secure
        assert state is not None
        redirect = f"{base}/slack/oauth_redirect?code={code}&state={state.group(1)}"
        async with http.get(redirect, headers={"Cookie": cookie}) as done:
            assert done.status == 200, await done.text()

    async def command(self, text: str, **body: Any) -> dict[str, Any]:
        status, reply = await self.harness.post(slash_command_body(text, **body))
        assert status == 200, reply
        assert isinstance(reply, dict)
        return reply


@pytest.fixture
async def oauth_app(tmp_path: Path, feed_server: FeedServer) -> AsyncIterator[OAuthApp]:
    async with FakeSlack(spec=SPEC, per_channel_interval=0) as slack:
        settings = load_settings(
            env={
                "JOBBOT_DATA_DIR": str(tmp_path / "data"),
                "SLACK_CLIENT_ID": CLIENT_ID,
                "SLACK_CLIENT_SECRET": CLIENT_SECRET,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": slack.api_url,
                "JOBBOT_HOST": "127.0.0.1",
                "JOBBOT_PORT": "0",
            },
            cwd=tmp_path,
            overrides={"allow_private_sources": True, "default_sources": False},
        )
        bot = build(settings, console=io.StringIO())
        [service] = bot.services
        assert isinstance(service, SlackService)
        await service.start()
        try:
            async with aiohttp.ClientSession() as http:
                yield OAuthApp(Harness(bot, service, slack, feed_server, http))
        finally:
            await service.close()
            await bot.aclose()
        assert slack.errors == []


async def test_an_org_wide_install_alerts_a_workspace_of_its_org(oauth_app: OAuthApp) -> None:
    token = oauth_app.slack.add_oauth_code(
        "code-org", team_id="T0ORG1", enterprise_id=ORG, is_enterprise_install=True
    )
    await oauth_app.install("code-org")
    reply = await oauth_app.command(
        "subscribe area:nlp",
        channel_id="C0ORGJOBS",
        team_id="T0ORG1",
        enterprise_id=ORG,
        is_enterprise_install=True,
    )
    assert reply["text"].startswith("Subscribed #1")
    [sub] = oauth_app.bot.store.subscriptions()
    assert (sub.workspace, sub.channel) == ("T0ORG1", "C0ORGJOBS")
    await oauth_app.harness.feed_items()
    await oauth_app.harness.feed_items(MT)
    assert oauth_app.bot.store.delivery_statuses() == {"sent": 1}
    [_] = oauth_app.slack.messages_in("C0ORGJOBS")
    assert oauth_app.slack.calls_to("chat.postMessage")[-1].token == token


async def test_a_grid_workspace_install_alerts_before_any_command_from_it(
    oauth_app: OAuthApp,
) -> None:
    # Installed on one workspace of an org; the subscription comes from elsewhere (the
    # CLI, an import, a subscription older than this fix): no request named the org.
    token = oauth_app.slack.add_oauth_code("code-ws", team_id="T0ORG2", enterprise_id=ORG)
    await oauth_app.install("code-ws")
    bot = oauth_app.bot
    ctx = CommandContext("slack", "T0ORG2", "C0WSJOBS", "U0USER", bot.clock())
    assert (await bot.command("subscribe area:nlp", ctx)).ok
    await oauth_app.harness.feed_items()
    await oauth_app.harness.feed_items(MT)
    assert bot.store.delivery_statuses() == {"sent": 1}
    assert oauth_app.slack.calls_to("chat.postMessage")[-1].token == token


async def test_a_workspace_outside_the_org_finds_no_token_of_the_org(
    oauth_app: OAuthApp,
) -> None:
    oauth_app.slack.add_oauth_code(
        "code-org", team_id="T0ORG1", enterprise_id=ORG, is_enterprise_install=True
    )
    await oauth_app.install("code-org")
    bot = oauth_app.bot
    ctx = CommandContext("slack", "T0ELSEWHERE", "C0X", "U0USER", bot.clock())
    assert (await bot.command("subscribe area:nlp", ctx)).ok
    await oauth_app.harness.feed_items()
    await oauth_app.harness.feed_items(MT)
    # Not installed there: held as the other token refusals are, never sent with the org's.
    assert oauth_app.slack.calls_to("chat.postMessage") == []
    assert bot.store.delivery_statuses() == {"retry": 1}


def test_the_team_map_tries_the_named_org_then_the_install_then_none(tmp_path: Path) -> None:
    teams = SlackTeams(tmp_path / "installations.db", "client-1")
    assert teams.candidates("T1") == [TeamOrg(None)]  # no slack_bots table yet
    assert teams.remember("T1", "E1", True)
    assert not teams.remember("T1", "E1", True)  # written once per process
    assert teams.candidates("T1") == [TeamOrg("E1", org_wide=True), TeamOrg(None)]
    assert teams.remember("T1", "E1", False)  # the app moved to a workspace install
    assert teams.candidates("T1")[0] == TeamOrg("E1")
    other_app = SlackTeams(tmp_path / "installations.db", "client-2")
    assert other_app.candidates("T1") == [TeamOrg(None)]


class _Installs:
    """An installation store that counts its lookups (the real one is tested above)."""

    def __init__(self) -> None:
        self.lookups = 0
        self.token: str | None = "xoxb-first"

    async def async_find_bot(self, **_: Any) -> Any:
        self.lookups += 1
        return None if self.token is None else SimpleNamespace(bot_token=self.token)


async def test_a_workspace_token_is_looked_up_once_a_minute_not_per_message(
    tmp_path: Path,
) -> None:
    installs, now = _Installs(), [0.0]
    find = installation_tokens(
        installs,  # type: ignore[arg-type]
        SlackTeams(tmp_path / "installations.db", "client-1"),
        clock=lambda: now[0],
    )
    assert [await find("T1") for _ in range(50)] == ["xoxb-first"] * 50
    assert installs.lookups == 1
    installs.token = "xoxb-reinstalled"
    now[0] += TOKEN_TTL_S
    assert await find("T1") == "xoxb-reinstalled" and installs.lookups == 2
    installs.token = None  # uninstalled: not kept, asked again each time
    now[0] += TOKEN_TTL_S
    assert await find("T1") is None and await find("T1") is None and installs.lookups == 4
