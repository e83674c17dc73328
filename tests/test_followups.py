"""Issue #10, piece by piece: the mention and remind grammar, deadlines read from text,
boards that stop listing a posting, message links, and the follow-up passes' error paths."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from bot.chat.delivery import DeliveryWorker
from bot.chat.digests import DigestRunner
from bot.chat.followups import MAX_EDIT_ATTEMPTS, FollowUps
from bot.chat.slack_app import command_text
from bot.errors import CommandError, PermanentChatError, TransientChatError
from bot.postings.deadline import deadline_in_text
from bot.postings.model import Posting
from bot.store import Delivery, Store, StoredPosting, shown_state
from bot.why import message_link, parse_query
from subscriptions.grammar import format_filter, format_schedule, parse_command, parse_mention
from subscriptions.matcher import SubscriptionIndex
from subscriptions.model import Filter, Schedule, Subscription

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("<!subteam^S0ML123|@ml-interns>", "group:S0ML123"),
        ("group:S0ML123", "group:S0ML123"),
        ("<@&112233445566>", "role:112233445566"),
        ("role:112233445566", "role:112233445566"),
        ("112233445566", "role:112233445566"),
        ("@here", "here"),
        ("<!here>", "here"),
        ("none", ""),
    ],
)
def test_mentions_are_stored_by_id(typed: str, stored: str) -> None:
    assert parse_mention(typed) == stored


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("@everyone", "ping everyone"),
        ("<!channel>", "ping everyone"),
        ("<@U0PERSON|bob>", "not one person"),
        ("@ml-interns", "can't tell which role or user group"),
    ],
)
def test_mentions_that_would_ping_too_many_or_are_ambiguous_are_refused(
    typed: str, says: str
) -> None:
    with pytest.raises(CommandError, match=says):
        parse_mention(typed)


def test_mention_and_remind_round_trip_through_the_grammar() -> None:
    command = parse_command("subscribe area:nlp mention:<@&42424242> remind:3d mode:daily")
    assert command.schedule == Schedule(mode="daily", mention="role:42424242", remind_days=3)
    assert command.filter is not None
    text = f"subscribe {format_filter(command.filter)} {format_schedule(command.schedule)}"
    assert parse_command(text) == command
    for bad in ("remind:0.5d", "remind:90d", "remind:soon"):
        with pytest.raises(CommandError, match="remind"):
            parse_command(f"subscribe {bad}")
    assert parse_command("subscribe remind:off").schedule == Schedule()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Application deadline: December 15, 2026.", "2026-12-15"),
        ("Please apply by 1 Dec.", "2026-12-01"),
        ("Applications close on Friday, 5th December 2026", "2026-12-05"),
        ("The deadline to apply is 2027-01-31", "2027-01-31"),
        ("Closing date: 10 Jan", "2027-01-10"),
        ("Deadline: November 12 (Sun), 23:59 KST", "2026-11-12"),  # just past: kept
        ("We review applications on a rolling basis.", None),
        ("Deadline: 03/04/2027", None),  # day and month order differ by country
        ("Deadline: 31 February 2027", None),
        ("The 2019 deadline was March 3, 2019", None),  # long past: not this posting's
        ("Join us in December 2026 for a 12-week internship", None),
    ],
)
def test_deadlines_written_after_a_deadline_phrase(text: str, expected: str | None) -> None:
    found = deadline_in_text(text, NOW)
    assert (found.date().isoformat() if found else None) == expected


def test_slash_command_text_unwraps_links_and_keeps_mentions() -> None:
    raw = (
        "why <https://boards.example/jobs/1?a=1&amp;b=2|boards.example/jobs/1>"
        " keywords:R&amp;D mention:<!subteam^S1|@ml>"
    )
    assert command_text(raw) == (
        "why https://boards.example/jobs/1?a=1&b=2 keywords:R&D mention:<!subteam^S1|@ml>"
    )


def test_why_reads_ids_and_links_and_builds_message_links() -> None:
    assert parse_query("#42") == (42, None)
    assert parse_query("<https://x.example/j/1?utm_source=a|x>") == (
        None,
        "https://x.example/j/1",
    )
    assert parse_query("not a link") == (None, None)
    assert message_link("slack", "T1", "C1:1700000000.000100") == (
        "https://slack.com/archives/C1/p1700000000000100"
    )
    assert message_link("discord", "9", "77/88") == "https://discord.com/channels/9/77/88"
    assert message_link("console", "", "console:1") == ""


def _posting(external_id: str, title: str = "NLP Research Intern") -> Posting:
    return Posting(
        source="board",
        external_id=external_id,
        url=f"https://board.example/{external_id}",
        title=title,
        company="Acme",
        areas=("nlp",),
        is_internship=True,
    )


def test_a_board_closes_what_it_leaves_out_of_two_polls_in_a_row() -> None:
    store = Store.memory()
    store.ingest([_posting("1"), _posting("2", "CV Intern")], NOW, alert=True)
    assert store.mark_unlisted("board", {"2"}, NOW) == []
    # Listed again: the count starts over.
    store.ingest([_posting("1"), _posting("2", "CV Intern")], NOW, alert=True)
    assert store.mark_unlisted("board", {"1", "2"}, NOW) == []
    assert store.mark_unlisted("board", {"2"}, NOW) == []
    [closed] = store.mark_unlisted("board", None, NOW)  # a 304: the same board again
    stored = store.posting(closed)
    assert stored is not None and stored.posting.external_id == "1"
    assert not stored.posting.active
    assert store.mark_unlisted("board", {"2"}, NOW) == []  # closed once, not again
    # Listed again after closing: open again, and the change is reported for an edit.
    result = store.ingest([_posting("1")], NOW, alert=True)
    assert result.changed == (closed,)
    reopened = store.posting(closed)
    assert reopened is not None and reopened.posting.active


def _console_sub(store: Store, channel: str = "c") -> Subscription:
    """A subscription to everything, printed to the terminal channel ``channel``."""
    return store.add_subscription(
        platform="console",
        workspace="",
        channel=channel,
        filter=Filter(),
        schedule=Schedule(),
        created_by="t",
        now=NOW,
    )


class _Flaky:
    """An adapter whose edits fail as told (the real ones are tested through the fakes)."""

    platform = "console"

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.edits: list[str] = []

    async def send_alert(self, subscription: Subscription, posting: StoredPosting, d: int) -> str:
        return f"ref-{d}"

    async def send_digest(self, *args: object, **kwargs: object) -> list[str]:
        return []

    async def edit_alert(self, sub: Subscription, posting: StoredPosting, ref: str) -> None:
        if self.errors:
            raise self.errors.pop(0)
        self.edits.append(ref)


async def test_edits_are_retried_after_a_passing_error_and_dropped_after_a_lasting_one() -> None:
    store = Store.memory()
    sub = _console_sub(store)
    [new] = store.ingest([_posting("1")], NOW, alert=True).new
    store.enqueue([(sub, new.id)], NOW)
    [delivery] = store.claim(NOW, lease=timedelta(minutes=1), owner="w")
    store.mark_sent([delivery.id], NOW, "ref-1", shown=shown_state(new.posting))
    adapter = _Flaky(TransientChatError("console", "timeout"), PermanentChatError("console", "x"))
    followups = FollowUps(
        store, {"console": adapter}, lambda: NOW, lambda: SubscriptionIndex(store.subscriptions())
    )
    store.ingest([_posting("1", "NLP Research Intern (closed soon)")], NOW, alert=True)
    store.flag_edits([new.id])
    assert await followups.edit_alerts() == 0  # timeout: still due
    assert len(store.due_edits()) == 1
    assert await followups.edit_alerts() == 0  # the message is gone: given up
    assert store.due_edits() == []
    store.ingest([_posting("1", "NLP Research Intern, again")], NOW, alert=True)
    store.flag_edits([new.id])
    assert await followups.edit_alerts() == 1
    assert adapter.edits == ["ref-1"]
    store.flag_edits([new.id])  # nothing changed since: nothing to edit
    assert await followups.edit_alerts() == 0
    assert adapter.edits == ["ref-1"]


def _sent_alert(store: Store) -> tuple[Subscription, StoredPosting, int]:
    """One subscription, one posting and its single alert, sent and showing the posting."""
    sub = _console_sub(store)
    [new] = store.ingest([_posting("1")], NOW, alert=True).new
    store.enqueue([(sub, new.id)], NOW)
    [delivery] = store.claim(NOW, lease=timedelta(minutes=1), owner="w")
    store.mark_sent([delivery.id], NOW, "ref-1", shown=shown_state(new.posting))
    return sub, new, delivery.id


class _ChangesWhileEditing(_Flaky):
    """An edit during which the source changes the posting once more."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store

    async def edit_alert(self, sub: Subscription, posting: StoredPosting, ref: str) -> None:
        await super().edit_alert(sub, posting, ref)
        if len(self.edits) == 1:
            changed = self.store.ingest([_posting("1", "Third title")], NOW, alert=True)
            self.store.flag_edits(list(changed.changed))


