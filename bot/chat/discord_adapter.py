"""The Discord connection: `/jobs` application commands in, embed alerts and digests out.

A discord.py client runs on the bot's own event loop. Commands are rendered to the
`/jobs` text grammar and handed to the platform-neutral handlers (``JobBot.command``), so
Discord's typed options get the same validation and messages as Slack and the CLI.
Everything sent carries ``allowed_mentions`` that let nothing ping except, on alerts,
digests and reminders, the subscription's own role (or @here). Alerts can be edited
later (a posting closed or changed); in a forum channel each alert is a post of its own.
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
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

import aiohttp
import pycountry
import yarl

from bot.chat.discord_render import (
    DiscordMessage,
    alert_message,
    allowed_mentions,
    digest_messages,
    forum_tag_ids,
    notice_message,
    post_name,
    reminder_message,
    reply_text,
    with_mention,
)
from bot.errors import (
    ChatError,
    ConfigError,
    PermanentChatError,
    RejectedMessageError,
    TokenChatError,
    TransientChatError,
)
from bot.postings.taxonomy import load_taxonomy
from bot.sources.http import parse_retry_after
from bot.store import StoredPosting
from bot.store.protocols import Store
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
T = TypeVar("T")

# Discord error codes after which a channel cannot be posted in until someone acts:
# unknown channel, unknown webhook, missing access, cannot DM, non-text channel, missing
# permissions, a forum that requires a tag none of whose tags fits (docs:
# topics/opcodes-and-status-codes "JSON Error Codes").
PERMANENT_CODES = frozenset({10003, 10015, 40067, 50001, 50007, 50008, 50013})
# This one message was refused: invalid form body (jobbot's bug, logged with Discord's
# field errors), request too large, empty message, invalid JSON, blocked by AutoMod or by
# the harmful-links filter. That message fails; the channel is left alone.
MESSAGE_CODES = frozenset({40005, 50006, 50035, 50109, 200000, 240000})
# The platform is busy (write rate limit, resource rate-limited, overloaded): retry.
TRANSIENT_CODES = frozenset({20028, 40062, 130000})
# An edit also gives up when the message is gone (10008 unknown message).
EDIT_PERMANENT_CODES = PERMANENT_CODES | {10008}
MAX_NONCE = 25
START_RETRY_CEILING = 300.0
THREAD_ARCHIVED = 50083
# Forum posts opened (by channel and nonce) that this process remembers, to not open twice.
POST_MEMORY = 2048
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
        "mention": "mention",
        "remind": "remind",
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
        self._token_reset = False
        self.start_retry = 2.0
        self._last_send: dict[str, float] = {}
        self._channel_locks: dict[str, asyncio.Lock] = {}
        self._fetched: dict[str, discord.ForumChannel | None] = {}
        self._posts: OrderedDict[str, str] = OrderedDict()

    # ------------------------------------------------------------ lifecycle

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
            channel=_channel_of(interaction),
            user=str(interaction.user.id),
            now=self.runner.clock(),
            # Discord hides the commands from other members (default_member_permissions),
            # but server admins can change that, so the bot checks again.
            can_manage=interaction.permissions.manage_channels,
            manage_rule=MANAGE_RULE,
        )

    async def run(
        self,
        interaction: discord.Interaction[Any],
        text: str,
        *,
        slow: bool = False,
        note: str = "",
    ) -> None:
        """Run one `/jobs` command and answer the interaction (deferring first when slow).

        ``note`` is added to a successful reply (a hint the platform-neutral handler
        cannot know, such as a role Discord will not notify).
        """
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
        content = reply_text(f"{reply.text}\n{note}" if note and reply.ok else reply.text)
        if slow:
            await interaction.followup.send(content, ephemeral=True, allowed_mentions=none)
        else:
            await interaction.response.send_message(
                content, ephemeral=reply.ephemeral or not reply.ok, allowed_mentions=none
            )

    async def refuse(self, interaction: discord.Interaction[Any], problem: str) -> None:
        """Answer a command the adapter itself can tell is wrong (only its caller sees it)."""
        await interaction.response.send_message(
            reply_text(problem), ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
        )

    async def _own_subscriptions(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[Choice[str]]:
        assert self.runner is not None
        subs = [
            s
            for s in await asyncio.to_thread(
                self.runner.store.subscriptions,
                platform=self.platform,
                workspace=str(interaction.guild_id or ""),
            )
            if s.channel == _channel_of(interaction)
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
            mention="A role to ping with each alert (it must be mentionable)",
            here="Ping @here with each alert instead of a role",
            remind="Remind this many days before a posting's deadline, e.g. 3d",
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
            mention: discord.Role | None = None,
            here: bool = False,
            remind: str | None = None,
        ) -> None:
            if mention is not None and here:
                await adapter.refuse(interaction, "Pick a role to mention or @here, not both.")
                return
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
                "mention": "here" if here else _role_mention(mention, interaction.guild_id),
                "remind": remind,
            }
            note = _silent_role_note(mention, interaction) if mention is not None else ""
            await adapter.run(interaction, render_options("subscribe", options), note=note)

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

        @jobs.command(name="why", description="What happened to one posting, per subscription")
        @app_commands.describe(posting="The posting's link, or its jobbot id (#42)")
        async def why(interaction: discord.Interaction[Any], posting: str) -> None:
            await adapter.run(interaction, "why " + shlex.quote(posting.strip()[:2000]))

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
            for s in await asyncio.to_thread(
                self.runner.store.subscriptions, platform=self.platform, workspace=workspace
            )
        }
        paused: list[int] = []
        for channel in sorted(channels):
            paused += await asyncio.to_thread(
                self.runner.store.pause_target,
                self.platform,
                workspace,
                channel,
                "jobbot was removed from this server",
                now=self.runner.clock(),
            )
        if paused:
            log.warning("removed from server %s: paused subscriptions %s", guild.id, paused)

    # ------------------------------------------------------------ delivery

    async def _guarded(
        self,
        channel_id: str,
        call: Callable[[discord.Client], Awaitable[T]],
        *,
        permanent: frozenset[int] = PERMANENT_CODES,
    ) -> T:
        """Run one REST call for a channel, paced, with Discord's errors as ``ChatError``."""
        client = self.client
        if self._token_reset:
            raise TokenChatError(self.platform, "4004", "token reset: set the new DISCORD_TOKEN")
        if client is None or client.user is None:
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
                return await call(client)
            except discord.RateLimited as error:
                raise TransientChatError(
                    self.platform, "rate_limited", str(error), retry_after=error.retry_after
                ) from error
            except discord.HTTPException as error:
                raise _chat_error(self.platform, error, permanent) from error
            except (aiohttp.ClientError, TimeoutError, OSError) as error:
                raise TransientChatError(
                    self.platform, "network", f"{type(error).__name__}: {error}"
                ) from error
            except ChatError:
                raise
            except Exception as error:  # the edge: e.g. "Session is closed" after a reset
                log.warning("unexpected error from discord.py: %r", error)
                raise TransientChatError(self.platform, "unexpected", repr(error)[:300]) from error
            finally:
                self._last_send[channel_id] = time.monotonic()

    async def check_auth(self) -> None:
        """Ask Discord (``GET /users/@me``) whether the bot token works; ``ChatError`` if not.

        A request of its own rather than through discord.py, whose session may be closed
        after a token reset.
        """
        url = discord.http.Route.BASE + "/users/@me"
        headers = {"Authorization": f"Bot {self.token}"}
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session,
                session.get(url, headers=headers) as response,
            ):
                status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            raise TransientChatError(self.platform, "network", repr(error)) from error
        if status == 401:
            raise TokenChatError(self.platform, "401", "Discord refused the bot token")
        if status >= 400:
            raise TransientChatError(self.platform, f"http_{status}", "checking the token")

    async def _send(self, channel_id: str, message: DiscordMessage, nonce: str) -> str:
        """Send a message to a channel (or thread) known to take messages."""

        async def call(client: discord.Client) -> str:
            return await _post_message(client, channel_id, message, nonce)

        return await self._guarded(channel_id, call)

    async def _forum(self, client: discord.Client, channel_id: str) -> discord.ForumChannel | None:
        """The channel as a forum, or None for a channel that takes messages.

        The gateway's cache is used when it has the channel (it follows tag changes);
        otherwise the channel is fetched once and its kind remembered.
        """
        cached = client.get_channel(int(channel_id))
        if cached is not None:
            return cached if isinstance(cached, discord.ForumChannel) else None
        if channel_id not in self._fetched:
            fetched = await client.fetch_channel(int(channel_id))
            self._fetched[channel_id] = (
                fetched if isinstance(fetched, discord.ForumChannel) else None
            )
        return self._fetched[channel_id]

    async def _deliver(
        self,
        channel_id: str,
        message: DiscordMessage,
        nonce: str,
        *,
        name: str,
        areas: Sequence[str] = (),
    ) -> str:
        """Send ``message`` to a channel, or open a forum post ``name`` with it in a forum.

        Returns ``channel/message``; for a forum post that is ``thread/starter message``,
        so that the message can be edited and further parts sent into the post.
        """
        key = f"{channel_id}/{nonce}"
        if key in self._posts:
            return self._posts[key]

        async def call(client: discord.Client) -> tuple[str, bool]:
            forum = await self._forum(client, channel_id)
            if forum is None:
                return await _post_message(client, channel_id, message, nonce), False
            wanted = set(forum_tag_ids([(t.id, t.name) for t in forum.available_tags], areas))
            kwargs = _message_kwargs(message)
            created = await forum.create_thread(
                name=post_name(name),
                content=message.content or None,
                applied_tags=[t for t in forum.available_tags if t.id in wanted],
                **kwargs,
            )
            return f"{created.thread.id}/{created.message.id}", True

        # One paced call: the forum check and the send together.
        ref, is_post = await self._guarded(channel_id, call)
        if not is_post:
            return ref
        # Creating a forum post takes no nonce, so Discord cannot de-duplicate it; this
        # memory keeps a retry within this process (say, a digest whose second part
        # failed) from opening a second post.
        self._posts[key] = ref
        while len(self._posts) > POST_MEMORY:
            self._posts.popitem(last=False)
        return ref

    async def send_alert(
        self, subscription: Subscription, posting: StoredPosting, delivery_id: int
    ) -> str | None:
        """Post one alert embed with an Apply button (its own post in a forum channel).

        The subscription's mention (a role or @here) is the only thing that can ping. A
        retried delivery is not posted twice: Discord returns the first message for a
        repeated nonce (enforce_nonce), so a retry after a lost answer creates nothing new.
        """
        message = with_mention(alert_message(posting.posting), subscription.schedule.mention)
        return await self._deliver(
            subscription.channel,
            message,
            f"jb{delivery_id}",
            name=posting.posting.title,
            areas=posting.posting.areas,
        )

    async def find_sent(
        self, subscription: Subscription, posting: StoredPosting, delivery_id: int
    ) -> str | None:
        """After a crash: the forum post an alert opened, if it went out (else None).

        A message in a channel needs no lookup: sent again with the same nonce, Discord
        returns the first one. A forum post takes no nonce, so the forum's active posts
        are searched for one of this bot's, named like the posting, whose alert shows the
        posting. (Two subscriptions of one forum alerting the same posting cannot be told
        apart; the second is then taken as sent.)
        """
        key = f"{subscription.channel}/jb{delivery_id}"
        if key in self._posts:
            return self._posts[key]
        expected = alert_message(posting.posting).embeds[0]
        name = post_name(posting.posting.title)

        async def call(client: discord.Client) -> str | None:
            forum = await self._forum(client, subscription.channel)
            me = client.user
            if forum is None or me is None:
                return None
            for thread in await forum.guild.active_threads():
                if (thread.parent_id, thread.owner_id, thread.name) != (forum.id, me.id, name):
                    continue
                starter = await thread.fetch_message(thread.id)
                if any(
                    (e.title, e.url) == (expected["title"], expected.get("url"))
                    for e in starter.embeds
                ):
                    return f"{thread.id}/{starter.id}"
            return None

        try:
            return await self._guarded(subscription.channel, call)
        except PermanentChatError as error:
            # The forum is gone or unreadable: the send that follows will say so for good.
            log.warning("cannot look for delivery %s in the forum: %s", delivery_id, error)
            return None

    async def send_digest(
        self,
        subscription: Subscription,
        postings: Sequence[StoredPosting],
        title: str,
        digest_key: str,
    ) -> list[str]:
        """Post a digest as several embed messages, each within Discord's limits.

        The first carries the subscription's mention. In a forum channel the digest is one
        post named by ``title``, the further parts messages in it.
        """
        key = hashlib.sha256(f"{subscription.id}:{digest_key}".encode()).hexdigest()[:19]
        messages = digest_messages(title, [p.posting for p in postings])
        messages[0] = with_mention(messages[0], subscription.schedule.mention)
        areas = sorted({a for p in postings for a in p.posting.areas})
        first = await self._deliver(
            subscription.channel, messages[0], f"jd{key}000", name=title, areas=areas
        )
        target = first.partition("/")[0]
        refs = [first]
        for index, message in enumerate(messages[1:], start=1):
            refs.append(await self._send(target, message, f"jd{key}{index:03d}"))
        return refs

    async def edit_alert(
        self, subscription: Subscription, posting: StoredPosting, message_ref: str
    ) -> None:
        """Rewrite a sent alert from the posting as it now is (closed: greyed, marked).

        Only the embed and the Apply button change; the content (the mention) stays, and
        the edit allows no mention, so it pings nobody. An archived forum post is
        unarchived first. A deleted message (10008) or a lost channel is a
        ``PermanentChatError``.
        """
        channel_id, _, message_id = message_ref.partition("/")
        if not (channel_id.isdigit() and message_id.isdigit()):
            raise PermanentChatError(self.platform, "bad_ref", f"not a message: {message_ref!r}")
        message = alert_message(posting.posting)

        async def edit(client: discord.Client) -> None:
            channel = client.get_partial_messageable(int(channel_id))
            await channel.get_partial_message(int(message_id)).edit(
                embeds=[discord.Embed.from_dict(e) for e in message.embeds],
                view=_view(message),
                allowed_mentions=discord.AllowedMentions.none(),
            )

        async def call(client: discord.Client) -> None:
            try:
                await edit(client)
            except discord.HTTPException as error:
                if error.code != THREAD_ARCHIVED:
                    raise
                # A forum post archives itself after some days without activity, and its
                # messages cannot be edited then. Unarchiving an unlocked thread needs only
                # Send Messages; the post archives itself again later.
                await client.http.edit_channel(int(channel_id), archived=False)
                await edit(client)

        await self._guarded(channel_id, call, permanent=EDIT_PERMANENT_CODES)

    async def send_reminder(
        self,
        subscription: Subscription,
        posting: StoredPosting,
        key: str,
        *,
        days_left: int | None = None,
    ) -> str | None:
        """Post the alert again, headed "Deadline in N days: apply by D", with the mention.

        In a forum channel the reminder is a post of its own.
        """
        days = subscription.schedule.remind_days if days_left is None else days_left
        message = reminder_message(posting.posting, days, subscription.schedule.mention)
        return await self._deliver(
            subscription.channel,
            message,
            _nonce("jr", key),
            name=f"Reminder: {posting.posting.title}",
            areas=posting.posting.areas,
        )

    async def send_notice(self, subscription: Subscription, text: str, key: str) -> str | None:
        """Post a short notice from jobbot (no mentions); in a forum, as a post of its own."""
        first_line = text.strip().split("\n", 1)[0]
        return await self._deliver(
            subscription.channel,
            notice_message(text),
            _nonce("jn", key),
            name=f"jobbot: {first_line}",
        )


