"""Which subscriptions a posting matches.

``mismatch`` is the one definition of a match. ``SubscriptionIndex`` narrows the
candidates with inverted lists so that matching one posting costs time in proportion
to the subscriptions it could match, then confirms each candidate with a compiled
form of the same rules (phrases normalised once per subscription, the posting's text
normalised once per posting). Property tests hold the two to identical answers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import product

from bot.postings.dedup import company_key
from bot.postings.model import DEGREES, Posting
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


_Key = tuple[object, ...]
# A filter every posting passes unless a posting-level rule rejects it.
_EVERYTHING = Filter(internship="any")
# Dimensions a posting has only a handful of keys in: these combine into composite keys.
_SMALL_DIMS = ("area", "country", "degree", "remote", "internship")
# At most this many composite keys per subscription (the product of its key counts).
_MAX_KEYS = 64
# Prior chance that a posting carries a key, per dimension. Only the order of the
# estimates matters: they pick the dimension that lets the fewest postings through.
_COUNTRY_PRIOR = {"US": 0.35, "GB": 0.12, "DE": 0.1, "IN": 0.1, "CA": 0.08}
_TOKEN_PRIOR = 0.03
_SHORT_TOKEN_PRIOR = 0.3


def _area_prior(slug: str) -> float:
    taxonomy = load_taxonomy()
    below = sum(1 for slug_ in taxonomy.slugs if slug in taxonomy.with_ancestors((slug_,)))
    return min(0.9, 0.07 * below)


def _token_prior(token: str) -> float:
    return _SHORT_TOKEN_PRIOR if len(token) <= 2 else _TOKEN_PRIOR


# One accepted-degree set per distinct degree choice (there are few), not one per filter.
_ACCEPTED: dict[frozenset[str], frozenset[str]] = {}
# Up to this many keyword keys, each is looked up in a posting's text; beyond, the text's
# words and pairs are built once (each look-up reads the whole text).
_SCAN_KEYS = 32
# A small-dimension plan's name ("area+country") split into its dimensions, once.
_PLAN_DIMS: dict[str, tuple[str, ...]] = {}


def _padded(phrase: str) -> str:
    """A phrase as a substring test equivalent to ``_phrase(phrase).search``.

    Normalised text is words of word characters joined by single spaces, so a phrase
    occurs with no word character on either side exactly when " phrase " occurs in
    " text " (an empty phrase: exactly when the text is empty, as with the pattern).
    """
    return f" {normalise_key(phrase)} "


class _Compiled:
    """A filter prepared once: phrases normalised, degrees expanded, and the dimensions
    that the subscription's index plan already guarantees left out of the check."""

    __slots__ = (
        "areas",
        "companies",
        "countries",
        "degrees",
        "exclude",
        "internship",
        "keywords",
        "remote",
    )

    def __init__(self, filter_: Filter, covered: Iterable[str] = ()) -> None:
        covered = frozenset(covered)
        # None: the dimension is not checked (empty in the filter, or covered by the plan).
        self.internship: bool | None = (
            None
            if filter_.internship == "any" or "internship" in covered
            else filter_.internship == "yes"
        )
        self.areas = filter_.areas if filter_.areas and "area" not in covered else None
        self.countries = (
            filter_.countries if filter_.countries and "country" not in covered else None
        )
        self.remote = filter_.remote and "remote" not in covered
        accepted = _ACCEPTED.setdefault(filter_.degrees, filter_.accepted_degrees())
        # Accepting every degree a Posting can have is no constraint at all.
        self.degrees = (
            accepted
            if filter_.degrees and "degree" not in covered and not accepted >= set(DEGREES)
            else None
        )
        self.companies = tuple(_padded(p) for p in filter_.companies)
        self.keywords = tuple(_padded(p) for p in filter_.keywords)
        self.exclude = tuple(_padded(p) for p in filter_.exclude)

    def signature(self) -> tuple[object, ...]:
        """What the check tests: two checks with one signature give the same answers."""
        return (
            self.internship,
            self.areas,
            self.countries,
            self.remote,
            self.degrees,
            self.companies,
            self.keywords,
            self.exclude,
        )

    @property
    def trivial(self) -> bool:
        """True when nothing is left to check: every candidate from its lists matches."""
        return (
            self.internship is None
            and self.areas is None
            and self.countries is None
            and not self.remote
            and self.degrees is None
            and not self.companies
            and not self.keywords
            and not self.exclude
        )

    def passes(self, view: _PostingView) -> bool:
        """The same answer as ``mismatch(filter, posting) is None`` for a posting that the
        plan's lists led here (the view is that posting, normalised once)."""
        if self.internship is not None and self.internship is not view.is_internship:
            return False
        if self.areas is not None and self.areas.isdisjoint(view.areas):
            return False
        if self.countries is not None and self.countries.isdisjoint(view.countries):
            return False
        if self.remote and not view.remote:
            return False
        if self.degrees is not None and view.degree not in self.degrees:
            return False
        if self.companies:
            company = view.company
            if not any(p in company for p in self.companies):
                return False
        if self.keywords:
            text = view.text
            if not any(p in text for p in self.keywords):
                return False
        if self.exclude:
            title = view.title
            if any(p in title for p in self.exclude):
                return False
        return True


