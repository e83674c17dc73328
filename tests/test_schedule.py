"""Digests on time: daily and weekly, in two time zones, across DST changes, after downtime.

The bot's clock is injected (a controlled clock), except in the last test, which
travels in time with time-machine to check the default clock the CLI uses.
"""

from __future__ import annotations

import io
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from bot.app import JobBot, build
from bot.config import Settings
from bot.postings.model import Posting
from subscriptions.model import Filter, Schedule, Subscription
from subscriptions.schedule import digest_due, last_scheduled
from tests.fakes.chat_receiver import ChatReceiver, chat_receiver

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# ------------------------------------------------------------------ the pure schedule


@pytest.mark.parametrize(
    ("schedule", "now", "expected"),
    [
        # Berlin leaves summer time on 2026-10-25: 09:00 is 07:00 UTC before, 08:00 after.
        (
            Schedule("daily", "09:00", "Europe/Berlin"),
            _utc(2026, 10, 24, 12),
            _utc(2026, 10, 24, 7),
        ),
        (
            Schedule("daily", "09:00", "Europe/Berlin"),
            _utc(2026, 10, 25, 12),
            _utc(2026, 10, 25, 8),
        ),
        (
            Schedule("daily", "09:00", "Europe/Berlin"),
            _utc(2026, 10, 25, 7, 59),
            _utc(2026, 10, 24, 7),
        ),
        # New York leaves daylight time on 2026-11-01: 13:00 UTC before, 14:00 after.
        (
            Schedule("daily", "09:00", "America/New_York"),
            _utc(2026, 10, 31, 20),
            _utc(2026, 10, 31, 13),
        ),
        (
            Schedule("daily", "09:00", "America/New_York"),
            _utc(2026, 11, 1, 20),
            _utc(2026, 11, 1, 14),
        ),
        (
            Schedule("daily", "09:00", "America/New_York"),
            _utc(2026, 11, 1, 13, 30),
            _utc(2026, 10, 31, 13),
        ),
        # Weekly on Sunday: both changes fall on a Sunday.
        (
            Schedule("weekly", "09:00", "Europe/Berlin", "sun"),
            _utc(2026, 10, 28),
            _utc(2026, 10, 25, 8),
        ),
        (
            Schedule("weekly", "09:00", "Europe/Berlin", "sun"),
            _utc(2026, 10, 24),
            _utc(2026, 10, 18, 7),
        ),
        (
            Schedule("weekly", "09:00", "America/New_York", "sun"),
            _utc(2026, 11, 4),
            _utc(2026, 11, 1, 14),
        ),
        (
            Schedule("weekly", "09:00", "America/New_York", "sun"),
            _utc(2026, 11, 1, 13, 59),
            _utc(2026, 10, 25, 13),
        ),
        # 02:30 does not exist in Berlin on 2026-03-29: the digest goes at the gap's end.
        (
            Schedule("daily", "02:30", "Europe/Berlin"),
            _utc(2026, 3, 29, 12),
            _utc(2026, 3, 29, 1, 30),
        ),
    ],
)
def test_last_scheduled_follows_the_local_clock(
    schedule: Schedule, now: datetime, expected: datetime
) -> None:
    assert last_scheduled(schedule, now) == expected


def test_a_missed_run_is_due_once_however_many_days_passed() -> None:
    daily = Schedule("daily", "09:00", "Europe/Berlin")
    last = _utc(2026, 10, 20, 7)
    now = _utc(2026, 10, 27, 12)  # a week of downtime
    assert digest_due(daily, last, now)
    assert not digest_due(daily, now, now + timedelta(hours=3))


# ------------------------------------------------------------------ the digest runner


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def receiver() -> AsyncIterator[ChatReceiver]:
    async with chat_receiver() as running:
        yield running


AREAS = ("nlp", "speech", "cv")


