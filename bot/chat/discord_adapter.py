"""The Discord connection: log in, sync the `/jobs` commands, keep the gateway up.

A discord.py client runs on the bot's own event loop. Commands are rendered to the
`/jobs` text grammar and handed to the platform-neutral handlers (``JobBot.command``), so
Discord's typed options get the same validation and messages as Slack and the CLI
(``discord_commands``); alerts go out through ``discord_delivery``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import warnings
from collections import OrderedDict
from pathlib import Path

import yarl

from bot.chat.discord_commands import CommandRunner, DiscordCommands, render_options
from bot.chat.discord_delivery import DiscordDelivery
from bot.chat.pacing import DISCORD_GLOBAL_RATE, ChannelPacer, interval_pacer
from bot.errors import (
    ConfigError,
)

with warnings.catch_warnings():
    # discord.py imports the stdlib ``audioop`` for voice (deprecated, PEP 594).
    warnings.filterwarnings(
        "ignore", message="'audioop' is deprecated", category=DeprecationWarning
    )
    import discord
    from discord import app_commands

log = logging.getLogger("jobbot.discord")

__all__ = ["DiscordAdapter", "point_discord_py_at", "render_options"]

START_RETRY_CEILING = 300.0


def point_discord_py_at(api_url: str | None, gateway_url: str | None) -> None:
    """Send discord.py's REST calls and gateway connection to other servers (local tests)."""
    if api_url:
        discord.http.Route.BASE = api_url.rstrip("/")
    if gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


class DiscordAdapter(DiscordCommands, DiscordDelivery):
    """The ``ChatAdapter`` for Discord: the connection, with the `/jobs` command tree
    (``DiscordCommands``) and delivery (``DiscordDelivery``).
    """

    platform = "discord"

    def __init__(
        self,
        token: str,
        *,
        state_dir: Path,
        guild_id: int | None = None,
        channel_pace: float = 1.0,
        guild_ready_timeout: float = 2.0,
    ) -> None:
        self.token = token
        self.state_dir = state_dir
        self.guild_id = guild_id
        self.channel_pace = channel_pace
        self.guild_ready_timeout = guild_ready_timeout
        self.runner: CommandRunner | None = None
        self.client: discord.Client | None = None
        self.tree: app_commands.CommandTree[discord.Client] | None = None
        self._task: asyncio.Task[None] | None = None
        self._token_reset = False
        self.start_retry = 2.0
        self._pacer = interval_pacer(channel_pace)
        self._paced_at = channel_pace
        self._global = ChannelPacer(DISCORD_GLOBAL_RATE, 1.0)
        self._fetched: dict[str, discord.ForumChannel | None] = {}
        self._posts: OrderedDict[str, str] = OrderedDict()

    def bind(self, runner: CommandRunner) -> None:
        """Give the adapter the bot whose commands and store it serves."""
        self.runner = runner

    async def start(self) -> None:
        """Log in, sync the commands if they changed, and connect to the gateway.

        A start that fails for any other reason than a refused token (network down at
        boot, Discord answering 5xx) is tried again with backoff, from ``start_retry``
        seconds doubling to five minutes; a refused token raises ``ConfigError`` at once.
        """
        delay = self.start_retry
        while True:
            try:
                await self._start_once()
                return
            except ConfigError:
                raise
            except Exception as error:  # the edge: Discord down must not stop the others
                log.warning("Discord could not start (%r); trying again in %.0f s", error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, START_RETRY_CEILING)

    async def _start_once(self) -> None:
        # Only ``guilds``: jobbot reads no messages, members or presences, and slash
        # commands need no intent at all.
        client = discord.Client(
            intents=discord.Intents(guilds=True),
            allowed_mentions=discord.AllowedMentions.none(),
            guild_ready_timeout=self.guild_ready_timeout,
        )
        self.client = client
        self.tree = self._build_tree(client)
        client.event(self.on_guild_remove)
        try:
            await client.login(self.token)
            await self.sync_commands()
        except discord.LoginFailure as error:
            await client.close()
            raise ConfigError("DISCORD_TOKEN", "Discord refused this bot token") from error
        except BaseException:
            await client.close()
            raise
        self._token_reset = False
        self._task = asyncio.create_task(client.connect(reconnect=True))
        self._task.add_done_callback(self._gateway_ended)

    def _gateway_ended(self, task: asyncio.Task[None]) -> None:
        """A gateway connection that ends with an error is logged (sends still use REST).

        Close code 4004 means the token was reset: discord.py closes the client, so its
        sends are held (``TokenChatError``) until jobbot restarts with the new token.
        """
        if task.cancelled() or task.exception() is None:
            return
        error = task.exception()
        if isinstance(error, discord.ConnectionClosed) and error.code == 4004:
            self._token_reset = True
            log.error(
                "Discord closed the gateway with 4004: token reset. Set DISCORD_TOKEN to the "
                "new token from https://discord.com/developers/applications and restart"
            )
            return
        log.error("the Discord gateway connection ended", exc_info=error)

    async def close(self) -> None:
        """Disconnect and stop the gateway task."""
        if self.client is not None:
            await self.client.close()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, 5)
            except (TimeoutError, asyncio.CancelledError, discord.DiscordException):
                self._task.cancel()
            self._task = None

    async def sync_commands(self) -> bool:
        """Upload the command set when it differs from the last upload; True if it did."""
        assert self.tree is not None
        guild = self._guild()
        payload = [c.to_dict(self.tree) for c in self.tree.get_commands(guild=guild)]
        # A new application (another token) or another target needs its own upload.
        app_id = self.client.application_id if self.client else None
        scope = f"app-{app_id} " + (f"guild-{self.guild_id}" if guild else "global")
        digest = hashlib.sha256(
            json.dumps([scope, payload], sort_keys=True, default=str).encode()
        ).hexdigest()
        marker = self.state_dir / "discord_commands.sha256"
        if marker.is_file() and marker.read_text(encoding="utf-8").strip() == digest:
            return False
        await self.tree.sync(guild=guild)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        marker.write_text(digest + "\n", encoding="utf-8")
        log.info("synced /jobs commands (%s)", scope)
        return True
