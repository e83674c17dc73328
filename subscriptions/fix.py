"""`/jobs fix #ID degree:… country:… area:… internship:… posting:…`: read a correction."""

from __future__ import annotations

from bot.errors import CommandError
from bot.postings.correction import Correction, SetEdit
from bot.postings.model import DEGREES, Degree

__all__ = ["FIX_USAGE", "parse_fix"]

FIX_USAGE = (
    "/jobs fix #ID degree:phd-only country:DE area:speech,-cv internship:yes posting:no   "
    "(correct what jobbot read about one posting; `area:+x,-y` edits, `area:x` replaces)"
)
_KEYS = {
    "degree": "degree",
    "country": "countries",
    "countries": "countries",
    "area": "areas",
    "areas": "areas",
    "internship": "internship",
    "posting": "posting",
}
# "none" empties a list: `country:none` for a posting with no fixed place.
_NONE = "none"


def _set_edit(key: str, raw: str, check: object) -> SetEdit:
    from subscriptions.filter_grammar import _split_values

    values = _split_values(key, raw, "fix")
    if [v.lower() for v in values] == [_NONE]:
        return SetEdit(replace=frozenset())
    plain = [v for v in values if v[0] not in "+-"]
    added = [v[1:] for v in values if v[0] == "+"]
    removed = [v[1:] for v in values if v[0] == "-"]
    assert callable(check)
    if added or removed:
        return SetEdit(add=check(plain + added, "fix"), remove=check(removed, "fix"))
    return SetEdit(replace=check(plain, "fix"))


def parse_fix(args: list[str]) -> tuple[int, Correction]:
    """The posting id and the correction of a `fix` command, or raise CommandError."""
    from subscriptions.filter_grammar import _areas, _choice, _countries, _suggest, _yes_no

    if not args:
        raise CommandError("`fix` needs a posting ID, as `why` shows it (`#123`).", FIX_USAGE)
    try:
        posting_id = int(args[0].lstrip("#"))
    except ValueError:
        raise CommandError(f"`{args[0]}` is not a posting ID (a number).", FIX_USAGE) from None
    if not 0 < posting_id < 2**63:
        raise CommandError(f"`{args[0]}` is not a posting ID.", FIX_USAGE)
    fields: dict[str, object] = {}
    for token in args[1:]:
        key, sep, raw = token.partition(":")
        canonical = _KEYS.get(key.lower())
        if not sep or canonical is None:
            hint = _suggest(key.lower(), list(_KEYS))
            raise CommandError(f"`{token}` is not something `fix` can correct.{hint}", FIX_USAGE)
        if canonical in fields:
            raise CommandError(f"`{key}:` is given twice.", FIX_USAGE)
        if canonical == "degree":
            degree: Degree = _choice("degree", raw, DEGREES, "fix")  # type: ignore[assignment]
            fields["degree"] = degree
        elif canonical == "countries":
            fields["countries"] = _set_edit(key, raw, _countries)
        elif canonical == "areas":
            fields["areas"] = _set_edit(key, raw, _areas)
        elif canonical == "internship":
            fields["is_internship"] = _yes_no(key, raw, "fix")
        else:
            fields["is_posting"] = _yes_no(key, raw, "fix")
    correction = Correction(**fields)  # type: ignore[arg-type]
    if correction.empty:
        raise CommandError("Say what to correct, for example `degree:phd-only`.", FIX_USAGE)
    return posting_id, correction
