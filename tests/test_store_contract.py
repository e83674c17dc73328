"""One contract for the store protocols, run on every backend (SQLite and PostgreSQL).

Like APScheduler's tests/test_datastores.py: the same test, the same expectations, a
parametrised ``any_store`` fixture (tests/conftest.py). The PostgreSQL runs skip, saying
why, where JOBBOT_TEST_DATABASE_URL is unset or unreachable.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from bot.errors import SchemaTooNewError
from bot.postings.model import Pay, Posting
from bot.store import SCHEMA_VERSION, shown_state
from bot.store.protocols import Store
from subscriptions.model import Filter, Schedule, Subscription
from tests.store_readers import reminders, sent_pairs

LEASE = timedelta(minutes=5)


def _posting(external_id: str = "1", **changes: object) -> Posting:
    base = Posting(
        source="feed",
        external_id=external_id,
        url=f"https://jobs.example/{external_id}",
        title=f"Research Intern {external_id} - Speech Recognition",
        company="Acme Speech GmbH",
        countries=("DE",),
        areas=("speech",),
        degree="phd-only",
        is_internship=True,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _subscribe(
    store: Store, now: datetime, *, channel: str = "c", mode: str = "instant", **schedule: object
) -> Subscription:
    return store.add_subscription(
        platform="slack",
        workspace="w",
        channel=channel,
        filter=Filter(areas=frozenset({"speech"}), keywords=("intern",)),
        schedule=Schedule(mode=mode, **schedule),  # type: ignore[arg-type]
        created_by="u",
        now=now,
    )


# ---------------------------------------------------------------- sources


def test_sources_keep_their_poll_state(any_store: Store, now: datetime) -> None:
    state = any_store.upsert_source(
        "feed", "rss", "https://x.example/f", 600, backfill=5, settings={"a": 1}, now=now
    )
    assert (state.name, state.kind, state.interval_s, state.backfill) == ("feed", "rss", 600, 5)
    assert state.settings == {"a": 1} and state.polls == 0 and state.enabled
    any_store.record_poll_success(
        "feed", now, etag='"e"', last_modified="lm", next_poll_at=now + timedelta(minutes=10)
    )
    state = any_store.source("feed")
    assert state is not None
    assert (state.etag, state.polls, state.backfill) == ('"e"', 1, 0)
    assert state.last_success_at == now and state.next_poll_at == now + timedelta(minutes=10)
    failed = any_store.record_poll_failure(
        "feed", now + timedelta(hours=1), "boom", next_poll_at=now + timedelta(hours=2)
    )
    assert failed is not None
    assert failed.consecutive_failures == 1 and failed.last_error == "boom"
    assert failed.failing_since == now + timedelta(hours=1)
    # The same address keeps its validators; a new address forgets them.
    same = any_store.upsert_source("feed", "rss", "https://x.example/f", 300, now=now)
    assert same.etag == '"e"' and same.interval_s == 300 and same.polls == 1
    moved = any_store.upsert_source("feed", "rss", "https://y.example/f", 300, now=now)
    assert moved.etag is None and moved.last_modified is None
    any_store.upsert_source("b-feed", "greenhouse", "https://b.example", 60, now=now)
    assert [s.name for s in any_store.sources()] == ["b-feed", "feed"]
    assert any_store.remove_source("feed") and not any_store.remove_source("feed")
    assert any_store.source("feed") is None


# ---------------------------------------------------------------- postings


def test_ingest_identity_duplicates_and_changes(any_store: Store, now: datetime) -> None:
    pay = Pay(4000, 5000, "EUR", "month")
    first = any_store.ingest(
        [_posting("1", pay=pay, deadline=now + timedelta(days=9))], now, alert=True
    )
    assert [s.posting.external_id for s in first.new] == ["1"] and first.seen == 1
    stored = any_store.posting(first.new[0].id)
    assert stored is not None and stored.posting == first.new[0].posting
    assert stored.first_seen_at == now
    # An edit is an update, never new; a changed title is a change.
    edited = any_store.ingest(
        [_posting("1", title="Research Intern 1 - ASR", pay=pay)], now, alert=True
    )
    assert (edited.new, edited.updated, edited.changed) == ([], 1, (first.new[0].id,))
    # The same URL on another source is a duplicate of the first.
    copy = any_store.ingest([_posting("1", source="other")], now, alert=True)
    assert copy.new == [] and copy.duplicates == 1
    assert [d.duplicate_of for d in any_store.duplicates_since(now)] == [first.new[0].id]
    # A source's first poll records without alerting.
    quiet = any_store.ingest([_posting("2", url="https://jobs.example/q")], now, alert=False)
    assert quiet.new == []
    assert [s.posting.external_id for s in any_store.alerted_postings_since(now - LEASE)] == ["1"]
    assert {s.posting.external_id for s in any_store.recent_postings(10)} == {"1", "2"}
    assert [s.posting.external_id for s in any_store.source_postings("feed")] == ["2", "1"]
    counts = any_store.counts()
    assert (counts["postings"], counts["distinct_postings"]) == (3, 2)


def test_a_listing_under_a_new_guid_keeps_its_identity(any_store: Store, now: datetime) -> None:
    # Issue #18: a feed whose GUIDs change on every request and that names no author.
    def poll(guid: str, *titles: str, url: str = "") -> list[Posting]:
        return [
            _posting(
                f"{guid}-{n}",
                url=url or f"https://jobs.example/jobs/{n}",
                title=title,
                company="",
            )
            for n, title in enumerate(titles)
        ]

    later = now + timedelta(minutes=10)
    first = any_store.ingest(poll("a", "Speech Intern", "Vision Intern"), now, alert=True)
    assert len(first.new) == 2
    again = any_store.ingest(poll("b", "Speech Intern", "Vision Intern"), later, alert=True)
    assert (again.new, again.updated, again.duplicates, again.changed) == ([], 2, 0, ())
    speech = any_store.posting(first.new[0].id)
    assert speech is not None and speech.posting.external_id == "b-0"
    assert any_store.counts()["postings"] == 2
    # A new title at a job's own page is an edit of that job: a change, not a new alert.
    renamed = poll("c", "Speech Intern (ASR)", "Vision Intern")
    edited = any_store.ingest(renamed, later + timedelta(minutes=10), alert=True)
    assert (edited.new, edited.changed) == ([], (first.new[0].id,))
    # Every item of a board linking to one careers page: each title is its own job.
    careers = "https://acme.example/careers"
    board = any_store.ingest(poll("d", "NLP Intern", "RecSys Intern", url=careers), now, alert=True)
    assert len(board.new) == 2
    grown = poll("e", "NLP Intern", "RecSys Intern", "Robotics Intern", url=careers)
    grew = any_store.ingest(grown, later, alert=True)
    assert [s.posting.title for s in grew.new] == ["Robotics Intern"] and grew.updated == 2
    # Listed together with the original under its own GUID: a copy on one source at one
    # link with the same title and no company is a near-duplicate, never a new alert.
    copy = _posting("e-9", url=careers, title="NLP Intern", company="")
    both = any_store.ingest([*grown, copy], later + timedelta(minutes=10), alert=True)
    assert (both.new, both.updated, both.duplicates) == ([], 3, 1)
    [duplicate] = any_store.duplicates_since(later + timedelta(minutes=10))
    assert duplicate.duplicate_of == board.new[0].id


def test_trace_follows_a_copy_to_the_posting_alerts_are_about(
    any_store: Store, now: datetime
) -> None:
    [root] = any_store.ingest([_posting("1")], now, alert=True).new
    any_store.ingest([_posting("9", source="other", url=root.posting.url)], now, alert=True)
    sub = _subscribe(any_store, now)
    any_store.enqueue([(sub, root.id)], now)
    trace = any_store.trace(url=root.posting.url)
    assert trace is not None
    assert trace.found.id == root.id and trace.posting.id == root.id and trace.alerted
    assert [c.posting.source for c in trace.copies] == ["other"]
    assert [d.subscription.id for d in trace.deliveries] == [sub.id]
    copy_id = trace.copies[0].id
    by_id = any_store.trace(copy_id)
    assert by_id is not None and by_id.found.id == copy_id and by_id.posting.id == root.id
    assert any_store.trace(url="https://nowhere.example") is None


def test_a_board_that_stops_listing_a_posting_closes_it_at_the_second_miss(
    any_store: Store, now: datetime
) -> None:
    [kept, dropped] = any_store.ingest([_posting("1"), _posting("2")], now, alert=True).new
    assert any_store.mark_unlisted("feed", ["1"], now) == []
    assert any_store.mark_unlisted("feed", None, now + LEASE) == [dropped.id]
    closed = any_store.posting(dropped.id)
    assert closed is not None and not closed.posting.active
    again = any_store.ingest([_posting("2")], now + 2 * LEASE, alert=True)
    assert again.changed == (dropped.id,)
    reopened = any_store.posting(dropped.id)
    assert reopened is not None and reopened.posting.active and kept.posting.active


# ---------------------------------------------------------------- subscriptions


def test_subscriptions_round_trip_pause_and_remove(any_store: Store, now: datetime) -> None:
    sub = _subscribe(any_store, now, mode="daily", at="08:30", tz="Europe/Berlin", remind_days=3)
    assert any_store.subscription(sub.id) == sub
    assert sub.filter.areas == frozenset({"speech"}) and sub.schedule.remind_days == 3
    assert sub.created_at == now and sub.last_digest_at == now
    other = _subscribe(any_store, now, channel="d")
    signature = any_store.subscriptions_signature()
    assert [s.id for s in any_store.subscriptions(channel="d")] == [other.id]
    assert any_store.pause_target("slack", "w", "c", "gone", now=now) == [sub.id]
    paused = any_store.subscription(sub.id)
    assert paused is not None and paused.paused and paused.paused_reason == "gone"
    assert any_store.subscriptions_signature() != signature
    any_store.set_paused(sub.id, False, now=now)
    resumed = any_store.subscription(sub.id)
    assert resumed is not None and not resumed.paused and resumed.paused_reason is None
    any_store.set_last_digest(sub.id, now + LEASE)
    assert any_store.subscription(sub.id).last_digest_at == now + LEASE  # type: ignore[union-attr]
    assert any_store.remove_subscription(sub.id) and not any_store.remove_subscription(sub.id)
    assert [s.id for s in any_store.subscriptions()] == [other.id]


def test_subscribe_once_makes_one_subscription_per_filter_and_place(
    any_store: Store, now: datetime
) -> None:
    speech = Filter(areas=frozenset({"speech"}), keywords=("intern",))
    results: list[tuple[int | None, str]] = []

    def subscribe(filter: Filter, channel: str = "c") -> None:
        sub, outcome = any_store.subscribe_once(
            platform="slack",
            workspace="w",
            channel=channel,
            filter=filter,
            schedule=Schedule(),
            created_by="u",
            now=now,
            cap=3,
        )
        results.append((sub.id if sub else None, outcome))

    # Many processes' threads asking at once still make one row: check and insert are one.
    threads = [threading.Thread(target=subscribe, args=(speech,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    [only] = any_store.subscriptions()
    assert sorted(outcome for _, outcome in results) == ["created"] + ["exists"] * 7
    assert {sub_id for sub_id, _ in results} == {only.id}
    results.clear()
    subscribe(Filter(areas=frozenset({"cv"})))
    subscribe(Filter(areas=frozenset({"nlp"})))
    subscribe(Filter(areas=frozenset({"rl"})))  # a fourth filter: the place is full
    subscribe(speech)  # still answered with the one it has
    subscribe(Filter(areas=frozenset({"rl"})), channel="d")  # another place is not full
    assert [outcome for _, outcome in results] == [
        "created",
        "created",
        "full",
        "exists",
        "created",
    ]
    assert results[2][0] is None and results[3][0] == only.id
    assert len(any_store.subscriptions(channel="c")) == 3


# ---------------------------------------------------------------- outbox


def test_outbox_queues_each_pair_once_and_leases_claims(any_store: Store, now: datetime) -> None:
    sub = _subscribe(any_store, now)
    [posting] = any_store.ingest([_posting()], now, alert=True).new
    assert any_store.enqueue([(sub, posting.id)], now, batch="poll-1") == 1
    assert any_store.enqueue([(sub, posting.id)], now) == 0
    [claimed] = any_store.claim(now, lease=LEASE, owner="host:1:a")
    assert (claimed.posting.id, claimed.status, claimed.attempts) == (posting.id, "sending", 1)
    assert claimed.batch == "poll-1" and not claimed.recovered and claimed.subscription == sub
    assert any_store.claim(now + timedelta(minutes=1), lease=LEASE, owner="host:2:b") == []
    assert any_store.lease_owners() == ["host:1:a"]
    # A dead worker's leases end now; its row comes back, flagged as maybe sent.
    assert any_store.expire_leases("host:1:a", now) == 1
    [again] = any_store.claim(now, lease=LEASE, owner="host:2:b")
    assert again.id == claimed.id and again.recovered and again.attempts == 2
    any_store.mark_retry([again.id], now + timedelta(minutes=1), "429")
    assert any_store.claim(now, lease=LEASE, owner="x") == []
    [retried] = any_store.claim(now + timedelta(minutes=1), lease=LEASE, owner="x")
    any_store.mark_sent([retried.id], now, "ts-1", shown=shown_state(posting.posting))
    assert sent_pairs(any_store) == [(sub.id, posting.id)]
    assert any_store.delivery_statuses() == {"sent": 1}
    assert any_store.counts()["sent"] == 1


def test_a_retry_is_looked_up_only_when_its_try_may_have_gone_out(
    any_store: Store, now: datetime
) -> None:
    """#17: a refusal (429, 5xx) is retried as is; a timeout or a crash is looked up first."""
    sub = _subscribe(any_store, now)
    [posting] = any_store.ingest([_posting()], now, alert=True).new
    any_store.enqueue([(sub, posting.id)], now)
    flags = []
    for maybe_sent in (False, True, None, False):
        [row] = any_store.claim(now, lease=LEASE, owner="w")
        flags.append(row.recovered)
        any_store.mark_retry([row.id], now, "try", maybe_sent=maybe_sent)
    [row] = any_store.claim(now, lease=LEASE, owner="w")
    flags.append(row.recovered)
    # never tried; refused; timed out; held (as unsure as before); refused
    assert flags == [False, False, True, True, False]
    # A crash leaves it in flight: unsure, whatever its last try said.
    [row] = any_store.claim(now + LEASE, lease=LEASE, owner="v")
    assert row.recovered and row.queued_at == now


