"""The store: migrations from an older schema, identity and dedup, the outbox promise."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlite_utils import Database

from bot.errors import SchemaTooNewError
from bot.postings.model import Posting
from bot.store import SCHEMA_VERSION, Store, migrations
from subscriptions.model import Filter, Schedule
from tests.conftest import NOW
from tests.store_readers import sent_pairs


def _posting(external_id: str = "1", **changes: object) -> Posting:
    base = Posting(
        source="feed",
        external_id=external_id,
        url=f"https://jobs.example/{external_id}",
        title="Research Intern - Speech Recognition (PhD), Aachen",
        company="Acme Speech GmbH",
        countries=("DE",),
        areas=("speech",),
        degree="phd-only",
        is_internship=True,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_database_from_the_first_version_upgrades_without_losing_rows(tmp_path: Path, now) -> None:
    path = tmp_path / "old.db"
    old = Database(path)
    migrations.apply(old, stop_before="m002_near_duplicate_keys")
    assert "company_key" not in old.table("postings").columns_dict
    old.table("sources").insert(
        {
            "name": "feed",
            "kind": "rss",
            "url": "https://x.example/f",
            "interval_s": 600,
            "etag": '"abc"',
            "polls": 3,
        }
    )
    old.table("postings").insert(
        {
            "source": "feed",
            "external_id": "1",
            "title": "ML Intern",
            "company": "Acme, Inc.",
            "url": "https://x.example/1",
            "first_seen_at": "2026-11-01T00:00:00.000000+00:00",
            "last_seen_at": "2026-11-01T00:00:00.000000+00:00",
        }
    )
    old.table("subscriptions").insert(
        {
            "platform": "console",
            "workspace": "w",
            "channel": "c",
            "filter": '{"areas": ["ml"]}',
            "mode": "instant",
        }
    )
    old.close()

    store = Store.open(path)
    assert store.schema_version() == SCHEMA_VERSION
    assert store.source("feed").etag == '"abc"'
    assert store.source("feed").polls == 3
    row = next(store.db.query("select company_key, title_key from postings"))
    assert row == {"company_key": "acme", "title_key": "ml intern"}
    assert store.subscriptions()[0].filter == Filter(areas=frozenset({"ml"}))
    store.close()
    # Opening again applies nothing twice.
    assert Store.open(path).schema_version() == SCHEMA_VERSION


def test_same_source_and_id_is_one_posting_and_an_edit_never_realerts(store: Store, now) -> None:
    first = store.ingest([_posting()], now, alert=True)
    assert len(first.new) == 1
    edited = store.ingest(
        [_posting(title="Research Intern, Speech (PhD) - Aachen")],
        now + timedelta(hours=1),
        alert=True,
    )
    assert (len(edited.new), edited.updated) == (0, 1)
    assert store.posting(first.new[0].id).posting.title.startswith("Research Intern, Speech")


def test_same_canonical_url_on_another_source_is_a_duplicate(store: Store, now) -> None:
    store.ingest([_posting()], now, alert=True)
    other = _posting(
        "x9", source="other-feed", company="Someone Else", url="https://jobs.example/1"
    )
    result = store.ingest([other], now, alert=True)
    assert (result.new, result.duplicates) == ([], 1)


def test_near_duplicates_merge_but_other_years_and_countries_do_not(store: Store, now) -> None:
    store.ingest([_posting(title="2026 Applied Science Intern – NLP")], now, alert=True)
    repost = _posting(
        "2",
        url="https://elsewhere.example/2",
        title="2026 Applied Science Intern - NLP",
        company="ACME Speech",
    )
    next_year = _posting(
        "3", url="https://jobs.example/3", title="2027 Applied Science Intern – NLP"
    )
    elsewhere = _posting(
        "4",
        url="https://jobs.example/4",
        title="2026 Applied Science Intern – NLP",
        countries=("US",),
    )
    late = _posting("5", url="https://jobs.example/5", title="2026 Applied Science Intern – NLP")
    result = store.ingest([repost, next_year, elsewhere], now + timedelta(days=3), alert=True)
    assert [s.posting.external_id for s in result.new] == ["3", "4"]
    assert result.duplicates == 1
    # Seen again within the window keeps the original fresh; 61 days of silence ends it.
    later = store.ingest([late], now + timedelta(days=3 + 61), alert=True)
    assert [s.posting.external_id for s in later.new] == ["5"]


def test_first_poll_records_without_alerting(store: Store, now) -> None:
    assert store.ingest([_posting()], now, alert=False).new == []
    assert store.ingest([_posting()], now, alert=True).new == []


def test_outbox_key_is_unique_and_claims_are_leased(store: Store, now) -> None:
    sub = store.add_subscription(
        platform="console",
        workspace="w",
        channel="c",
        filter=Filter(),
        schedule=Schedule(),
        created_by="t",
        now=now,
    )
    posting_id = store.ingest([_posting()], now, alert=True).new[0].id
    assert store.enqueue([(sub, posting_id)], now) == 1
    assert store.enqueue([(sub, posting_id)], now) == 0
    claimed = store.claim(now, lease=timedelta(minutes=5))
    assert [d.posting.id for d in claimed] == [posting_id]
    # Leased: not claimed again until the lease runs out (a crashed worker's rows come back).
    assert store.claim(now + timedelta(minutes=1), lease=timedelta(minutes=5)) == []
    again = store.claim(now + timedelta(minutes=6), lease=timedelta(minutes=5))
    assert [d.id for d in again] == [claimed[0].id]
    store.mark_sent([claimed[0].id], now)
    assert store.claim(now + timedelta(hours=1), lease=timedelta(minutes=5)) == []
    assert sent_pairs(store) == [(sub.id, posting_id)]


def test_pause_target_pauses_a_whole_channel_with_a_reason(store: Store, now) -> None:
    for channel in ("c1", "c1", "c2"):
        store.add_subscription(
            platform="slack",
            workspace="T1",
            channel=channel,
            filter=Filter(),
            schedule=Schedule(),
            created_by="u",
            now=now,
        )
    assert store.pause_target("slack", "T1", "c1", "channel_not_found", now=now) == [1, 2]
    assert [s.paused_reason for s in store.subscriptions()] == [
        "channel_not_found",
        "channel_not_found",
        None,
    ]


# ---------------------------------------------------------------- batch ingest
# Each id has URLs of its own on a source (another source may share them): an item under a
# new id at a URL its source used for another id may continue that listing (#18), which is
# decided for a whole poll, not item by item, so one-by-one ingest is no reference for it.
_batch_posting = st.builds(
    lambda source, eid, url, title, company, country: _posting(
        eid,
        source=source,
        url=f"https://jobs.example/{url}{eid}" if url else "",
        title=title,
        company=company,
        countries=(country,),
    ),
    st.sampled_from(["feed", "other-feed"]),
    st.sampled_from(["1", "2", "3", "4"]),
    st.sampled_from(["", "a", "b"]),
    st.sampled_from(["2026 NLP Intern", "2026 NLP intern!", "2027 NLP Intern", "Speech Intern"]),
    st.sampled_from(["", "Acme GmbH", "ACME", "Other Co"]),
    st.sampled_from(["DE", "US"]),
)


def _snapshot(store: Store) -> list[tuple]:
    return [
        tuple(r)
        for r in store.db.execute(
            "select id, source, external_id, url, title, duplicate_of, alerted, last_seen_at"
            " from postings order by id"
        )
    ]


@given(
    st.lists(_batch_posting, max_size=6),
    st.lists(_batch_posting, min_size=1, max_size=8),
    st.integers(min_value=0, max_value=70),
)
@settings(max_examples=150, deadline=None)
def test_batch_ingest_stores_exactly_what_one_by_one_ingest_stores(before, batch, days) -> None:
    later = NOW + timedelta(days=days)
    one_by_one, batched = Store.memory(), Store.memory()
    try:
        for store in (one_by_one, batched):
            store.ingest(before, NOW, alert=True)
        singles = [one_by_one.ingest([p], later, alert=True) for p in batch]
        together = batched.ingest(batch, later, alert=True)
        assert [s.id for r in singles for s in r.new] == [s.id for s in together.new]
        assert sum(r.duplicates for r in singles) == together.duplicates
        assert sum(r.updated for r in singles) == together.updated
        assert _snapshot(one_by_one) == _snapshot(batched)
    finally:
        one_by_one.close()
        batched.close()


_feed_item = st.builds(
    lambda eid, url, title, company, country: _posting(
        eid, url=url, title=title, company=company, countries=(country,)
    ),
    st.sampled_from([str(n) for n in range(12)]),
    st.sampled_from(
        ["https://jobs.example/careers", "https://jobs.example/jobs/7", "https://b.example/"]
    ),
    st.sampled_from(["2026 NLP Intern", "2026 NLP intern!", "2027 NLP Intern", "Speech Intern"]),
    st.sampled_from(["", "Acme GmbH", "ACME", "Other Co"]),
    st.sampled_from(["DE", "US"]),
)


@given(
    st.lists(_feed_item, min_size=1, max_size=8, unique_by=lambda p: p.external_id),
    st.integers(min_value=0, max_value=59),
)
@settings(max_examples=150, deadline=None)
def test_a_feed_that_renames_every_guid_adds_nothing_when_polled_again(batch, days) -> None:
    # Issue #18: the same items under new GUIDs are the listings already stored, however
    # many share a link or a title: no row and no alert, every item an update.
    store = Store.memory()
    try:
        store.ingest(batch, NOW, alert=True)
        before = store.counts()["postings"]
        renamed = [replace(p, external_id=f"{p.external_id}-again") for p in batch]
        later = NOW + timedelta(days=days, minutes=1)
        again = store.ingest(renamed, later, alert=True)
        assert (again.new, again.duplicates, again.updated) == ([], 0, len(batch))
        assert store.counts()["postings"] == before
        ids = {r["external_id"] for r in store._query("select external_id from postings")}
        assert ids == {p.external_id for p in renamed}
    finally:
        store.close()


def test_ingest_looks_postings_up_by_index_never_by_scanning_them(store: Store, now) -> None:
    # "Near-duplicate lookup indexed, not a scan of all postings" (issue #8): every query
    # a batch makes on the postings table searches an index, however big the table.
    store.ingest(
        [_posting(str(i), url=f"https://jobs.example/{i}") for i in range(30)], now, alert=True
    )
    statements: list[str] = []
    store.db.conn.set_trace_callback(statements.append)
    try:
        batch = [
            _posting("1"),
            _posting("new", url="https://other.example/new", source="other"),
            _posting("2", title="Applied Scientist Intern"),  # several near-duplicate keys
        ]
        store.ingest(batch, now, alert=True)
    finally:
        store.db.conn.set_trace_callback(None)
    lookups = [s for s in statements if s.lstrip().lower().startswith("select") and "postings" in s]
    assert len(lookups) >= 3  # identities, URLs, near-duplicate keys
    for sql in lookups:
        plan = " | ".join(row[3] for row in store.db.execute(f"explain query plan {sql}"))
        assert "SCAN postings" not in plan and "SCAN p " not in f"{plan} ", (sql, plan)


def test_a_version_4_database_gets_the_partial_edit_index_and_keeps_its_rows(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v4.db"
    old = Database(path)
    migrations.apply(old, stop_before="m005_edit_due_index_partial")
    stamp = "2026-11-01T00:00:00.000000+00:00"
    for posting_id in (1, 2):
        old.table("postings").insert(
            {"id": posting_id, "source": "feed", "external_id": str(posting_id)}
            | {"title": "ML Intern", "first_seen_at": stamp, "last_seen_at": stamp}
        )
    old.table("subscriptions").insert(
        {"id": 1, "platform": "console", "workspace": "w", "channel": "c"}
        | {"filter": "{}", "mode": "instant", "created_at": stamp}
    )
    # A sent alert waiting for an edit, and one that never needed any (edit_due null).
    for posting_id, edit_due in ((1, 1), (2, None)):
        old.table("deliveries").insert(
            {"subscription_id": 1, "posting_id": posting_id, "kind": "instant"}
            | {"status": "sent", "edit_due": edit_due, "message_ref": "m", "shown": "[]"}
        )
    old.close()

    store = Store.open(path)
    assert store.schema_version() == SCHEMA_VERSION
    assert store.db.execute("select count(*) from deliveries").fetchone()[0] == 2
    [index_sql] = [
        row[0]
        for row in store.db.execute(
            "select sql from sqlite_master where name = 'idx_deliveries_edit_due'"
        )
    ]
    assert "where edit_due = 1" in index_sql.lower()
    assert [d.posting.id for d in store.due_edits()] == [1]
    plan = " | ".join(
        row[3]
        for row in store.db.execute(
            "explain query plan select id from deliveries d where d.edit_due = 1"
        )
    )
    assert "idx_deliveries_edit_due" in plan
    store.close()


def test_background_checkpoints_copy_the_wal_and_stop_with_the_store(tmp_path: Path, now) -> None:
    assert not Store.memory().checkpoint_in_background()  # no WAL in memory
    store = Store.open(tmp_path / "bg.db")
    assert store.checkpoint_in_background() and store.checkpoint_in_background()
    checkpointer = store._checkpointer
    assert checkpointer is not None and checkpointer._thread.is_alive()
    assert store.db.execute("pragma wal_autocheckpoint").fetchone()[0] > 1000
    for i in range(20):
        with store.transaction():
            store.ingest([_posting(str(i), url=f"https://jobs.example/{i}")], now, alert=True)
    # The thread copies what was committed into the database file, without the writer's
    # help (its own checkpoint waits for 10,000 pages): read the file alone, not the WAL.
    in_file = 0
    for _ in range(100):
        with contextlib.suppress(sqlite3.Error):  # the tables may not be copied yet
            file_only = sqlite3.connect(f"file:{tmp_path / 'bg.db'}?immutable=1", uri=True)
            try:
                in_file = file_only.execute("select count(*) from postings").fetchone()[0]
            finally:
                file_only.close()
        if in_file == 20:
            break
        time.sleep(0.05)
    assert in_file == 20
    store.close()
    assert not checkpointer._thread.is_alive()
    again = Store.open(tmp_path / "bg.db")
    assert again.db.execute("select count(*) from postings").fetchone()[0] == 20
    again.close()


def test_a_database_from_a_newer_release_is_refused_naming_both_versions(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    Store.open(path).close()
    db = Database(path)
    future = f"m{SCHEMA_VERSION + 1:03d}_future"
    db["_sqlite_migrations"].insert(
        {"migration_set": "jobbot", "name": future, "applied_at": "2027-01-01"}
    )
    db.close()
    with pytest.raises(SchemaTooNewError) as raised:
        Store.open(path)
    assert f"schema version {SCHEMA_VERSION + 1}" in str(raised.value)
    assert f"supports ({SCHEMA_VERSION})" in str(raised.value)
    assert future in str(raised.value)