class _PostingView:
    """What the matcher needs of a posting, normalised once per posting, not per candidate."""

    __slots__ = (
        "_text",
        "_title",
        "_tokens",
        "areas",
        "company",
        "company_tokens",
        "countries",
        "degree",
        "is_internship",
        "posting",
        "remote",
    )

    def __init__(self, posting: Posting) -> None:
        self.posting = posting
        self.areas = frozenset(load_taxonomy().with_ancestors(posting.areas))
        self.countries = frozenset(posting.countries)
        self.degree = posting.degree
        self.remote = posting.remote
        self.is_internship = bool(posting.is_internship)
        company = company_key(posting.company)
        self.company = f" {company} "
        self.company_tokens = _words_and_pairs(company.split())
        self._text: str | None = None
        self._title: str | None = None
        self._tokens: frozenset[str] | None = None

    @property
    def text(self) -> str:
        """The normalised title and description, padded with spaces (what keywords search)."""
        if self._text is None:
            text = normalise_key(f"{self.posting.title}\n{self.posting.description}")
            self._text = f" {text} "
        return self._text

    @property
    def tokens(self) -> frozenset[str]:
        """The words of ``text`` and its pairs of consecutive words."""
        if self._tokens is None:
            self._tokens = _words_and_pairs(self.text.split())
        return self._tokens

    @property
    def title(self) -> str:
        """The normalised title and company, padded with spaces (what exclusions search)."""
        if self._title is None:
            self._title = f" {normalise_key(f'{self.posting.title} {self.posting.company}')} "
        return self._title

    def keys(self, dim: str) -> Iterable[object]:
        """The posting's keys in one small dimension."""
        if dim == "area":
            return self.areas
        if dim == "country":
            return self.countries
        if dim == "degree":
            return (self.degree,)
        if dim == "remote":
            return (True,) if self.remote else ()
        return (self.is_internship,)  # internship


def _words_and_pairs(words: list[str]) -> frozenset[str]:
    """The words, and each two consecutive words joined by a space."""
    return frozenset(words) | {f"{a} {b}" for a, b in zip(words, words[1:], strict=False)}


def _phrase_token(phrase: str) -> str | None:
    """A key the text must contain for the phrase to match; None for an empty phrase.

    A normalised phrase matches normalised text only as a run of whole words, so each
    of its words, and each pair of its consecutive words, is a word (or a pair) of the
    text. A pair is far rarer than either word; the one with the longest word is used.
    """
    words = normalise_key(phrase).split()
    if not words:
        return None
    if len(words) == 1:
        return words[0]
    pairs = [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]
    return max(pairs, key=lambda pair: max(len(w) for w in pair.split()))


