"""Facts read from posting text: degree, internship, job-posting-ness, pay, duration, dates."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from bot.postings.model import Degree, Pay, PayPeriod

__all__ = [
    "detect_degree",
    "detect_duration",
    "detect_pay",
    "is_internship",
    "looks_like_posting",
    "parse_posted",
]

_PHD = r"(?:ph\.?\s?d\.?|doctoral|doctorate)"
_MASTERS = r"(?:master'?s|master’s|m\.?\s?sc?\.?|m\.?s\.?|msc|graduate student|graduate degree)"
_BACHELOR = r"(?:bachelor'?s|bachelor’s|b\.?\s?sc?\.?|b\.?s\.?|bsc|undergraduate|undergrad)"

_PHD_TITLE = re.compile(rf"\b{_PHD}\b", re.I)
_BACHELOR_RE = re.compile(rf"\b{_BACHELOR}\b", re.I)
_MASTERS_RE = re.compile(rf"\b{_MASTERS}\b", re.I)
_PHD_RE = re.compile(rf"\b{_PHD}", re.I)
_ENROLLED_PHD_ONLY = re.compile(
    rf"(enrolled|currently pursuing|pursuing|candidate|student)"
    rf"[^.\n]{{0,40}}\b{_PHD}\b"
    rf"(?![^.\n]{{0,25}}\bor\b[^.\n]{{0,25}}{_MASTERS})",
    re.I,
)
_ANY_LEVEL = re.compile(r"\b(all (degree )?levels|any (degree|level)|bs/ms/phd)\b", re.I)


def detect_degree(title: str, text: str) -> Degree:
    """The degree a posting asks for: ``phd-only``, ``phd-or-masters``, ``any`` or ``unknown``."""
    if _PHD_TITLE.search(title) and not _MASTERS_RE.search(title):
        return "phd-only"
    phd = bool(_PHD_RE.search(text)) or bool(_PHD_TITLE.search(title))
    masters = bool(_MASTERS_RE.search(text)) or bool(_MASTERS_RE.search(title))
    bachelor = bool(_BACHELOR_RE.search(text)) or bool(_BACHELOR_RE.search(title))
    if _ANY_LEVEL.search(text) or (bachelor and (phd or masters)):
        return "any"
    if phd and masters:
        return "phd-or-masters"
    if phd:
        return "phd-only" if _ENROLLED_PHD_ONLY.search(text) else "phd-or-masters"
    if masters:
        return "phd-or-masters"
    if bachelor:
        return "any"
    return "unknown"


_INTERN_TITLE = re.compile(
    r"\b(intern|interns|internship|internships|co-?op|student researcher|working student|"
    r"werkstudent|praktikum|praktikant|stage|stagiaire|trainee|placement|"
    r"summer (analyst|associate|student)|"
    r"residency)\b",
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
    r"director|professor|assistant|residency|placement|co-?op|trainee)\b",
    re.I,
)


def looks_like_posting(title: str, text: str) -> bool:
    """False for news articles, blog posts and other pages that are not a job posting."""
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
# Every pay the patterns accept names a currency: text without one is skipped cheaply
# (the full patterns cost most of enrichment's time on long descriptions, issue #8).
_ANY_CURRENCY = re.compile(r"[$€£¥]|usd|eur|gbp|chf|cad|aud|sgd|inr|jpy", re.I)


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
    if not _ANY_CURRENCY.search(text):
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
        return datetime.fromtimestamp(seconds, UTC)
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
        if unit in ("month", "year"):
            return now - timedelta(days=count * (30 if unit == "month" else 365))
        return now - timedelta(**{_UNIT[unit]: count})
    text = re.sub(r"^(posted|published|updated)\s*(on)?\s*", "", text, flags=re.I)
    for parser in (_iso, _rfc822, _written):
        parsed = parser(text)
        if parsed is not None:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _iso(text: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed


def _rfc822(text: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed


def _written(text: str) -> datetime | None:
    for fmt in ("%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y", "%Y/%m/%d", "%m/%d/%Y"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None
