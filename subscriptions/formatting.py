"""Filters and schedules written back in the grammar's own form."""

from __future__ import annotations

import shlex

from subscriptions.model import Filter, Schedule

__all__ = ["format_filter", "format_schedule", "when_sent"]


def _quote(value: str) -> str:
    return shlex.quote(value) if any(ch in value for ch in " \"'\\") else value


def format_filter(filter_: Filter) -> str:
    """The filter in the grammar's own form (parses back to an equal Filter)."""
    parts = []
    if filter_.areas:
        parts.append("area:" + ",".join(sorted(filter_.areas)))
    if filter_.countries:
        parts.append("country:" + ",".join(sorted(filter_.countries)))
    if filter_.degrees:
        parts.append("degree:" + ",".join(sorted(filter_.degrees)))
    for key, values in (
        ("keywords", filter_.keywords),
        ("exclude", filter_.exclude),
        ("company", filter_.companies),
    ):
        if values:
            parts.append(f"{key}:" + _quote(",".join(values)))
    if filter_.internship != "yes":
        parts.append(f"internship:{filter_.internship}")
    if filter_.remote:
        parts.append("remote:yes")
    return " ".join(parts) or "(everything)"


def format_schedule(schedule: Schedule) -> str:
    """The schedule in the grammar's own form (mentions by id, so that nobody is pinged)."""
    text = "mode:instant"
    if schedule.mode != "instant":
        text = f"mode:{schedule.mode} at:{schedule.at} tz:{schedule.tz}"
    if schedule.mode == "weekly":
        text += f" day:{schedule.weekday}"
    if schedule.mention:
        text += f" mention:{schedule.mention}"
    if schedule.remind_days:
        text += f" remind:{schedule.remind_days}d"
    return text


def when_sent(schedule: Schedule) -> str:
    """When a subscription's alerts go out, as the end of a sentence."""
    return "as they appear" if schedule.mode == "instant" else f"in a {schedule.mode} digest"
