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

import difflib
import re
import shlex
import unicodedata
from dataclasses import dataclass
from typing import Literal

from bot.errors import CommandError
from bot.postings.correction import Correction
from bot.postings.gazetteer import resolve_country
from bot.postings.taxonomy import load_taxonomy
from subscriptions.fix import FIX_USAGE, parse_fix
from subscriptions.model import (
    DEGREE_CHOICES,
    INTERNSHIP_CHOICES,
    MAX_REMIND_DAYS,
    MODES,
    WEEKDAYS,
    Filter,
    Schedule,
)

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

USAGE: dict[str, str] = {
    "subscribe": (
        "/jobs subscribe area:nlp,recsys country:US,DE degree:phd-only "
        'keywords:"applied science" exclude:senior company:amazon internship:yes '
        "mode:instant|daily|weekly at:09:00 tz:Europe/Berlin day:mon "
        "mention:@group-or-role|@here remind:3d [to:me]"
    ),
    "list": "/jobs list",
    "why": "/jobs why URL|ID   (what happened to one posting, for each subscription here)",
    "unsubscribe": "/jobs unsubscribe ID   (IDs are shown by /jobs list)",
    "pause": "/jobs pause ID",
    "resume": "/jobs resume ID [catch-up]",
    "preview": "/jobs preview area:cv country:DE   (same filters as subscribe)",
    "digest": "/jobs digest now",
    "areas": "/jobs areas",
    "sources": (
        "/jobs sources   |   /jobs sources add URL [kind:rss] [interval:30m] [name:NAME] "
        "[backfill:N]   |   /jobs sources remove NAME   (add and remove: admins only)"
    ),
    "fix": FIX_USAGE,
    "stop": "/jobs stop me   (removes every personal subscription of yours, nothing else)",
    "help": "/jobs help [command]",
}

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

_FILTER_KEYS = {
    "area": "areas",
    "areas": "areas",
    "country": "countries",
    "countries": "countries",
    "degree": "degree",
    "keyword": "keywords",
    "keywords": "keywords",
    "exclude": "exclude",
    "company": "companies",
    "companies": "companies",
    "internship": "internship",
    "remote": "remote",
}
_SCHEDULE_KEYS = {
    "mode": "mode",
    "at": "at",
    "time": "at",
    "tz": "tz",
    "timezone": "tz",
    "day": "weekday",
    "weekday": "weekday",
    "mention": "mention",
    "ping": "mention",
    "remind": "remind",
    "reminder": "remind",
}
_YES = {"yes", "y", "true", "on", "1"}
_NO = {"no", "n", "false", "off", "0"}
# Mentions as Slack and Discord write them into command text (or as typed by hand).
_HERE = re.compile(r"^(?:@?here|<!here(?:\|@?here)?>)$", re.I)
_ROLE = re.compile(r"^(?:<@&(\d{1,25})>|&(\d{1,25})|role:(\d{1,25})|(\d{5,25}))$", re.I)
_GROUP = re.compile(
    r"^(?:<!subteam\^([A-Z0-9]{2,30})(?:\|[^>]*)?>|subteam\^([A-Z0-9]{2,30})|group:([A-Z0-9]{2,30})"
    r"|(S[A-Z0-9]{6,29}))$"
)
_BROADCAST_MENTION = re.compile(
    r"^(?:@?(?:everyone|channel)|<!(?:everyone|channel)(?:\|[^>]*)?>)$", re.I
)
_PERSON = re.compile(r"^<@!?[A-Z0-9]+(?:\|[^>]*)?>$", re.I)
_REMIND = re.compile(r"^(\d{1,3})\s*(?:d|days?)?$", re.I)
MAX_VALUES = 25
MAX_VALUE_LENGTH = 100
# Longer than any filter the limits above allow; checked before shlex, which is quadratic.
MAX_COMMAND_LENGTH = 10_000
# Subscription ids are SQLite integers.
MAX_ID = 2**63 - 1
_DAY_NAMES = {
    name: day
    for day, name in zip(
        WEEKDAYS,
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
        strict=True,
    )
}


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


def parse_mention(raw: str, verb: str = "subscribe") -> str:
    """A ``mention:`` value as stored: ``here``, ``role:ID``, ``group:ID`` or '' for none."""
    value = raw.strip()
    if value.lower() in ("", "none", "off", "no", "nobody"):
        return ""
    if _HERE.match(value):
        return "here"
    if match := _ROLE.match(value):
        return "role:" + next(g for g in match.groups() if g)
    if match := _GROUP.match(value):
        return "group:" + next(g for g in match.groups() if g)
    if _BROADCAST_MENTION.match(value):
        raise CommandError(
            f"`mention:{value}` would ping everyone in the channel; use a role, "
            "a user group or @here.",
            USAGE[verb],
        )
    if _PERSON.match(value):
        raise CommandError("`mention:` takes a role or user group, not one person.", USAGE[verb])
    raise CommandError(
        f"I can't tell which role or user group `{value}` is. Pick it from the @ list as you "
        "type (so the platform sends its id), or give the id: `mention:role:123…` (Discord) "
        "or `mention:group:S0…` (Slack).",
        USAGE[verb],
    )


def _remind_days(raw: str, verb: str) -> int:
    value = raw.strip()
    if value.lower() in ("off", "no", "none", "0"):
        return 0
    match = _REMIND.match(value)
    if not match or not 1 <= int(match.group(1)) <= MAX_REMIND_DAYS:
        raise CommandError(
            f"`remind:{value}` is not valid; give days before the deadline, from 1d to "
            f"{MAX_REMIND_DAYS}d (e.g. `remind:3d`).",
            USAGE[verb],
        )
    return int(match.group(1))


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


