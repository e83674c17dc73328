"""Rows to values and back: the one text form for times, JSON columns, shared values.

No database import: both backends hand rows (dicts) to these functions.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from bot.postings.dedup import company_key, title_key
from bot.postings.model import Pay, Posting
from bot.store.records import SourceState, StoredPosting
from subscriptions.model import Filter, Schedule, Subscription


def _ts(moment: datetime) -> str:
    """One fixed text form for times, so that SQL can compare them as strings."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def _dt(value: str | datetime | None) -> datetime | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime.fromisoformat(value) if value else None


# ---------------------------------------------------------------- row mapping

# ---------------------------------------------------------------- row mapping


def _posting_row(posting: Posting) -> dict[str, Any]:
    pay = posting.pay
    return {
        "source": posting.source,
        "external_id": posting.external_id,
        "url": posting.url,
        "title": posting.title,
        "company": posting.company,
        "locations": json.dumps(list(posting.locations)),
        "countries": json.dumps(list(posting.countries)),
        "remote": int(posting.remote),
        "areas": json.dumps(list(posting.areas)),
        "degree": posting.degree,
        "is_posting": int(posting.is_posting),
        "is_internship": int(posting.is_internship),
        "posted_at": _ts(posting.posted_at) if posting.posted_at else None,
        "pay": json.dumps([pay.min, pay.max, pay.currency, pay.period]) if pay else None,
        "duration": posting.duration,
        "deadline": _ts(posting.deadline) if posting.deadline else None,
        "description": posting.description,
        "active": int(posting.active),
        "company_key": company_key(posting.company),
        "title_key": title_key(posting.title),
        "evidence": json.dumps([list(pair) for pair in posting.evidence]),
    }


def _posting_from(row: dict[str, Any]) -> Posting:
    pay = json.loads(row["pay"]) if row["pay"] else None
    return Posting(
        source=row["source"],
        external_id=row["external_id"],
        url=row["url"] or "",
        title=row["title"],
        company=row["company"] or "",
        locations=tuple(json.loads(row["locations"] or "[]")),
        countries=tuple(json.loads(row["countries"] or "[]")),
        remote=bool(row["remote"]),
        areas=tuple(json.loads(row["areas"] or "[]")),
        degree=row["degree"] or "unknown",
        is_posting=bool(row["is_posting"]),
        is_internship=bool(row["is_internship"]),
        posted_at=_dt(row["posted_at"]),
        pay=Pay(pay[0], pay[1], pay[2], pay[3]) if pay else None,
        duration=row["duration"],
        deadline=_dt(row["deadline"]),
        description=row["description"] or "",
        active=bool(row["active"]) if row["active"] is not None else True,
        evidence=tuple(
            (str(field), str(origin)) for field, origin in json.loads(row.get("evidence") or "[]")
        ),
    )


def _stored_from(row: dict[str, Any]) -> StoredPosting:
    first_seen = _dt(row["first_seen_at"]) or datetime.now(UTC)
    return StoredPosting(row["id"], _posting_from(row), first_seen, row["duplicate_of"])


_POSTING_COLUMNS = (
    "source",
    "external_id",
    "url",
    "title",
    "company",
    "locations",
    "countries",
    "remote",
    "areas",
    "degree",
    "is_posting",
    "is_internship",
    "posted_at",
    "pay",
    "duration",
    "deadline",
    "description",
    "active",
    "company_key",
    "title_key",
    "evidence",
    "first_seen_at",
    "last_seen_at",
    "duplicate_of",
    "alerted",
)
_INSERT_POSTING = (
    f"insert into postings ({', '.join(_POSTING_COLUMNS)})"
    f" values ({', '.join('?' * len(_POSTING_COLUMNS))})"
)
# An edit rewrites what the source says and when it was seen, never identity or history.
_UPDATED_COLUMNS = (*_POSTING_COLUMNS[:21], "last_seen_at")
_UPDATE_POSTING = (
    f"update postings set {', '.join(f'{c} = ?' for c in _UPDATED_COLUMNS)} where id = ?"
)


