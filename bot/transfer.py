"""`jobbot export` / `jobbot import`: subscriptions between installations, as JSON.

An export writes each subscription's filter and schedule in the `/jobs` grammar's own
form, so an import checks every entry with the same parser a user's command goes
through. Every entry is checked before anything is written, and the writes happen in
one transaction: an import is whole or nothing.
"""

from __future__ import annotations

import io
import json
from datetime import datetime
from typing import TextIO

from bot.errors import CommandError
from bot.sources.jsonsafe import load_json
from bot.store.protocols import Store
from bot.validate import webhook_url_problem
from subscriptions.grammar import format_filter, format_schedule, parse_command
from subscriptions.model import Filter, Schedule

__all__ = [
    "FORMAT_VERSION",
    "MAX_IMPORT_BYTES",
    "export_subscriptions",
    "import_subscriptions",
    "write_export",
]

FORMAT_VERSION = 1
# About 200 bytes an entry: room for millions of subscriptions.
MAX_IMPORT_BYTES = 1024 * 1024 * 1024
MAX_PROBLEMS_SHOWN = 20
_TARGET_KEYS = ("platform", "workspace", "channel")
PLATFORMS = ("console", "slack", "discord", "webhook")


def _refuse(problems: list[str]) -> CommandError:
    shown = [f"  - {problem}" for problem in problems[:MAX_PROBLEMS_SHOWN]]
    if len(problems) > MAX_PROBLEMS_SHOWN:
        shown.append(f"  - and {len(problems) - MAX_PROBLEMS_SHOWN} more problem(s)")
    return CommandError("Nothing was imported:\n" + "\n".join(shown))


def write_export(store: Store, out: TextIO) -> int:
    """Write every subscription to ``out`` as a JSON document, one entry at a time.

    Ids are not kept: the target assigns its own. Returns the number written.
    """
    out.write(f'{{\n  "jobbot_export": {FORMAT_VERSION},\n  "subscriptions": [')
    count = 0
    for sub in store.subscriptions():
        entry = {
            "platform": sub.platform,
            "workspace": sub.workspace,
            "channel": sub.channel,
            "filter": "" if sub.filter == Filter() else format_filter(sub.filter),
            "schedule": format_schedule(sub.schedule),
            "paused": sub.paused,
            "created_by": sub.created_by,
        }
        out.write(("\n    " if count == 0 else ",\n    ") + json.dumps(entry, ensure_ascii=False))
        count += 1
    out.write("\n  ]\n}\n" if count else "]\n}\n")
    return count


def export_subscriptions(store: Store) -> str:
    """Every subscription as a JSON document (see ``write_export``)."""
    buffer = io.StringIO()
    write_export(store, buffer)
    return buffer.getvalue()


def _check(entry: object, index: int) -> tuple[dict[str, str], Filter, Schedule, bool]:
    where = f"subscriptions[{index}]"
    if not isinstance(entry, dict):
        raise CommandError(f"{where} is not an object")
    target = {}
    for key in _TARGET_KEYS:
        value = entry.get(key)
        # A webhook has no workspace: its export carries "" there.
        may_be_empty = key == "workspace" and entry.get("platform") == "webhook"
        if not isinstance(value, str) or not (value.strip() or may_be_empty):
            raise CommandError(f"{where}.{key} must be a non-empty string")
        target[key] = value
    if target["platform"] not in PLATFORMS:
        raise CommandError(
            f"{where}.platform {target['platform']!r:.40} is not one of {', '.join(PLATFORMS)}"
        )
    if target["platform"] == "webhook" and (problem := webhook_url_problem(target["channel"])):
        raise CommandError(f"{where}.channel: {problem}")
    paused = entry.get("paused", False)
    if not isinstance(paused, bool):
        raise CommandError(f"{where}.paused {paused!r:.40} is not true or false")
    filter_text, schedule_text = entry.get("filter", ""), entry.get("schedule", "mode:instant")
    if not isinstance(filter_text, str) or not isinstance(schedule_text, str):
        raise CommandError(f"{where}: filter and schedule must be strings")
    try:
        command = parse_command(f"subscribe {filter_text} {schedule_text}")
    except CommandError as error:
        raise CommandError(f"{where}: {error.problem}") from error
    assert command.filter is not None and command.schedule is not None
    return target, command.filter, command.schedule, paused


def import_subscriptions(store: Store, text: str | bytes, now: datetime) -> int:
    """Add every subscription of an export; raises CommandError (adding none) on any problem.

    The file is the operator's own, so the fetch cap on source bodies does not apply; the
    ``MAX_IMPORT_BYTES`` bound (far above 100,000 subscriptions) only stops a wrong file.
    """
    document = load_json(text, "import file", max_bytes=MAX_IMPORT_BYTES, max_depth=8)
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