async def _post_message(
    client: discord.Client, channel_id: str, message: DiscordMessage, nonce: str
) -> str:
    """Send ``message`` with ``nonce``; returns ``channel/message``."""
    channel = client.get_partial_messageable(int(channel_id))
    sent = await channel.send(message.content or None, nonce=nonce, **_message_kwargs(message))
    return f"{channel_id}/{sent.id}"


def _nonce(prefix: str, key: str) -> str:
    """A nonce of Discord's at most 25 characters, the same for the same key."""
    return prefix + hashlib.sha256(key.encode()).hexdigest()[: MAX_NONCE - len(prefix)]


def _allowed(mention: str) -> discord.AllowedMentions:
    """discord.py's form of ``allowed_mentions(mention)``: exactly that mention, or none."""
    allowed = allowed_mentions(mention)
    if "everyone" in allowed["parse"]:
        return discord.AllowedMentions(everyone=True, users=False, roles=False, replied_user=False)
    if allowed.get("roles"):
        roles = [discord.Object(int(r)) for r in allowed["roles"]]
        return discord.AllowedMentions(everyone=False, users=False, roles=roles, replied_user=False)
    return discord.AllowedMentions.none()


def _view(message: DiscordMessage) -> discord.ui.View | None:
    """The message's link buttons as a view (None when it has none)."""
    if not message.buttons:
        return None
    view = discord.ui.View(timeout=None)
    for label, url in message.buttons:
        view.add_item(discord.ui.Button(label=label, url=url))
    return view


