"""The research-area taxonomy, loaded from ``bot/data/areas.toml``."""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = ["Area", "Taxonomy", "load_taxonomy"]


# Where a word starts, to look for a phrase beginning inside another one.
_WORD_START = re.compile(r"(?<![\w-])\w")


@dataclass(frozen=True, slots=True)
class Area:
    """One research area: its slug, label, broader area and the phrases that mark it."""

    slug: str
    label: str
    parent: str | None
    synonyms: tuple[str, ...]
    # Phrases that count in titles; those not also in ``everyday`` count in duties too.
    title_only: tuple[str, ...] = ()
    everyday: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Taxonomy:
    """All areas, with a compiled matcher from phrase to slug."""

    areas: dict[str, Area]
    _pattern: re.Pattern[str]
    _slug_of: dict[str, str]
    _title_pattern: re.Pattern[str] | None = None
    _no_area_role: re.Pattern[str] | None = None
    _duty_pattern: re.Pattern[str] | None = None

    @property
    def slugs(self) -> tuple[str, ...]:
        """Every slug, in the file's order."""
        return tuple(self.areas)

    def find(self, text: str) -> set[str]:
        """Slugs whose synonyms occur in ``text`` (case-insensitive, whole words)."""
        return set(self._phrases(self._pattern, text))

    def mentions_any(self, text: str) -> bool:
        """True when ``text`` names some area (a cheap test before costlier reading)."""
        return self._pattern.search(text.casefold()) is not None

    def mentions_in_duties(self, text: str) -> bool:
        """True when ``text`` names some area as a statement of duties may (see find_in_duties)."""
        return (self._duty_pattern or self._pattern).search(text.casefold()) is not None

    def count(self, text: str) -> Counter[str]:
        """How many times each slug's synonyms occur in ``text``."""
        return Counter(self._phrases(self._pattern, text))

    def find_in_title(self, title: str) -> set[str]:
        """Slugs a title names: its synonyms plus the phrases that count only in titles."""
        return set(self._phrases(self._title_pattern or self._pattern, title))

    def find_in_duties(self, text: str) -> set[str]:
        """Slugs named where a text states the role's duties ("you will build …").

        Title-only phrases count there too, except words with an everyday sense ("our
        vision", "make recommendations") that name an area only in a title.
        """
        return set(self._phrases(self._duty_pattern or self._pattern, text))

    def _phrases(self, pattern: re.Pattern[str], text: str) -> list[str]:
        """The slug of each phrase found, longest phrase first at each word.

        Phrases may share words when the later one runs past the end of the earlier:
        "Agentic AI Engineer" is both "agentic AI" (llm) and "AI engineer" (ml). A phrase
        wholly inside a longer one is not counted again ("multimodal foundation model" is
        not also a "foundation model").
        """
        # Phrases are stored casefolded and matched case-sensitively on casefolded text:
        # the same matches as a case-insensitive search, in a little over half the time.
        text = text.casefold()
        slugs: list[str] = []
        end = 0
        for match in pattern.finditer(text):
            if match.end() <= end:
                continue  # inside a phrase that an earlier overlap ran into
            slugs.append(self._slug_of[match.group(0)])
            end = match.end()
            # Matches are few: look again from each later word of this one.
            for word in _WORD_START.finditer(text, match.start() + 1, match.end()):
                inner = pattern.match(text, word.start())
                if inner is not None and inner.end() > end:
                    slugs.append(self._slug_of[inner.group(0)])
                    end = inner.end()
        return slugs

    def is_role_without_area(self, title: str) -> bool:
        """Whether a title names a kind of role that has no research area of its own.

        Chip design, sales, recruiting and data-annotation roles ("Silicon AI/ML Architect",
        "Technical Recruiter (AI + ML)", "Agentic AI Teacher") name an area only as
        the thing they serve, not as the work they do.
        """
        return bool(self._no_area_role and self._no_area_role.search(title))

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


# The one table of areas.toml that is not an area: titles of roles without a research area.
_NO_AREA_TABLE = "roles_without_area"


