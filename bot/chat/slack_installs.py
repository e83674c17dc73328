"""The bot token of each workspace that installed the Slack app by OAuth, Grid orgs included.

Subscriptions keep the workspace (team id) their command came from. A workspace of an
Enterprise Grid org has its bot saved by slack_sdk under its org as well, and an app
installed on the whole org has one bot saved under the org alone, so the token is found
through ``bot.store.slack_teams.SlackTeams``: requests from a Grid workspace record its
org, and the lookup tries that org, the workspace's own install in any org, then no org.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.oauth.installation_store.async_installation_store import (
    AsyncInstallationStore,
)

from bot.chat.slack import TokenLookup
from bot.store.slack_teams import SlackTeams

__all__ = ["TOKEN_TTL_S", "installation_tokens", "remember_orgs"]

log = logging.getLogger("jobbot.slack")


# Every Slack send asks for its workspace's token: a found token is kept this long, so
# that a busy workspace's alerts do not each cost database lookups, while a reinstall
# (a new token) is still picked up within the minute.
TOKEN_TTL_S = 60.0


def installation_tokens(
    installations: AsyncInstallationStore,
    teams: SlackTeams,
    clock: Callable[[], float] = time.monotonic,
) -> TokenLookup:
    """The ``TokenLookup`` of an OAuth app: a workspace's bot token, or None."""
    found: dict[str, tuple[str, float]] = {}

    async def find_token(team: str) -> str | None:
        cached = found.get(team)
        if cached is not None and clock() - cached[1] < TOKEN_TTL_S:
            return cached[0]
        for org in await asyncio.to_thread(teams.candidates, team):
            bot = await installations.async_find_bot(
                enterprise_id=org.enterprise_id,
                team_id=team,
                is_enterprise_install=org.org_wide,
            )
            if bot is not None and bot.bot_token:
                found[team] = (bot.bot_token, clock())
                return bot.bot_token
        found.pop(team, None)
        return None

    return find_token


def remember_orgs(app: AsyncApp, teams: SlackTeams) -> None:
    """Record the org of each Grid workspace a request comes from (a bolt middleware)."""

    async def remember(context: AsyncBoltContext, next: Callable[[], Awaitable[Any]]) -> Any:
        team, enterprise = context.team_id, context.enterprise_id
        if team and enterprise:  # only Grid workspaces need it; others cost nothing
            org_wide = bool(context.is_enterprise_install)
            try:
                if await asyncio.to_thread(teams.remember, team, enterprise, org_wide):
                    log.info(
                        "Slack workspace %s belongs to org %s (installed on %s)",
                        team,
                        enterprise,
                        "the whole org" if org_wide else "the workspace",
                    )
            except sqlite3.Error as error:  # the edge: the command itself must still run
                log.warning("could not record the org of Slack workspace %s: %s", team, error)
        return await next()

    app.middleware(remember)