def _message_kwargs(message: DiscordMessage) -> dict[str, Any]:
    """Embeds, buttons and allowed mentions as discord.py's send keywords."""
    kwargs: dict[str, Any] = {
        "embeds": [discord.Embed.from_dict(e) for e in message.embeds],
        "allowed_mentions": _allowed(message.mention),
    }
    view = _view(message)
    if view is not None:
        kwargs["view"] = view
    return kwargs


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


def _channel_of(interaction: discord.Interaction[Any]) -> str:
    """The channel a command is about: its channel, or the forum of a forum post.

    Nobody can type in a forum channel itself, only in its posts, so `/jobs` in any post
    of a forum subscribes (lists, pauses …) the forum.
    """
    channel = interaction.channel
    if isinstance(channel, discord.Thread) and isinstance(channel.parent, discord.ForumChannel):
        return str(channel.parent.id)
    return str(interaction.channel_id or "")


def _silent_role_note(role: discord.Role, interaction: discord.Interaction[Any]) -> str:
    """A warning when Discord would show the role's mention without notifying anyone."""
    if getattr(role, "mentionable", True) or interaction.app_permissions.mention_everyone:
        return ""
    return (
        f"Note: the role {role.name} is not mentionable and jobbot lacks Mention Everyone, "
        "so Discord will show the mention without notifying anyone. Make the role "
        "mentionable (Server Settings → Roles) or give jobbot Mention Everyone."
    )


