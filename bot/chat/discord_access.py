"""Before a Discord subscription is saved: can the bot post in that channel? (#17)

Every interaction carries the bot's permissions in the channel it came from
(``app_permissions``, channel overwrites applied), so the check needs no API call. What
posting needs:

- a text channel: View Channel, Send Messages, Embed Links (alerts are embeds);
- a forum (`/jobs` typed in one of its posts): the same, Send Messages being what
  creates a post, and Send Messages in Threads for a digest's further parts, which are
  messages in its post;
- another thread: View Channel, Send Messages in Threads, Embed Links.

When one is missing the reply lists them and nothing is saved. A payload without the
permissions (``0``: nobody can tell) does not block subscribing: the delivery path
pauses the subscription at its first alert anyway.
"""

from __future__ import annotations

from typing import Any

from bot.chat.discord_lib import discord

__all__ = ["cannot_post", "missing_permissions"]

# Permission flags (discord.Permissions attributes) and their names in Discord's UI.
_NAMES = {
    "view_channel": "View Channel",
    "send_messages": "Send Messages",
    "send_messages_in_threads": "Send Messages in Threads",
    "embed_links": "Embed Links",
}
_CHANNEL: tuple[str, ...] = ("view_channel", "send_messages", "embed_links")
_FORUM: tuple[str, ...] = (
    "view_channel",
    "send_messages",
    "send_messages_in_threads",
    "embed_links",
)
_THREAD: tuple[str, ...] = ("view_channel", "send_messages_in_threads", "embed_links")


def _in_forum(interaction: discord.Interaction[Any]) -> bool:
    channel = interaction.channel
    return isinstance(channel, discord.Thread) and isinstance(channel.parent, discord.ForumChannel)


def missing_permissions(interaction: discord.Interaction[Any]) -> list[str]:
    """The permissions the bot lacks to post where ``interaction`` came from, by UI name."""
    granted = interaction.app_permissions
    if granted.value == 0:
        return []  # not sent: no verdict
    if _in_forum(interaction):
        needed = _FORUM
    elif isinstance(interaction.channel, discord.Thread):
        needed = _THREAD
    else:
        needed = _CHANNEL
    return [_NAMES[flag] for flag in needed if not getattr(granted, flag)]


def cannot_post(interaction: discord.Interaction[Any], missing: list[str]) -> str:
    """The reply to a subscribe the bot could not carry out: what to grant, and where."""
    where = "forum" if _in_forum(interaction) else "channel"
    return (
        f"jobbot cannot post in this {where}: it lacks {', '.join(missing)}. Give jobbot "
        f"these permissions in the {where}'s settings (Edit Channel → Permissions), then "
        "subscribe again. Nothing was saved."
    )
