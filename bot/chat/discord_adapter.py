"""The Discord connection: log in, and in one process per bot the gateway and commands.

A discord.py client runs on the bot's own event loop. Every process logs in and sends
through REST; the process holding the gateway lock (``gateway_lease``, #16) also syncs
the `/jobs` commands (``discord_sync``) and connects to the gateway, where they arrive.
Commands are rendered to the `/jobs` text grammar and handed to the platform-neutral
handlers (``JobBot.command``), so Discord's typed options get the same validation and
messages as Slack and the CLI (``discord_commands``); alerts go out through
``discord_delivery``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

import yarl

from bot.chat import discord_sync
from bot.chat.discord_commands import CommandRunner, DiscordCommands, render_options
from bot.chat.discord_delivery import DiscordDelivery
from bot.chat.discord_lib import app_commands, discord
from bot.chat.gateway_lease import CHECK, RETRY, GatewayLease
from bot.chat.pacing import DISCORD_GLOBAL_RATE, ChannelPacer, interval_pacer
from bot.errors import (
    ConfigError,
)
from bot.store.locks import ProcessLock

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

    ``lock_for`` gives the lock, by name, that decides which process runs the gateway;
    without it (one process, tests) this process always does.
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
        lock_for: Callable[[str], ProcessLock] | None = None,
    ) -> None:
        self.token = token
        self.state_dir = state_dir
        self.guild_id = guild_id
        self.channel_pace = channel_pace
        self.guild_ready_timeout = guild_ready_timeout
        self.runner: CommandRunner | None = None
        self.client: discord.Client | None = None
        self.tree: app_commands.CommandTree[discord.Client] | None = None
        self.lock_for = lock_for
        self._task: asyncio.Task[None] | None = None
        self.lease: GatewayLease | None = None
        self._lease_task: asyncio.Task[None] | None = None
        self._token_reset = False
        self.start_retry = 2.0
        self.gateway_retry = RETRY
        self.gateway_check = CHECK
        self._pacer = interval_pacer(channel_pace)
        self._paced_at = channel_pace
        self._global = ChannelPacer(DISCORD_GLOBAL_RATE, 1.0)
        self._fetched: dict[str, discord.ForumChannel | None] = {}
        self._posts: OrderedDict[str, str] = OrderedDict()

    def bind(self, runner: CommandRunner) -> None:
        """Give the adapter the bot whose commands and store it serves."""
        self.runner = runner

    async def start(self) -> None:
        """Log in for REST, then run the gateway here whenever this process holds its lock.

        Returns once logged in; the gateway opens in the background (at once when the
        lock is free). A login that fails for any other reason than a refused token
        (network down at boot, Discord answering 5xx) is tried again with backoff, from
        ``start_retry`` seconds doubling to five minutes; a refused token raises
        ``ConfigError`` at once.
        """
        delay = self.start_retry
        while True:
            try:
                await self._login()
                break
            except ConfigError:
                raise
            except Exception as error:  # the edge: Discord down must not stop the others
                log.warning("Discord could not start (%r); trying again in %.0f s", error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, START_RETRY_CEILING)
        assert self.client is not None and self.client.user is not None
        # Named after the bot user (public), never the token: one gateway per bot.
        name = f"discord-gateway-{self.client.user.id}"
        lock = self.lock_for(name) if self.lock_for else _Unshared()
        self.lease = GatewayLease(
            lock,
            self._open_gateway,
            self._close_gateway,
            retry=self.gateway_retry,
            check=self.gateway_check,
        )
        self._lease_task = asyncio.create_task(self.lease.run(), name="discord-gateway-lease")

    @property
    def gateway(self) -> str:
        """Which process runs the gateway, as far as this one knows (for ``/healthz``)."""
        return self.lease.state if self.lease else "starting"

    async def _login(self) -> None:
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
        except discord.LoginFailure as error:
            await client.close()
            raise ConfigError("DISCORD_TOKEN", "Discord refused this bot token") from error
        except BaseException:
            await client.close()
            raise
        self._token_reset = False

    async def _open_gateway(self) -> asyncio.Task[None]:
        """Sync the commands if they changed, and connect to the gateway (the lock holder)."""
        assert self.client is not None
        await self.sync_commands()
        self._task = asyncio.create_task(self.client.connect(reconnect=True))
        self._task.add_done_callback(self._gateway_ended)
        return self._task

    async def _close_gateway(self) -> None:
        """End the gateway connection only: REST (sending) stays logged in."""
        task, self._task = self._task, None
        if task is None:
            return
        # Cancelled rather than closed: discord.py reconnects after a clean close.
        task.cancel()
        await asyncio.wait({task}, timeout=5)
        ws = self.client.ws if self.client is not None else None
        if ws is not None and ws.open:
            with suppress(Exception):
                await ws.close(code=1000)

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
        """Close the gateway (giving its lock up), then the REST session."""
        task, self._lease_task = self._lease_task, None
        if task is not None:
            task.cancel()
            # The lease closes the gateway and then releases the lock, as it ends.
            await asyncio.wait({task}, timeout=10)
        await self._close_gateway()
        if self.client is not None:
            await self.client.close()

    async def sync_commands(self) -> bool:
        """Upload the command set when it differs from the last upload; True if it did.

        The copy uploaded last to another scope (server or global) is cleared (#17).
        """
        assert self.tree is not None and self.client is not None
        return await discord_sync.sync_commands(
            self.tree, self.client, self.guild_id, self.state_dir
        )


class _Unshared:
    """The lock of a process that shares its bot with none: always held."""

    def try_acquire(self) -> bool:
        return True

    def still_held(self) -> bool:
        return True

    def release(self) -> None:
        return None

    def __str__(self) -> str:
        return "no lock: one process"