def _split_values(key: str, raw: str, verb: str) -> list[str]:
    values = [v.strip() for v in raw.split(",") if v.strip()]
    if not values:
        raise CommandError(f"`{key}:` needs a value.", USAGE[verb])
    if len(values) > MAX_VALUES:
        raise CommandError(f"`{key}:` takes at most {MAX_VALUES} values.", USAGE[verb])
    for value in values:
        if len(value) > MAX_VALUE_LENGTH:
            raise CommandError(
                f"a `{key}:` value is longer than {MAX_VALUE_LENGTH} characters.", USAGE[verb]
            )
        # Control and format characters (bidi overrides, zero-width joiners) would be
        # echoed into the channel's announcement, where they can disguise the text.
        hidden = next((ch for ch in value if unicodedata.category(ch) in ("Cc", "Cf")), None)
        if hidden is not None:
            raise CommandError(
                f"a `{key}:` value contains the control character U+{ord(hidden):04X}; "
                "use visible characters only.",
                USAGE[verb],
            )
    return values


def _suggest(value: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
    return f" Did you mean `{close[0]}`?" if close else ""


def _areas(values: list[str], verb: str) -> frozenset[str]:
    slugs = list(load_taxonomy().slugs)
    result = set()
    for value in values:
        slug = value.lower()
        if slug not in slugs:
            raise CommandError(
                f"`{value}` is not a research area.{_suggest(slug, slugs)} "
                "See `/jobs areas` for the list.",
                USAGE[verb],
            )
        result.add(slug)
    return frozenset(result)


def _countries(values: list[str], verb: str) -> frozenset[str]:
    result = set()
    for value in values:
        code = resolve_country(value)
        if code is None:
            raise CommandError(
                f"`{value}` is not a country I know. Use a two-letter code (US, DE, GB) "
                "or an English country name.",
                USAGE[verb],
            )
        result.add(code)
    return frozenset(result)


def _choice(key: str, value: str, choices: tuple[str, ...] | list[str], verb: str) -> str:
    lowered = value.lower()
    if lowered not in choices:
        raise CommandError(
            f"`{key}:{value}` is not valid; choose one of {', '.join(choices)}."
            f"{_suggest(lowered, list(choices))}",
            USAGE[verb],
        )
    return lowered


def _yes_no(key: str, value: str, verb: str) -> bool:
    lowered = value.lower()
    if lowered in _YES:
        return True
    if lowered in _NO:
        return False
    raise CommandError(f"`{key}:{value}` is not valid; use yes or no.", USAGE[verb])


def parse_filter(tokens: list[str], verb: str = "subscribe") -> tuple[Filter, Schedule]:
    """Read ``key:value`` tokens into a Filter and a Schedule, or raise CommandError."""
    fields: dict[str, object] = {}
    schedule: dict[str, str | int] = {}
    seen: set[str] = set()
    for token in tokens:
        key, sep, raw = token.partition(":")
        key = key.strip().lower()
        if not sep:
            raise CommandError(
                f"`{token}` is not a filter. Filters look like `key:value`, "
                f"for example `area:nlp` or `country:DE`.",
                USAGE[verb],
            )
        if key not in _FILTER_KEYS and key not in _SCHEDULE_KEYS:
            known = sorted(set(_FILTER_KEYS) | set(_SCHEDULE_KEYS))
            raise CommandError(
                f"`{key}:` is not a filter I know.{_suggest(key, known)}", USAGE[verb]
            )
        canonical = _FILTER_KEYS.get(key) or _SCHEDULE_KEYS[key]
        if canonical in seen:
            raise CommandError(
                f"`{key}:` is given twice; list several values with commas.", USAGE[verb]
            )
        seen.add(canonical)
        if canonical == "areas":
            fields["areas"] = _areas(_split_values(key, raw, verb), verb)
        elif canonical == "countries":
            fields["countries"] = _countries(_split_values(key, raw, verb), verb)
        elif canonical == "degree":
            fields["degrees"] = frozenset(
                _choice(key, v, list(DEGREE_CHOICES), verb) for v in _split_values(key, raw, verb)
            )
        elif canonical in ("keywords", "exclude", "companies"):
            values = _split_values(key, raw, verb)
            fields[canonical] = tuple(dict.fromkeys(v.lower() for v in values))
        elif canonical == "internship":
            fields["internship"] = _choice(key, raw.strip(), INTERNSHIP_CHOICES, verb)
        elif canonical == "remote":
            fields["remote"] = _yes_no(key, raw.strip(), verb)
        elif canonical == "mode":
            schedule["mode"] = _choice(key, raw.strip(), MODES, verb)
        elif canonical == "weekday":
            day = raw.strip().lower()
            schedule["weekday"] = _choice(key, _DAY_NAMES.get(day, day), WEEKDAYS, verb)
        elif canonical == "at":
            schedule["at"] = raw.strip()
        elif canonical == "tz":
            schedule["tz"] = raw.strip()
        elif canonical == "mention":
            schedule["mention"] = parse_mention(raw, verb)
        elif canonical == "remind":
            schedule["remind_days"] = _remind_days(raw, verb)
    try:
        built_schedule = Schedule(**schedule)  # type: ignore[arg-type]
    except ValueError as error:
        raise CommandError(f"{error}.", USAGE[verb]) from error
    return Filter(**fields), built_schedule  # type: ignore[arg-type]


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