def _role_mention(role: discord.Role | None, guild_id: int | None) -> str | None:
    """A role option as a ``mention:`` value; @everyone (its id is the server's) as such,
    so that the grammar refuses it with its usual message."""
    if role is None:
        return None
    return "@everyone" if role.id == guild_id else f"role:{role.id}"


def _chat_error(
    platform: str, error: discord.HTTPException, permanent: frozenset[int] = PERMANENT_CODES
) -> ChatError:
    """The ``ChatError`` for a refused REST call, by scope: message, channel or token."""
    code = str(error.code or error.status)
    if error.status == 401 or error.code == 50014:
        return TokenChatError(platform, code, "Discord refused the bot token (token reset?)")
    if error.code in MESSAGE_CODES:
        if error.code in (50035, 50109):
            log.error("Discord refused a message (%s): %s", error.code, error.text)
        return RejectedMessageError(platform, code, error.text)
    if error.code in permanent or error.status in (403, 404):
        return PermanentChatError(platform, code, error.text)
    if error.status == 429 or error.code in TRANSIENT_CODES:
        # discord.py waits out a 429 itself; one reaching here came without the headers
        # it trusts (say, from a proxy), so only the Retry-After header, if any, says when.
        name = "rate_limited" if error.status == 429 else code
        return TransientChatError(platform, name, error.text, retry_after=_retry_after(error))
    if error.status == 400:
        # Another refused request (no known code): jobbot's bug, not the channel's.
        log.error("Discord refused a request (%s): %s", error.code, error.text)
        return RejectedMessageError(platform, code, error.text)
    return TransientChatError(platform, code, error.text)


def _retry_after(error: discord.HTTPException) -> float | None:
    """The seconds of a 429's Retry-After header (seconds or an HTTP date)."""
    headers = getattr(error.response, "headers", None) or {}
    return parse_retry_after(headers.get("Retry-After"))
