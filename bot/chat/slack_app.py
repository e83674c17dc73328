"""The Slack app: `/jobs`, the subscribe modal and the installation flow, on slack-bolt.

Slack only adapts the platform-neutral handlers (``subscriptions.commands``): a slash
command becomes ``JobBot.command(text, ctx)``, its ``Reply`` the acknowledgement, or,
when the work would not be done within the 3 s Slack allows, a message through the
command's response_url after an empty acknowledgement (``bot.chat.answer``,
``bot.chat.slack_replies``). The app runs on the scheduler's event loop, in Socket Mode
when an app-level token is set, else as an HTTP endpoint (``POST /slack/events``) whose
requests bolt verifies by signature.

Who may change a channel's subscriptions: members of the channel. Slack only lets a user
run a slash command in a conversation they can post in, so the command arriving from the
channel is taken as membership (no ``conversations.members`` call, no extra scope).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store.sqlite3 import SQLite3InstallationStore
from slack_sdk.oauth.state_store.sqlite3 import SQLite3OAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.answer import Pending
from bot.chat.health import ChatHealth
from bot.chat.slack import SlackAdapter, TokenLookup, make_client
from bot.chat.slack_access import subscribe_if_postable
from bot.chat.slack_installs import installation_tokens, remember_orgs
from bot.chat.slack_render import (
    SUBSCRIBE_CALLBACK,
    country_options,
    field_errors,
    modal_tokens,
    subscribe_modal,
)
from bot.chat.slack_replies import ack_reply, post_reply, respond_reply
from bot.chat.slack_scopes import BOT_SCOPES
from bot.chat.slack_service import SlackConfig, SlackService
from bot.errors import CommandError
from bot.store.slack_teams import SlackTeams
from subscriptions.commands import CommandContext, Reply
from subscriptions.grammar import parse_command

__all__ = ["BOT_SCOPES", "COMMAND", "CommandRunner", "SlackConfig", "SlackService", "build_slack"]

log = logging.getLogger("jobbot.slack")


class _QuietTokenSkipped(logging.Filter):
    """Drops bolt's "`token` will be unused" warning, which every command would print.

    bolt reads SLACK_BOT_TOKEN from the environment even when given a client, and then
    warns that the client's token wins; here the client carries that very token.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


_QUIET_TOKEN_SKIPPED = _QuietTokenSkipped()

COMMAND = "/jobs"
MEMBERSHIP_RULE = "members of this channel"


class CommandRunner(Protocol):
    """What the Slack app needs from the bot (``bot.app.JobBot`` implements it)."""

    async def command(self, text: str, ctx: CommandContext) -> Reply:
        """Run one `/jobs` command."""
        ...


def _context(
    runner_now: Callable[[], datetime], team: str, channel: str, user: str
) -> CommandContext:
    return CommandContext(
        platform="slack",
        workspace=team,
        channel=channel,
        user=user,
        now=runner_now(),
        can_manage=True,  # the command came from the channel: see the module docstring
        manage_rule=MEMBERSHIP_RULE,
        direct=_context_direct(channel),
    )


def _context_direct(channel: str) -> bool:
    """Typed in the app's DM (a D… conversation): about the user's own alerts (#19)."""
    return channel.startswith("D")


def build_slack(
    runner: CommandRunner,
    clock: Callable[[], datetime],
    config: SlackConfig,
    *,
    health: ChatHealth | None = None,
) -> SlackService:
    """The bolt app with its listeners, and the delivery adapter sharing its tokens.

    ``health`` is the delivery worker's: a bot token refused at start holds Slack there.
    """
    # bolt takes the token from the client it is given (one workspace) or, with OAuth,
    # from the installation store per request; either way calls go to ``api_url``.
    client = make_client(config.bot_token if not config.oauth else None, base_url=config.api_url)
    logging.getLogger("slack_bolt.AsyncApp").addFilter(_QUIET_TOKEN_SKIPPED)  # a repeat is ignored
    tokens: TokenLookup
    if config.oauth:
        assert config.client_id and config.client_secret
        data_dir = config.data_dir or Path.cwd()
        data_dir.mkdir(parents=True, exist_ok=True)
        installations = SQLite3InstallationStore(
            database=str(data_dir / "slack-installations.db"), client_id=config.client_id
        )
        app = AsyncApp(
            client=client,
            signing_secret=config.signing_secret or "",
            oauth_settings=AsyncOAuthSettings(
                client_id=config.client_id,
                client_secret=config.client_secret,
                scopes=list(BOT_SCOPES),
                installation_store=installations,
                state_store=SQLite3OAuthStateStore(
                    database=str(data_dir / "slack-oauth-state.db"), expiration_seconds=600
                ),
            ),
        )
        # app_uninstalled / tokens_revoked delete the workspace's installation.
        app.enable_token_revocation_listeners()
        # Enterprise Grid: the workspace's org, learnt from its requests, finds its bot.
        teams = SlackTeams(data_dir / "slack-installations.db", config.client_id)
        remember_orgs(app, teams)
        tokens = installation_tokens(installations, teams)
    else:
        token = config.bot_token

        async def single_token(team: str) -> str | None:
            return token

        tokens = single_token
        app = AsyncApp(client=client, signing_secret=config.signing_secret or "")

        @app.event("app_uninstalled")
        @app.event("tokens_revoked")
        async def lost_access(event: dict[str, Any]) -> None:
            # Deliveries will now fail with a permanent error and pause the channels.
            log.error("Slack access ended (%s): set a new SLACK_BOT_TOKEN", event.get("type"))

    adapter = SlackAdapter(tokens, base_url=config.api_url)
    _register(app, runner, clock)
    return SlackService(app, adapter, config, health=health, clock=clock)


