"""Before a Slack subscription is saved: can the bot post in that channel? (#17)

A subscription in a channel the bot cannot post in would only fail at its first alert
and pause. So `/jobs subscribe` (typed, or the form) first asks ``conversations.info``
with the workspace's bot token:

- a public channel: the bot posts there member or not (``chat:write.public``);
- a private channel or a conversation the bot is not in (Slack answers
  ``channel_not_found``: the bot cannot even see it): it cannot, and the reply says to
  ``/invite @jobbot``; nothing is saved;
- an archived channel: it cannot.

A check that cannot be made (no ``channels:read`` / ``groups:read`` scope on an older
install, Slack unreachable, an answer of another kind) never blocks subscribing: the
delivery path finds out at the first alert anyway, and pauses the subscription saying why.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.slack import chat_error
from subscriptions.commands import Reply

__all__ = ["posting_problem", "subscribe_if_postable"]

log = logging.getLogger("jobbot.slack")

_NOTHING_SAVED = "Nothing was saved."
PRIVATE = (
    "jobbot cannot post in this channel: it is private and jobbot is not a member. Type "
    "`/invite @jobbot` here, then subscribe again. " + _NOTHING_SAVED
)
UNSEEN = (
    "jobbot cannot post here: it cannot see this conversation. In a private channel, "
    "type `/invite @jobbot`, then subscribe again; a group chat cannot get alerts, but "
    "`to:me` sends them to you alone. " + _NOTHING_SAVED
)
ARCHIVED = "jobbot cannot post in this channel: it is archived. " + _NOTHING_SAVED
_UNKNOWN_CHANNEL = frozenset({"channel_not_found", "not_in_channel"})


async def posting_problem(client: AsyncWebClient, channel: str) -> str | None:
    """Why the bot cannot post in ``channel``; None when it can or when nobody can tell."""
    try:
        response = await client.conversations_info(channel=channel)
    except SlackApiError as error:
        refused = chat_error(error)
        if refused.code in _UNKNOWN_CHANNEL:
            return UNSEEN
        # missing_scope (channels:read / groups:read), a 5xx: no verdict.
        log.warning("cannot check that jobbot may post in %s (%s); subscribing", channel, refused)
        return None
    except Exception as error:  # the edge: network trouble must not block subscribing
        log.warning("cannot check that jobbot may post in %s (%r); subscribing", channel, error)
        return None
    info = response.get("channel")
    if not isinstance(info, dict):
        return None
    if info.get("is_archived"):
        return ARCHIVED
    if info.get("is_member"):
        return None
    if info.get("is_private") or info.get("is_im") or info.get("is_mpim"):
        return PRIVATE
    return None  # a public channel: chat:write.public posts without joining


async def subscribe_if_postable(
    client: AsyncWebClient, channel: str, subscribe: Callable[[], Awaitable[Reply]]
) -> Reply:
    """Run ``subscribe`` only if the bot can post in ``channel``; else say how to fix it."""
    problem = await posting_problem(client, channel)
    if problem is not None:
        return Reply(problem, ok=False)
    return await subscribe()