def _posting(n: int) -> Posting:
    return Posting(
        source="gen",
        external_id=f"d{n}",
        url=f"https://jobs.test.example/d/{n}",
        title=f"Research Intern d{n}",
        company=f"Lab D{n}",
        countries=("DE",),
        areas=(AREAS[n % 3],),
        degree="phd-only",
    )


def _subscribe(bot: JobBot, receiver: ChatReceiver, schedule: Schedule) -> Subscription:
    return bot.store.add_subscription(
        platform="webhook",
        workspace="",
        channel=receiver.url(f"/{schedule.mode}-{schedule.tz}"),
        filter=Filter(),
        schedule=schedule,
        created_by="t",
        now=bot.clock(),
    )


def _arrive(bot: JobBot, subs: list[Subscription], n: int) -> None:
    """A posting arrives now and is queued for every digest subscription."""
    now = bot.clock()
    stored = bot.store.ingest([_posting(n)], now, alert=True).new
    bot.store.enqueue([(sub, stored[0].id) for sub in subs], now)


async def test_daily_and_weekly_digests_across_dst_in_two_zones(
    settings: Settings, receiver: ChatReceiver
) -> None:
    clock = Clock(_utc(2026, 10, 19, 0))
    bot = build(settings, console=io.StringIO(), clock=clock)
    subs = [
        _subscribe(bot, receiver, Schedule("daily", "09:00", "Europe/Berlin")),
        _subscribe(bot, receiver, Schedule("weekly", "09:00", "America/New_York", "sun")),
    ]
    sent_at: dict[str, list[datetime]] = {"daily": [], "weekly": []}
    arrived: dict[str, list[int]] = {"daily": [], "weekly": []}
    n = 0
    while clock.now < _utc(2026, 11, 10):
        if clock.now.hour % 8 == 0 and clock.now.minute == 0:
            n += 1
            _arrive(bot, subs, n)
            arrived["daily"].append(n)
            arrived["weekly"].append(n)
        before = len(receiver.messages)
        await bot.digests.run_due()
        for message in receiver.messages[before:]:
            mode = "daily" if "daily" in message["title"].lower() else "weekly"
            sent_at[mode].append(clock.now)
            got = [int(p["title"].split()[2][1:]) for p in message["postings"]]
            # Everything since the last digest, nothing twice, newest first per area.
            assert sorted(got) == arrived[mode]
            arrived[mode] = []
            titles = {p["posting_id"]: p for p in message["postings"]}
            for section in message["sections"]:
                ids = section["posting_ids"]
                assert {titles[i]["areas"][0] for i in ids} == {section["area"]}
                stamps = [int(titles[i]["title"].split()[2][1:]) for i in ids]
                assert stamps == sorted(stamps, reverse=True)
        clock.now += timedelta(minutes=15)
    await bot.aclose()

    assert all(t.astimezone(BERLIN).strftime("%H:%M") == "09:00" for t in sent_at["daily"])
    assert [t.date() for t in sent_at["daily"]] == [
        (datetime(2026, 10, 19) + timedelta(days=d)).date() for d in range(22)
    ]
    # The UTC hour moves with Berlin's change of clocks.
    assert {t.hour for t in sent_at["daily"] if t < _utc(2026, 10, 25)} == {7}
    assert {t.hour for t in sent_at["daily"] if t > _utc(2026, 10, 25)} == {8}
    assert sent_at["weekly"] == [
        _utc(2026, 10, 25, 13),
        _utc(2026, 11, 1, 14),
        _utc(2026, 11, 8, 14),
    ]
    assert receiver.duplicates() == {}


