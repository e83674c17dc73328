"""The delivery worker's lanes: channels in parallel, each paced; a 429 holds back only its own."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace

from bot.chat.delivery import DeliveryWorker
from bot.chat.pacing import ChannelPacer
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
        self, subscription: Subscription, postings: Sequence[StoredPosting], title: str, key: str
    ) -> list[str]:
        raise AssertionError("bursts are not grouped in this test")


async def test_lanes_pace_each_channel_and_a_429_holds_back_only_that_channel(
    store: Store, now
) -> None:
    subs = [
        store.add_subscription(
            platform="console",
            workspace="w",
            channel=channel,
            filter=Filter(),
            schedule=Schedule(),
            created_by="t",
            now=now,
        )
        for channel in ("a", "b")
    ]
    postings = [
        replace(POSTING, external_id=str(i), url=f"https://j.example/{i}", title=f"Intern {i}")
        for i in range(4)
    ]
    stored = store.ingest(postings, now, alert=True).new
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