def _small_keys(filter_: Filter) -> dict[str, tuple[Sequence[object], float]]:
    """Per small dimension the filter constrains: its keys and the chance a posting has one."""
    found: dict[str, tuple[Sequence[object], float]] = {}
    if filter_.areas:
        found["area"] = (sorted(filter_.areas), sum(_area_prior(a) for a in filter_.areas))
    if filter_.countries:
        found["country"] = (
            sorted(filter_.countries),
            sum(_COUNTRY_PRIOR.get(c, 0.05) for c in filter_.countries),
        )
    if filter_.degrees:
        accepted = _ACCEPTED.setdefault(filter_.degrees, filter_.accepted_degrees())
        found["degree"] = (sorted(accepted), 0.25 * len(accepted))
    if filter_.remote:
        found["remote"] = ([True], 0.2)
    if filter_.internship != "any":
        yes = filter_.internship == "yes"
        found["internship"] = ([yes], 0.8 if yes else 0.2)
    return found


def _placement(filter_: Filter) -> tuple[str, list[_Key]]:
    """Where to file a subscription: the list that the fewest postings will visit.

    Returns a plan name ("company", "keyword", "any" or "+"-joined small dimensions)
    and the keys to file under (the subscription matches only postings with one of them).
    """
    options: list[tuple[float, str, list[_Key]]] = []
    for name, phrases in (("company", filter_.companies), ("keyword", filter_.keywords)):
        tokens = [_phrase_token(p) for p in phrases]
        if tokens and all(t is not None for t in tokens):
            words = sorted({t for t in tokens if t is not None})
            options.append((sum(_token_prior(w) for w in words), name, [(w,) for w in words]))
    small = _small_keys(filter_)
    # Greedy: the most selective dimensions first, while the composite stays small.
    chosen: list[str] = []
    cost, size = 1.0, 1
    for dim in sorted(small, key=lambda d: (small[d][1], _SMALL_DIMS.index(d))):
        keys, prior = small[dim]
        if prior >= 1.0 or size * len(keys) > _MAX_KEYS:
            continue
        chosen.append(dim)
        cost *= prior
        size *= len(keys)
    if chosen:
        chosen.sort(key=_SMALL_DIMS.index)
        composite = [tuple(k) for k in product(*(small[d][0] for d in chosen))]
        options.append((cost, "+".join(chosen), composite))
    if not options:
        return "any", [()]
    best = min(options, key=lambda o: o[0])
    return best[1], best[2]