def test_digests_are_claimed_whole_and_retries_wait(any_store: Store, now: datetime) -> None:
    sub = _subscribe(any_store, now, mode="daily")
    new = any_store.ingest([_posting("1"), _posting("2")], now, alert=True).new
    assert any_store.enqueue([(sub, p.id) for p in new], now) == 2
    assert any_store.claim(now, lease=LEASE) == []  # digests are not instant alerts
    rows = any_store.claim_digest(sub.id, now, lease=LEASE, owner="me")
    assert sorted(r.posting.id for r in rows) == sorted(p.id for p in new)
    assert any_store.claim_digest(sub.id, now, lease=LEASE, owner="other") == []
    any_store.mark_retry([r.id for r in rows], now + LEASE, "down")
    assert any_store.digest_retry_waiting(now) == [sub.id]
    any_store.mark_failed([rows[0].id], "channel gone")
    assert any_store.delivery_statuses() == {"failed": 1, "retry": 1}


def test_a_digest_sent_in_part_is_resumed_with_the_same_rows(
    any_store: Store, now: datetime
) -> None:
    """#17: the parts of a grouped message are recorded; its retry takes only its rows."""
    sub = _subscribe(any_store, now, mode="daily")
    first = any_store.ingest([_posting("1"), _posting("2")], now, alert=True).new
    any_store.enqueue([(sub, p.id) for p in first], now)
    rows = any_store.claim_digest(sub.id, now, lease=LEASE, owner="me")
    ids = sorted(r.id for r in rows)
    any_store.group_rows(ids, "digest-a")
    any_store.group_rows(ids, "digest-b")  # a name, once given, stays
    assert any_store.parts_sent("digest-a") == []
    any_store.record_part("digest-a", 0, "ref-0", now)
    any_store.record_part("digest-a", 0, "ref-0-again", now)  # the first record stands
    any_store.record_part("digest-a", 2, "ref-2", now)  # after a gap: not resumable from
    assert any_store.parts_sent("digest-a") == ["ref-0"]
    any_store.mark_retry(ids, now + LEASE, "part 2 failed")
    # A posting queued meanwhile waits for the next digest.
    later = any_store.ingest([_posting("3")], now, alert=True).new
    any_store.enqueue([(sub, p.id) for p in later], now)
    again = any_store.claim_digest(sub.id, now + LEASE, lease=LEASE, owner="me")
    assert sorted(r.id for r in again) == ids
    assert {r.group_key for r in again} == {"digest-a"}
    any_store.mark_sent(ids, now + LEASE, "ref-0,ref-1")
    assert any_store.parts_sent("digest-a") == []  # forgotten once the message is whole
    [rest] = any_store.claim_digest(sub.id, now + LEASE, lease=LEASE, owner="me")
    assert (rest.posting.id, rest.group_key) == (later[0].id, None)
    any_store.group_rows([rest.id], "digest-c")
    any_store.record_part("digest-c", 0, "ref", now)
    any_store.mark_failed([rest.id], "channel gone")
    assert any_store.parts_sent("digest-c") == []


