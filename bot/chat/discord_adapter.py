"""The Discord connection: `/jobs` application commands in, embed alerts and digests out.

A discord.py client runs on the bot's own event loop. Commands are rendered to the
`/jobs` text grammar and handed to the platform-neutral handlers (``JobBot.command``), so
Discord's typed options get the same validation and messages as Slack and the CLI.
Everything sent carries ``AllowedMentions.none()``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import shlex
import time
import warnings
import zoneinfo
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import pycountry
import yarl

from bot.chat.discord_render import DiscordMessage, alert_message, digest_messages, reply_text
from bot.errors import ConfigError, PermanentChatError, TransientChatError
from bot.postings.taxonomy import load_taxonomy
from bot.store import Store, StoredPosting
from subscriptions.commands import CommandContext, Reply
from subscriptions.grammar import USAGE, format_filter
from subscriptions.model import MODES, WEEKDAYS, Subscription

with warnings.catch_warnings():
    # discord.py imports the stdlib ``audioop`` for voice (deprecated, PEP 594).
    warnings.filterwarnings(
        "ignore", message="'audioop' is deprecated", category=DeprecationWarning
    )
    import discord
    from discord import app_commands
    from discord.app_commands import Choice

__all__ = ["DiscordAdapter", "point_discord_py_at", "render_options"]

log = logging.getLogger("jobbot.discord")

# Discord error codes after which a channel cannot be posted in until someone acts:
# unknown channel, unknown webhook, missing access, cannot DM, non-text channel, missing
# permissions (docs: topics/opcodes-and-status-codes "JSON Error Codes").
PERMANENT_CODES = frozenset({10003, 10015, 50001, 50007, 50008, 50013})
MANAGE_RULE = "members with the Manage Channels permission"
AUTOCOMPLETE_MAX = 25
DEGREES = [
    Choice(name="PhD only", value="phd-only"),
    Choice(name="PhD or Master's", value="phd-or-masters"),
    Choice(name="Open to PhD students (phd-only, phd-or-masters, any)", value="phd"),
    Choice(name="Open to Master's students", value="masters"),
    Choice(name="Any degree level", value="any"),
    Choice(name="Not stated", value="unknown"),
]
MODE_CHOICES = [Choice(name=mode, value=mode) for mode in MODES]
DAY_CHOICES = [Choice(name=day, value=day) for day in WEEKDAYS]
HELP_CHOICES = [Choice(name=verb, value=verb) for verb in USAGE]


class CommandRunner(Protocol):
    """What the adapter needs from the running bot (``bot.app.JobBot`` provides it)."""

    @property
    def store(self) -> Store: ...

    @property
    def clock(self) -> Callable[[], datetime]: ...

    async def command(self, text: str, ctx: CommandContext) -> Reply: ...


def point_discord_py_at(api_url: str | None, gateway_url: str | None) -> None:
    """Send discord.py's REST calls and gateway connection to other servers (local tests)."""
    if api_url:
        discord.http.Route.BASE = api_url.rstrip("/")
    if gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


def _token(key: str, value: str) -> str:
    """``key:value`` as one shell-quoted token of the `/jobs` grammar."""
    token = f"{key}:{value.strip()}"
    return shlex.quote(token) if any(ch in token for ch in " \"'\\") else token


def render_options(verb: str, options: dict[str, str | None]) -> str:
    """Discord's typed options as `/jobs` text, e.g. ``subscribe area:nlp country:DE``."""
    keys = {
        "areas": "area",
        "countries": "country",
        "degree": "degree",
        "keywords": "keywords",
        "exclude": "exclude",
        "company": "company",
        "mode": "mode",
        "time": "at",
        "timezone": "tz",
        "day": "day",
    }
    parts = [verb]
    for name, value in options.items():
        if value is not None and value.strip():
            parts.append(_token(keys[name], value) if name in keys else value.strip())
    return " ".join(parts)


def _split_last(current: str) -> tuple[str, str]:
    """The values typed before the last comma, and the segment being typed."""
    head, sep, last = current.rpartition(",")
    return (head + sep, last.strip())


def area_choices(current: str) -> list[Choice[str]]:
    """Taxonomy slugs matching the last comma-separated segment of ``current``."""
    done, last = _split_last(current)
    needle = last.casefold()
    taxonomy = load_taxonomy()
    found = [
        a
        for a in taxonomy.areas.values()
        if needle in a.slug.casefold() or needle in a.label.casefold()
    ]
    found.sort(key=lambda a: (not a.slug.startswith(needle), a.slug))
    return [
        Choice(name=f"{done}{a.slug} — {a.label}"[:100], value=f"{done}{a.slug}"[:100])
        for a in found[:AUTOCOMPLETE_MAX]
    ]


