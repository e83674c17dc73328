"""Per-channel pacing: at most N messages per interval per key, and Retry-After pushback.

Chat platforms limit posts per channel (Slack: about one message per second per
channel; Discord: a per-route bucket of a few messages per few seconds, announced in
``X-RateLimit-*`` headers). A ``ChannelPacer`` keeps each key (a channel, or a route
bucket) under such a limit while different keys go at once, so that a worker sending
to many channels reaches the platform's total bound without exceeding any channel's.

How an adapter or the delivery worker uses it::

    async with pacer.slot(("slack", team, channel)):   # waits for the key's next slot
        try:
            await post(...)
        except RateLimited as error:                     # HTTP 429
            pacer.push_back(("slack", team, channel), error.retry_after)
            raise

A slot counts from when its request *finished*, not when it was booked: the platform
saw the message no later than that, so the ``rate``-th next message, which starts
``per`` seconds after it, can never land in the same window at the server, however
late the network or a busy event loop delivered either of them.

Both adapters pace with it: Slack one message per second per channel, Discord a few per
channel plus its global 50 requests per second for the whole bot under one key
(``GLOBAL``); ``paced`` takes a channel's slot and then, if given, the global one.

The pacer reads time from an injected clock and waits with an injected sleep, so
tests drive it with a controlled clock and no real waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import AsyncExitStack, asynccontextmanager

__all__ = ["DISCORD_GLOBAL_RATE", "GLOBAL", "ChannelPacer", "interval_pacer", "paced"]

#: The key of a limit that holds for the whole bot rather than one channel.
GLOBAL = "global"
#: Discord: 50 requests per second per bot, across all routes (interactions excepted).
DISCORD_GLOBAL_RATE = 50


class ChannelPacer:
    """At most ``rate`` sends per ``per`` seconds for each key (a sliding window).

    Slots are reserved in call order, so concurrent callers for one key are spaced
    out rather than all woken at once (with ``spread``, evenly across the interval);
    a key that was pushed back (a 429 with Retry-After) sends nothing before the
    pushback ends.
    """

    def __init__(
        self,
        rate: int,
        per: float,
        *,
        spread: bool = False,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if rate < 1 or per <= 0:
            raise ValueError(f"a pace needs rate >= 1 and per > 0, not {rate} per {per}")
        self.rate = rate
        self.per = per
        # Spread: slots at least per/rate apart, rather than a burst of ``rate`` at the
        # start of each window; many channels then share the CPU and the wire evenly.
        self.spacing = per / rate if spread else 0.0
        self._last: dict[Hashable, float] = {}
        self._clock = clock
        self._sleep = sleep
        # Per key: the times of its last ``rate`` sends (booked, possibly in the future;
        # moved to the finish time when the send is done). A list, so it can be moved.
        self._sent: dict[Hashable, deque[list[float]]] = {}
        self._blocked_until: dict[Hashable, float] = {}

    def _next_slot(self, key: Hashable, now: float) -> float:
        """The earliest time the key may be used again, booking nothing."""
        slot = max(now, self._blocked_until.get(key, now))
        sent = self._sent.get(key)
        if sent is not None and len(sent) == self.rate:
            # The slot must be at least ``per`` after the send ``rate`` places back.
            slot = max(slot, sent[0][0] + self.per)
        if self.spacing and key in self._last:
            slot = max(slot, self._last[key] + self.spacing)
        return slot

    def _book(self, key: Hashable) -> list[float]:
        slot = self._next_slot(key, self._clock())
        self._last[key] = slot
        entry = [slot]
        self._sent.setdefault(key, deque(maxlen=self.rate)).append(entry)
        return entry

    def try_take(self, key: Hashable) -> float:
        """Take the key's slot if it is free now (0.0); else the seconds until it is, taking
        nothing. For limits that refuse rather than wait (commands per user)."""
        now = self._clock()
        wait = self._next_slot(key, now) - now
        if wait > 0:
            return wait
        self._book(key)
        return 0.0

    def forget_idle(self) -> int:
        """Drop the keys whose window has passed (they would pace nothing); how many.

        For limits kept per user (``try_take``), whose keys would otherwise pile up for
        as long as the bot runs. Not for keys used with ``slot``: a send still in flight
        moves its entry when it finishes, and a dropped key would not see that.
        """
        now = self._clock()
        idle = [
            key
            for key in self._sent.keys() | self._blocked_until.keys()
            if self._blocked_until.get(key, now) <= now
            and (key not in self._sent or self._sent[key][-1][0] + self.per <= now)
        ]
        for key in idle:
            self._sent.pop(key, None)
            self._last.pop(key, None)
            self._blocked_until.pop(key, None)
        return len(idle)

    def keys_held(self) -> int:
        """How many keys have sent in it (a key only pushed back is not counted).

        Not ``__len__``: a pacer that holds no key yet must still be truthy where an
        optional pacer is tested with ``if pacer``.
        """
        return len(self._sent)

    def reserve(self, key: Hashable) -> float:
        """Book the key's next slot; return the seconds to wait before using it."""
        return self._book(key)[0] - self._clock()

    async def _wait(self, key: Hashable) -> list[float]:
        while True:
            entry = self._book(key)
            wait = entry[0] - self._clock()
            if wait > 0:
                await self._sleep(wait)
            # A pushback that arrived while we slept voids the slot: book again after it.
            if self._blocked_until.get(key, 0.0) <= self._clock():
                return entry

    async def acquire(self, key: Hashable) -> None:
        """Wait until the key may send one message (counted from when it was booked)."""
        await self._wait(key)

    @asynccontextmanager
    async def slot(self, key: Hashable) -> AsyncIterator[None]:
        """Wait for the key's next slot; the send inside counts from when it finished."""
        entry = await self._wait(key)
        try:
            yield
        finally:
            entry[0] = max(entry[0], self._clock())

    def push_back(self, key: Hashable, retry_after: float | None) -> None:
        """The platform said "slow down" for this key: send nothing for ``retry_after`` s."""
        if retry_after is None or retry_after <= 0:
            retry_after = self.per / self.rate
        until = self._clock() + retry_after
        self._blocked_until[key] = max(self._blocked_until.get(key, until), until)

    def idle(self, key: Hashable) -> bool:
        """True when the key could send right now without waiting."""
        now = self._clock()
        if self._blocked_until.get(key, now) > now:
            return False
        sent = self._sent.get(key)
        return not sent or len(sent) < self.rate or sent[0][0] + self.per <= now


def interval_pacer(interval: float) -> ChannelPacer | None:
    """One send per ``interval`` seconds per key; None (no pacing) for 0 or less."""
    return ChannelPacer(1, interval) if interval > 0 else None


@asynccontextmanager
async def paced(
    channel: ChannelPacer | None, key: Hashable, overall: ChannelPacer | None = None
) -> AsyncIterator[None]:
    """The key's slot of ``channel``, then one of ``overall`` (the whole bot's limit).

    The channel's slot comes first, so a send waiting on its channel holds no global slot.
    """
    async with AsyncExitStack() as stack:
        if channel is not None:
            await stack.enter_async_context(channel.slot(key))
        if overall is not None:
            await stack.enter_async_context(overall.slot(GLOBAL))
        yield
