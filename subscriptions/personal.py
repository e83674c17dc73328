"""Personal subscriptions: alerts for one user, sent as direct messages (issue #19).

A subscription's target is ``(platform, workspace, channel)``. A personal one belongs to
a user instead of a channel, and is stored in the same three columns as
``(platform, workspace, "@" + user id)``: the user's id behind an ``@``, and on Slack
the workspace (team) it was made in, since a Slack user id and the bot token that can
message it belong to one workspace. A Discord user is the same person in every server
and a DM needs no server, so on Discord the workspace is empty: one user's personal
subscriptions are one set (one limit, one `stop me`) wherever the command was typed.
No real channel id can take that form
(Slack's start with C, G or D; Discord's are digits), so nothing needs a new column,
and everything keyed by the target (the outbox, digests, reminders, follow-up edits,
source notices, export and import, the one-filter-per-place rule and pausing a target
after a permanent error) treats a user's DM exactly as it treats a channel. Only the
chat adapters look inside: they turn the target into the user's DM channel when they
send. The helpers below are the one place that knows the form.
"""

from __future__ import annotations

from subscriptions.model import Subscription

__all__ = [
    "GLOBAL_USERS",
    "PERSONAL_MARK",
    "is_personal",
    "is_personal_channel",
    "owner_of",
    "paused_undeliverable",
    "personal_channel",
    "personal_target",
    "undeliverable_reason",
    "user_of_channel",
]

PERSONAL_MARK = "@"


def personal_channel(user: str) -> str:
    """The ``channel`` column of a personal subscription of ``user``."""
    if not user or PERSONAL_MARK in user or user != user.strip():
        raise ValueError(f"not a user id: {user!r}")
    return PERSONAL_MARK + user


# Platforms whose user ids are global (not per workspace): personal targets there have no
# workspace.
GLOBAL_USERS = frozenset({"discord"})


def personal_target(platform: str, workspace: str, user: str) -> tuple[str, str, str]:
    """The target ``(platform, workspace, channel)`` of ``user``'s personal subscriptions,
    for a command typed in ``workspace``."""
    return (platform, "" if platform in GLOBAL_USERS else workspace, personal_channel(user))


def is_personal_channel(channel: str) -> bool:
    """Whether a stored ``channel`` is a user's DM rather than a channel."""
    return channel.startswith(PERSONAL_MARK) and len(channel) > len(PERSONAL_MARK)


def user_of_channel(channel: str) -> str | None:
    """The user id in a personal target's ``channel``, or None for a real channel."""
    return channel[len(PERSONAL_MARK) :] if is_personal_channel(channel) else None


def is_personal(sub: Subscription) -> bool:
    """Whether ``sub`` is a personal subscription (delivered as a direct message)."""
    return is_personal_channel(sub.channel)


def owner_of(sub: Subscription) -> str | None:
    """The user a personal subscription belongs to, or None for a channel's."""
    return user_of_channel(sub.channel)


# The reason jobbot records when a user's DMs refuse its messages; the code goes before it.
_UNDELIVERABLE = "the bot cannot send this user direct messages"


def undeliverable_reason(code: str) -> str:
    """The pause reason of a personal target whose DMs refused jobbot (``code``: why)."""
    return f"{code}: {_UNDELIVERABLE}"


def paused_undeliverable(sub: Subscription) -> bool:
    """Whether jobbot paused ``sub`` because the user's DMs refused its messages."""
    return sub.paused and (sub.paused_reason or "").endswith(_UNDELIVERABLE)