def test_concurrent_claims_never_take_the_same_row(any_store: Store, now: datetime) -> None:
    subs = [_subscribe(any_store, now, channel=f"c{i}") for i in range(4)]
    postings = any_store.ingest([_posting(str(i)) for i in range(25)], now, alert=True).new
    any_store.enqueue([(s, p.id) for s in subs for p in postings], now)
    taken: list[list[int]] = [[] for _ in range(4)]

    def worker(index: int) -> None:
        while batch := any_store.claim(now, limit=7, lease=LEASE, owner=f"w{index}"):
            taken[index].extend(d.id for d in batch)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [i for ids in taken for i in ids]
    assert len(every) == len(set(every)) == 100


def test_a_claim_serves_channels_in_turn_and_caps_each_channels_share(
    any_store: Store, now: datetime
) -> None:
    busy, quiet = (
        _subscribe(any_store, now, channel="busy"),
        _subscribe(any_store, now, channel="quiet"),
    )
    postings = any_store.ingest([_posting(str(i)) for i in range(12)], now, alert=True).new
    any_store.enqueue([(busy, p.id) for p in postings], now)
    # The quiet channel's alert is queued last, behind the busy channel's whole backlog.
    any_store.enqueue([(quiet, postings[0].id)], now)
    first = any_store.claim(now, limit=3, lease=LEASE, owner="me")
    assert [d.subscription.channel for d in first].count("quiet") == 1
    # A share of 4 rows in flight per channel: the busy channel has 2 in flight, so a
    # claim gives it 2 more and no more, however large the limit.
    second = any_store.claim(now, limit=50, lease=LEASE, owner="me", per_channel=4)
    assert [d.subscription.channel for d in second] == ["busy", "busy"]
    assert any_store.claim(now, limit=50, lease=LEASE, owner="me", per_channel=4) == []
    # A new alert of the quiet channel is taken at once, while the busy one waits its turn.
    late = any_store.ingest([_posting("late")], now, alert=True).new
    any_store.enqueue([(quiet, late[0].id)], now)
    third = any_store.claim(now, limit=50, lease=LEASE, owner="me", per_channel=4)
    assert [(d.subscription.channel, d.posting.id) for d in third] == [("quiet", late[0].id)]
    # Sending frees the share: the busy channel's next rows, oldest first.
    any_store.mark_sent([first[0].id], now, "ts-1")
    fourth = any_store.claim(now, limit=50, lease=LEASE, owner="me", per_channel=4)
    assert [d.subscription.channel for d in fourth] == ["busy"]
    assert fourth[0].id == min(d.id for d in fourth) > max(d.id for d in second)


