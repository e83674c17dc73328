"""Digests and grouped messages exactly once (#17): a part that failed is sent on retry,
the parts before it are not, on Slack and on Discord (forum posts included).

The real adapters against FakeSlack and FakeDiscord on 127.0.0.1, driven by the real
``DigestRunner`` and ``DeliveryWorker`` over a store, with a clock the test moves past
the retry time. Discord's nonce de-duplication is switched off in the fake
(``nonce_window = 0``): it lasts minutes, and a retry may come later than that.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import JobBot
from bot.chat.delivery import DeliveryWorker
from bot.chat.digests import DigestRunner
from bot.chat.parts import PartProgress, send_parts
from bot.chat.slack import SlackAdapter
from bot.postings.model import Posting
from bot.store import Store
from bot.store.protocols import Store as AnyStore
from subscriptions.model import Filter, Schedule, Subscription
from tests.fakes.discord_api import (
    DEFAULT_FORUM_CHANNEL_ID,
    DEFAULT_GUILD_ID,
    DEFAULT_TEXT_CHANNEL_ID,
    FakeDiscord,
)
from tests.fakes.slack_api import BOT_TOKEN, TEAM_ID, FakeSlack
from tests.fakes.specs import load_slack_spec
from tests.test_discord import Running, discord_bot

pytestmark = pytest.mark.integration

# A daily digest at 09:00 UTC, first due at START; its retry comes 5 minutes later.
START = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
CREATED = START - timedelta(days=1)
CHANNEL = "C0DIGEST"
TEXT = str(DEFAULT_TEXT_CHANNEL_ID)
FORUM = str(DEFAULT_FORUM_CHANNEL_ID)
# Enough postings for two parts on both platforms (Slack: 48 blocks; Discord: 6000 chars).
SIZE = 60


class Clock:
    """A clock the test moves forward."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def _postings(count: int, start: int = 0) -> list[Posting]:
    return [
        Posting(
            source="test",
            external_id=f"p{i}",
            url=f"https://jobs.test.example/{i}",
            title=f"Research Intern {i}, Machine Translation " + "x" * 60,
            company="Lingua Labs",
            countries=("DE",),
            areas=("nlp",),
            is_internship=True,
            posted_at=CREATED,
        )
        for i in range(start, start + count)
    ]


def _queue(
    store: AnyStore,
    platform: str,
    workspace: str,
    channel: str,
    *,
    mode: str = "daily",
    count: int = SIZE,
    start: int = 0,
) -> Subscription:
    """A subscription with ``count`` postings queued for it (one poll's worth)."""
    sub = store.add_subscription(
        platform=platform,
        workspace=workspace,
        channel=channel,
        filter=Filter(),
        schedule=Schedule(mode=mode),  # type: ignore[arg-type]
        created_by="u",
        now=CREATED,
    )
    new = store.ingest(_postings(count, start), CREATED, alert=True).new
    store.enqueue([(sub, p.id) for p in new], CREATED, batch="poll-1")
    return sub


# ------------------------------------------------------------------ the shared rule


async def test_send_parts_resumes_at_the_first_part_not_sent() -> None:
    sent: list[str] = []
    recorded: list[tuple[int, str]] = []

    async def send(index: int, part: str, refs: object) -> str:
        if part == "c" and "c" not in sent:
            sent.append("c")
            raise RuntimeError("part c fails once")
        return f"ref-{part}"

    async def record(index: int, ref: str) -> None:
        recorded.append((index, ref))

    with pytest.raises(RuntimeError):
        await send_parts("abc", PartProgress((), record), send)
    assert recorded == [(0, "ref-a"), (1, "ref-b")]
    refs = await send_parts("abc", PartProgress(("ref-a", "ref-b"), record), send)
    assert refs == ["ref-a", "ref-b", "ref-c"]
    assert recorded[-1] == (2, "ref-c")


# ------------------------------------------------------------------ Slack


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(spec=load_slack_spec(), per_channel_interval=0.0) as fake:
        yield fake


def _slack_adapter(slack: FakeSlack) -> SlackAdapter:
    async def tokens(team: str) -> str | None:
        return BOT_TOKEN if team == TEAM_ID else None

    return SlackAdapter(tokens, base_url=slack.api_url, per_channel_interval=0.0)


def _headers(messages: list[dict[str, object]]) -> list[str]:
    return [m["blocks"][0]["text"]["text"] for m in messages]  # type: ignore[index]


