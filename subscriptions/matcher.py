"""Which subscriptions a posting matches.

``mismatch`` is the one definition of a match; ``SubscriptionIndex`` narrows the
candidates with inverted lists so that matching one posting costs time in proportion
to the subscriptions it could match, then confirms each candidate with ``mismatch``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from bot.postings.dedup import company_key
from bot.postings.model import Posting
from bot.postings.taxonomy import load_taxonomy
from bot.postings.text import normalise_key
from subscriptions.model import Filter, Subscription

__all__ = ["SubscriptionIndex", "matches", "mismatch"]


@lru_cache(maxsize=4096)
def _phrase(phrase: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w){re.escape(normalise_key(phrase))}(?!\w)")


def _contains(text_key: str, phrases: Iterable[str]) -> bool:
    return any(_phrase(p).search(text_key) for p in phrases)


def mismatch(filter_: Filter, posting: Posting) -> str | None:
    """The first filter dimension the posting fails, or None when it matches."""
    if not posting.is_posting:
        return "not a job posting"
    if not posting.active:
        return "closed"
    if filter_.internship == "yes" and not posting.is_internship:
        return "internship"
    if filter_.internship == "no" and posting.is_internship:
        return "internship"
    if filter_.areas:
        posting_areas = load_taxonomy().with_ancestors(posting.areas)
        if not filter_.areas & posting_areas:
            return "area"
    if filter_.countries and not filter_.countries & set(posting.countries):
        return "country"
    if filter_.remote and not posting.remote:
        return "remote"
    if filter_.degrees and posting.degree not in filter_.accepted_degrees():
        return "degree"
    if filter_.companies:
        company = company_key(posting.company)
        if not _contains(company, filter_.companies):
            return "company"
    if filter_.keywords:
        text = normalise_key(f"{posting.title}\n{posting.description}")
        if not _contains(text, filter_.keywords):
            return "keywords"
    if filter_.exclude:
        title = normalise_key(f"{posting.title} {posting.company}")
        if _contains(title, filter_.exclude):
            return "exclude"
    return None


def matches(filter_: Filter, posting: Posting) -> bool:
    """True when the posting passes every dimension of the filter."""
    return mismatch(filter_, posting) is None


_ANY = "*"


class SubscriptionIndex:
    """Subscriptions indexed by area and country, for fast matching of many postings.

    Each subscription is filed under one dimension only: its areas when it has some,
    else its countries, else under "any". A posting then looks up the lists for its
    areas (with their ancestors) and its countries plus the "any" list, and confirms
    each candidate with the full filter.
    """

    def __init__(self, subscriptions: Iterable[Subscription] = ()) -> None:
        self._subs: dict[int, Subscription] = {}
        self._by_area: dict[str, set[int]] = {}
        self._by_country: dict[str, set[int]] = {}
        self._any: set[int] = set()
        for sub in subscriptions:
            self.add(sub)

    def __len__(self) -> int:
        return len(self._subs)

    def add(self, sub: Subscription) -> None:
        """File a subscription (replacing one with the same id)."""
        self.remove(sub.id)
        self._subs[sub.id] = sub
        if sub.filter.areas:
            for area in sub.filter.areas:
                self._by_area.setdefault(area, set()).add(sub.id)
        elif sub.filter.countries:
            for country in sub.filter.countries:
                self._by_country.setdefault(country, set()).add(sub.id)
        else:
            self._any.add(sub.id)

    def remove(self, sub_id: int) -> None:
        """Forget a subscription; unknown ids are ignored."""
        sub = self._subs.pop(sub_id, None)
        if sub is None:
            return
        for lists in (self._by_area, self._by_country):
            for ids in lists.values():
                ids.discard(sub_id)
        self._any.discard(sub_id)

    def candidates(self, posting: Posting) -> set[int]:
        """Ids of subscriptions that might match (a superset of the real matches)."""
        found = set(self._any)
        for area in load_taxonomy().with_ancestors(posting.areas):
            found |= self._by_area.get(area, set())
        for country in posting.countries:
            found |= self._by_country.get(country, set())
        return found

    def match(self, posting: Posting) -> list[Subscription]:
        """Active subscriptions whose filter the posting passes, by id."""
        if not posting.is_posting:
            return []
        result = []
        for sub_id in sorted(self.candidates(posting)):
            sub = self._subs[sub_id]
            if not sub.paused and matches(sub.filter, posting):
                result.append(sub)
        return result
