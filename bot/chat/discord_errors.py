"""Discord's refusals sorted by scope: one message, one channel, or the bot's token.

A ``discord.HTTPException`` becomes the ``ChatError`` the delivery worker acts on
(PLATFORMS.md, Discord error codes): AutoMod and invalid form bodies fail one message,
lost channels pause, a 401 holds every row, and the rest is retried.
"""

from __future__ import annotations

import logging

from bot.chat.discord_lib import discord
from bot.errors import (
    ChatError,
    PermanentChatError,
    RejectedMessageError,
    TokenChatError,
    TransientChatError,
)
from bot.sources.http import parse_retry_after

log = logging.getLogger("jobbot.discord")

__all__ = [
    "EDIT_PERMANENT_CODES",
    "MESSAGE_CODES",
    "PERMANENT_CODES",
    "TRANSIENT_CODES",
    "chat_error",
    "retry_after",
]

# Discord error codes after which a channel cannot be posted in until someone acts:
# unknown channel, unknown webhook, missing access, cannot DM, non-text channel, missing
# permissions, a forum that requires a tag and has none jobbot may apply (an area, parent
# area or catch-all tag is always tried first: bot/chat/discord_tags.py) (docs:
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


def chat_error(
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
        return TransientChatError(platform, name, error.text, retry_after=retry_after(error))
    if error.status == 400:
        # Another refused request (no known code): jobbot's bug, not the channel's.
        log.error("Discord refused a request (%s): %s", error.code, error.text)
        return RejectedMessageError(platform, code, error.text)
    return TransientChatError(platform, code, error.text)


def retry_after(error: discord.HTTPException) -> float | None:
    """The seconds of a 429's Retry-After header (seconds or an HTTP date)."""
    headers = getattr(error.response, "headers", None) or {}
    return parse_retry_after(headers.get("Retry-After"))