async def test_a_change_during_an_edit_or_a_send_is_edited_in_afterwards() -> None:
    store = Store.memory()
    _, posting, _ = _sent_alert(store)
    adapter = _ChangesWhileEditing(store)
    followups = FollowUps(
        store, {"console": adapter}, lambda: NOW, lambda: SubscriptionIndex(store.subscriptions())
    )
    store.flag_edits(list(store.ingest([_posting("1", "Second")], NOW, alert=True).changed))
    assert await followups.edit_alerts() == 1
    assert len(store.due_edits()) == 1  # the third title came while the second went out
    assert await followups.edit_alerts() == 1
    assert store.due_edits() == []
    # A change while the alert itself was being sent: marked sent with what it showed.
    other = _console_sub(store, "d")
    store.enqueue([(other, posting.id)], NOW)
    [delivery] = store.claim(NOW, lease=timedelta(minutes=1), owner="w")
    store.mark_sent([delivery.id], NOW, "ref-2", shown=shown_state(posting.posting))
    assert [d.id for d in store.due_edits()] == [delivery.id]


async def test_an_edit_that_keeps_failing_is_given_up_after_a_few_tries() -> None:
    store = Store.memory()
    _sent_alert(store)
    failures = [TransientChatError("console", "timeout") for _ in range(10)]
    adapter = _Flaky(*failures, RuntimeError("a bug in a renderer"))
    followups = FollowUps(
        store, {"console": adapter}, lambda: NOW, lambda: SubscriptionIndex(store.subscriptions())
    )
    store.flag_edits(list(store.ingest([_posting("1", "New")], NOW, alert=True).changed))
    for _ in range(10):
        await followups.edit_alerts()
    assert store.due_edits() == []
    assert adapter.edits == [] and len(adapter.errors) == 11 - MAX_EDIT_ATTEMPTS


