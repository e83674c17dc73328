"""The research-area taxonomy, loaded from ``bot/data/areas.toml``."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = ["Area", "Taxonomy", "load_taxonomy"]


@dataclass(frozen=True, slots=True)
class Area:
    """One research area: its slug, label, broader area and the phrases that mark it."""

    slug: str
    label: str
    parent: str | None
    synonyms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Taxonomy:
    """All areas, with a compiled matcher from phrase to slug."""

    areas: dict[str, Area]
    _pattern: re.Pattern[str]
    _slug_of: dict[str, str]

    @property
    def slugs(self) -> tuple[str, ...]:
        """Every slug, in the file's order."""
        return tuple(self.areas)

    def find(self, text: str) -> set[str]:
        """Slugs whose synonyms occur in ``text`` (case-insensitive, whole words)."""
        return {self._slug_of[m.group(0).casefold()] for m in self._pattern.finditer(text)}

    def with_ancestors(self, slugs: set[str] | frozenset[str] | tuple[str, ...]) -> set[str]:
        """The slugs plus every broader area above them."""
        result: set[str] = set()
        for slug in slugs:
            current: str | None = slug
            while current is not None and current not in result:
                result.add(current)
                area = self.areas.get(current)
                current = area.parent if area else None
        return result


def _build(data: dict[str, dict[str, object]]) -> Taxonomy:
    areas: dict[str, Area] = {}
    slug_of: dict[str, str] = {}
    for slug, entry in data.items():
        synonyms = tuple(str(s).casefold() for s in entry.get("synonyms", []))  # type: ignore[attr-defined]
        parent = entry.get("parent")
        areas[slug] = Area(slug, str(entry["label"]), str(parent) if parent else None, synonyms)
        for phrase in synonyms:
            if slug_of.setdefault(phrase, slug) != slug:
                raise ValueError(f"synonym {phrase!r} points to both {slug_of[phrase]} and {slug}")
    for area in areas.values():
        if area.parent is not None and area.parent not in areas:
            raise ValueError(f"area {area.slug!r} has unknown parent {area.parent!r}")
    # Longest phrases first, so "machine learning engineer" wins over "machine learning".
    phrases = sorted(slug_of, key=len, reverse=True)
    alternation = "|".join(re.escape(p) for p in phrases)
    pattern = re.compile(rf"(?<![\w/-])(?:{alternation})(?![\w/]|-\w)", re.IGNORECASE)
    return Taxonomy(areas, pattern, slug_of)


@cache
def load_taxonomy() -> Taxonomy:
    """The shipped taxonomy (parsed once)."""
    raw = resources.files("bot.data").joinpath("areas.toml").read_text(encoding="utf-8")
    return _build(tomllib.loads(raw))
