"""Countries and the remote flag from locations as written."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.postings.text import normalise_key

__all__ = ["Gazetteer"]

_REMOTE = re.compile(
    r"\b(remote|anywhere|work from home|work-from-home|wfh|virtual|telecommute|home-based)\b",
    re.I,
)
_HYBRID = re.compile(r"\bhybrid\b", re.I)
# Separators between the places of one location string. Spaces are not among them:
# words are grouped into names ("New York", "Tel Aviv") by the longest match.
_SPLIT = re.compile(r"\s*(?:[,;/|()\[\]:·•]|\s[-–—]\s|\bor\b|\band\b|\n)\s*", re.I)
_ALTERNATIVES = re.compile(r"\s*(?:[;|\n]|\bor\b|\band\b)\s*", re.I)
# ", Ca" at the end of a location: a state code typed in mixed case ("San Jose, Ca").
_MIXED_CASE_STATE = re.compile(r",\s*([A-Z][a-z])\s*$")
# "Dulles, VA": a town name, a comma and a two-letter code, and nothing else.
# A namesake city counts when it has at least a tenth of the largest one's people.
_NAMESAKE_SHARE = 10
_TOWN_AND_CODE = re.compile(r"[^\W\d_][^,;\d]{1,40},\s*[A-Za-z]{2}")
# Two words with a one-space gap where a letter may have been lost ("Z rich").
_GAP = re.compile(r"([^\W\d_]{1,12}) ([^\W\d_]{1,12})")
_WORD = re.compile(r"[^\W_]+(?:['’.-][^\W_]+)*\.?")
_MAX_WORDS = 4
# A city read from free text (not a location field) must be at least this large, so that
# a small town named like a common word does not become a country.
_TEXT_CITY_POPULATION = 100_000
# Codes that free text uses for a country after "the" or "in" ("in the US", "the UK").
_TEXT_CODES = {"US": "US", "USA": "US", "UK": "GB", "UAE": "AE"}
# A host name's top-level domain, in a URL or a mail address.
_DOMAIN = re.compile(r"(?:https?://|@|www\.)[\w.-]*?\.([a-z]{2,3})(?![\w.-]*\w)", re.I)
# Country-code domains used as generic ones (.io, .ai, .co, .me, .tv, .ly …).
_GENERIC_TLDS = frozenset({"IO", "AI", "CO", "ME", "TV", "LY", "FM", "AM", "GG", "SH", "TO", "WS"})
_TEXT_BIG_CITY = 1_000_000
_SEGMENT_CACHE = 50_000
# Words before a name that make it a place ("in Aachen", "Universite de Lyon", "UC Davis").
_PLACE_WORDS = frozenset(
    {
        "in",
        "at",
        "near",
        "located",
        "based",
        "office",
        "offices",
        "campus",
        "of",
        "de",
        "du",
        "di",
        "uc",
        "à",
        "a",
        "en",
    }
)


@dataclass(frozen=True, slots=True)
class _Hit:
    kind: str  # country | state | city | code
    value: str  # the country (country, state), the code as written (code)
    cities: tuple[tuple[str, int], ...] = ()  # (country, population), largest first
    weak: bool = False  # a city in free text with nothing around it that says "place"
    key: str = ""
    region: tuple[str, ...] = ()  # the countries of a region ("North America")


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
    world_cities: dict[str, tuple[tuple[str, int], ...]] = field(default_factory=dict)
    never_cities: frozenset[str] = frozenset()
    not_text_cities: frozenset[str] = frozenset()
    not_text_countries: frozenset[str] = frozenset()
    regions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    us_state_countries: frozenset[str] = frozenset()  # "georgia": a state beside US places
    au_state_names: frozenset[str] = frozenset()
    # Pay written in a currency only one country uses ("£", "R$", "₹"): its country.
    currencies: dict[str, str] = field(default_factory=dict)
    # Country and big-city names in Chinese, Japanese and Korean script, which have no
    # spaces to find words by: matched as substrings (see countries_in_text).
    cjk_names: dict[str, str] = field(default_factory=dict)
    _cjk_pattern: re.Pattern[str] | None = None
    # What each segment of a location or title reads as: feeds repeat them ("Berlin,
    # Germany", "Research Intern"), and reading one is most of a title's cost (issue #8).
    _segment_hits: dict[tuple[str, bool], tuple[_Hit, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def countries_in(self, location: str) -> tuple[set[str], bool]:
        """Countries named in one location string, and whether it says remote (not hybrid)."""
        return self.countries_in_locations((location,))

    def countries_in_locations(self, locations: Sequence[str]) -> tuple[set[str], bool]:
        """Countries of a posting's location fields read together, and whether one is remote.

        Read together, the places of one posting explain each other: "Georgia" beside
        "Texas" is the state, "St. Paul MN" beside "Hartford CT" is in Minnesota.
        """
        remote = any(_REMOTE.search(loc) and not _HYBRID.search(loc) for loc in locations)
        found: set[str] = set()
        # Each alternative ("Remote CA or USA", "Berlin; Paris") is one place, read on its
        # own: a state code belongs to a country named in its own alternative only...
        readings = [
            self._place_hits(place)
            for location in locations
            for place in _ALTERNATIVES.split(location)
        ]
        # ...unless another alternative shows the list is one of states or cities of a
        # country ("MD or VA or DC USA", "San Carlos or San Diego CA or Seattle WA USA").
        context: set[str] = set()
        for hits in readings:
            context |= self._state_confirmed(hits)
        # A country one alternative names outright says which of a city's namesakes
        # another alternative means: "Lancaster University" above "Bailrigg, United
        # Kingdom" is the English Lancaster, not the larger Californian one.
        named = frozenset(hit.value for hits in readings for hit in hits if hit.kind == "country")
        for hits in readings:
            found |= self._resolve(
                hits, in_text=False, context=frozenset(context), named_elsewhere=named
            )
        return found, remote

    def _place_hits(self, place: str) -> list[_Hit]:
        """The hits of one alternative of a location field."""
        # "San Jose, Ca", "Bellevue, Wa": a state code typed in mixed case.
        mixed = _MIXED_CASE_STATE.search(place)
        if mixed is not None and mixed.group(1).upper() in self.us_states:
            place = f"{place[: mixed.start()]}, {mixed.group(1).upper()}"
        hits = self._hits(place, in_text=False)
        if not hits:
            return self._lost_letter(place)
        if (
            len(hits) == 1
            and hits[0].kind == "code"
            and hits[0].value in self.us_states
            and _TOWN_AND_CODE.fullmatch(place.strip())
        ):
            # "Dulles, VA", "Conshohocken, PA": a town too small for the gazetteer and a
            # US state code, not the Vatican or Panama.
            return [_Hit("state", "US")]
        return hits

    def _state_confirmed(self, hits: list[_Hit]) -> set[str]:
        """Countries that a state or province confirms: "San Diego CA", "WV USA", "Texas"."""
        confirmed = {hit.value for hit in hits if hit.kind == "state"}
        for first, second in zip(hits, hits[1:], strict=False):
            if first.kind == "city" and second.kind == "code":
                candidates = {country for country, _ in first.cities}
                sub = self._subdivision_country(second.value, candidates)
                if sub is not None:
                    confirmed.add(sub)
            elif first.kind == "code" and second.kind in ("code", "country"):
                country = second.value if second.kind == "country" else None
                country = country or self._code_country(second.value)
                if country and self._subdivision_country(first.value, {country}):
                    confirmed.add(country)
        return confirmed

    @staticmethod
    def _namesake_in(hit: _Hit, countries: frozenset[str]) -> str | None:
        """The city's namesake in one of these countries, unless it is a village beside
        the one everybody means (Paris, Ontario beside Paris, France)."""
        largest = hit.cities[0][1] if hit.cities else 0
        for country, population in hit.cities:
            if country in countries and population * _NAMESAKE_SHARE >= largest:
                return country
        return None

    def _lost_letter(self, place: str) -> list[_Hit]:
        """A city whose accented letter a scraper turned into a space ("Z rich", "M nchen").

        Only a whole location of two words, with one letter put back between them, and
        only a sizeable city: a guess that must not turn noise into a country.
        """
        match = _GAP.fullmatch(place.strip())
        if match is None:
            return []
        head, tail = normalise_key(match.group(1)), normalise_key(match.group(2))
        for letter in "aeiouy":
            places = self.world_cities.get(f"{head}{letter}{tail}")
            if places and places[0][1] >= _TEXT_CITY_POPULATION:
                return [_Hit("city", places[0][0], places)]
        return []

    def countries_in_text(self, text: str) -> set[str]:
        """Countries that free text names: country and state names, and known cities.

        Stricter than :meth:`countries_in`: bare codes count only after a city
        ("Seattle, WA"), and only sizeable, capitalised cities that are not also
        everyday words or first names are read.
        """
        found = self._resolve(self._hits(text, in_text=True), in_text=True)
        if self._cjk_pattern is not None and not text.isascii():
            found |= {self.cjk_names[m] for m in self._cjk_pattern.findall(text)}
        return found

    def countries_of_domains(self, text: str) -> set[str]:
        """The country of the web and mail domains a text links to: the most common one.

        The last resort for a page that names no place: a lab at ``uu.nl`` or
        ``smu.edu.sg`` is in that country; ``.edu`` and ``.gov`` are American.
        """
        counts: dict[str, int] = {}
        for match in _DOMAIN.finditer(text):
            tld = match.group(1).lower()
            country = "US" if tld in ("edu", "gov") else tld.upper()
            if country == "UK":
                country = "GB"
            if country in self.alpha2 and country not in _GENERIC_TLDS:
                counts[country] = counts.get(country, 0) + 1
        if not counts:
            return set()
        best = max(counts.values())
        leaders = [country for country, n in counts.items() if n == best]
        # A tie (a lab linking to partners in two countries) says nothing.
        return set(leaders) if len(leaders) == 1 else set()

    def countries_of_currency(self, text: str) -> set[str]:
        """The country whose own currency a text's amounts are in, when only one is.

        A last resort, after places and linked domains: a stipend "of £1,200 a month"
        is paid in the United Kingdom. Two such currencies (a pay table for two
        countries) say nothing.
        """
        found = {
            country
            for sign, country in self.currencies.items()
            if re.search(rf"{re.escape(sign)}\s?\d", text)
        }
        return found if len(found) == 1 else set()

    def _subdivision_country(
        self, code: str, countries: set[str] | frozenset[str] | None = None
    ) -> str | None:
        """The country whose state or province code this is (limited to ``countries``)."""
        for country, codes in (
            ("US", self.us_states),
            ("CA", self.ca_provinces),
            ("AU", self.au_states),
        ):
            if code in codes and (countries is None or country in countries):
                return country
        return None

    def _hits(self, text: str, in_text: bool) -> list[_Hit]:
        hits: list[_Hit] = []
        for segment in _SPLIT.split(text):
            if not segment or segment.isspace():
                continue
            cached = self._segment_hits.get((segment, in_text))
            if cached is None:
                cached = tuple(self._read_segment(segment, in_text))
                if len(self._segment_hits) >= _SEGMENT_CACHE:
                    self._segment_hits.clear()
                self._segment_hits[(segment, in_text)] = cached
            hits.extend(cached)
        return hits

    def _read_segment(self, segment: str, in_text: bool) -> list[_Hit]:
        hits: list[_Hit] = []
        words = _WORD.findall(segment)
        keys = [normalise_key(w) for w in words]
        index = 0
        while index < len(words):
            hit, used = self._match(words, keys, index, in_text)
            if hit is not None:
                hits.append(hit)
            index += used
        return hits

    def _match(
        self, words: list[str], keys: list[str], index: int, in_text: bool
    ) -> tuple[_Hit | None, int]:
        first = words[index]
        capitalised = first[:1].isupper()
        saint = keys[index] == "st"
        for size in range(min(_MAX_WORDS, len(words) - index), 0, -1):
            key = " ".join(keys[index : index + size])
            if not key:
                continue
            if saint and size > 1 and key not in self.world_cities:
                key = f"saint{key[2:]}"  # "St. Paul", "St Louis"
            if key in self.regions and (capitalised or not in_text):
                return _Hit("region", "", region=self.regions[key]), size
            if key in self.names and (capitalised or not in_text):
                if in_text and key in self.not_text_countries:
                    continue
                return _Hit("country", self.names[key], key=key), size
            if key in self.us_state_names and (capitalised or not in_text):
                return _Hit("state", "US"), size
            if key in self.ca_province_names and (capitalised or not in_text):
                return _Hit("state", "CA"), size
            if key in self.au_state_names and (capitalised or not in_text):
                return _Hit("state", "AU"), size  # "New South Wales" is not Wales
            if not capitalised or key in self.never_cities:
                continue
            if (
                size == 1
                and first.isupper()
                and (len(first) <= 3 or in_text)
                and key not in self.cities
            ):
                continue  # "WA", "ON": a code, not the town of that name
            if key in self.cities and not (in_text and key in self.not_text_cities):
                return _Hit("city", self.cities[key], ((self.cities[key], 0),)), size
            places = self.world_cities.get(key)
            if places and not (in_text and key in self.not_text_cities):
                if in_text:
                    places = tuple(p for p in places if p[1] >= _TEXT_CITY_POPULATION)
                if places:
                    # In free text a city needs "in"/"at" before it, a state or country
                    # after it, or a size that makes it unmistakable: "Katya Rodriguez"
                    # is a person, not a town in the Philippines.
                    weak = (
                        in_text
                        and places[0][1] < _TEXT_BIG_CITY
                        and (index == 0 or keys[index - 1] not in _PLACE_WORDS)
                    )
                    return _Hit("city", places[0][0], places, weak, key), size
        if 2 <= len(first) <= 3 and first.isalpha() and first.isupper():
            if in_text and first in _TEXT_CODES and index and keys[index - 1] in ("the", "in"):
                # "authorized to work in the US": an unmistakable code in free text.
                return _Hit("country", _TEXT_CODES[first]), 1
            return _Hit("code", first), 1
        return None, 1

    def _code_country(self, code: str) -> str | None:
        if len(code) == 2 and code in self.alpha2:
            return code
        if len(code) == 3 and code in self.alpha3:
            return self.alpha3[code]
        return self._subdivision_country(code)

    def _resolve(
        self,
        hits: list[_Hit],
        in_text: bool,
        context: frozenset[str] = frozenset(),
        named_elsewhere: frozenset[str] = frozenset(),
    ) -> set[str]:
        found: set[str] = set()
        lead: str | None = None
        index = 0
        # A city named twice in a text is a place, not a passing surname.
        seen: dict[str, int] = {}
        for hit in hits:
            if hit.kind == "city":
                seen[hit.key] = seen.get(hit.key, 0) + 1
        # The countries a location names by name or by a known city: a two-letter code of
        # one of their states next to them is that state ("PA Pittsburgh",
        # "MountainView, CA, United States"), not a second country (Panama, Canada).
        named = {h.value for h in hits if h.kind in ("country", "state")} | {
            h.cities[0][0] for h in hits if h.kind == "city" and h.cities
        }
        while index < len(hits):
            hit = hits[index]
            following = hits[index + 1] if index + 1 < len(hits) else None
            index += 1
            if hit.kind == "code":
                if in_text:
                    continue
                if lead is not None:
                    continue  # "US, WA, Seattle": codes after a leading country are states
                if len(hit.value) == 2 and self._subdivision_country(hit.value, named):
                    continue
                state_of = self._subdivision_country(hit.value, context)
                if len(hit.value) == 2 and state_of is not None:
                    found.add(state_of)  # "MD" in "MD or VA or DC USA"
                    continue
                if (
                    index == 1
                    and following is not None
                    and following.kind == "code"
                    and hit.value in self.alpha2
                    and any(h.kind == "city" for h in hits)
                ):
                    lead = hit.value
                    found.add(lead)
                    continue
                previous = hits[index - 2] if index >= 2 else None
                if len(hit.value) == 3 and previous is not None and previous.kind == "country":
                    continue  # "Hong Kong, STP": a site code after a country, not a country
                code_country = self._code_country(hit.value)
                if code_country:
                    found.add(code_country)
                continue
            if hit.kind == "country" and hit.key in self.us_state_countries and "US" in context:
                found.add("US")  # "Remote - Georgia; Remote - Texas": the state
                continue
            if hit.kind in ("country", "state"):
                found.add(hit.value)
                continue
            if hit.kind == "region":
                found.update(hit.region)
                continue
            # A city: the state, province or country after it picks among the cities of
            # that name; otherwise the leading country, else the most populous one.
            candidates = {country for country, _ in hit.cities}
            chosen = hit.value
            confirmed = False  # a state, province or country after the city agrees with it
            if lead in candidates:
                chosen = lead
            elif chosen not in context and candidates & context:
                # "San Carlos" beside "San Diego CA": the country the other places confirm.
                chosen = sorted(candidates & context)[0]
            elif chosen not in named_elsewhere and (
                namesake := self._namesake_in(hit, named_elsewhere)
            ):
                chosen = namesake
            if following is not None and following.kind == "code":
                sub = self._subdivision_country(following.value, candidates)
                if sub is None and not in_text and following.value in candidates:
                    sub = following.value
                if sub is not None:
                    chosen, confirmed = sub, True
                    index += 1
                    following = hits[index] if index < len(hits) else None
                elif not in_text and len(following.value) <= 3:
                    # "Chennai, TN, IND", "Gurugram, HR, IND": a code between a city and
                    # its country is a state we do not list, not a second country.
                    after = hits[index + 1] if index + 1 < len(hits) else None
                    country = None
                    if after is not None and after.kind in ("country", "code"):
                        country = after.value if after.kind == "country" else None
                        country = country or self._code_country(after.value)
                    if country and self._subdivision_country(following.value, {country}):
                        # "Ann Arbour MI USA": a state and its own country agree, and
                        # outweigh a small town of another country read from one word.
                        chosen, confirmed = country, True
                        index += 2
                        following = hits[index] if index < len(hits) else None
                        found.add(chosen)
                        continue
                    if (
                        after is None
                        and following.value in self.us_states
                        and hit.cities[0][1] < _TEXT_BIG_CITY
                    ):
                        # "Western Springs, IL": a US state after a small town that the
                        # gazetteer knows only elsewhere; "Chennai, TN" keeps its city.
                        found.add("US")
                        index += 1
                        continue
                    index += 1
                    following = hits[index] if index < len(hits) else None
            if (
                following is not None
                and following.kind == "code"
                and self._code_country(following.value) in candidates
            ):
                chosen, confirmed = str(self._code_country(following.value)), True
                index += 1
                following = hits[index] if index < len(hits) else None
            if following is not None and following.kind in ("country", "state"):
                if following.value in candidates:
                    chosen, confirmed = following.value, True
                elif following.key in self.us_state_countries and "US" in candidates:
                    chosen, confirmed = "US", True  # "Atlanta, Georgia": the state
                elif not confirmed and not in_text and hit.cities[0][1] < _TEXT_BIG_CITY:
                    # "Surrey UK": a town the gazetteer knows only in another country (or
                    # not at all under this name) is where the country says.
                    chosen, confirmed = following.value, True
                # A country that contradicts a big city ("Dubai, Saudi Arabia"): the
                # city decides, and the contradicting name is dropped.
                index += 1
            if hit.weak and not confirmed and seen.get(hit.key, 0) < 2:
                continue
            found.add(chosen)
        return found
