"""The per-channel pacer, driven by a controlled clock (nothing really sleeps)."""

from __future__ import annotations

import asyncio

import pytest

from bot.chat.pacing import ChannelPacer, interval_pacer, paced


class Clock:
    """A clock that only moves when the pacer 'sleeps'."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _pacer(clock: Clock, rate: int = 3, per: float = 1.0) -> ChannelPacer:
    return ChannelPacer(rate, per, clock=clock, sleep=clock.sleep)


async def test_a_key_sends_rate_messages_per_interval_then_waits() -> None:
    clock = Clock()
    pacer = _pacer(clock)
    sent_at = []
    for _ in range(7):
        await pacer.acquire("c1")
        sent_at.append(clock.now - 100.0)
    assert sent_at == [0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 2.0]
    # Never more than three in any one-second window.
    for i in range(len(sent_at) - 3):
        assert sent_at[i + 3] - sent_at[i] >= 1.0


def test_keys_are_independent_and_reservations_space_concurrent_callers() -> None:
    clock = Clock()
    pacer = _pacer(clock, rate=2, per=1.0)
    assert [pacer.reserve("a") for _ in range(5)] == [0.0, 0.0, 1.0, 1.0, 2.0]
    assert [pacer.reserve("b") for _ in range(2)] == [0.0, 0.0]
    assert not pacer.idle("a")
    assert pacer.idle("c")


async def test_retry_after_holds_one_key_back_and_not_the_others() -> None:
    clock = Clock()
    pacer = _pacer(clock, rate=5, per=1.0)
    await pacer.acquire("busy")
    pacer.push_back("busy", 30.0)
    assert not pacer.idle("busy")
    await pacer.acquire("quiet")
    assert clock.sleeps == []
    await pacer.acquire("busy")
    assert clock.now == pytest.approx(130.0)
    assert pacer.idle("busy")


async def test_a_pushback_that_arrives_while_waiting_voids_the_booked_slot() -> None:
    clock = Clock()
    woke: list[float] = []

    async def sleep(seconds: float) -> None:
        clock.now += seconds
        woke.append(clock.now)
        if len(woke) == 1:
            # While the caller waited, another send to this channel got a 429.
            pacer.push_back("c", 10.0)
        await asyncio.sleep(0)

    pacer = ChannelPacer(1, 1.0, clock=clock, sleep=sleep)
    await pacer.acquire("c")
    await pacer.acquire("c")
    assert woke == [101.0, 111.0]


def test_bad_pace_is_refused() -> None:
    with pytest.raises(ValueError, match="rate >= 1"):
        ChannelPacer(0, 1.0)


def test_spread_spaces_slots_evenly_and_still_counts_from_the_finish() -> None:
    clock = Clock()
    pacer = ChannelPacer(4, 1.0, spread=True, clock=clock, sleep=clock.sleep)
    assert [pacer.reserve("c") for _ in range(6)] == [0.0, 0.25, 0.5, 0.75, 1.0, 1.25]


async def test_a_slow_send_pushes_the_window_back_by_its_finish_time() -> None:
    clock = Clock()
    pacer = _pacer(clock, rate=1, per=1.0)
    async with pacer.slot("c"):
        clock.now += 0.4  # the request took 0.4 s: the platform may have seen it late
    async with pacer.slot("c"):
        pass
    assert clock.sleeps == [pytest.approx(1.0)]
    assert clock.now == pytest.approx(101.4)


async def test_paced_keeps_each_channel_and_the_global_limit() -> None:
    clock = Clock()
    channels = _pacer(clock, rate=1, per=1.0)
    overall = _pacer(clock, rate=2, per=1.0)  # Discord: 50/s; two keep the test short
    sent_at = []
    for channel in ["a", "b", "c", "a"]:
        async with paced(channels, channel, overall):
            sent_at.append((channel, clock.now - 100.0))
    # Three channels at once, but only two sends a second for the whole bot.
    assert sent_at == [("a", 0.0), ("b", 0.0), ("c", 1.0), ("a", 1.0)]


async def test_no_pacer_means_no_waiting() -> None:
    assert interval_pacer(0.0) is None
    async with paced(None, "a"):
        pass


def test_try_take_refuses_without_booking_and_says_how_long() -> None:
    clock = Clock()
    pacer = _pacer(clock, rate=2, per=60.0)
    assert [pacer.try_take("u1") for _ in range(2)] == [0.0, 0.0]
    assert pacer.try_take("u1") == 60.0
    clock.now += 20.0
    assert pacer.try_take("u1") == 40.0  # a refusal booked nothing: the wait only shrinks
    assert pacer.try_take("u2") == 0.0  # other keys are not held back
    clock.now += 40.0
    assert pacer.try_take("u1") == 0.0


def test_forget_idle_drops_only_keys_that_would_pace_nothing() -> None:
    clock = Clock()
    pacer = _pacer(clock, rate=2, per=60.0)
    pacer.try_take("idle")
    clock.now += 30.0
    pacer.try_take("busy")
    pacer.try_take("busy")
    pacer.push_back("held", 120.0)
    pacer.try_take("held")
    clock.now += 31.0  # "idle"'s window has passed; "busy" still has 29 s to wait
    assert pacer.forget_idle() == 1 and pacer.keys_held() == 1  # "held" never sent
    assert pacer.try_take("busy") == 29.0  # what it remembers is unchanged
    assert pacer.try_take("held") > 0
    assert pacer.try_take("idle") == 0.0
    assert ChannelPacer(1, 1.0)  # one that holds nothing is still a pacer (truthy)