# ---------------------------------------------------------------- follow-ups


def test_edits_reminders_and_notices(any_store: Store, now: datetime) -> None:
    sub = _subscribe(any_store, now, remind_days=3)
    deadline = now + timedelta(days=2)
    [posting] = any_store.ingest([_posting(deadline=deadline)], now, alert=True).new
    any_store.enqueue([(sub, posting.id)], now)
    [delivery] = any_store.claim(now, lease=LEASE)
    any_store.mark_sent([delivery.id], now, "ts-1", shown=shown_state(posting.posting))
    assert any_store.due_edits() == []
    assert any_store.flag_edits([posting.id]) == 1
    [due] = any_store.due_edits()
    any_store.edit_failed(due.id, "timeout", give_up=False, tries=3)
    assert [d.id for d in any_store.due_edits()] == [due.id]
    any_store.edit_done(due.id, shown_state(posting.posting))
    assert any_store.due_edits() == []
    [candidate] = any_store.reminder_candidates(now, timedelta(days=3))
    assert candidate.id == delivery.id
    assert any_store.claim_reminder(sub.id, posting.id, now)
    assert not any_store.claim_reminder(sub.id, posting.id, now)
    any_store.finish_reminder(sub.id, posting.id, "retry", now=now, error="429")
    assert any_store.claim_reminder(sub.id, posting.id, now)
    any_store.finish_reminder(sub.id, posting.id, "sent", now=now, message_ref="r-1")
    assert [r["status"] for r in reminders(any_store)] == ["sent"]
    assert any_store.reminder_candidates(now, timedelta(days=3)) == []
    target = ("slack", "w", "c")
    any_store.add_notice("feed", target, now - LEASE, now)
    any_store.add_notice("feed", target, now - 2 * LEASE, now)  # told once: replaced
    assert any_store.notices("feed") == [target] and any_store.notice_sources() == ["feed"]
    assert any_store.notice_down_since("feed", target) == now - 2 * LEASE
    assert any_store.drop_notice("feed", target)
    assert not any_store.drop_notice("feed", target)  # one process removes it
    assert any_store.notices("feed") == [] and any_store.notice_down_since("feed", target) is None
    # Claimed before sending: one of several processes tells the channel.
    assert any_store.claim_notice("feed", target, now - LEASE, now)
    assert not any_store.claim_notice("feed", target, now, now)
    assert any_store.notice_down_since("feed", target) == now - LEASE


