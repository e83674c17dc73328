"""Application deadlines stated in a posting's text ("apply by 15 December 2026").

Only a date written right after a deadline phrase counts: "Deadline: Dec 1, 2026",
"applications close on 1 December", "apply by 2026-12-01", "closing date 01 Dec 2026".
A date with no year is the nearest such date to the fetch time (up to 60 days past). Numeric dates
other than ISO (03/04/2026) are left alone: which is the day and which the month
differs by country, and a wrong deadline is worse than none.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

__all__ = ["deadline_in_text"]

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_MONTH = (
    r"(?P<{}>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DAY = r"(?P<{}>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?P<{}>20\d\d)"
_DATE = (
    rf"(?:{_YEAR.format('iy')}-(?P<im>[01]\d)-(?P<id>[0-3]\d)"
    rf"|{_DAY.format('d1')}\s+(?:of\s+)?{_MONTH.format('m1')},?(?:\s+{_YEAR.format('y1')})?"
    rf"|{_MONTH.format('m2')}\s+{_DAY.format('d2')}(?:,?\s+{_YEAR.format('y2')})?)"
)
_TRIGGER = (
    r"(?:application\s+deadline|deadline(?:\s+to\s+apply|\s+for\s+applications)?"
    r"|apply\s+(?:by|before|until|no\s+later\s+than)"
    r"|applications?\s+(?:close|closes|closing|are\s+due|due|must\s+be\s+(?:received|submitted)"
    r"\s+by|will\s+be\s+accepted\s+until)|closing\s+date)"
)
# The date must follow the phrase closely: "deadline: (Friday,) 5 December 2026".
_DEADLINE = re.compile(
    rf"\b{_TRIGGER}\b[\s:\-–—]*(?:is\s+|on\s+|by\s+|date\s+)?(?:[a-z]+day,?\s+)?(?:on\s+)?{_DATE}\b",
    re.I,
)
# Deadlines further away than this are more likely a misread than a real deadline.
_MAX_AHEAD_DAYS = 400
# A stated deadline this far past is kept (the alert shows it has passed); older is noise.
_MAX_PAST_DAYS = 60


def _found_date(match: re.Match[str], now: datetime) -> datetime | None:
    groups = match.groupdict()
    try:
        if groups["iy"]:
            return datetime(int(groups["iy"]), int(groups["im"]), int(groups["id"]), tzinfo=UTC)
        day = groups["d1"] or groups["d2"]
        month_name = (groups["m1"] or groups["m2"] or "").lower().rstrip(".")
        year_text = groups["y1"] or groups["y2"]
        month = _MONTHS.get(month_name) or _MONTHS.get(month_name[:3])
        if month is None or day is None:
            return None
        if year_text:
            return datetime(int(year_text), month, int(day), tzinfo=UTC)
        # No year: the nearest such date, allowing a recent past ("Nov 12" read on Nov 23
        # has most likely passed; read in January it was last year's).
        moment = datetime(now.year, month, int(day), tzinfo=UTC)
        if (now - moment).days > _MAX_PAST_DAYS:
            moment = moment.replace(year=now.year + 1)
        elif (moment - now).days > 365 - _MAX_PAST_DAYS:
            moment = moment.replace(year=now.year - 1)
        return moment
    except ValueError:
        return None  # 31 February and the like


def deadline_in_text(text: str, now: datetime) -> datetime | None:
    """The first deadline the text states that is plausible (not long past, not years off)."""
    lowered = text.lower()
    # Most postings state none: skip the regex unless a trigger word is present at all.
    if (
        "deadline" not in lowered
        and "apply " not in lowered
        and "clos" not in lowered
        and ("application" not in lowered)
    ):
        return None
    for match in _DEADLINE.finditer(text):
        moment = _found_date(match, now)
        if moment is None:
            continue
        ahead = (moment - now).days
        if -_MAX_PAST_DAYS <= ahead <= _MAX_AHEAD_DAYS:
            return moment
    return None
