"""Rendered Discord messages as discord.py ``send`` arguments: nonce, mentions, buttons."""

from __future__ import annotations

import hashlib
from typing import Any

from bot.chat.discord_lib import discord
from bot.chat.discord_render import (
    DiscordMessage,
    allowed_mentions,
)

__all__ = ["allowed", "message_kwargs", "message_view", "nonce", "post_message"]

MAX_NONCE = 25


async def post_message(
    client: discord.Client, channel_id: str, message: DiscordMessage, nonce: str
) -> str:
    """Send ``message`` with ``nonce``; returns ``channel/message``."""
    channel = client.get_partial_messageable(int(channel_id))
    sent = await channel.send(message.content or None, nonce=nonce, **message_kwargs(message))
    return f"{channel_id}/{sent.id}"


def nonce(prefix: str, key: str) -> str:
    """A nonce of Discord's at most 25 characters, the same for the same key."""
    return prefix + hashlib.sha256(key.encode()).hexdigest()[: MAX_NONCE - len(prefix)]


def allowed(mention: str) -> discord.AllowedMentions:
    """discord.py's form of ``allowed_mentions(mention)``: exactly that mention, or none."""
    allowed = allowed_mentions(mention)
    everyone = "everyone" in allowed["parse"]
    roles: list[discord.abc.Snowflake] | bool = [
        discord.Object(int(r)) for r in allowed.get("roles", [])
    ] or False
    if not everyone and not roles:
        return discord.AllowedMentions.none()
    return discord.AllowedMentions(everyone=everyone, users=False, roles=roles, replied_user=False)


def message_view(message: DiscordMessage) -> discord.ui.View | None:
    """The message's link buttons as a view (None when it has none)."""
    if not message.buttons:
        return None
    view = discord.ui.View(timeout=None)
    for label, url in message.buttons:
        view.add_item(discord.ui.Button(label=label, url=url))
    return view


def message_kwargs(message: DiscordMessage) -> dict[str, Any]:
    """Embeds, buttons and allowed mentions as discord.py's send keywords."""
    kwargs: dict[str, Any] = {
        "embeds": [discord.Embed.from_dict(e) for e in message.embeds],
        "allowed_mentions": allowed(message.mention),
    }
    view = message_view(message)
    if view is not None:
        kwargs["view"] = view
    return kwargs
