"""When a digest is due: the latest scheduled moment, in the subscription's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from subscriptions.model import WEEKDAYS, Schedule

__all__ = ["digest_due", "last_scheduled"]


def last_scheduled(schedule: Schedule, now: datetime) -> datetime:
    """The most recent moment at or before ``now`` when this schedule's digest falls due (UTC).

    Computed on the local calendar of ``schedule.tz``, so 09:00 stays 09:00 across
    daylight-saving changes. A local time skipped by a spring-forward lands on the
    moment after the gap.
    """
    zone = ZoneInfo(schedule.tz)
    local_now = now.astimezone(zone)
    hour, minute = schedule.hour_minute
    day = local_now.date()
    for _ in range(8):
        if schedule.mode != "weekly" or WEEKDAYS[day.weekday()] == schedule.weekday:
            candidate = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
            # Round-trip through UTC normalises a time inside a DST gap.
            moment = candidate.astimezone(UTC)
            if moment <= now.astimezone(UTC):
                return moment
        day -= timedelta(days=1)
    raise AssertionError("a daily or weekly schedule recurs within 8 days")


def digest_due(schedule: Schedule, last_digest_at: datetime | None, now: datetime) -> bool:
    """True when a scheduled moment has passed since the last digest (once, however many)."""
    if schedule.mode == "instant":
        return False
    moment = last_scheduled(schedule, now)
    return last_digest_at is None or moment > last_digest_at