# With `should_escape` on, Slack sends a picked user group as <!subteam^S…|@handle> (what
# `mention:` needs) and links as <https://…> or <https://…|label>; & < > typed by the user
# arrive as entities.
_ESCAPED_LINK = re.compile(r"<((?:https?|mailto):[^|>\s]+)(?:\|[^>]*)?>", re.I)


def command_text(raw: str) -> str:
    """Slash-command text as the grammar reads it: links unwrapped, entities decoded.

    Mentions (``<!subteam^…>``, ``<!here>``, ``<@U…>``) stay as Slack wrote them, so the
    grammar can tell a user group from a person.
    """
    text = _ESCAPED_LINK.sub(lambda m: m.group(1), raw)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


def _register(app: AsyncApp, runner: CommandRunner, clock: Callable[[], datetime]) -> None:
    @app.command(COMMAND)
    async def jobs(
        ack: AsyncAck, respond: AsyncRespond, command: dict[str, Any], client: AsyncWebClient
    ) -> None:
        text = command_text(str(command.get("text") or ""))
        team, channel = command["team_id"], command["channel_id"]
        if text.lower() == "subscribe":
            # The trigger id lives 3 s: acknowledge, then open the modal at once.
            await ack()
            try:
                # In the app's DM the form makes a personal subscription (#19).
                view = subscribe_modal(team, channel, personal=_context_direct(channel))
                await client.views_open(trigger_id=command["trigger_id"], view=view)
            except SlackApiError as error:
                log.warning("could not open the subscribe form: %s", error)
                await respond(
                    "I could not open the subscribe form (it has to open within 3 seconds). "
                    "Try again, or type the filters: `/jobs subscribe area:nlp country:DE`."
                )
            return
        ctx = _context(clock, team, channel, command["user_id"])
        # The work waits on the store, which a big poll can hold for seconds: answer in
        # the ack only when it is quick, else ack now and reply by response_url (#17).
        # Digests it asks for run after the answer either way.
        pending = Pending(_run(runner, client, text or "help", ctx), text or "help", log)
        reply = await pending.within()
        if reply is not None:
            await ack_reply(ack, reply)
            return
        await ack()
        await respond_reply(respond, await pending.reply(), ctx)

    @app.options("countries")
    async def countries(ack: AsyncAck, payload: dict[str, Any]) -> None:
        await ack(options=country_options(str(payload.get("value") or "")))

    @app.action("apply")
    async def apply(ack: AsyncAck) -> None:
        # The Apply button opens the posting's URL in the browser; Slack still reports it.
        await ack()

    @app.view(SUBSCRIBE_CALLBACK)
    async def submit(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        meta = json.loads(view.get("private_metadata") or "{}")
        tokens = modal_tokens(view["state"]["values"])
        errors = field_errors(tokens)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        ctx = _context(clock, meta.get("team", ""), meta.get("channel", ""), body["user"]["id"])
        text = "subscribe " + " ".join(token for _, token in tokens)
        # A submission is acknowledged within 3 s too; a slow store closes the form at
        # once and the outcome follows in the channel (or to the user alone) (#17).
        pending = Pending(_run(runner, client, text, ctx), text, log)
        reply = await pending.within()
        if reply is None:
            await ack()
            await post_reply(client, await pending.reply(), ctx)
            return
        if not reply.ok:
            block = tokens[-1][0] if tokens else "areas"
            await ack(response_action="errors", errors={block: reply.text.split("\n")[0]})
            return
        await ack()
        await post_reply(client, reply, ctx)


def _run(
    runner: CommandRunner, client: AsyncWebClient, text: str, ctx: CommandContext
) -> Awaitable[Reply]:
    """The command's work; a subscribe first checks that the bot can post in the channel
    (a Slack question, so asked here rather than in the platform-neutral handlers)."""
    words = text.split(maxsplit=1)
    if not words or words[0].lower() != "subscribe" or _personal(text, ctx):
        return runner.command(text, ctx)
    return subscribe_if_postable(client, ctx.channel, lambda: runner.command(text, ctx))


def _personal(text: str, ctx: CommandContext) -> bool:
    """A subscribe whose alerts go by DM (`to:me`, or typed in the app's DM): where it
    was typed needs no posting rights. A command that does not parse is answered by
    the handlers."""
    try:
        return ctx.direct or parse_command(text).personal
    except CommandError:
        return False