def _row_state(active: int | None, title: str, deadline: str | None) -> str:
    """``shown_state`` from stored columns."""
    return json.dumps([active is None or bool(active), title, (deadline or "")[:10]])


def _update_params(row: dict[str, Any]) -> list[Any]:
    return [row[c] for c in _UPDATED_COLUMNS] + [row["id"]]


def _filter_to_json(filter_: Filter) -> str:
    return json.dumps(
        {
            "areas": sorted(filter_.areas),
            "countries": sorted(filter_.countries),
            "degrees": sorted(filter_.degrees),
            "keywords": list(filter_.keywords),
            "exclude": list(filter_.exclude),
            "companies": list(filter_.companies),
            "internship": filter_.internship,
            "remote": filter_.remote,
        }
    )


# Loading every subscription (the matcher index holds them all) repeats the same small
# values many times over: filters' value sets, schedules, platform and workspace names.
# Sharing one object per distinct value keeps 100,000 subscriptions well under 200 MB
# (benchmarks/, issue #8). The values are immutable, so sharing is invisible.
_SHARED: dict[Any, Any] = {}
_SHARED_LIMIT = 200_000


def _shared(value: Any) -> Any:
    if len(_SHARED) > _SHARED_LIMIT:
        _SHARED.clear()
    return _SHARED.setdefault(value, value)


def _shared_set(values: Iterable[str]) -> frozenset[str]:
    return _shared(frozenset(sys.intern(str(v)) for v in values))  # type: ignore[no-any-return]


@lru_cache(maxsize=65536)
def _filter_from_json(text: str) -> Filter:
    data = json.loads(text)
    return Filter(
        areas=_shared_set(data.get("areas", [])),
        countries=_shared_set(data.get("countries", [])),
        degrees=_shared_set(data.get("degrees", [])),
        keywords=_shared(tuple(data.get("keywords", []))),
        exclude=_shared(tuple(data.get("exclude", []))),
        companies=_shared(tuple(data.get("companies", []))),
        internship=data.get("internship", "yes"),
        remote=bool(data.get("remote", False)),
    )


@lru_cache(maxsize=4096)
def _schedule(
    mode: str, at: str, tz: str, weekday: str, mention: str, remind_days: int
) -> Schedule:
    return Schedule(
        mode=mode,  # type: ignore[arg-type]
        at=at,
        tz=tz,
        weekday=weekday,
        mention=mention,
        remind_days=remind_days,
    )


def _name(value: str | None) -> str:
    return sys.intern(value) if value else ""


def _subscription_from(row: dict[str, Any]) -> Subscription:
    return Subscription(
        id=row["id"],
        platform=_name(row["platform"]),
        workspace=_name(row["workspace"]),
        channel=_name(row["channel"]),
        filter=_filter_from_json(row["filter"]),
        schedule=_schedule(
            row["mode"],
            row["at"] or "09:00",
            row["tz"] or "UTC",
            row["weekday"] or "mon",
            row.get("mention") or "",
            row.get("remind_days") or 0,
        ),
        created_by=_name(row["created_by"]),
        created_at=_dt(row["created_at"]),
        paused=bool(row["paused"]),
        paused_reason=row["paused_reason"],
        paused_at=_dt(row["paused_at"]),
        last_digest_at=_dt(row["last_digest_at"]),
    )


def _source_from(row: dict[str, Any]) -> SourceState:
    return SourceState(
        name=row["name"],
        kind=row["kind"],
        url=row["url"],
        interval_s=row["interval_s"],
        enabled=bool(row["enabled"]),
        backfill=row["backfill"] or 0,
        etag=row["etag"],
        last_modified=row["last_modified"],
        polls=row["polls"] or 0,
        last_polled_at=_dt(row["last_polled_at"]),
        last_success_at=_dt(row["last_success_at"]),
        last_error=row["last_error"],
        consecutive_failures=row["consecutive_failures"] or 0,
        next_poll_at=_dt(row["next_poll_at"]),
        settings=json.loads(row["settings"]) if row["settings"] else None,
        failing_since=_dt(row.get("failing_since")),
    )
