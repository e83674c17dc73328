"""How `/jobs` answers a Discord interaction: at once, or deferred and followed up (#17).

Discord invalidates an interaction that gets no first response within 3 s. A reply ready
within ``bot.chat.answer.ANSWER_WITHIN`` is sent as that response, as public or private
as the reply says (an error or a refusal always private). A later one is deferred first
(``DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE``, "jobbot is thinking…") and then sent as a
followup with the interaction's token, which lives 15 minutes.

A defer fixes whether the message that completes it is ephemeral, and when it is sent the
reply is not known yet. The defer is private: the "thinking" placeholder and the errors,
listings and previews that follow it concern only whoever typed the command. A reply
meant for the channel (subscribed, paused …) then completes the private placeholder with
a short note and is posted for everyone as a followup of its own, since only the first
followup after a defer inherits its flags.

A late reply that cannot be delivered is logged: discord.py could do nothing with the
exception that would reach the user.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.chat.discord_lib import discord
from bot.chat.discord_render import reply_text
from subscriptions.commands import Reply

__all__ = ["POSTED_FOR_ALL", "answer_late", "answer_now", "defer"]

log = logging.getLogger("jobbot.discord")

# What the invoker's private placeholder says once the reply went to the whole channel.
POSTED_FOR_ALL = "Done: the answer is posted in this channel for everyone."


def _content(reply: Reply, note: str) -> str:
    return reply_text(f"{reply.text}\n{note}" if note and reply.ok else reply.text)


def _private(reply: Reply) -> bool:
    return reply.ephemeral or not reply.ok


async def answer_now(interaction: discord.Interaction[Any], reply: Reply, note: str) -> None:
    """Answer within the 3 s as the interaction's response (the reply was ready in time)."""
    await interaction.response.send_message(
        _content(reply, note),
        ephemeral=_private(reply),
        allowed_mentions=discord.AllowedMentions.none(),
    )


async def defer(interaction: discord.Interaction[Any], text: str) -> bool:
    """Defer privately ("thinking…"); False, logged, when Discord refused the defer.

    Without a defer there is no token to follow up with: the work still finishes, its
    reply is lost (a defer refused is one already too late, 10062).
    """
    try:
        await interaction.response.defer(ephemeral=True, thinking=True)
    except discord.HTTPException as error:
        log.warning("/jobs %s: could not defer the interaction: %s", text, error)
        return False
    return True


async def answer_late(
    interaction: discord.Interaction[Any], reply: Reply, note: str, text: str
) -> None:
    """Send the reply of a deferred interaction as its followup(s). Never raises."""
    content = _content(reply, note)
    none = discord.AllowedMentions.none()
    try:
        if _private(reply):
            await interaction.followup.send(content, ephemeral=True, allowed_mentions=none)
        else:
            await interaction.edit_original_response(content=POSTED_FOR_ALL, allowed_mentions=none)
            await interaction.followup.send(content, ephemeral=False, allowed_mentions=none)
    except discord.HTTPException as error:  # the token expired, the channel went away …
        log.warning("/jobs %s: could not deliver the late reply: %s", text, error)
    except Exception:  # the edge: a dropped connection; discord.py would only log it too
        log.exception("/jobs %s: could not deliver the late reply", text)
