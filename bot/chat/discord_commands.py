"""The `/jobs` application commands on Discord: the tree, its handlers and their replies."""

from __future__ import annotations

import asyncio
import logging
import shlex
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from bot.chat.answer import Pending
from bot.chat.discord_access import cannot_post, missing_permissions
from bot.chat.discord_answer import answer_late, answer_now, defer
from bot.chat.discord_choices import (
    AUTOCOMPLETE_MAX,
    DAY_CHOICES,
    DEGREES,
    HELP_CHOICES,
    MODE_CHOICES,
    area_choices,
    country_choices,
    role_mention,
    silent_role_note,
    timezone_choices,
)
from bot.chat.discord_lib import Choice, app_commands, discord
from bot.chat.discord_render import (
    reply_text,
)
from bot.store.protocols import Store
from subscriptions.commands import CommandContext, Reply
from subscriptions.grammar import format_filter
from subscriptions.personal import personal_target

log = logging.getLogger("jobbot.discord")

__all__ = ["CommandRunner", "DiscordCommands", "is_direct", "render_options"]

MANAGE_RULE = "members with the Manage Channels permission"


class CommandRunner(Protocol):
    """What the adapter needs from the running bot (``bot.app.JobBot`` provides it)."""

    @property
    def store(self) -> Store: ...

    @property
    def clock(self) -> Callable[[], datetime]: ...

    async def command(self, text: str, ctx: CommandContext) -> Reply: ...


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
        "to": "to",
    }
    parts = [verb]
    for name, value in options.items():
        if value is not None and value.strip():
            parts.append(_token(keys[name], value) if name in keys else value.strip())
    return " ".join(parts)


