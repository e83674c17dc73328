"""The composition root: builds the store, sources, adapters and scheduler into a JobBot.

Nothing else reads settings. Everything below receives what it needs as arguments.
"""

from __future__ import annotations

import asyncio
import functools
import signal
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime
from typing import TYPE_CHECKING, TextIO

from bot.chat.base import ChatAdapter
from bot.chat.console import ConsoleAdapter
from bot.chat.slack_app import SlackConfig, build_slack
from bot.chat.slack_home import register_home
from bot.chat.webhook import WebhookAdapter
from bot.config import Settings
from bot.errors import ConfigError
from bot.ops import OpsServer
from bot.sources.http import HttpFetcher, now_utc
from bot.store import open_store
from bot.store.locks import process_lock

if TYPE_CHECKING:
    from bot.app import JobBot
    from bot.chat.discord_adapter import DiscordAdapter


def build(
    settings: Settings,
    *,
    console: TextIO | None = None,
    clock: Callable[[], datetime] = now_utc,
) -> JobBot:
    """Wire the bot from settings. The caller closes it with ``aclose``."""
    from bot.app import JobBot  # bot.app re-exports build: imported here, not at the top

    slack = slack_config(settings)  # before anything is opened: it may refuse the setup
    store = open_store(settings)
    fetcher = HttpFetcher(
        timeout=float(settings.fetch_timeout),
        max_bytes=settings.max_body_mb * 1024 * 1024,
        allow_private=settings.allow_private_sources,
    )
    adapters: dict[str, ChatAdapter] = {"console": ConsoleAdapter(console)}
    adapters["webhook"] = WebhookAdapter(timeout=float(settings.fetch_timeout))
    discord_adapter = _discord_adapter(settings)
    if discord_adapter is not None:
        adapters["discord"] = discord_adapter
    bot = JobBot(settings, store, fetcher, adapters, clock)
    if slack.configured:
        service = build_slack(bot, clock, slack, health=bot.worker.health)
        register_home(service.app, bot, clock)  # personal subscriptions' Home tab (#19)
        adapters["slack"] = service.adapter
        bot.services.append(service)
    if discord_adapter is not None:
        discord_adapter.bind(bot)
        bot.services.append(discord_adapter)
    bot.sync_sources()
    return bot


async def start_ops_server(bot: JobBot) -> OpsServer | None:
    """Serve /healthz and /metrics when ``metrics_port`` is not 0."""
    if not bot.settings.metrics_port:
        return None
    # Every platform's series exist (at zero) from the start, for dashboards and alerts.
    for name in bot.counted_adapters:
        bot.counted_adapters[name]
    server = OpsServer(bot.metrics, bot.health)
    started = await server.start(bot.settings.metrics_host, bot.settings.metrics_port)
    return server if started else None


def slack_config(settings: Settings) -> SlackConfig:
    """Slack credentials and endpoint from the environment (see README, Add jobbot to Slack)."""
    secrets = settings.secrets
    port_text = secrets.get("JOBBOT_PORT", "3000")
    # Port 0 asks the system for a free port (tests); the one chosen is logged.
    if not port_text.isdigit() or not 0 <= int(port_text) < 65536:
        raise ConfigError("JOBBOT_PORT", f"{port_text!r} is not a port number (0-65535)")
    config = SlackConfig(
        bot_token=secrets.get("SLACK_BOT_TOKEN"),
        app_token=secrets.get("SLACK_APP_TOKEN"),
        signing_secret=secrets.get("SLACK_SIGNING_SECRET"),
        client_id=secrets.get("SLACK_CLIENT_ID"),
        client_secret=secrets.get("SLACK_CLIENT_SECRET"),
        api_url=secrets.get("SLACK_API_URL"),
        host=secrets.get("JOBBOT_HOST", "0.0.0.0"),
        port=int(port_text),
        data_dir=settings.data_dir,
    )
    slack_keys = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET")
    if any(secrets.get(key) for key in slack_keys) and not config.configured:
        # Half a Slack setup would otherwise leave Slack off without a word.
        missing = (
            "SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode)"
            if config.bot_token or config.oauth
            else "SLACK_BOT_TOKEN, or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET"
        )
        raise ConfigError("SLACK_BOT_TOKEN", f"Slack needs {missing} as well")
    return config


def _discord_adapter(settings: Settings) -> DiscordAdapter | None:
    """The Discord connection, when DISCORD_TOKEN is set (discord.py is imported only then)."""
    if not settings.has_secret("DISCORD_TOKEN"):
        return None
    from bot.chat.discord_adapter import DiscordAdapter, point_discord_py_at

    secrets = settings.secrets
    guild = secrets.get("DISCORD_GUILD_ID", "").strip()
    if guild and not guild.isdigit():
        raise ConfigError("DISCORD_GUILD_ID", f"{guild!r} is not a server id (digits)")
    point_discord_py_at(secrets.get("DISCORD_API_URL"), secrets.get("DISCORD_GATEWAY_URL"))
    guild_id = int(guild) if guild else None
    # Of the processes sharing the store, the one holding this lock runs the gateway (#16).
    return DiscordAdapter(
        secrets["DISCORD_TOKEN"],
        state_dir=settings.data_dir,
        guild_id=guild_id,
        lock_for=functools.partial(process_lock, settings),
    )


def install_stop_signals(stop: asyncio.Event) -> None:
    """Ctrl-C and SIGTERM end the run cleanly (no traceback, database closed)."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