def _build(data: dict[str, dict[str, object]]) -> Taxonomy:
    data = dict(data)
    no_area = [str(p).casefold() for p in data.pop(_NO_AREA_TABLE, {}).get("title_phrases", [])]  # type: ignore[attr-defined]
    areas: dict[str, Area] = {}
    slug_of: dict[str, str] = {}
    title_phrases: set[str] = set()
    everyday_words: set[str] = set()
    for slug, entry in data.items():
        synonyms = tuple(str(s).casefold() for s in entry.get("synonyms", []))  # type: ignore[attr-defined]
        title_only = tuple(str(s).casefold() for s in entry.get("title_only", []))  # type: ignore[attr-defined]
        everyday = tuple(str(s).casefold() for s in entry.get("everyday", []))  # type: ignore[attr-defined]
        parent = entry.get("parent")
        areas[slug] = Area(
            slug,
            str(entry["label"]),
            str(parent) if parent else None,
            synonyms,
            title_only + everyday,
            everyday,
        )
        for phrase in synonyms + title_only + everyday:
            if slug_of.setdefault(phrase, slug) != slug:
                raise ValueError(f"synonym {phrase!r} points to both {slug_of[phrase]} and {slug}")
        title_phrases.update(title_only + everyday)
        everyday_words.update(everyday)
    for area in areas.values():
        if area.parent is not None and area.parent not in areas:
            raise ValueError(f"area {area.slug!r} has unknown parent {area.parent!r}")
    # Longest phrases first, so "machine learning engineer" wins over "machine learning".
    return Taxonomy(
        areas,
        _compile([p for p in slug_of if p not in title_phrases]),
        slug_of,
        _compile(list(slug_of)),
        # Whole words, hyphens allowed around them ("ML Data Associate-II").
        re.compile(rf"\b(?:{'|'.join(map(re.escape, no_area))})\b", re.I) if no_area else None,
        _compile([p for p in slug_of if p not in everyday_words], DUTY_PHRASE_END),
    )


# Where an area phrase may start and end (see _compile). A phrase may not run into a
# letter or digit of the word around it; but Chinese and Japanese write no spaces between
# words, so a phrase's Chinese or Japanese edge may touch anything ("机器学习方向",
# "AI大模型"), and so may a Latin edge touch their characters ("AI应用").
_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af"
_WORD_NOT_CJK = rf"[^\W{_CJK}]"
PHRASE_START = rf"(?:(?<!{_WORD_NOT_CJK})|(?=[{_CJK}]))(?<!non-)"
PHRASE_END = rf"(?:(?<=[{_CJK}])|(?!{_WORD_NOT_CJK}|-\w))"
# In body text a hyphen joins a phrase into another word ("non-nlp" is not nlp, "LLM-based
# tools" not LLM work); in a statement of duties, a system built on an area is work in it:
# "build AI-powered systems", "LLM-based agents".
_BUILT_ON = r"(?:powered|driven|based|enabled)\b"
DUTY_PHRASE_END = rf"(?:(?<=[{_CJK}])|(?!{_WORD_NOT_CJK}|-(?!{_BUILT_ON})\w))"


def _compile(phrases: list[str], end: str = PHRASE_END) -> re.Pattern[str]:
    # Longest phrase first at each place; as a trie (see _trie), the same matches as the
    # plain longest-first alternation at a fraction of its cost (issue #8).
    alternation = _trie(phrases)
    # Slashes separate phrases ("LLM/VLM") and hyphens join words (see PHRASE_END), but
    # a team or product name may be joined in front of one ("TikTok-Recommendation").
    return re.compile(rf"{PHRASE_START}(?:{alternation}){end}")


def _trie(phrases: list[str]) -> str:
    """The phrases as a prefix tree in regex form, longest match first.

    ``machine learning`` and ``machine learning engineer`` become
    ``machine learning(?: engineer)?``: the engine tries the longer phrase first and falls
    back to the shorter one, as with the alternation sorted by length, but compares each
    character once instead of once per phrase. Only one branch of a node can match a
    given character (the pattern is case-sensitive), so the answers are the same.
    """
    root: dict[str, dict[str, object]] = {}
    for phrase in phrases:
        node = root
        for char in phrase:
            node = node.setdefault(char, {})  # type: ignore[assignment]
        node[""] = {}  # the end of a phrase

    def emit(node: dict[str, dict[str, object]]) -> str:
        branches = [re.escape(char) + emit(node[char]) for char in node if char]  # type: ignore[arg-type]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
        return f"(?:{body})?" if "" in node else body

    return emit(root)


@cache
def load_taxonomy() -> Taxonomy:
    """The shipped taxonomy (parsed once)."""
    raw = resources.files("bot.data").joinpath("areas.toml").read_text(encoding="utf-8")
    return _build(tomllib.loads(raw))
