"""The outbox and its worker: states, atomic claims, crash recovery, bursts, pause/resume."""

from __future__ import annotations

import asyncio
import io
import socket
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import JobBot, build
from bot.chat.console import ConsoleAdapter
from bot.chat.delivery import DeliveryWorker, owner_is_dead
from bot.chat.webhook import WebhookAdapter
from bot.config import Settings
from bot.postings.model import Posting
from bot.store import Store
from subscriptions.commands import CommandContext
from subscriptions.model import Filter, Schedule, Subscription
from tests.conftest import FeedServer
from tests.fakes.chat_receiver import ChatReceiver, chat_receiver
from tests.fakes.feeds import feed

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class Clock:
    """A controlled clock for the bot (injected, never patched)."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
async def receiver() -> AsyncIterator[ChatReceiver]:
    async with chat_receiver() as running:
        yield running


def _posting(n: int) -> Posting:
    return Posting(
        source="test",
        external_id=f"p{n}",
        url=f"https://jobs.test.example/p/{n}",
        title=f"Research Intern {n} – Speech Recognition",
        company=f"Lab {n}",
        countries=("DE",),
        areas=("speech",),
        degree="phd-only",
    )


def _seed(store: Store, receiver: ChatReceiver, postings: int, subs: int = 1) -> list[Subscription]:
    made = [
        store.add_subscription(
            platform="webhook",
            workspace="",
            channel=receiver.url(f"/s{i}"),
            filter=Filter(),
            schedule=Schedule(),
            created_by="test",
            now=T0,
        )
        for i in range(subs)
    ]
    stored = store.ingest([_posting(n) for n in range(postings)], T0, alert=True).new
    store.enqueue([(sub, p.id) for sub in made for p in stored], T0)
    return made


# ------------------------------------------------------------------ outbox states


async def test_rows_go_pending_sending_sent(store: Store, receiver: ChatReceiver) -> None:
    _seed(store, receiver, 2)
    assert store.delivery_statuses() == {"pending": 2}
    adapter = WebhookAdapter()
    worker = DeliveryWorker(store, {"webhook": adapter}, lambda: T0)
    report = await worker.run_once()
    await adapter.aclose()
    assert report.sent == 2
    assert store.delivery_statuses() == {"sent": 2}
    assert sorted(receiver.keys) == ["delivery-1", "delivery-2"]


async def test_transient_failure_retries_later_then_sends(
    store: Store, receiver: ChatReceiver
) -> None:
    _seed(store, receiver, 1)
    clock = Clock()
    adapter = WebhookAdapter()
    worker = DeliveryWorker(store, {"webhook": adapter}, clock)
    receiver.fail_with = 503
    report = await worker.run_once()
    assert report.retried == 1
    row = store.db.execute(
        "select status, attempts, next_attempt_at, error from deliveries"
    ).fetchone()
    assert row[0] == "retry" and row[1] == 1 and "HTTP 503" in row[3]
    # The receiver's Retry-After (1 s) sets the next attempt; before it nothing is tried.
    assert datetime.fromisoformat(row[2]) == T0 + timedelta(seconds=1)
    receiver.fail_with = None
    assert (await worker.run_once()).sent == 0
    clock.advance(seconds=1)
    report = await worker.run_once()
    await adapter.aclose()
    assert report.sent == 1
    assert store.delivery_statuses() == {"sent": 1}
    assert receiver.received == Counter({(1, 1): 1})


async def test_permanent_failure_fails_with_reason_and_pauses(
    store: Store, receiver: ChatReceiver
) -> None:
    _seed(store, receiver, 3)
    receiver.fail_with = 410
    adapter = WebhookAdapter()
    worker = DeliveryWorker(store, {"webhook": adapter}, lambda: T0)
    report = await worker.run_once()
    await adapter.aclose()
    assert report.failed == 3
    assert store.delivery_statuses() == {"failed": 3}
    reasons = {r[0] for r in store.db.execute("select error from deliveries")}
    assert any("HTTP 410" in r for r in reasons)
    sub = store.subscription(1)
    assert sub is not None and sub.paused and "HTTP 410" in (sub.paused_reason or "")


# ------------------------------------------------------------------ claims


def test_concurrent_claims_on_one_file_never_take_a_row_twice(tmp_path: Path) -> None:
    path = tmp_path / "jobbot.db"
    seeded = Store.open(path)
    sub = seeded.add_subscription(
        platform="console",
        workspace="",
        channel="c",
        filter=Filter(),
        schedule=Schedule(),
        created_by="t",
        now=T0,
    )
    stored = seeded.ingest([_posting(n) for n in range(400)], T0, alert=True).new
    seeded.enqueue([(sub, p.id) for p in stored], T0)
    seeded.close()

    claimed: list[list[int]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def claimer() -> None:
        own = Store.open(path)  # one connection per thread, as one per process
        mine: list[int] = []
        start.wait()
        try:
            while batch := own.claim(T0, limit=3, lease=timedelta(minutes=5), owner=str(id(mine))):
                mine += [d.id for d in batch]
                time.sleep(0.002)  # let the other threads in between claims
        except BaseException as error:  # reported below, with the test's failure
            errors.append(error)
        finally:
            own.db.close()
            claimed.append(mine)

    threads = [threading.Thread(target=claimer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    every = [i for mine in claimed for i in mine]
    assert len(every) == 400 and len(set(every)) == 400
    assert sum(1 for mine in claimed if mine) >= 2  # the workers really competed


async def test_two_workers_on_two_connections_send_each_row_once(
    tmp_path: Path, receiver: ChatReceiver
) -> None:
    path = tmp_path / "jobbot.db"
    first, second = Store.open(path), Store.open(path)
    _seed(first, receiver, 30, subs=3)
    receiver.delay = 0.002
    adapter = WebhookAdapter()
    workers = [
        DeliveryWorker(store, {"webhook": adapter}, lambda: T0, batch_size=4)
        for store in (first, second)
    ]
    reports = await asyncio.gather(*(w.run_once() for w in workers))
    await adapter.aclose()
    assert sum(r.sent for r in reports) == 90
    assert all(r.sent for r in reports)
    assert receiver.duplicates() == {} and len(receiver.received) == 90
    first.close()
    second.db.close()


# ------------------------------------------------------------------ crash recovery


def _crash_midway(store: Store, receiver: ChatReceiver, owner: str) -> list[int]:
    """Claim every row as a worker that then dies; half its messages had gone out."""
    claimed = store.claim(T0, limit=100, lease=timedelta(minutes=5), owner=owner)
    for delivery in claimed[: len(claimed) // 2]:
        receiver.received[(delivery.subscription.id, delivery.posting.id)] += 1
    return [d.id for d in claimed]


async def test_rows_of_a_dead_worker_are_resolved_without_a_second_message(
    store: Store, receiver: ChatReceiver
) -> None:
    _seed(store, receiver, 6)
    # A worker of this host whose process is gone (pids are below 2**22 on Linux).
    dead = f"{socket.gethostname()}:{2**22 + 7}:deadbeef"
    assert owner_is_dead(dead)
    _crash_midway(store, receiver, dead)
    assert store.delivery_statuses() == {"sending": 6}
    adapter = WebhookAdapter()
    worker = DeliveryWorker(store, {"webhook": adapter}, lambda: T0)
    report = await worker.run_once()
    await adapter.aclose()
    # Well before the lease ran out: three found already delivered, three sent now.
    assert (report.recovered, report.sent) == (3, 3)
    assert receiver.duplicates() == {} and len(receiver.received) == 6
    assert store.delivery_statuses() == {"sent": 6}


async def test_a_live_workers_rows_wait_for_its_lease(store: Store, receiver: ChatReceiver) -> None:
    _seed(store, receiver, 2)
    clock = Clock()
    adapter = WebhookAdapter()
    busy = DeliveryWorker(store, {"webhook": adapter}, clock, lease=timedelta(minutes=5))
    store.claim(T0, limit=10, lease=busy.lease, owner=busy.owner)  # still sending, alive
    other = DeliveryWorker(store, {"webhook": adapter}, clock)
    assert not owner_is_dead(busy.owner)
    assert (await other.run_once()).sent == 0
    clock.advance(minutes=5)  # the lease ran out: the row is taken over and looked up first
    report = await other.run_once()
    await adapter.aclose()
    assert report.sent == 2 and receiver.lookups == 2


async def test_a_webhook_without_lookup_support_gets_the_row_again(
    store: Store, receiver: ChatReceiver
) -> None:
    # An endpoint that answers 200 to every GET must not make jobbot skip an alert.
    _seed(store, receiver, 1)
    receiver.lookup = False
    dead = f"{socket.gethostname()}:{2**22 + 9}:deadbeef"
    store.claim(T0, limit=10, lease=timedelta(minutes=5), owner=dead)
    adapter = WebhookAdapter()
    report = await DeliveryWorker(store, {"webhook": adapter}, lambda: T0).run_once()
    await adapter.aclose()
    assert (report.recovered, report.sent) == (0, 1) and receiver.lookups == 1


async def test_an_adapter_without_lookup_is_at_least_once(store: Store) -> None:
    sub = store.add_subscription(
        platform="console",
        workspace="",
        channel="c",
        filter=Filter(),
        schedule=Schedule(),
        created_by="t",
        now=T0,
    )
    stored = store.ingest([_posting(1)], T0, alert=True).new
    store.enqueue([(sub, stored[0].id)], T0)
    store.claim(T0, limit=10, lease=timedelta(seconds=1), owner="elsewhere:1:x")
    out = io.StringIO()
    worker = DeliveryWorker(
        store, {"console": ConsoleAdapter(out)}, lambda: T0 + timedelta(seconds=2)
    )
    assert (await worker.run_once()).sent == 1
    assert out.getvalue().count("▶ ") == 1


# ------------------------------------------------------------------ bursts, per poll


async def _webhook_bot(
    settings: Settings, receiver: ChatReceiver, clock: Callable[[], datetime]
) -> JobBot:
    bot = build(settings, console=io.StringIO(), clock=clock)
    bot.store.add_subscription(
        platform="webhook",
        workspace="",
        channel=receiver.url("/burst"),
        filter=Filter(),
        schedule=Schedule(),
        created_by="t",
        now=clock(),
    )
    return bot


async def test_a_burst_is_counted_per_poll(
    settings: Settings, feed_server: FeedServer, receiver: ChatReceiver
) -> None:
    clock = Clock()
    bot = await _webhook_bot(settings, receiver, clock)
    bot.store.upsert_source("gen", "rss", feed_server.url("/gen.rss"), 60, now=clock())
    feed_server.serve("/gen.rss", feed(range(2)))
    await bot.poll_all()  # first poll: recorded, not alerted
    # Two polls of three each: six for the channel, but no single poll is a burst.
    for upto in (5, 8):
        feed_server.serve("/gen.rss", feed(range(upto)))
        await bot.poll_all()
    report = await bot.worker.run_once()
    assert (report.sent, report.grouped_messages) == (6, 0)
    assert [m["type"] for m in receiver.messages] == ["alert"] * 6
    # One poll of seven (over the threshold of five): one grouped message.
    feed_server.serve("/gen.rss", feed(range(15)))
    await bot.poll_all()
    report = await bot.worker.run_once()
    await bot.aclose()
    assert (report.sent, report.grouped_messages) == (7, 1)
    assert receiver.messages[-1]["type"] == "digest" and len(receiver.messages[-1]["postings"]) == 7
    assert receiver.duplicates() == {} and len(receiver.received) == 13


# ------------------------------------------------------------------ pause and resume


async def test_pause_collects_nothing_and_resume_catch_up_sends_one_digest(
    settings: Settings, feed_server: FeedServer, receiver: ChatReceiver
) -> None:
    clock = Clock()
    bot = await _webhook_bot(settings, receiver, clock)
    ctx = CommandContext(
        platform="webhook", workspace="", channel=receiver.url("/burst"), user="u", now=clock()
    )
    bot.store.upsert_source("gen", "rss", feed_server.url("/gen.rss"), 60, now=clock())
    feed_server.serve("/gen.rss", feed(range(2)))
    await bot.poll_all()

    assert (await bot.command("pause 1", ctx)).ok
    clock.advance(minutes=10)
    feed_server.serve("/gen.rss", feed(range(5)))  # three new while paused
    await bot.poll_all()
    await bot.worker.run_once()
    assert receiver.messages == [] and bot.store.delivery_statuses() == {}

    clock.advance(minutes=10)
    resumed = await bot.command("resume 1 catch-up", ctx)
    assert resumed.ok and "one digest" in resumed.text
    for task in list(bot._background):
        await task
    assert len(receiver.messages) == 1 and receiver.messages[0]["type"] == "digest"
    assert {p["title"].split()[2] for p in receiver.messages[0]["postings"]} == {"g2", "g3", "g4"}

    # After the catch-up, alerts are instant again, from now on.
    feed_server.serve("/gen.rss", feed(range(6)))
    await bot.poll_all()
    await bot.worker.run_once()
    await bot.aclose()
    assert [m["type"] for m in receiver.messages] == ["digest", "alert"]
    assert receiver.duplicates() == {}


async def test_resume_without_catch_up_starts_from_now(
    settings: Settings, feed_server: FeedServer, receiver: ChatReceiver
) -> None:
    clock = Clock()
    bot = await _webhook_bot(settings, receiver, clock)
    ctx = CommandContext(
        platform="webhook", workspace="", channel=receiver.url("/burst"), user="u", now=clock()
    )
    bot.store.upsert_source("gen", "rss", feed_server.url("/gen.rss"), 60, now=clock())
    feed_server.serve("/gen.rss", feed(range(2)))
    await bot.poll_all()
    await bot.command("pause 1", ctx)
    feed_server.serve("/gen.rss", feed(range(4)))
    await bot.poll_all()
    assert "from now" in (await bot.command("resume 1", ctx)).text
    feed_server.serve("/gen.rss", feed(range(5)))
    await bot.poll_all()
    await bot.worker.run_once()
    await bot.aclose()
    assert [p["title"].split()[2] for m in receiver.messages for p in m["postings"]] == ["g4"]