async def test_downtime_sends_one_catch_up_digest_and_empty_periods_send_nothing(
    settings: Settings, receiver: ChatReceiver
) -> None:
    clock = Clock(_utc(2026, 10, 30, 12))
    bot = build(settings, console=io.StringIO(), clock=clock)
    sub = _subscribe(bot, receiver, Schedule("daily", "09:00", "America/New_York"))
    for n in range(3):
        _arrive(bot, [sub], n)
    # The bot is down from 30 October to the afternoon of 4 November: four 09:00s missed.
    clock.now = _utc(2026, 11, 4, 18)
    assert await bot.digests.run_due() == 1
    assert await bot.digests.run_due() == 0
    assert len(receiver.messages) == 1 and len(receiver.messages[0]["postings"]) == 3
    # Nothing arrived: the next 09:00 sends nothing, and the one after still only new ones.
    clock.now = _utc(2026, 11, 5, 14, 5)
    assert await bot.digests.run_due() == 0
    _arrive(bot, [sub], 7)
    clock.now = _utc(2026, 11, 6, 14, 5)
    assert await bot.digests.run_due() == 1
    await bot.aclose()
    assert [len(m["postings"]) for m in receiver.messages] == [3, 1]


async def test_a_failed_digest_is_retried_at_its_retry_time(
    settings: Settings, receiver: ChatReceiver
) -> None:
    clock = Clock(_utc(2026, 11, 2, 7))
    bot = build(settings, console=io.StringIO(), clock=clock)
    sub = _subscribe(bot, receiver, Schedule("daily", "09:00", "Europe/Berlin"))
    _arrive(bot, [sub], 1)
    clock.now = _utc(2026, 11, 2, 8, 1)
    receiver.fail_with = 503
    assert await bot.digests.run_due() == 0
    receiver.fail_with = None
    clock.now += timedelta(minutes=2)
    assert await bot.digests.run_due() == 0  # not hammered before its retry time
    assert receiver.messages == []
    clock.now += timedelta(minutes=4)
    assert await bot.digests.run_due() == 1
    await bot.aclose()
    assert len(receiver.messages) == 1


async def test_default_clock_under_time_travel(settings: Settings, receiver: ChatReceiver) -> None:
    # `jobbot poll --once` and `run` use the real clock: travel to check it is honoured.
    with time_machine.travel(_utc(2026, 10, 24, 12), tick=False):
        bot = build(settings, console=io.StringIO())
        sub = _subscribe(bot, receiver, Schedule("daily", "09:00", "Europe/Berlin"))
        _arrive(bot, [sub], 1)
        assert await bot.digests.run_due() == 0  # today's 09:00 was before it existed
    with time_machine.travel(_utc(2026, 10, 25, 7, 30), tick=False):
        assert await bot.digests.run_due() == 0  # 08:30 in Berlin, after the change
    with time_machine.travel(_utc(2026, 10, 25, 8, 0), tick=False):
        assert await bot.digests.run_due() == 1
    await bot.aclose()


@pytest.mark.parametrize("went_out", [True, False])
async def test_a_digest_in_flight_at_a_crash_goes_exactly_once(
    went_out: bool, settings: Settings, receiver: ChatReceiver
) -> None:
    clock = Clock(_utc(2026, 11, 2, 7))
    bot = build(settings, console=io.StringIO(), clock=clock)
    sub = _subscribe(bot, receiver, Schedule("daily", "09:00", "Europe/Berlin"))
    for n in range(4):
        _arrive(bot, [sub], n)
    clock.now = _utc(2026, 11, 2, 8, 1)
    # A run that died (its process is gone) had claimed the digest rows...
    dead = f"{socket.gethostname()}:{2**22 + 11}:0dead0"
    rows = bot.store.claim_digest(sub.id, clock.now, lease=timedelta(minutes=5), owner=dead)
    assert len(rows) == 4
    if went_out:  # ...and its message had reached the channel before the crash.
        for row in rows:
            receiver.received[(sub.id, row.posting.id)] += 1
    await bot.digests.run_due()
    statuses = bot.store.delivery_statuses()
    assert await bot.digests.run_due() == 0  # the period ended: nothing goes again
    await bot.aclose()
    assert statuses == {"sent": 4}
    assert receiver.duplicates() == {} and len(receiver.received) == 4
    assert len(receiver.messages) == (0 if went_out else 1)