class DiscordCommands:
    """The `/jobs` command tree and the handlers behind it (a part of ``DiscordAdapter``).

    Each command renders its typed options as `/jobs` text and runs it through the
    platform-neutral handlers of the bound ``CommandRunner``.
    """

    platform: str
    runner: CommandRunner | None
    guild_id: int | None

    def _guild(self) -> discord.Object | None:
        return discord.Object(self.guild_id) if self.guild_id else None

    def _context(self, interaction: discord.Interaction[Any]) -> CommandContext:
        assert self.runner is not None
        return CommandContext(
            platform=self.platform,
            workspace=str(interaction.guild_id or ""),
            channel=_channel_of(interaction),
            user=str(interaction.user.id),
            now=self.runner.clock(),
            # Every member sees the commands (for personal alerts), so the bot checks. Outside
            # a server the bot is in, nobody manages a channel of jobbot's: a user's own
            # server, where they hold every permission, must not let them `fix` postings
            # or touch channel subscriptions left behind.
            can_manage=interaction.permissions.manage_channels and not is_direct(interaction),
            manage_rule=MANAGE_RULE,
            direct=is_direct(interaction),
        )

    async def run(
        self,
        interaction: discord.Interaction[Any],
        text: str,
        *,
        slow: bool = False,
        note: str = "",
    ) -> None:
        """Run one `/jobs` command and answer the interaction within Discord's 3 s.

        The work starts at once; its reply is the interaction's response when it is done
        within ``ANSWER_WITHIN``, else the interaction is deferred and the reply follows
        (``bot.chat.discord_answer``). ``slow`` defers without waiting, for commands
        whose work is known to take long. ``note`` is added to a successful reply (a hint
        the platform-neutral handler cannot know, such as a role Discord will not notify).
        """
        assert self.runner is not None
        pending = Pending(self.runner.command(text, self._context(interaction)), text, log)
        reply = None if slow else await pending.within()
        if reply is not None:
            await answer_now(interaction, reply, note)
        elif await defer(interaction, text):
            await answer_late(interaction, await pending.reply(), note, text)
        else:
            await pending.reply()  # the work finishes and is logged if it failed

    async def refuse(self, interaction: discord.Interaction[Any], problem: str) -> None:
        """Answer a command the adapter itself can tell is wrong (only its caller sees it)."""
        await interaction.response.send_message(
            reply_text(problem), ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
        )

    async def _own_subscriptions(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[Choice[str]]:
        assert self.runner is not None
        # The user's own personal subscriptions, and (outside a DM) the channel's.
        targets = [personal_target(self.platform, "", str(interaction.user.id))]
        if not is_direct(interaction):
            targets.append((self.platform, str(interaction.guild_id), _channel_of(interaction)))
        subs = [
            s
            for platform, workspace, channel in targets
            for s in await asyncio.to_thread(
                self.runner.store.subscriptions,
                platform=platform,
                workspace=workspace,
                channel=channel,
            )
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
            description="Research-internship alerts for a channel or just for you",
            # Installed to a server (channel alerts) or to a user's own account (personal
            # alerts by DM, #19), and usable in servers, the bot's DM and other private
            # chats. Every member sees the commands, so anyone can keep personal alerts;
            # changing a channel's subscriptions still needs Manage Channels, which the
            # handlers check.
            allowed_installs=app_commands.AppInstallationType(guild=True, user=True),
            allowed_contexts=app_commands.AppCommandContext(
                guild=True, dm_channel=True, private_channel=True
            ),
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

        @jobs.command(name="subscribe", description="Alerts here, or to you alone (to_me; in a DM)")
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
            to_me="Send the alerts to you alone, as direct messages (no mention)",
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
            to_me: bool = False,
        ) -> None:
            if mention is not None and here:
                await adapter.refuse(interaction, "Pick a role to mention or @here, not both.")
                return
            # Personal alerts go by DM: where the command was typed needs no permission.
            personal = to_me or is_direct(interaction)
            if not personal and (missing := missing_permissions(interaction)):
                await adapter.refuse(interaction, cannot_post(interaction, missing))
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
                "mention": "here" if here else role_mention(mention, interaction.guild_id),
                "remind": remind,
                "to": "me" if to_me else None,
            }
            note = silent_role_note(mention, interaction) if mention is not None else ""
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

        @jobs.command(name="list", description="This channel's subscriptions and your own")
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

        @jobs.command(name="fix", description="Correct what jobbot read about one posting")
        @app_commands.describe(
            posting="The posting's jobbot id (#42), as /jobs why shows it",
            corrections="degree:phd-only country:DE area:+speech,-cv internship:yes posting:no",
        )
        async def fix(
            interaction: discord.Interaction[Any], posting: str, corrections: str
        ) -> None:
            text = f"fix {shlex.quote(posting.strip()[:40])} {corrections[:2000]}"
            await adapter.run(interaction, text)

        @jobs.command(name="digest", description="Send the channel's and your digests now")
        async def digest(interaction: discord.Interaction[Any]) -> None:
            await adapter.run(interaction, "digest now")

        @jobs.command(name="stop", description="Remove every personal subscription of yours")
        async def stop(interaction: discord.Interaction[Any]) -> None:
            await adapter.run(interaction, "stop me")

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


def _target_command(
    adapter: DiscordCommands, verb: str, description: str, autocomplete: Any
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


def is_direct(interaction: discord.Interaction[Any]) -> bool:
    """Whether `/jobs` came from outside a server the bot is in: its DM, a group or
    private chat, or a server where only the user installed jobbot (#19).

    There the bot cannot post, so every command is about the user's personal
    subscriptions, as when typed in a Slack DM with the app.
    """
    return interaction.guild_id is None or not interaction.is_guild_integration()


def _channel_of(interaction: discord.Interaction[Any]) -> str:
    """The channel a command is about: its channel, or the forum of a forum post.

    Nobody can type in a forum channel itself, only in its posts, so `/jobs` in any post
    of a forum subscribes (lists, pauses …) the forum.
    """
    channel = interaction.channel
    if isinstance(channel, discord.Thread) and isinstance(channel.parent, discord.ForumChannel):
        return str(channel.parent.id)
    return str(interaction.channel_id or "")
