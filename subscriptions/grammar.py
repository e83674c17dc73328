"""The `/jobs` command grammar, shared by Slack text, the CLI and Discord's typed options.

::

    subscribe area:nlp,recsys country:US,DE degree:phd-only keywords:"applied science"
              exclude:senior company:amazon internship:yes remote:no
              mode:instant|daily|weekly at:09:00 tz:Europe/Berlin day:mon
              mention:@ml-interns remind:3d [to:me]
    why URL|ID | list | unsubscribe ID | pause ID | resume ID [catch-up] | stop me
    preview <filters> | digest [now] | areas | sources | help [command]
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Literal

from bot.errors import CommandError
from bot.postings.correction import Correction
from subscriptions.filter_grammar import _suggest, parse_filter, parse_mention
from subscriptions.fix import parse_fix
from subscriptions.formatting import format_filter, format_schedule
from subscriptions.model import Filter, Schedule
from subscriptions.usage import USAGE

__all__ = [
    "USAGE",
    "Command",
    "SourceRequest",
    "format_filter",
    "format_schedule",
    "parse_command",
    "parse_filter",
    "parse_mention",
    "source_name_for",
]

Verb = Literal[
    "subscribe",
    "list",
    "why",
    "unsubscribe",
    "pause",
    "resume",
    "preview",
    "digest",
    "areas",
    "sources",
    "fix",
    "stop",
    "help",
]

# Longer than any filter filter_grammar's limits allow; checked before shlex, which is quadratic.
MAX_COMMAND_LENGTH = 10_000
# Subscription ids are SQLite integers.
MAX_ID = 2**63 - 1


@dataclass(frozen=True, slots=True)
class SourceRequest:
    """`/jobs sources add|remove`: what to add (``url`` empty for remove)."""

    action: Literal["add", "remove"]
    name: str
    url: str = ""
    kind: str = "rss"
    interval_s: int | None = None
    backfill: int = 0


_SOURCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
_SOURCE_KIND = re.compile(r"^[a-z][a-z0-9_-]{0,30}$")
_SOURCE_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$", re.I)
_DURATION = re.compile(r"^(\d{1,6})(s|m|h|d)?$", re.I)
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_SOURCE_INTERVAL = 300


def source_name_for(url: str) -> str:
    """A short default name from a URL: host and path joined by dashes."""
    rest = url.split("://", 1)[-1]
    host, _, path = rest.partition("/")
    parts = [host.split("@")[-1].split(":")[0]]
    parts += [p for p in re.split(r"[^A-Za-z0-9._-]+", path.split("?")[0]) if p]
    return "-".join(parts)[:80].strip("-.") or "source"


def _parse_source(args: list[str]) -> SourceRequest:
    usage = USAGE["sources"]
    action = args[0].lower()
    if action in ("rm", "delete"):
        action = "remove"
    if action not in ("add", "remove"):
        raise CommandError(f"`sources` knows `add` and `remove`, not `{args[0]}`.", usage)
    if action == "remove":
        if len(args) != 2 or not _SOURCE_NAME.match(args[1]):
            raise CommandError("`sources remove` takes the name of one source.", usage)
        return SourceRequest("remove", args[1])
    if len(args) < 2 or not _SOURCE_URL.match(args[1]) or len(args[1]) > 2000:
        raise CommandError("`sources add` needs an http:// or https:// URL first.", usage)
    url, options = args[1], args[2:]
    fields: dict[str, str] = {}
    for option in options:
        key, sep, value = option.partition(":")
        key = key.lower()
        if not sep or key not in ("kind", "interval", "name", "backfill") or not value:
            raise CommandError(f"`{option}` is not a sources option.", usage)
        if key in fields:
            raise CommandError(f"`{key}:` is given twice.", usage)
        fields[key] = value
    kind = fields.get("kind", "rss").lower()
    if not _SOURCE_KIND.match(kind):
        raise CommandError(f"`kind:{fields['kind']}` is not a source kind.", usage)
    name = fields.get("name") or source_name_for(url)
    if not _SOURCE_NAME.match(name):
        raise CommandError(
            "`name:` takes letters, digits, dots, dashes and underscores (up to 80).", usage
        )
    interval: int | None = None
    if "interval" in fields:
        match = _DURATION.match(fields["interval"])
        if not match:
            raise CommandError(f"`interval:{fields['interval']}` is not like 30m, 6h or 1d.", usage)
        interval = int(match.group(1)) * _DURATION_UNITS[(match.group(2) or "s").lower()]
        if interval < MIN_SOURCE_INTERVAL:
            raise CommandError("`interval:` must be at least 5m (be kind to job boards).", usage)
    backfill = fields.get("backfill", "0")
    if not backfill.isdigit() or int(backfill) > 100:
        raise CommandError("`backfill:` is a number from 0 to 100.", usage)
    return SourceRequest("add", name, url, kind, interval, int(backfill))


@dataclass(frozen=True, slots=True)
class Command:
    """A parsed command. ``target`` is the subscription id for unsubscribe/pause/resume."""

    verb: Verb
    filter: Filter | None = None
    schedule: Schedule | None = None
    target: int | None = None
    catch_up: bool = False
    topic: str | None = None
    source: SourceRequest | None = None
    query: str | None = None
    correction: Correction | None = None
    # `to:me`: a personal subscription of the user who typed it, sent as direct messages.
    personal: bool = False


def _tokens(text: str, verb: str) -> list[str]:
    if len(text) > MAX_COMMAND_LENGTH:
        raise CommandError(
            f"that command is {len(text)} characters long; the most is {MAX_COMMAND_LENGTH}.",
            USAGE.get(verb, USAGE["help"]),
        )
    try:
        return shlex.split(text)
    except ValueError as error:
        raise CommandError(
            f"I could not read that: {error} (check your quotes).", USAGE.get(verb, USAGE["help"])
        ) from error


def _target(args: list[str], verb: str) -> int:
    if not args:
        raise CommandError(f"`{verb}` needs a subscription ID.", USAGE[verb])
    try:
        value = int(args[0].lstrip("#"))
    except ValueError:
        raise CommandError(
            f"`{args[0]}` is not a subscription ID (a number).", USAGE[verb]
        ) from None
    if not 0 < value <= MAX_ID:
        raise CommandError(f"`{args[0]:.30}` is not a subscription ID.", USAGE[verb])
    return value


def _take_to(args: list[str], verb: str) -> tuple[list[str], bool]:
    """Split ``to:me`` off the filter tokens: whether the subscription is personal."""
    rest, personal, seen = [], False, False
    for token in args:
        key, sep, value = token.partition(":")
        if not sep or key.strip().lower() != "to":
            rest.append(token)
            continue
        if seen:
            raise CommandError("`to:` is given twice.", USAGE[verb])
        if value.strip().lower() != "me":
            raise CommandError(
                f"`to:{value}` is not valid; `to:me` sends the alerts to you as direct "
                "messages (leave it out for this channel).",
                USAGE[verb],
            )
        seen = personal = True
    return rest, personal


def parse_command(text: str) -> Command:
    """Parse the text after `/jobs` into a Command, or raise CommandError with the right form."""
    stripped = text.strip()
    if stripped.lower().startswith("/jobs"):
        stripped = stripped[5:].strip()
    if not stripped:
        return Command("help")
    verb_text, _, rest = stripped.partition(" ")
    verb = verb_text.lower()
    aliases = {
        "sub": "subscribe",
        "unsub": "unsubscribe",
        "ls": "list",
        "rm": "unsubscribe",
        "remove": "unsubscribe",
        "delete": "unsubscribe",
        "area": "areas",
        "source": "sources",
    }
    verb = aliases.get(verb, verb)
    if verb not in USAGE:
        raise CommandError(
            f"`{verb_text}` is not a /jobs command.{_suggest(verb, list(USAGE))}", "/jobs help"
        )
    args = _tokens(rest, verb)
    if verb in ("subscribe", "preview"):
        args, personal = _take_to(args, verb)
        filter_, schedule = parse_filter(args, verb)
        return Command(verb, filter=filter_, schedule=schedule, personal=personal)  # type: ignore[arg-type]
    if verb == "stop":
        if [a.lower() for a in args] != ["me"]:
            raise CommandError(
                "`stop` takes `me`: it removes every personal subscription of yours.",
                USAGE[verb],
            )
        return Command("stop", personal=True)
    if verb in ("unsubscribe", "pause"):
        if len(args) > 1:
            raise CommandError(f"`{verb}` takes one subscription ID.", USAGE[verb])
        return Command(verb, target=_target(args, verb))  # type: ignore[arg-type]
    if verb == "resume":
        extra = [a.lower() for a in args[1:]]
        if any(a not in ("catch-up", "--catch-up", "catchup") for a in extra):
            raise CommandError("`resume` takes an ID and optionally `catch-up`.", USAGE[verb])
        return Command("resume", target=_target(args, verb), catch_up=bool(extra))
    if verb == "why":
        if len(args) != 1 or len(args[0]) > 2000:
            raise CommandError("`why` takes one posting link or posting ID.", USAGE[verb])
        return Command("why", query=args[0].strip("<>"))
    if verb == "fix":
        posting_id, correction = parse_fix(args)
        return Command("fix", target=posting_id, correction=correction)
    if verb == "sources" and args:
        return Command("sources", source=_parse_source(args))
    if verb == "digest":
        if args and [a.lower() for a in args] != ["now"]:
            raise CommandError("`digest` only knows `now`.", USAGE[verb])
        return Command("digest")
    if verb == "help":
        topic = args[0].lower() if args else None
        if topic is not None and topic not in USAGE:
            raise CommandError(f"There is no help on `{args[0]}`.", USAGE["help"])
        return Command("help", topic=topic)
    if args:
        raise CommandError(f"`{verb}` takes no arguments.", USAGE[verb])
    return Command(verb)  # type: ignore[arg-type]
