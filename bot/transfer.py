"""`jobbot export` / `jobbot import`: subscriptions between installations, as JSON.

An export writes each subscription's filter and schedule in the `/jobs` grammar's own
form, so an import checks every entry with the same parser a user's command goes
through. Every entry is checked before anything is written, and the writes happen in
one transaction: an import is whole or nothing.
"""

from __future__ import annotations

import json
from datetime import datetime

from bot.errors import CommandError
from bot.sources.jsonsafe import load_json
from bot.store.protocols import Store
from subscriptions.grammar import format_filter, format_schedule, parse_command
from subscriptions.model import Filter, Schedule

__all__ = ["FORMAT_VERSION", "export_subscriptions", "import_subscriptions"]

FORMAT_VERSION = 1
_TARGET_KEYS = ("platform", "workspace", "channel")


def _refuse(problems: list[str]) -> CommandError:
    return CommandError(
        "Nothing was imported:\n" + "\n".join(f"  - {problem}" for problem in problems)
    )


def export_subscriptions(store: Store) -> str:
    """Every subscription as a JSON document (ids are not kept: the target assigns its own)."""
    entries = []
    for sub in store.subscriptions():
        filter_text = format_filter(sub.filter)
        entries.append(
            {
                "platform": sub.platform,
                "workspace": sub.workspace,
                "channel": sub.channel,
                "filter": "" if sub.filter == Filter() else filter_text,
                "schedule": format_schedule(sub.schedule),
                "paused": sub.paused,
                "created_by": sub.created_by,
            }
        )
    document = {"jobbot_export": FORMAT_VERSION, "subscriptions": entries}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _check(entry: object, index: int) -> tuple[dict[str, str], Filter, Schedule, bool]:
    where = f"subscriptions[{index}]"
    if not isinstance(entry, dict):
        raise CommandError(f"{where} is not an object")
    target = {}
    for key in _TARGET_KEYS:
        value = entry.get(key)
        if not isinstance(value, str) or not value.strip():
            raise CommandError(f"{where}.{key} must be a non-empty string")
        target[key] = value
    filter_text, schedule_text = entry.get("filter", ""), entry.get("schedule", "mode:instant")
    if not isinstance(filter_text, str) or not isinstance(schedule_text, str):
        raise CommandError(f"{where}: filter and schedule must be strings")
    try:
        command = parse_command(f"subscribe {filter_text} {schedule_text}")
    except CommandError as error:
        raise CommandError(f"{where}: {error.problem}") from error
    assert command.filter is not None and command.schedule is not None
    return target, command.filter, command.schedule, bool(entry.get("paused", False))


def import_subscriptions(store: Store, text: str, now: datetime) -> int:
    """Add every subscription of an export; raises CommandError (adding none) on any problem."""
    document = load_json(text, "import file", max_depth=8)
    if not isinstance(document, dict) or document.get("jobbot_export") != FORMAT_VERSION:
        raise _refuse([f"not a jobbot export (version {FORMAT_VERSION}) document"])
    entries = document.get("subscriptions")
    if not isinstance(entries, list):
        raise _refuse(["'subscriptions' must be a list"])
    checked, problems = [], []
    for index, entry in enumerate(entries):
        try:
            checked.append(_check(entry, index))
        except CommandError as error:
            problems.append(error.problem)
    if problems:
        raise _refuse(problems)
    with store.transaction():
        for target, filter_, schedule, paused in checked:
            sub = store.add_subscription(
                **target, filter=filter_, schedule=schedule, created_by="import", now=now
            )
            if paused:
                store.set_paused(sub.id, True, "paused before export", now=now)
    return len(checked)
