"""Choices and autocomplete for `/jobs` options: areas, countries, time zones, degrees."""

from __future__ import annotations

import zoneinfo
from typing import Any

import discord
import pycountry

from bot.chat.discord_lib import Choice
from bot.postings.taxonomy import load_taxonomy
from subscriptions.grammar import USAGE
from subscriptions.model import MODES, WEEKDAYS

__all__ = [
    "role_mention",
    "silent_role_note",
    "AUTOCOMPLETE_MAX",
    "DAY_CHOICES",
    "DEGREES",
    "HELP_CHOICES",
    "MODE_CHOICES",
    "area_choices",
    "country_choices",
    "timezone_choices",
]

AUTOCOMPLETE_MAX = 25
DEGREES = [
    Choice(name="PhD only", value="phd-only"),
    Choice(name="PhD or Master's", value="phd-or-masters"),
    Choice(name="Open to PhD students (phd-only, phd-or-masters, any)", value="phd"),
    Choice(name="Open to Master's students", value="masters"),
    Choice(name="Any degree level", value="any"),
    Choice(name="Not stated", value="unknown"),
]
MODE_CHOICES = [Choice(name=mode, value=mode) for mode in MODES]
DAY_CHOICES = [Choice(name=day, value=day) for day in WEEKDAYS]
HELP_CHOICES = [Choice(name=verb, value=verb) for verb in USAGE]


def _split_last(current: str) -> tuple[str, str]:
    """The values typed before the last comma, and the segment being typed."""
    head, sep, last = current.rpartition(",")
    return (head + sep, last.strip())


def area_choices(current: str) -> list[Choice[str]]:
    """Taxonomy slugs matching the last comma-separated segment of ``current``."""
    done, last = _split_last(current)
    needle = last.casefold()
    taxonomy = load_taxonomy()
    found = [
        a
        for a in taxonomy.areas.values()
        if needle in a.slug.casefold() or needle in a.label.casefold()
    ]
    found.sort(key=lambda a: (not a.slug.startswith(needle), a.slug))
    return [
        Choice(name=f"{done}{a.slug} — {a.label}"[:100], value=f"{done}{a.slug}"[:100])
        for a in found[:AUTOCOMPLETE_MAX]
    ]


def country_choices(current: str) -> list[Choice[str]]:
    """ISO countries (code or name) matching the last comma-separated segment."""
    done, last = _split_last(current)
    needle = last.casefold()
    found = []
    for country in pycountry.countries:
        name = str(getattr(country, "common_name", None) or country.name)
        code = str(country.alpha_2)
        if not needle or code.casefold() == needle or needle in name.casefold():
            found.append(
                (code.casefold() != needle, not name.casefold().startswith(needle), name, code)
            )
    found.sort()
    return [
        Choice(name=f"{done}{name} ({code})"[:100], value=f"{done}{code}"[:100])
        for *_, name, code in found[:AUTOCOMPLETE_MAX]
    ]


def timezone_choices(current: str) -> list[Choice[str]]:
    """IANA time zones containing what was typed (at most 25)."""
    needle = current.strip().casefold()
    zones = sorted(z for z in zoneinfo.available_timezones() if needle in z.casefold())
    zones.sort(key=lambda z: not z.casefold().startswith(needle))
    return [Choice(name=z, value=z) for z in zones[:AUTOCOMPLETE_MAX]]


def silent_role_note(role: discord.Role, interaction: discord.Interaction[Any]) -> str:
    """A warning when Discord would show the role's mention without notifying anyone."""
    if getattr(role, "mentionable", True) or interaction.app_permissions.mention_everyone:
        return ""
    return (
        f"Note: the role {role.name} is not mentionable and jobbot lacks Mention Everyone, "
        "so Discord will show the mention without notifying anyone. Make the role "
        "mentionable (Server Settings → Roles) or give jobbot Mention Everyone."
    )


def role_mention(role: discord.Role | None, guild_id: int | None) -> str | None:
    """A role option as a ``mention:`` value; @everyone (its id is the server's) as such,
    so that the grammar refuses it with its usual message."""
    if role is None:
        return None
    return "@everyone" if role.id == guild_id else f"role:{role.id}"