async def test_a_slack_digest_whose_second_part_fails_arrives_once_each_part(
    slack: FakeSlack, tmp_path: Path
) -> None:
    store = Store.open(tmp_path / "jobbot.db")
    sub = _queue(store, "slack", TEAM_ID, CHANNEL)
    clock = Clock(START)
    runner = DigestRunner(store, {"slack": _slack_adapter(slack)}, clock)
    slack.fail_next("chat.postMessage", status=503, after=1)
    assert await runner.run_due() == 0
    title = f"Daily digest: {SIZE} new posting(s)"
    assert _headers(slack.messages_in(CHANNEL)) == [f"{title} (1/2)"]
    assert store.delivery_statuses() == {"retry": SIZE}

    # A posting queued meanwhile waits for the next digest: the retry is the same digest.
    later = store.ingest(_postings(1, start=SIZE), clock(), alert=True).new
    store.enqueue([(sub, p.id) for p in later], clock())
    clock.advance(timedelta(minutes=1))
    assert await runner.run_due() == 0  # not before its retry time
    clock.advance(timedelta(minutes=5))
    assert await runner.run_due() == 1
    messages = slack.messages_in(CHANNEL)
    assert _headers(messages) == [f"{title} (1/2)", f"{title} (2/2)"]
    assert [m["metadata"]["event_payload"]["part"] for m in messages] == [1, 2]
    assert store.delivery_statuses() == {"sent": SIZE, "pending": 1}
    assert slack.violations == []
    store.close()


async def test_a_slack_burst_whose_second_part_fails_arrives_once_each_part(
    slack: FakeSlack, tmp_path: Path
) -> None:
    store = Store.open(tmp_path / "jobbot.db")
    _queue(store, "slack", TEAM_ID, CHANNEL, mode="instant")
    clock = Clock(START)
    worker = DeliveryWorker(store, {"slack": _slack_adapter(slack)}, clock, channel_share=100)
    slack.fail_next("chat.postMessage", status=503, after=1)
    report = await worker.run_once()
    assert (report.sent, report.retried) == (0, SIZE)
    assert len(slack.messages_in(CHANNEL)) == 1
    clock.advance(timedelta(minutes=5))
    report = await worker.run_once()
    assert (report.grouped_messages, report.sent) == (1, SIZE)
    assert _headers(slack.messages_in(CHANNEL)) == [
        "New postings for subscription #1 (1/2)",
        "New postings for subscription #1 (2/2)",
    ]
    assert store.delivery_statuses() == {"sent": SIZE}
    assert slack.violations == []
    store.close()


# ------------------------------------------------------------------ Discord


@pytest.fixture
async def running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Running]:
    """jobbot's Discord adapter logged in to the fake and ready (no sources)."""

    def forget_nonces(_: JobBot, fake: FakeDiscord) -> None:
        fake.nonce_window = 0.0  # the retry comes after Discord forgot the nonces

    async with discord_bot(tmp_path, monkeypatch, forget_nonces) as bot:
        yield bot


async def _digest_with_a_failed_second_part(running: Running, channel: str, after: int) -> None:
    """Send a two-part digest whose second part fails once, then its retry."""
    store = running.bot.store
    _queue(store, "discord", str(DEFAULT_GUILD_ID), channel)
    clock = Clock(START)
    runner = DigestRunner(store, {"discord": running.adapter}, clock)
    running.fake.fail_message(after=after, status=503)
    assert await runner.run_due() == 0
    assert store.delivery_statuses() == {"retry": SIZE}
    # As after a restart: the adapter no longer remembers the forum posts it opened.
    running.adapter._posts.clear()
    clock.advance(timedelta(minutes=6))
    assert await DigestRunner(store, {"discord": running.adapter}, clock).run_due() == 1
    assert store.delivery_statuses() == {"sent": SIZE}


async def test_a_discord_digest_whose_second_part_fails_arrives_once_each_part(
    running: Running,
) -> None:
    await _digest_with_a_failed_second_part(running, TEXT, after=1)
    first, second = running.fake.messages_in(TEXT)
    assert first["content"].startswith(f"Daily digest: {SIZE} new posting(s)")
    assert not second["content"]
    titles = [e["description"] for m in (first, second) for e in m["embeds"]]
    assert len(titles) == len(set(titles))  # no embed twice
    shown = "\n".join(titles)
    assert all(shown.count(f"Research Intern {i},") == 1 for i in range(SIZE))


async def test_a_discord_forum_digest_whose_second_part_fails_is_one_post_once(
    running: Running,
) -> None:
    # The forum post opens with the first part; the second is a message in it.
    await _digest_with_a_failed_second_part(running, FORUM, after=0)
    [post] = running.fake.threads
    assert post["name"].startswith("Daily digest")
    parts = running.fake.messages_in(post["id"])
    assert len(parts) == 2
    shown = "\n".join(e["description"] for m in parts for e in m["embeds"])
    assert all(shown.count(f"Research Intern {i},") == 1 for i in range(SIZE))
