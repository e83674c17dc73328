"""A person's correction of what jobbot read about one posting (`/jobs fix`, `jobbot fix`).

A correction names only the facts it changes. Areas and countries are either replaced
(``country:DE``) or edited (``area:speech,-cv`` adds speech and removes cv: any value
with a ``+`` or ``-`` makes the list an edit). Corrections are kept apart from the posting
so that the next poll, which reads the source again, cannot undo them: they are applied
over whatever the source says.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from bot.postings.model import DEGREES, Degree, Posting

__all__ = ["Correction", "SetEdit"]


@dataclass(frozen=True, slots=True)
class SetEdit:
    """A change to a set of values: a replacement, or values added and removed."""

    replace: frozenset[str] | None = None
    add: frozenset[str] = frozenset()
    remove: frozenset[str] = frozenset()

    def apply(self, values: tuple[str, ...]) -> tuple[str, ...]:
        """The values after this edit, sorted."""
        base = set(values) if self.replace is None else set(self.replace)
        return tuple(sorted((base | self.add) - self.remove))

    def to_json(self) -> dict[str, list[str]]:
        """The edit as JSON (lists sorted, empty parts left out)."""
        data: dict[str, list[str]] = {}
        if self.replace is not None:
            data["set"] = sorted(self.replace)
        if self.add:
            data["add"] = sorted(self.add)
        if self.remove:
            data["remove"] = sorted(self.remove)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SetEdit:
        """The edit :meth:`to_json` wrote."""
        return cls(
            replace=frozenset(data["set"]) if "set" in data else None,
            add=frozenset(data.get("add", ())),
            remove=frozenset(data.get("remove", ())),
        )

    def then(self, later: SetEdit) -> SetEdit:
        """This edit followed by a later one, as one edit."""
        if later.replace is not None:
            return later
        if self.replace is not None:
            return SetEdit(replace=frozenset(later.apply(tuple(self.replace))))
        return SetEdit(
            add=(self.add - later.remove) | later.add,
            remove=(self.remove - later.add) | later.remove,
        )


@dataclass(frozen=True, slots=True)
class Correction:
    """The facts a person corrected; None (or no edit) leaves a fact as read."""

    degree: Degree | None = None
    countries: SetEdit | None = None
    areas: SetEdit | None = None
    is_internship: bool | None = None
    is_posting: bool | None = None

    def __post_init__(self) -> None:
        if self.degree is not None and self.degree not in DEGREES:
            raise ValueError(f"unknown degree {self.degree!r}; expected one of {DEGREES}")

    @property
    def empty(self) -> bool:
        """True when it corrects nothing."""
        return self == Correction()

    def apply(self, posting: Posting) -> Posting:
        """The posting with these facts corrected, each noted in its evidence."""
        changes: dict[str, Any] = {}
        noted: list[tuple[str, str]] = []
        if self.degree is not None:
            changes["degree"] = self.degree
            noted.append(("degree", "corrected"))
        if self.countries is not None:
            changes["countries"] = self.countries.apply(posting.countries)
            noted.append(("countries", "corrected"))
        if self.areas is not None:
            changes["areas"] = self.areas.apply(posting.areas)
            noted.append(("areas", "corrected"))
        if self.is_posting is not None:
            changes["is_posting"] = self.is_posting
            noted.append(("is_posting", "corrected"))
        internship = self.is_internship
        if internship is not None:
            changes["is_internship"] = internship
            noted.append(("is_internship", "corrected"))
        if changes.get("is_posting") is False:
            changes["is_internship"] = False  # a page that is no posting offers no internship
        if not changes:
            return posting
        corrected = {name for name, _ in noted}
        evidence = tuple(e for e in posting.evidence if e[0] not in corrected) + tuple(noted)
        return replace(posting, evidence=evidence, **changes)

    def then(self, later: Correction) -> Correction:
        """This correction followed by a later one of the same posting."""

        def edits(first: SetEdit | None, second: SetEdit | None) -> SetEdit | None:
            if first is None or second is None:
                return second or first
            return first.then(second)

        return Correction(
            degree=later.degree or self.degree,
            countries=edits(self.countries, later.countries),
            areas=edits(self.areas, later.areas),
            is_internship=self.is_internship
            if later.is_internship is None
            else later.is_internship,
            is_posting=self.is_posting if later.is_posting is None else later.is_posting,
        )

    def to_json(self) -> str:
        """The correction as a JSON object (what the store keeps)."""
        data: dict[str, Any] = {}
        if self.degree is not None:
            data["degree"] = self.degree
        if self.countries is not None:
            data["countries"] = self.countries.to_json()
        if self.areas is not None:
            data["areas"] = self.areas.to_json()
        if self.is_internship is not None:
            data["is_internship"] = self.is_internship
        if self.is_posting is not None:
            data["is_posting"] = self.is_posting
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Correction:
        """The correction :meth:`to_json` wrote."""
        data = json.loads(text)
        return cls(
            degree=data.get("degree"),
            countries=SetEdit.from_json(data["countries"]) if "countries" in data else None,
            areas=SetEdit.from_json(data["areas"]) if "areas" in data else None,
            is_internship=data.get("is_internship"),
            is_posting=data.get("is_posting"),
        )

    def describe(self) -> str:
        """The correction in the command's own words (``degree:phd-only country:DE``)."""

        def edit_words(key: str, edit: SetEdit) -> str:
            values = sorted(edit.replace) if edit.replace is not None else []
            values += [f"+{v}" for v in sorted(edit.add)] + [f"-{v}" for v in sorted(edit.remove)]
            return f"{key}:{','.join(values) or 'none'}"

        words = []
        if self.degree is not None:
            words.append(f"degree:{self.degree}")
        if self.countries is not None:
            words.append(edit_words("country", self.countries))
        if self.areas is not None:
            words.append(edit_words("area", self.areas))
        if self.is_internship is not None:
            words.append(f"internship:{'yes' if self.is_internship else 'no'}")
        if self.is_posting is not None:
            words.append(f"posting:{'yes' if self.is_posting else 'no'}")
        return " ".join(words)


def _later(earlier: bool | None, later: bool | None) -> bool | None:
    return earlier if later is None else later
