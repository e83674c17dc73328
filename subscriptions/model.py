"""What a user asked for: a Filter, a Schedule, and the Subscription that ties them to a channel."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "DEGREE_CHOICES",
    "INTERNSHIP_CHOICES",
    "MAX_REMIND_DAYS",
    "MODES",
    "WEEKDAYS",
    "Filter",
    "Mode",
    "Schedule",
    "Subscription",
]

Mode = Literal["instant", "daily", "weekly"]
MODES: tuple[Mode, ...] = get_args(Mode)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Internship = Literal["yes", "no", "any"]
INTERNSHIP_CHOICES: tuple[Internship, ...] = get_args(Internship)
# What a user may type after degree:, and the posting degrees each one accepts.
DEGREE_CHOICES: dict[str, frozenset[str]] = {
    "phd-only": frozenset({"phd-only"}),
    "phd-or-masters": frozenset({"phd-or-masters"}),
    "any": frozenset({"any"}),
    "unknown": frozenset({"unknown"}),
    # Shorthands from the student's side: postings a PhD / Master's student can apply to.
    "phd": frozenset({"phd-only", "phd-or-masters", "any", "unknown"}),
    "masters": frozenset({"phd-or-masters", "any", "unknown"}),
}
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
# A stored mention: nobody, @here, a Discord role or a Slack user group (by id). Several,
# space-separated, only where one message speaks for several subscriptions (a burst).
_ONE_MENTION = r"(?:here|role:\d{1,25}|group:[A-Z0-9]{2,30})"
_MENTION = re.compile(rf"^(|{_ONE_MENTION}(?: {_ONE_MENTION})*)$")
MAX_REMIND_DAYS = 60
# How a subscribe ended: saved, or refused because the place has that filter or is full.
SubscribeOutcome = Literal["created", "exists", "full"]


@dataclass(frozen=True, slots=True)
class Filter:
    """Which postings a subscription wants. Empty dimensions match everything.

    Within a dimension the values are alternatives (OR); across dimensions all must hold (AND).
    ``internship`` defaults to ``yes``: this is an internship bot, and a channel that also
    wants full-time roles says ``internship:any``.
    """

    areas: frozenset[str] = frozenset()
    countries: frozenset[str] = frozenset()
    degrees: frozenset[str] = frozenset()
    keywords: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    companies: tuple[str, ...] = ()
    internship: Internship = "yes"
    remote: bool = False

    def __post_init__(self) -> None:
        unknown = self.degrees - DEGREE_CHOICES.keys()
        if unknown:
            raise ValueError(f"unknown degree {sorted(unknown)}")
        if self.internship not in INTERNSHIP_CHOICES:
            raise ValueError(f"internship must be one of {INTERNSHIP_CHOICES}")
        for code in self.countries:
            if len(code) != 2 or not code.isupper():
                raise ValueError(f"country {code!r} is not an ISO alpha-2 code")

    def accepted_degrees(self) -> frozenset[str]:
        """The posting degrees this filter accepts (every degree when empty)."""
        accepted: frozenset[str] = frozenset()
        for choice in self.degrees:
            accepted |= DEGREE_CHOICES[choice]
        return accepted


@dataclass(frozen=True, slots=True)
class Schedule:
    """When and how alerts go out.

    At once, or as a digest at ``at`` in ``tz`` (weekly on ``weekday``). ``mention`` is
    the one mention an alert may carry (``here``, ``role:<Discord role id>`` or
    ``group:<Slack user group id>``; empty for none), and ``remind_days`` asks for one
    reminder that many days before an alerted posting's deadline (0: no reminders).
    """

    mode: Mode = "instant"
    at: str = "09:00"
    tz: str = "UTC"
    weekday: str = "mon"
    mention: str = ""
    remind_days: int = 0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        if not _TIME.match(self.at):
            raise ValueError(f"time {self.at!r} is not HH:MM")
        if self.weekday not in WEEKDAYS:
            raise ValueError(f"weekday must be one of {WEEKDAYS}")
        if not _MENTION.match(self.mention):
            raise ValueError(f"mention {self.mention!r} is not a role, user group or here")
        if not 0 <= self.remind_days <= MAX_REMIND_DAYS:
            raise ValueError(f"remind must be from 1 to {MAX_REMIND_DAYS} days")
        try:
            ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {self.tz!r}") from error

    @property
    def hour_minute(self) -> tuple[int, int]:
        """``at`` as integers."""
        hour, minute = self.at.split(":")
        return int(hour), int(minute)


@dataclass(frozen=True, slots=True)
class Subscription:
    """A filter and schedule owned by one chat channel."""

    id: int
    platform: str
    workspace: str
    channel: str
    filter: Filter
    schedule: Schedule = field(default_factory=Schedule)
    created_by: str = ""
    created_at: datetime | None = None
    paused: bool = False
    paused_reason: str | None = None
    paused_at: datetime | None = None
    last_digest_at: datetime | None = None

    @property
    def target(self) -> tuple[str, str, str]:
        """The chat channel, as (platform, workspace, channel)."""
        return (self.platform, self.workspace, self.channel)