class _GoneForum(_Flaky):
    """A platform whose channel vanished while an alert to it was in flight."""

    async def find_sent(self, sub: Subscription, deliveries: Sequence[Delivery]) -> dict[int, str]:
        raise PermanentChatError("console", "10003")


async def test_a_channel_gone_during_crash_recovery_fails_its_rows_and_delivery_goes_on() -> None:
    store = Store.memory()
    sub = _console_sub(store)
    [new] = store.ingest([_posting("1")], NOW, alert=True).new
    store.enqueue([(sub, new.id)], NOW)
    store.claim(NOW, lease=timedelta(minutes=1), owner="dead")  # a crash leaves it in flight
    later = NOW + timedelta(minutes=5)
    worker = DeliveryWorker(store, {"console": _GoneForum()}, lambda: later)
    report = await worker.run_once()
    assert report.failed == 1
    assert store.delivery_statuses() == {"failed": 1}
    [paused] = store.subscriptions()
    assert paused.paused and "10003" in (paused.paused_reason or "")


class _DigestsSent(_GoneForum):
    """A platform where one channel vanished; digests to the others go (and are kept)."""

    def __init__(self) -> None:
        super().__init__()
        self.digests: list[str] = []

    async def find_sent(self, sub: Subscription, deliveries: Sequence[Delivery]) -> dict[int, str]:
        if sub.channel == "gone":
            raise PermanentChatError("console", "10003")
        return {}

    async def send_digest(self, sub: Subscription, *args: object, **kwargs: object) -> list[str]:
        self.digests.append(sub.channel)
        return [f"digest-{sub.channel}"]