class SubscriptionIndex:
    """Subscriptions filed under their most selective dimension, for fast matching.

    Each subscription goes into one plan: under the words of its company names, under
    the words of its keywords, or under composite keys of up to three small dimensions
    (area × country × degree, …), whichever few postings are likely to carry; a
    subscription without any such constraint goes under "any". A posting looks up its
    own keys in each plan, so it visits only subscriptions it could match, and each
    candidate is confirmed against a view of the posting normalised once.
    ``match`` returns exactly what the loop ``[s for s in subs if matches(s.filter, p)]``
    over unpaused subscriptions returns, in id order.
    """

    def __init__(self, subscriptions: Iterable[Subscription] = ()) -> None:
        self._subs: dict[int, Subscription] = {}
        self._compiled: dict[int, tuple[Subscription, _Compiled]] = {}
        # plan → key → ids. "Sure" lists hold unpaused subscriptions that every posting
        # reaching them matches (nothing left to check); the others are confirmed one by one.
        self._plans: dict[str, dict[_Key, set[int]]] = {}
        self._sure: dict[str, dict[_Key, set[int]]] = {}
        # One check object per distinct check: many channels share a filter (or what is
        # left of it once the plan's keys are taken out), so a posting is checked against
        # each distinct one once, however many subscriptions hold it.
        self._checks: dict[tuple[object, ...], _Compiled] = {}
        for sub in subscriptions:
            self.add(sub)

    def __len__(self) -> int:
        return len(self._subs)

    def _filing(self, sub: Subscription) -> tuple[str, list[_Key], _Compiled, bool]:
        plan, keys = _placement(sub.filter)
        # A candidate reached through a small-dimension plan already has one of the
        # subscription's keys in each of those dimensions: no need to check them again.
        covered = plan.split("+") if plan not in ("any", "company", "keyword") else []
        compiled = _Compiled(sub.filter, covered)
        compiled = self._checks.setdefault(compiled.signature(), compiled)
        return plan, keys, compiled, compiled.trivial and not sub.paused

    def add(self, sub: Subscription) -> None:
        """File a subscription (replacing one with the same id)."""
        self.remove(sub.id)
        self._subs[sub.id] = sub
        plan, keys, compiled, sure = self._filing(sub)
        self._compiled[sub.id] = (sub, compiled)
        lists = (self._sure if sure else self._plans).setdefault(plan, {})
        for key in keys:
            ids = lists.get(key)
            if ids is None:
                lists[key] = {sub.id}
            else:
                ids.add(sub.id)

    def remove(self, sub_id: int) -> None:
        """Forget a subscription; unknown ids are ignored."""
        sub = self._subs.pop(sub_id, None)
        if sub is None:
            return
        del self._compiled[sub_id]
        # Filing is a pure function of the subscription: recompute where it went rather
        # than keep every subscription's keys in memory.
        plan, keys, _compiled, sure = self._filing(sub)
        lists = (self._sure if sure else self._plans)[plan]
        for key in keys:
            ids = lists.get(key)
            if ids is not None:
                ids.discard(sub_id)
                if not ids:
                    del lists[key]

    def plans(self) -> dict[str, int]:
        """How many subscriptions each plan holds (for benchmarks and logs)."""
        counts: dict[str, int] = {}
        for sub in self._subs.values():
            plan = _placement(sub.filter)[0]
            counts[plan] = counts.get(plan, 0) + 1
        return counts

    def _candidates(self, view: _PostingView, sure: bool = False) -> set[int]:
        found: set[int] = set()
        for plan, lists in (self._sure if sure else self._plans).items():
            if plan == "any":
                keys: Iterable[_Key] = [()]
            elif plan == "keyword" and len(lists) <= _SCAN_KEYS:
                # A few keys: look each one up in the text itself rather than build every
                # word pair of a long text (each look-up reads the text, so only a few).
                # A key is one normalised word or two joined by a space, and the text is
                # normalised words joined by single spaces, padded: the key is one of the
                # text's words or pairs exactly when " key " occurs in it.
                text = view.text
                keys = [key for key in lists if f" {key[0]} " in text]
            elif plan in ("company", "keyword"):
                words = view.company_tokens if plan == "company" else view.tokens
                # Look the keys up in the words, or the words in the keys, whichever are
                # fewer (same ids either way).
                if len(words) > len(lists):
                    keys = [key for key in lists if key[0] in words]
                else:
                    keys = [(w,) for w in words]
            else:
                dims = _PLAN_DIMS.get(plan)
                if dims is None:
                    dims = _PLAN_DIMS[plan] = tuple(plan.split("+"))
                keys = product(*[view.keys(d) for d in dims])
            for key in keys:
                ids = lists.get(key)
                if ids:
                    found |= ids
        return found

    def candidates(self, posting: Posting) -> set[int]:
        """Ids of subscriptions that might match (a superset of the real matches)."""
        view = _PostingView(posting)
        return self._candidates(view, sure=True) | self._candidates(view)

    def match(self, posting: Posting) -> list[Subscription]:
        """Active subscriptions whose filter the posting passes, by id."""
        # Checks that fail a posting whatever the filter (not a job posting, …) come
        # from ``mismatch`` itself, so the index follows any such rule added there.
        if mismatch(_EVERYTHING, posting) is not None:
            return []
        view = _PostingView(posting)
        compiled = self._compiled
        found = self._candidates(view, sure=True)
        verdicts: dict[_Compiled, bool] = {}
        for sub_id in self._candidates(view) - found:
            sub, check = compiled[sub_id]
            verdict = verdicts.get(check)
            if verdict is None:
                verdict = verdicts[check] = check.passes(view)
            if verdict and not sub.paused:
                found.add(sub_id)
        subs = self._subs
        return [subs[sub_id] for sub_id in sorted(found)]