def test_a_transaction_is_all_or_nothing(any_store: Store, now: datetime) -> None:
    with pytest.raises(RuntimeError), any_store.transaction():
        any_store.ingest([_posting()], now, alert=True)
        raise RuntimeError("crash between storing and queueing")
    assert any_store.counts()["postings"] == 0


def test_schema_version_is_current(any_store: Store) -> None:
    assert any_store.schema_version() == SCHEMA_VERSION


def test_a_schema_from_a_newer_release_is_refused(postgres_url: str) -> None:
    import psycopg

    from bot.store.postgres import PostgresStore
    from tests.conftest import empty_postgres

    empty_postgres(postgres_url)
    PostgresStore.open(postgres_url).close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(
            "insert into jobbot_migrations (version, name) values (%s, 'future')",
            [SCHEMA_VERSION + 1],
        )
    newer, known = SCHEMA_VERSION + 1, SCHEMA_VERSION
    with pytest.raises(SchemaTooNewError, match=rf"schema version {newer} .* supports \({known}\)"):
        PostgresStore.open(postgres_url)


def test_a_due_source_is_claimed_by_one_poller_until_its_lease_ends(
    any_store: Store, now: datetime
) -> None:
    for name in ("a", "b", "c"):
        any_store.upsert_source(name, "rss", f"https://{name}.example/f", 600, now=now)
    any_store.record_poll_success(
        "c", now, etag=None, last_modified=None, next_poll_at=now + timedelta(hours=1)
    )
    claimed = any_store.claim_due_sources(now, lease=LEASE, skip={"b"})
    assert [s.name for s in claimed] == ["a"]
    assert [s.name for s in any_store.claim_due_sources(now, lease=LEASE)] == ["b"]
    assert any_store.claim_due_sources(now + timedelta(minutes=1), lease=LEASE) == []
    # The poller died: its lease runs out and another takes the source.
    later = now + LEASE
    assert [s.name for s in any_store.claim_due_sources(later, lease=LEASE)] == ["a", "b"]
    # A finished poll sets the real next time.
    any_store.record_poll_success(
        "a", later, etag=None, last_modified=None, next_poll_at=later + timedelta(minutes=2)
    )
    soon = later + timedelta(minutes=3)
    assert [s.name for s in any_store.claim_due_sources(soon, lease=LEASE)] == ["a"]


