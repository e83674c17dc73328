"""Filter and schedule parsing: `key:value` tokens into a Filter and a Schedule."""

from __future__ import annotations

import difflib
import re
import unicodedata

from bot.errors import CommandError
from bot.postings.gazetteer import resolve_country
from bot.postings.taxonomy import load_taxonomy
from subscriptions.model import (
    DEGREE_CHOICES,
    INTERNSHIP_CHOICES,
    MAX_REMIND_DAYS,
    MODES,
    WEEKDAYS,
    Filter,
    Schedule,
)
from subscriptions.usage import USAGE

__all__ = ["MAX_VALUE_LENGTH", "MAX_VALUES", "parse_filter", "parse_mention"]

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
_DAY_NAMES = {
    name: day
    for day, name in zip(
        WEEKDAYS,
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
        strict=True,
    )
}


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
