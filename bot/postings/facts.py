"""Facts read from posting text: internship, job-posting-ness, pay, duration, dates."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from bot.postings.degree import _lowered, detect_degree, read_degree
from bot.postings.model import Pay, PayPeriod

__all__ = [
    "detect_degree",
    "detect_duration",
    "detect_pay",
    "is_internship",
    "looks_like_posting",
    "parse_posted",
    "read_degree",
]

_INTERN_TITLE = re.compile(
    r"\b(intern|interns|internship|internships|co-?op|student researcher|working student|"
    r"werkstudent|praktikum|praktikant|stage|stagiaire|placement|"
    r"summer (analyst|associate|student)|duaal|dual student|student assistant|"
    r"student worker|part[- ]time student|pflichtpraktik\w*|"
    r"summer (?:[\w-]+ ){0,4}(?:fellowship|program|programme|school)|"
    r"(?:student|graduate) scholars? program(?:me)?|"
    r"residency)\b|实习|インターン",
    re.I,
)
# With no role in the title (a saved page whose title is a template or a heading in
# another language), the opening lines of the text say whether it is an internship.
_INTERN_TEXT = re.compile(
    r"\b(internship|internships|interns|intern|placement|summer programme|summer program)\b|实习",
    re.I,
)
# A text that calls the role itself an internship ("This internship offers…", "L'objectif
# du stage…"): one such phrase says what a page whose title names no role offers.
_THIS_INTERNSHIP = re.compile(
    r"\b(?:this|the|your) internship (?:offers|will|is|provides|gives)\b|"
    r"\b(?:objectif|sujet|durée|lieu) du stage\b|\bce stage\b|\bdieses praktikum\b|"
    r"\b(?:este|esta) (?:estágio|práctica|pasantía)\b",
    re.I,
)
_NOT_INTERN_TITLE = re.compile(
    r"\b(senior|staff|principal|lead|manager|director|head of|postdoc)\b", re.I
)


def is_internship(title: str, text: str, hint: bool | None = None) -> bool:
    """Internships, co-ops, student researcher roles; not full-time roles that mention interns."""
    if hint is not None:
        return hint
    if _INTERN_TITLE.search(title):
        return not _NOT_INTERN_TITLE.search(title) or bool(re.search(r"\bintern", title, re.I))
    if not _ROLE_TITLE.search(title):
        opening = text[:2000]
        return (
            len(_INTERN_TEXT.findall(opening)) >= 2 or _THIS_INTERNSHIP.search(opening) is not None
        )
    return False


_JOB_WORDS = re.compile(
    r"\b(apply|application|qualifications|requirements|responsibilities|you will|we are looking|"
    r"candidate|position|internship|intern|role|hiring|join (us|our)|salary|compensation|"
    r"eligib|deadline)\b",
    re.I,
)
_NEWS_TITLE = re.compile(
    r"\b(announces?|announced|opens new|launch(es|ed)?|unveils?|wins?|award|press release|"
    r"blog|newsletter|how to|guide|tips|our story|recap|webinar)\b",
    re.I,
)
_ROLE_TITLE = re.compile(
    r"\b(intern|internship|engineer|scientist|researcher|developer|analyst|student|fellow|"
    r"fellowship|postdoc|manager|designer|architect|specialist|associate|position|job|lead|"
    r"director|professor|assistant|residency|placement|co-?op|trainee|head of|chief|"
    r"vice president|officer|coordinator|consultant|technician|administrator|programmer|"
    r"lecturer|stage|stagiaire|alternance|praktikum|praktikant\w*|werkstudent\w*|"
    r"pr[áa]cticas|pasant[íi]a|becari[oa]|est[áa]gio|estagi[áa]ri[oa])\b|实习|インターン|인턴",
    re.I,
)


# A page title that is a careers landing page or a list, not one opening.
_LANDING_TITLE = re.compile(
    r"^\W*(opportunities|open positions|positions|careers?|jobs|join us|vacancies|"
    r"work with us|openings)\W*$|^(getting|finding|landing|applying for|how to get) |"
    r"general application|don['’]?t see (?:[\w-]+ ){0,3}(roles?|positions?|jobs?|opportunit)|"
    r"open application|"
    r"talent (pool|community|network)|future opportunities",
    re.I,
)
# An opening announced in a blog-like page ("Openings: Intern students on …").
_OPENING_TITLE = re.compile(
    r"\b(opening|openings|hiring|recruiting|vacancy|call for (interns|applications))\b", re.I
)
_JOB_WORDS_CJK = re.compile(r"职位|岗位|招聘|实习|任职要求|职责|募集|求人")


def looks_like_posting(
    title: str, text: str, hint: bool | None = None, structured: bool = False
) -> bool:
    """False for news articles, blog posts and other pages that are not a job posting.

    ``hint`` is what the source says about the page's kind (a blog layout says False);
    a title that announces an opening outweighs it. ``structured`` records (a job-board
    API entry with a company or location) are postings unless the title reads as news.
    """
    if _LANDING_TITLE.search(title):
        return False
    if hint is False:
        return bool(_OPENING_TITLE.search(title))
    if structured:
        return not (_NEWS_TITLE.search(title) and not _ROLE_TITLE.search(title))
    if _JOB_WORDS_CJK.search(title) or len(_JOB_WORDS_CJK.findall(text[:3000])) >= 3:
        return True
    if _NEWS_TITLE.search(title) and not _ROLE_TITLE.search(title):
        return False
    if _ROLE_TITLE.search(title):
        return True
    return len(_JOB_WORDS.findall(text)) >= 3


_MONEY = (
    r"(?P<cur{n}>[$€£¥]|usd|eur|gbp|chf|cad|aud|sgd|inr|jpy)?\s?"
    r"(?P<amt{n}>\d{{1,3}}(?:[,.\s]\d{{3}})*(?:\.\d+)?|\d+(?:\.\d+)?)\s?(?P<k{n}>k)?"
)
_PER = (
    r"(?P<per>/\s*(?:hr|hour|h|month|mo|year|yr|week|wk)|per\s+(?:hour|month|year|annum|week)"
    r"|an?\s+(?:hour|month|year)|hourly|monthly|annually|yearly)"
)
_PAY = re.compile(
    _MONEY.format(n=1)
    + r"\s*(?:/\s*(?:hr|hour))?\s*(?:-|–|—|to)\s*"
    + _MONEY.format(n=2)
    + r"\s*"
    + _PER
    + "?",
    re.I,
)
_PAY_SINGLE = re.compile(
    _MONEY.format(n=1) + r"\s*" + _PER,
    re.I,
)
_CURRENCY = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY"}
# Every pay detect_pay returns has a currency written right before an amount ("$65",
# "EUR 2,300"): text without one is skipped cheaply (the full patterns cost most of
# enrichment's time on long descriptions, issue #8). Keep in step with _MONEY.
_CURRENCY_CUES = ("$", "€", "£", "¥", "usd", "eur", "gbp", "chf", "cad", "aud", "sgd", "inr", "jpy")


def _may_state_pay(text: str) -> bool:
    """False only when no currency is followed by an amount (``\\s?\\d``) anywhere."""
    lowered = _lowered(text)
    if lowered is None:
        return True
    for cue in _CURRENCY_CUES:
        start = lowered.find(cue)
        while start != -1:
            # _lowered keeps positions: the text has no character that lowers to two.
            after = text[start + len(cue) : start + len(cue) + 2]
            if after[:1].isdecimal() or (after[:1].isspace() and after[1:2].isdecimal()):
                return True
            start = lowered.find(cue, start + 1)
    return False


def _period(text: str | None) -> PayPeriod | None:
    if not text:
        return None
    text = text.lower()
    for key, period in (
        ("h", "hour"),
        ("mo", "month"),
        ("month", "month"),
        ("y", "year"),
        ("annum", "year"),
        ("annual", "year"),
        ("w", "week"),
    ):
        word = text.replace("/", " ").replace("per", " ").replace(" a ", " ").split()
        if word and (word[-1].startswith(key)):
            return period  # type: ignore[return-value]
    return None


def _amount(raw: str, kilo: str | None) -> float:
    cleaned = raw.replace(" ", "")
    if re.fullmatch(r"\d{1,3}(?:[.,]\d{3})+", cleaned):
        cleaned = re.sub(r"[.,]", "", cleaned)
    value = float(cleaned.replace(",", ""))
    return value * 1000 if kilo else value


def detect_pay(text: str) -> Pay | None:
    """Pay stated in the text, such as ``$65.38/hr to $107.40/hr`` or ``€2,300 per month``."""
    if not _may_state_pay(text):
        return None
    for match in _PAY.finditer(text):
        cur = match.group("cur1") or match.group("cur2")
        if not cur:
            continue
        low = _amount(match.group("amt1"), match.group("k1"))
        high = _amount(match.group("amt2"), match.group("k2") or match.group("k1"))
        period = _period(match.group("per")) or _period(text[match.end() : match.end() + 12])
        if period is None:
            period = "hour" if high < 500 else ("month" if high < 20000 else "year")
        if low > high:
            continue
        return Pay(low, high, _CURRENCY.get(cur, cur.upper()), period)
    single = _PAY_SINGLE.search(text)
    if single and single.group("cur1"):
        value = _amount(single.group("amt1"), single.group("k1"))
        period = _period(single.group("per")) or "hour"
        cur = single.group("cur1")
        return Pay(value, value, _CURRENCY.get(cur, cur.upper()), period)
    return None


_DURATION = re.compile(r"\b(\d{1,2}\s?(?:-|–|to)\s?\d{1,2}|\d{1,2})[\s-]?(week|month)s?\b", re.I)


def detect_duration(text: str) -> str | None:
    """A stated duration such as ``12 weeks`` or ``3-6 months``."""
    lowered = text.lower()
    if "week" not in lowered and "month" not in lowered:
        return None  # the unit is needed; a substring test is much cheaper than the pattern
    match = _DURATION.search(text)
    if not match:
        return None
    number = re.sub(r"\s?(?:-|–|to)\s?", "-", match.group(1))
    unit = match.group(2).lower()
    plural = "s" if number != "1" else ""
    return f"{number} {unit}{plural}"


_RELATIVE = re.compile(
    r"(\d+|an?|one)\s*\+?\s*(minute|min|hour|hr|day|week|month|year)s?\s+ago", re.I
)
_UNIT = {
    "minute": "minutes",
    "min": "minutes",
    "hour": "hours",
    "hr": "hours",
    "day": "days",
    "week": "weeks",
}


def parse_posted(value: str | datetime | int | float | None, now: datetime) -> datetime | None:
    """An absolute UTC time from a date as sources write it, resolving "2 days ago" against now."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 1e11 else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):  # NaN, or beyond year 9999
            return None
    text = " ".join(value.split())
    lowered = text.lower()
    if "just now" in lowered or "today" in lowered:
        return now
    if "yesterday" in lowered:
        return now - timedelta(days=1)
    relative = _RELATIVE.search(lowered)
    if relative:
        count_text, unit = relative.groups()
        count = 1 if count_text in ("a", "an", "one") else int(count_text)
        try:
            if unit in ("month", "year"):
                return now - timedelta(days=count * (30 if unit == "month" else 365))
            return now - timedelta(**{_UNIT[unit]: count})
        except OverflowError:  # "99999999999 years ago" is no date
            return None
    text = re.sub(r"^(posted|published|updated)\s*(on)?\s*", "", text, flags=re.I)
    for parser in (_iso, _rfc822, _written):
        parsed = parser(text)
        if parsed is not None:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _iso(text: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed
    except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 shifted off the range
        return None


def _rfc822(text: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(text)
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _written(text: str) -> datetime | None:
    for fmt in ("%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y", "%Y/%m/%d", "%m/%d/%Y"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None