def country_choices(current: str) -> list[Choice[str]]:
    """ISO countries (code or name) matching the last comma-separated segment."""
    done, last = _split_last(current)
    needle = last.casefold()
    found = []
    for country in pycountry.countries:
        name = str(getattr(country, "common_name", None) or country.name)
        code = str(country.alpha_2)
        if not needle or code.casefold() == needle or needle in name.casefold():
            found.append(
                (code.casefold() != needle, not name.casefold().startswith(needle), name, code)
            )
    found.sort()
    return [
        Choice(name=f"{done}{name} ({code})"[:100], value=f"{done}{code}"[:100])
        for *_, name, code in found[:AUTOCOMPLETE_MAX]
    ]


def timezone_choices(current: str) -> list[Choice[str]]:
    """IANA time zones containing what was typed (at most 25)."""
    needle = current.strip().casefold()
    zones = sorted(z for z in zoneinfo.available_timezones() if needle in z.casefold())
    zones.sort(key=lambda z: not z.casefold().startswith(needle))
    return [Choice(name=z, value=z) for z in zones[:AUTOCOMPLETE_MAX]]


class DiscordAdapter:
    """The ``ChatAdapter`` for Discord, plus the `/jobs` command tree and the connection."""

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
        self._last_send: dict[str, float] = {}
        self._channel_locks: dict[str, asyncio.Lock] = {}

    # ------------------------------------------------------------ lifecycle

    def bind(self, runner: CommandRunner) -> None:
        """Give the adapter the bot whose commands and store it serves."""
        self.runner = runner

    async def start(self) -> None:
        """Log in, sync the commands if they changed, and connect to the gateway."""
        client = discord.Client(
            intents=discord.Intents.default(),
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
        await self.sync_commands()
        self._task = asyncio.create_task(client.connect(reconnect=True))
        self._task.add_done_callback(_log_gateway_end)

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

    # ------------------------------------------------------------ commands

    def _guild(self) -> discord.Object | None:
        return discord.Object(self.guild_id) if self.guild_id else None

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

    def _context(self, interaction: discord.Interaction[Any]) -> CommandContext:
        assert self.runner is not None
        return CommandContext(
            platform=self.platform,
            workspace=str(interaction.guild_id or ""),
            channel=str(interaction.channel_id or ""),
            user=str(interaction.user.id),
            now=self.runner.clock(),
            # Discord hides the commands from other members (default_member_permissions),
            # but server admins can change that, so the bot checks again.
            can_manage=interaction.permissions.manage_channels,
            manage_rule=MANAGE_RULE,
        )

    async def run(
        self, interaction: discord.Interaction[Any], text: str, *, slow: bool = False
    ) -> None:
        """Run one `/jobs` command and answer the interaction (deferring first when slow)."""
        assert self.runner is not None
        none = discord.AllowedMentions.none()
        if slow:
            # Discord drops an interaction that is not answered within 3 s.
            await interaction.response.defer(ephemeral=True, thinking=True)
        ctx = self._context(interaction)
        try:
            reply = await self.runner.command(text, ctx)
        except Exception:
            log.exception("/jobs %s failed", text)
            reply = Reply("Something went wrong on jobbot's side; it was logged.", ok=False)
        content = reply_text(reply.text)
        if slow:
            await interaction.followup.send(content, ephemeral=True, allowed_mentions=none)
        else:
            await interaction.response.send_message(
                content, ephemeral=reply.ephemeral or not reply.ok, allowed_mentions=none
            )

    async def _own_subscriptions(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[Choice[str]]:
        assert self.runner is not None
        subs = [
            s
            for s in self.runner.store.subscriptions(
                platform=self.platform, workspace=str(interaction.guild_id or "")
            )
            if s.channel == str(interaction.channel_id or "")
        ]
        needle = current.strip().lstrip("#")
        choices = []
        for sub in subs:
            label = f"#{sub.id} {format_filter(sub.filter)}" + (" (paused)" if sub.paused else "")
            if needle in label:
                choices.append(Choice(name=label[:100], value=str(sub.id)))
        return choices[:AUTOCOMPLETE_MAX]

    def _build_tree(self, client: discord.Client) -> app_commands.CommandTree[discord.Client]:
        tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(client)
        jobs = app_commands.Group(
            name="jobs",
            description="Research-internship alerts for this channel",
            guild_only=True,
            # Subscriptions belong to the channel: only those who may manage it see the
            # commands by default (admins can widen this under Server Settings → Integrations).
            default_permissions=discord.Permissions(manage_channels=True),
        )
        adapter = self

        async def areas_ac(_: discord.Interaction[Any], current: str) -> list[Choice[str]]:
            return area_choices(current)

        async def countries_ac(_: discord.Interaction[Any], current: str) -> list[Choice[str]]:
            return country_choices(current)

        async def tz_ac(_: discord.Interaction[Any], current: str) -> list[Choice[str]]:
            return timezone_choices(current)

        async def subs_ac(interaction: discord.Interaction[Any], current: str) -> list[Choice[str]]:
            return await adapter._own_subscriptions(interaction, current)

        @jobs.command(name="subscribe", description="Post matching postings in this channel")
        @app_commands.describe(
            areas="Research areas, comma separated (see /jobs areas)",
            countries="Countries, comma separated (codes or names)",
            degree="Degree level the posting asks for",
            mode="instant (default), daily or weekly digest",
            keywords="Words a posting must contain, comma separated",
            exclude="Words that rule a posting out, comma separated",
            company="Companies, comma separated",
            time="Digest time, HH:MM",
            timezone="Digest time zone, e.g. Europe/Berlin",
            day="Day of a weekly digest",
        )
        @app_commands.choices(degree=DEGREES, mode=MODE_CHOICES, day=DAY_CHOICES)
        @app_commands.autocomplete(areas=areas_ac, countries=countries_ac, timezone=tz_ac)
        async def subscribe(
            interaction: discord.Interaction[Any],
            areas: str | None = None,
            countries: str | None = None,
            degree: str | None = None,
            mode: str | None = None,
            keywords: str | None = None,
            exclude: str | None = None,
            company: str | None = None,
            time: str | None = None,
            timezone: str | None = None,
            day: str | None = None,
        ) -> None:
            options = {
                "areas": areas,
                "countries": countries,
                "degree": degree,
                "keywords": keywords,
                "exclude": exclude,
                "company": company,
                "mode": mode,
                "time": time,
                "timezone": timezone,
                "day": day,
            }
            await adapter.run(interaction, render_options("subscribe", options))

        @jobs.command(name="preview", description="Show recent postings a filter would match")
        @app_commands.describe(
            areas="Research areas, comma separated",
            countries="Countries, comma separated",
            degree="Degree level the posting asks for",
        )
        @app_commands.choices(degree=DEGREES)
        @app_commands.autocomplete(areas=areas_ac, countries=countries_ac)
        async def preview(
            interaction: discord.Interaction[Any],
            areas: str | None = None,
            countries: str | None = None,
            degree: str | None = None,
            keywords: str | None = None,
        ) -> None:
            options = {
                "areas": areas,
                "countries": countries,
                "degree": degree,
                "keywords": keywords,
            }
            await adapter.run(interaction, render_options("preview", options), slow=True)

        @jobs.command(name="list", description="This channel's subscriptions")
        async def list_(interaction: discord.Interaction[Any]) -> None:
            await adapter.run(interaction, "list")

        for verb, description in (
            ("unsubscribe", "Remove a subscription"),
            ("pause", "Pause a subscription"),
            ("resume", "Resume a paused subscription"),
        ):
            jobs.add_command(_target_command(adapter, verb, description, subs_ac))

        @jobs.command(name="digest", description="Send this channel's daily/weekly digest now")
        async def digest(interaction: discord.Interaction[Any]) -> None:
            await adapter.run(interaction, "digest now")

        @jobs.command(name="areas", description="The research areas you can filter on")
        async def areas_(interaction: discord.Interaction[Any]) -> None:
            await adapter.run(interaction, "areas")

        @jobs.command(name="sources", description="The sources jobbot watches")
        async def sources(interaction: discord.Interaction[Any]) -> None:
            await adapter.run(interaction, "sources")

        @jobs.command(name="help", description="How to use /jobs")
        @app_commands.describe(command="Show the form of one command")
        @app_commands.choices(command=HELP_CHOICES)
        async def help_(interaction: discord.Interaction[Any], command: str | None = None) -> None:
            await adapter.run(interaction, render_options("help", {"command": command}))

        tree.add_command(jobs, guild=self._guild())
        return tree

    # ------------------------------------------------------------ events

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        """The bot left or was removed from a server: pause its subscriptions there."""
        if self.runner is None:
            return
        workspace = str(guild.id)
        channels = {
            s.channel
            for s in self.runner.store.subscriptions(platform=self.platform, workspace=workspace)
        }
        paused: list[int] = []
        for channel in sorted(channels):
            paused += self.runner.store.pause_target(
                self.platform,
                workspace,
                channel,
                "jobbot was removed from this server",
                now=self.runner.clock(),
            )
        if paused:
            log.warning("removed from server %s: paused subscriptions %s", guild.id, paused)

    # ------------------------------------------------------------ delivery

    async def _send(self, channel_id: str, message: DiscordMessage, nonce: str) -> str:
        if self.client is None or self.client.user is None:
            raise TransientChatError(self.platform, "not_connected", "Discord is not logged in yet")
        lock = self._channel_locks.setdefault(channel_id, asyncio.Lock())
        async with lock:
            # discord.py waits out 429s and follows the rate-limit headers; pacing on top
            # (about the usual 5 messages per 5 s of a channel) keeps a burst for one
            # channel from draining the bucket before the headers say so.
            wait = self._last_send.get(channel_id, 0.0) + self.channel_pace - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                channel = self.client.get_partial_messageable(int(channel_id))
                view = None
                if message.buttons:
                    view = discord.ui.View(timeout=None)
                    for label, url in message.buttons:
                        view.add_item(discord.ui.Button(label=label, url=url))
                kwargs: dict[str, Any] = {
                    "embeds": [discord.Embed.from_dict(e) for e in message.embeds],
                    "nonce": nonce,
                    "allowed_mentions": discord.AllowedMentions.none(),
                }
                if view is not None:
                    kwargs["view"] = view
                sent = await channel.send(message.content or None, **kwargs)
            except discord.RateLimited as error:
                raise TransientChatError(
                    self.platform, "rate_limited", str(error), retry_after=error.retry_after
                ) from error
            except discord.HTTPException as error:
                raise _chat_error(self.platform, error) from error
            except (aiohttp.ClientError, TimeoutError) as error:
                raise TransientChatError(self.platform, "network", str(error)) from error
            finally:
                self._last_send[channel_id] = time.monotonic()
        return f"{channel_id}/{sent.id}"

    async def send_alert(
        self, subscription: Subscription, posting: StoredPosting, delivery_id: int
    ) -> str | None:
        """Post one alert embed with an Apply button; a retried delivery is not posted twice."""
        # Discord returns the first message for a repeated nonce (enforce_nonce), so a
        # retry after a lost answer creates nothing new.
        return await self._send(
            subscription.channel, alert_message(posting.posting), f"jb{delivery_id}"
        )

    async def send_digest(
        self,
        subscription: Subscription,
        postings: Sequence[StoredPosting],
        title: str,
        digest_key: str,
    ) -> list[str]:
        """Post a digest as several embed messages, each within Discord's limits."""
        key = hashlib.sha256(f"{subscription.id}:{digest_key}".encode()).hexdigest()[:19]
        refs = []
        for index, message in enumerate(digest_messages(title, [p.posting for p in postings])):
            refs.append(await self._send(subscription.channel, message, f"jd{key}{index:03d}"))
        return refs


def _target_command(
    adapter: DiscordAdapter, verb: str, description: str, autocomplete: Any
) -> app_commands.Command[Any, Any, None]:
    """unsubscribe/pause/resume: one ``subscription`` option autocompleted from the channel."""

    @app_commands.command(name=verb, description=description)
    @app_commands.describe(subscription="The subscription (see /jobs list)")
    @app_commands.autocomplete(subscription=autocomplete)
    async def command(interaction: discord.Interaction[Any], subscription: str) -> None:
        await adapter.run(interaction, f"{verb} {shlex.quote(subscription)}")

    if verb != "resume":
        return command

    @app_commands.command(name=verb, description=description)
    @app_commands.describe(
        subscription="The subscription (see /jobs list)",
        catch_up="Also send, as one digest, what matched while it was paused",
    )
    @app_commands.autocomplete(subscription=autocomplete)
    async def resume(
        interaction: discord.Interaction[Any], subscription: str, catch_up: bool = False
    ) -> None:
        text = f"resume {shlex.quote(subscription)}" + (" catch-up" if catch_up else "")
        await adapter.run(interaction, text)

    return resume


def _log_gateway_end(task: asyncio.Task[None]) -> None:
    """A gateway connection that ends with an error is logged (sends still use REST)."""
    if not task.cancelled() and task.exception() is not None:
        log.error("the Discord gateway connection ended", exc_info=task.exception())


def _chat_error(platform: str, error: discord.HTTPException) -> Exception:
    code = str(error.code or error.status)
    if error.code in PERMANENT_CODES or error.status in (403, 404):
        return PermanentChatError(platform, code, error.text)
    if error.status == 400:
        # A refused payload is jobbot's bug, not the channel's: retry later, do not pause.
        log.error("Discord refused a message (%s): %s", error.code, error.text)
    return TransientChatError(platform, code, error.text)