async def test_a_channel_gone_during_digest_recovery_pauses_it_and_other_digests_go() -> None:
    store = Store.memory()
    daily = Schedule("daily", "09:00", "UTC")
    subs = []
    for channel in ("gone", "kept"):
        subs.append(
            store.add_subscription(
                platform="console",
                workspace="",
                channel=channel,
                filter=Filter(),
                schedule=daily,
                created_by="t",
                now=NOW - timedelta(days=1),
            )
        )
    [new] = store.ingest([_posting("1")], NOW, alert=True).new
    store.enqueue([(sub, new.id) for sub in subs], NOW)
    # A crashed run had claimed both digests: their rows are unsure.
    for sub in subs:
        store.claim_digest(sub.id, NOW, lease=timedelta(minutes=1), owner="host:1:dead")
    adapter = _DigestsSent()
    later = NOW.replace(hour=9, minute=5) + timedelta(days=1)
    runner = DigestRunner(store, {"console": adapter}, lambda: later)
    await runner.run_due()
    assert adapter.digests == ["kept"]
    gone, kept = store.subscriptions()
    assert gone.paused and "10003" in (gone.paused_reason or "") and not kept.paused
    assert store.delivery_statuses() == {"failed": 1, "sent": 1}


class _Notices(_Flaky):
    """A platform that records the notices it is given, failing the first ``fail``."""

    def __init__(self, fail: int = 0) -> None:
        super().__init__()
        self.fail = fail
        self.notices: list[str] = []

    async def send_reminder(self, *args: object, **kwargs: object) -> str | None:
        return None

    async def send_notice(self, subscription: Subscription, text: str, key: str) -> str:
        await asyncio.sleep(0.01)  # a round trip, during which another bot may look too
        if self.fail:
            self.fail -= 1
            raise TransientChatError("console", "503")
        self.notices.append(text)
        return f"n-{len(self.notices)}"


async def test_bots_sharing_a_database_tell_a_channel_once_that_a_source_is_down() -> None:
    store = Store.memory()
    _console_sub(store)
    store.upsert_source("board", "rss", "https://board.example/feed", 600, now=NOW)
    store.ingest([_posting("1")], NOW, alert=True)
    store.record_poll_failure("board", NOW, "HTTP 500", next_poll_at=NOW)
    later = NOW + timedelta(hours=7)
    adapter = _Notices(fail=1)

    def bot() -> FollowUps:
        index = lambda: SubscriptionIndex(store.subscriptions())  # noqa: E731
        return FollowUps(store, {"console": adapter}, lambda: later, index)

    # The first try fails for now: the notice is given back, and goes on the next pass.
    assert await bot().send_source_notices() == 0 and store.notices("board") == []
    counts = await asyncio.gather(*(bot().send_source_notices() for _ in range(3)))
    assert sum(counts) == 1 and len(adapter.notices) == 1
    # Back up: one recovery notice, however many bots see it.
    store.record_poll_success(
        "board", later, etag=None, last_modified=None, next_poll_at=later + timedelta(hours=1)
    )
    counts = await asyncio.gather(*(bot().send_source_notices() for _ in range(3)))
    assert sum(counts) == 1 and len(adapter.notices) == 2
    assert "working again" in adapter.notices[1] and store.notice_sources() == []
