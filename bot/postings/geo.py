"""Countries and the remote flag from locations as written."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

import pycountry

from bot.postings.text import normalise_key

__all__ = ["Gazetteer", "country_name", "load_gazetteer", "resolve_country"]

_REMOTE = re.compile(r"\b(remote|anywhere|work from home|wfh|virtual|telecommute)\b", re.I)
_HYBRID = re.compile(r"\bhybrid\b", re.I)
_SPLIT = re.compile(r"\s*(?:[,;/|()\[\]]|\s-\s|\s–\s|\bor\b|\band\b|\n)\s*", re.I)


@dataclass(frozen=True, slots=True)
class Gazetteer:
    """Lookup tables from place names and codes to ISO 3166-1 alpha-2 codes."""

    names: dict[str, str]
    alpha2: frozenset[str]
    alpha3: dict[str, str]
    us_states: frozenset[str]
    us_state_names: frozenset[str]
    ca_provinces: frozenset[str]
    ca_province_names: frozenset[str]
    au_states: frozenset[str]
    cities: dict[str, str]

    def countries_in(self, location: str) -> tuple[set[str], bool]:
        """Countries named in one location string, and whether it says remote (not hybrid)."""
        remote = bool(_REMOTE.search(location)) and not _HYBRID.search(location)
        parts = [p for p in _SPLIT.split(location) if p and p.strip()]
        found: set[str] = set()
        raw_parts = [p.strip() for p in parts]
        for index, part in enumerate(raw_parts):
            code = self._part_country(part, index, raw_parts)
            if code:
                found.add(code)
        return found, remote

    def _part_country(self, part: str, index: int, parts: list[str]) -> str | None:
        key = normalise_key(part)
        if not key:
            return None
        if key in self.names:
            return self.names[key]
        upper = part.strip().upper()
        # A leading code ("US, WA, Seattle", "IN, KA, Bengaluru") is a country code.
        if index == 0 and len(parts) > 1 and upper in self.alpha2:
            return upper
        if index == 0 and len(parts) > 1 and upper in self.alpha3:
            return self.alpha3[upper]
        if index > 0:
            # "Seattle, WA" / "Toronto, ON" / "Sydney, NSW": sub-national codes after a place.
            if upper in self.us_states and part.strip().isupper():
                return "US"
            if upper in self.ca_provinces and part.strip().isupper():
                return "CA"
            if upper in self.au_states and part.strip().isupper() and len(upper) == 3:
                return "AU"
            if part.strip().isupper() and upper in self.alpha3:
                return self.alpha3[upper]
            if part.strip().isupper() and len(upper) == 2 and upper in self.alpha2:
                return upper
        if key in self.us_state_names:
            return "US"
        if key in self.ca_province_names:
            return "CA"
        if key in self.cities:
            return self.cities[key]
        return None


def _load() -> Gazetteer:
    raw = resources.files("bot.data").joinpath("places.toml").read_text(encoding="utf-8")
    data = tomllib.loads(raw)
    names: dict[str, str] = {}
    alpha3: dict[str, str] = {}
    for country in pycountry.countries:
        alpha3[country.alpha_3] = country.alpha_2
        for attr in ("name", "common_name", "official_name"):
            value = getattr(country, attr, None)
            if value:
                names[normalise_key(value)] = country.alpha_2
    for alias, code in data["country_aliases"].items():
        names[normalise_key(alias)] = code
    cities = {normalise_key(k): v for k, v in data["cities"].items()}
    return Gazetteer(
        names=names,
        alpha2=frozenset(c.alpha_2 for c in pycountry.countries),
        alpha3=alpha3,
        us_states=frozenset(data["us_states"]["codes"]),
        us_state_names=frozenset(normalise_key(n) for n in data["us_states"]["names"]),
        ca_provinces=frozenset(data["ca_provinces"]["codes"]),
        ca_province_names=frozenset(normalise_key(n) for n in data["ca_provinces"]["names"]),
        au_states=frozenset(data["au_states"]["codes"]),
        cities=cities,
    )


@cache
def load_gazetteer() -> Gazetteer:
    """The shipped gazetteer (built once)."""
    return _load()


def resolve_country(value: str) -> str | None:
    """An ISO alpha-2 code for a country name or code typed by a user, or None."""
    gazetteer = load_gazetteer()
    stripped = value.strip()
    if stripped.upper() in gazetteer.alpha2:
        return stripped.upper()
    if stripped.upper() in gazetteer.alpha3:
        return gazetteer.alpha3[stripped.upper()]
    return gazetteer.names.get(normalise_key(stripped))


def country_name(code: str) -> str:
    """The short English name of an alpha-2 code (the code itself when unknown)."""
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return code
    return str(getattr(country, "common_name", None) or country.name)