def test_a_stopping_poller_gives_back_only_its_own_claims(any_store: Store, now: datetime) -> None:
    for name in ("a", "b"):
        any_store.upsert_source(name, "rss", f"https://{name}.example/f", 600, now=now)
    claimed = any_store.claim_due_sources(now, lease=LEASE)
    claims = {s.name: s.next_poll_at for s in claimed if s.next_poll_at is not None}
    assert set(claims) == {"a", "b"} and all(claims.values())
    # "b"'s lease ran out while its poll hung, and another process claimed it again.
    later = now + LEASE
    [retaken] = any_store.claim_due_sources(later, lease=LEASE, skip={"a"})
    assert retaken.name == "b"
    stopping = later + timedelta(seconds=1)
    assert any_store.release_sources(claims, stopping) == 1  # "a" only
    assert [s.name for s in any_store.claim_due_sources(stopping, lease=LEASE)] == ["a"]


def test_concurrent_source_claims_share_nothing(any_store: Store, now: datetime) -> None:
    for number in range(40):
        any_store.upsert_source(f"s{number:02}", "rss", f"https://x.example/{number}", 60, now=now)
    taken: list[list[str]] = [[] for _ in range(4)]

    def poller(index: int) -> None:
        for _ in range(20):
            taken[index].extend(s.name for s in any_store.claim_due_sources(now, lease=LEASE))

    threads = [threading.Thread(target=poller, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [name for names in taken for name in names]
    assert sorted(every) == [f"s{number:02}" for number in range(40)]


def test_bringing_rows_forward_never_touches_a_claimed_or_sent_row(
    any_store: Store, now: datetime
) -> None:
    sub = _subscribe(any_store, now)
    ids = [s.id for s in any_store.ingest([_posting("1"), _posting("2")], now, alert=True).new]
    any_store.enqueue([(sub, i) for i in ids], now)
    claimed = any_store.claim(now, lease=LEASE, owner="a")
    later = now + timedelta(hours=1)
    any_store.mark_retry([claimed[0].id], later, "503")
    any_store.mark_sent([claimed[1].id], now, message_ref="m1")
    assert any_store.bring_forward([d.id for d in claimed], now, "works again") == 1
    [again] = any_store.claim(now + timedelta(seconds=1), lease=LEASE, owner="b")
    assert again.id == claimed[0].id
    assert sorted(sent_pairs(any_store)) == [(sub.id, claimed[1].posting.id)]
