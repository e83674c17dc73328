"""The running Slack app: its credentials, and how it starts, fails and retries on its own.

``SlackService.start`` runs beside the scheduler (``JobBot.run``), like Discord's start:

- The bot token (one workspace) is checked with ``auth.test``. A refused token is the
  operator's to fix, but it does not stop the bot: the error names SLACK_BOT_TOKEN,
  Slack deliveries are held (``ChatHealth``: nothing fails or pauses, ``/healthz`` says
  why) and the token is checked again with backoff, as when Slack refuses it later on.
  With OAuth each workspace's token is checked when its alerts go out.
- Socket Mode first asks for a connection URL (``apps.connections.open``) itself:
  slack_sdk would retry a refused app-level token forever, every 10 s. A refused
  SLACK_APP_TOKEN raises ``ConfigError`` at once (``JobBot.run`` logs it and keeps the
  other platforms, polling and Slack alerts going); a URL that works is handed on.
  When Slack refuses the app-level token later on (revoked while running), the
  reconnection says so once, naming SLACK_APP_TOKEN, and asks again with backoff up to
  ``APP_TOKEN_RETRY_MAX`` instead of a traceback every 10 s; alerts keep going.
- Anything else (Slack unreachable at boot, a 5xx, the port taken) is tried again from
  ``start_retry`` seconds, doubling to five minutes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from bot.chat.health import ChatHealth
from bot.chat.slack import SlackAdapter
from bot.errors import ConfigError, TokenChatError
from bot.sources.http import now_utc

__all__ = ["APP_TOKEN_ERRORS", "SlackConfig", "SlackService"]

log = logging.getLogger("jobbot.slack")

START_RETRY_CEILING = 300.0
# Answers of apps.connections.open that no retry can change: the token is not an
# app-level token with `connections:write`, or it was revoked.
# The longest wait between two asks with a refused app-level token (while running).
APP_TOKEN_RETRY_MAX = 900.0
APP_TOKEN_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "not_allowed_token_type",
        "token_revoked",
        "token_expired",
        "account_inactive",
        "missing_scope",
    }
)


@dataclass(frozen=True, slots=True)
class SlackConfig:
    """Slack credentials and where to serve, as the composition root read them."""

    bot_token: str | None = None
    app_token: str | None = None
    signing_secret: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    api_url: str | None = None
    host: str = "0.0.0.0"
    port: int = 3000
    data_dir: Path | None = None

    @property
    def oauth(self) -> bool:
        """Many workspaces, installed through OAuth v2."""
        return bool(self.client_id and self.client_secret)

    @property
    def socket_mode(self) -> bool:
        """Socket Mode is the default whenever an app-level token is set."""
        return bool(self.app_token)

    @property
    def configured(self) -> bool:
        """Enough credentials to run: a bot token or OAuth, plus a way to receive requests."""
        has_token = bool(self.bot_token) or self.oauth
        return has_token and (self.socket_mode or bool(self.signing_secret))


class SlackService:
    """The running Slack app: started and stopped with the bot on its event loop."""

    def __init__(
        self,
        app: AsyncApp,
        adapter: SlackAdapter,
        config: SlackConfig,
        *,
        health: ChatHealth | None = None,
        clock: Callable[[], datetime] = now_utc,
    ) -> None:
        self.app = app
        self.adapter = adapter
        self.config = config
        self.health = health
        self.clock = clock
        self.port: int | None = None
        self.start_retry = 2.0
        # A refused app-level token while running: first wait before asking again.
        self.app_token_retry = 30.0
        self._token_checked = False
        self._runner: web.AppRunner | None = None
        self._socket: Any = None

    @property
    def serves_http(self) -> bool:
        """HTTP is served without Socket Mode, and for the OAuth install pages."""
        return not self.config.socket_mode or self.config.oauth

    async def start(self) -> None:
        """Check the bot token, then open the Socket Mode connection and/or serve HTTP.

        Returns once connected. A refused app-level token raises ``ConfigError`` (what
        was opened is closed again); other failures are retried with backoff (see the
        module docstring).
        """
        delay = self.start_retry
        while True:
            try:
                await self._start_once()
                return
            except ConfigError:
                await self.close()
                raise
            except Exception as error:  # the edge: Slack down must not stop the others
                log.warning("Slack could not start (%r); trying again in %.0f s", error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, START_RETRY_CEILING)

    async def _start_once(self) -> None:
        # Each step is done once: a retry picks up where the last try failed.
        if not self._token_checked:
            await self._check_bot_token()
            self._token_checked = True
        if self.serves_http and self._runner is None:
            await self._serve_http()
        if self.config.socket_mode and self._socket is None:
            await self._connect_socket()

    async def _check_bot_token(self) -> None:
        """``auth.test`` for the one workspace's bot token; a refusal holds Slack."""
        if self.config.oauth or not self.config.bot_token:
            return  # OAuth: one token per workspace, checked as its alerts go out
        try:
            # Any team: one workspace has one token. Network trouble raises: retried.
            identity = await self.adapter.check_team("")
        except TokenChatError as error:
            log.error(
                "Slack refused SLACK_BOT_TOKEN (%s): Slack alerts are held, and the token is "
                "checked again with backoff. Set the bot token (xoxb-…) from the app's "
                "OAuth & Permissions page and restart jobbot",
                error.code,
            )
            if self.health is not None:
                self.health.hold("slack", f"SLACK_BOT_TOKEN refused: {error}", self.clock())
            return
        log.info(
            "Slack bot token works (workspace %s, bot user %s)",
            identity.get("team_id"),
            identity.get("user_id"),
        )

    async def _serve_http(self) -> None:
        web_app = self.app.web_app(path="/slack/events", port=self.config.port)
        runner = web.AppRunner(web_app, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.config.host, self.config.port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = runner.addresses[0][1]
        log.info("Slack HTTP endpoint on %s:%s/slack/events", self.config.host, self.port)

    async def _connect_socket(self) -> None:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        app_token = self.config.app_token
        assert app_token
        try:
            opened = await self.app.client.apps_connections_open(app_token=app_token)
        except SlackApiError as error:
            code = _error_code(error)
            if code in APP_TOKEN_ERRORS:
                raise ConfigError(
                    "SLACK_APP_TOKEN",
                    f"Slack refused the app-level token ({code}). Socket Mode needs an "
                    "xapp-… token with the connections:write scope (the app's Basic "
                    "Information page, App-Level Tokens); until then /jobs cannot reach "
                    "jobbot, while alerts still go out with SLACK_BOT_TOKEN",
                ) from error
            raise
        handler: Any = AsyncSocketModeHandler(self.app, app_token)
        # The URL just issued is used as it is: slack_sdk asks for one only when it has none.
        handler.client.wss_uri = opened["url"]
        handler.client.issue_new_wss_url = self._url_issuer(handler.client, app_token)
        # Kept before connecting: a stop during the connection closes it (``close``).
        self._socket = handler
        await handler.connect_async()
        log.info("Slack Socket Mode connected")

    def _url_issuer(self, client: Any, app_token: str) -> Callable[[], Awaitable[str]]:
        """slack_sdk's ``issue_new_wss_url`` for reconnections, patient with a refused
        app-level token: one error naming it, then asking again with backoff, until Slack
        takes it again (or the bot stops). Other errors go to slack_sdk as before."""

        async def issue() -> str:
            delay, told = self.app_token_retry, False
            while True:
                try:
                    opened = await self.app.client.apps_connections_open(app_token=app_token)
                except SlackApiError as error:
                    code = _error_code(error)
                    if code not in APP_TOKEN_ERRORS or client.closed:
                        raise
                    if not told:
                        log.error(
                            "Slack refused the app-level token (%s) while reconnecting "
                            "Socket Mode: /jobs cannot reach jobbot until SLACK_APP_TOKEN "
                            "works (set a new xapp-… token and restart); alerts still go "
                            "out. Asking again every %.0f s or more.",
                            code,
                            delay,
                        )
                        told = True
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, APP_TOKEN_RETRY_MAX)
                    continue
                if told:
                    log.info("Slack takes the app-level token again: reconnecting Socket Mode")
                return str(opened["url"])

        return issue

    async def close(self) -> None:
        """Close the connection and the HTTP server (safe to call twice)."""
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def describe(self) -> str:
        """Where Slack requests come in, for the start-up summary."""
        mode = "Socket Mode" if self.config.socket_mode else f"HTTP on :{self.config.port}"
        workspaces = "OAuth installs" if self.config.oauth else "one workspace"
        return f"Slack ({mode}, {workspaces})"


def _error_code(error: SlackApiError) -> str:
    """The ``error`` of a Slack API refusal ("" when its body says none)."""
    data = getattr(error.response, "data", None)
    return str(data.get("error") or "") if isinstance(data, dict) else ""
