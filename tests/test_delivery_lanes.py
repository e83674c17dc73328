"""The delivery worker's lanes: channels in parallel, each paced; a 429 holds back only its own."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from bot.chat.delivery import DeliveryWorker
from bot.chat.pacing import ChannelPacer
from bot.chat.parts import PartProgress
from bot.errors import TransientChatError
from bot.postings.model import Posting
from bot.store import Store, StoredPosting
from subscriptions.model import Filter, Schedule, Subscription

POSTING = Posting(
    source="feed",
    external_id="0",
    url="https://jobs.example/0",
    title="Research Intern - NLP",
    company="Acme",
    countries=("DE",),
    areas=("nlp",),
    is_internship=True,
)


class RecordingAdapter:
    """Records (time, channel, delivery id); answers 429 once for one channel."""

    platform = "console"

    def __init__(self, limited: str) -> None:
        self.limited = limited
        self.sent: list[tuple[float, str, int]] = []

    async def send_alert(
        self, subscription: Subscription, posting: StoredPosting, delivery_id: int
    ):
        if subscription.channel == self.limited:
            self.limited = ""
            raise TransientChatError("console", "rate_limited", retry_after=0.5)
        self.sent.append((time.monotonic(), subscription.channel, delivery_id))
        return f"m{delivery_id}"

    async def send_digest(
        self,
        subscription: Subscription,
        postings: Sequence[StoredPosting],
        title: str,
        key: str,
        *,
        progress: PartProgress | None = None,
    ) -> list[str]:
        raise AssertionError("bursts are not grouped in this test")


def _channels(store: Store, now: datetime, *channels: str) -> list[Subscription]:
    """One match-everything console subscription per channel."""
    return [
        store.add_subscription(
            platform="console",
            workspace="w",
            channel=channel,
            filter=Filter(),
            schedule=Schedule(),
            created_by="t",
            now=now,
        )
        for channel in channels
    ]


def _stored(store: Store, now: datetime, count: int) -> list[StoredPosting]:
    """``count`` distinct postings, stored and alertable."""
    postings = [
        replace(POSTING, external_id=str(i), url=f"https://j.example/{i}", title=f"Intern {i}")
        for i in range(count)
    ]
    return store.ingest(postings, now, alert=True).new


async def test_lanes_pace_each_channel_and_a_429_holds_back_only_that_channel(
    store: Store, now
) -> None:
    subs = _channels(store, now, "a", "b")
    stored = _stored(store, now, 4)
    store.enqueue([(sub, p.id) for sub in subs for p in stored], now)
    adapter = RecordingAdapter(limited="a")
    worker = DeliveryWorker(
        store,
        {"console": adapter},
        lambda: now,
        burst_threshold=100,
        pacers={"console": ChannelPacer(2, 0.01)},
    )
    report = await worker.run_once()
    assert (report.sent, report.retried) == (7, 1)
    order = [channel for _, channel, _ in adapter.sent]
    # b is not held back by a's Retry-After (half a second, far longer than b's four
    # sends at two per 10 ms): all of b goes first, then a's three remaining alerts.
    assert order == ["b"] * 4 + ["a"] * 3
    # Nothing was sent twice, and the refused one is back in the outbox for later.
    ids = [d for _, _, d in adapter.sent]
    assert len(ids) == len(set(ids))
    assert store.delivery_statuses() == {"sent": 7, "retry": 1}


class PacedRecorder:
    """Records (channel, delivery id) in sending order; grouped bursts are recorded too."""

    platform = "console"

    def __init__(self) -> None:
        self.sent: list[tuple[str, int]] = []
        self.digests: list[tuple[Subscription, list[int], str]] = []
        self.twenty_sent = asyncio.Event()

    async def send_alert(
        self, subscription: Subscription, posting: StoredPosting, delivery_id: int
    ) -> str:
        self.sent.append((subscription.channel, delivery_id))
        if len(self.sent) >= 20:
            self.twenty_sent.set()
        return f"m{delivery_id}"

    async def send_digest(
        self,
        subscription: Subscription,
        postings: Sequence[StoredPosting],
        title: str,
        key: str,
        *,
        progress: PartProgress | None = None,
    ) -> list[str]:
        self.digests.append((subscription, [p.id for p in postings], title))
        return [key]


async def test_a_channels_backlog_does_not_starve_another_channel(store: Store, now) -> None:
    """#18: channel A holds 1,000 queued alerts; B's one new alert goes within a few of A's."""
    busy, quiet = _channels(store, now, "a", "b")
    stored = _stored(store, now, 1001)
    # Each of A's alerts came from its own poll, so none is grouped: A goes one at a time.
    for number, posting in enumerate(stored[:1000]):
        store.enqueue([(busy, posting.id)], now, batch=f"poll-{number}")
    adapter = PacedRecorder()
    worker = DeliveryWorker(
        store,
        {"console": adapter},
        lambda: now,
        burst_threshold=5,
        claim_every=0.05,
        # A's pace: one message per 5 ms, as Slack's one per second but faster.
        pacers={"console": ChannelPacer(1, 0.005)},
    )
    task = asyncio.create_task(worker.run_once())
    await adapter.twenty_sent.wait()
    store.enqueue([(quiet, stored[1000].id)], now, batch="poll-b")
    sent_before = len(adapter.sent)
    report = await task
    order = [channel for channel, _ in adapter.sent]
    assert report.sent == 1001 and order.count("b") == 1
    # Before the fix B waited until A's in-flight batch (up to 500 rows) was sent. Now
    # the next claim (every 50 ms here, 1 s by default) takes it: a handful of A's sends.
    a_sends_meanwhile = order.index("b") - sent_before
    assert a_sends_meanwhile < 100, a_sends_meanwhile
    # A kept its pace meanwhile: its alerts went on, in order, none twice.
    a_ids = [i for channel, i in adapter.sent if channel == "a"]
    assert a_ids == sorted(a_ids) and len(set(a_ids)) == 1000


async def test_a_burst_is_one_message_per_channel_whatever_the_subscriptions(
    store: Store, now
) -> None:
    """#18: a poll bringing a channel more than burst_threshold alerts sends one message."""
    mentions = ["here", "role:111", "role:111", ""]
    subs = [
        store.add_subscription(
            platform="console",
            workspace="w",
            channel="c",
            filter=Filter(keywords=(f"k{i}",)),
            schedule=Schedule(mention=mention),
            created_by="t",
            now=now,
        )
        for i, mention in enumerate(mentions)
    ]
    postings = [
        replace(POSTING, external_id=str(i), url=f"https://j.example/{i}", title=f"Intern {i}")
        for i in range(8)
    ]
    stored = store.ingest(postings, now, alert=True).new
    # Every subscription matched every posting: 32 rows, one poll, one channel.
    store.enqueue([(sub, p.id) for sub in subs for p in stored], now, batch="poll-1")
    adapter = PacedRecorder()
    worker = DeliveryWorker(store, {"console": adapter}, lambda: now, burst_threshold=5)
    report = await worker.run_once()
    assert (report.sent, report.grouped_messages, adapter.sent) == (32, 1, [])
    [(speaker, posting_ids, title)] = adapter.digests
    assert posting_ids == [p.id for p in stored]  # each posting once
    assert speaker.schedule.mention == "here role:111"  # each mention once
    assert title == "New postings for subscriptions " + ", ".join(f"#{s.id}" for s in subs)
    assert store.delivery_statuses() == {"sent": 32}
