"""The SQLite schema, as sqlite-utils migrations m001–m007.

Each migration is applied once, in order, inside a transaction; a database made by an
older release is upgraded on open. Never edit a released migration: add a new one (and
its PostgreSQL twin in ``bot/store/postgres/migrations.py``, with the same number).
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from bot.errors import SchemaTooNewError
from bot.postings.dedup import company_key, title_key
from bot.store.records import SCHEMA_VERSION

__all__ = ["apply", "migrations", "pending", "schema_version"]

migrations = Migrations("jobbot")


@migrations()
def m001_initial(db: Database) -> None:
    """Sources with poll state, postings, subscriptions and the delivery outbox."""
    db.table("sources").create(
        {
            "name": str,
            "kind": str,
            "url": str,
            "interval_s": int,
            "enabled": int,
            "backfill": int,
            "etag": str,
            "last_modified": str,
            "polls": int,
            "last_polled_at": str,
            "last_success_at": str,
            "last_error": str,
            "consecutive_failures": int,
            "next_poll_at": str,
            "added_at": str,
            "settings": str,
        },
        pk="name",
        not_null={"kind", "url", "interval_s"},
        defaults={"enabled": 1, "backfill": 0, "polls": 0, "consecutive_failures": 0},
    )
    db.table("postings").create(
        {
            "id": int,
            "source": str,
            "external_id": str,
            "url": str,
            "title": str,
            "company": str,
            "locations": str,
            "countries": str,
            "remote": int,
            "areas": str,
            "degree": str,
            "is_posting": int,
            "is_internship": int,
            "posted_at": str,
            "pay": str,
            "duration": str,
            "deadline": str,
            "description": str,
            "active": int,
            "first_seen_at": str,
            "last_seen_at": str,
            "duplicate_of": int,
            "alerted": int,
        },
        pk="id",
        not_null={"source", "external_id", "title"},
    )
    db.table("postings").create_index(["source", "external_id"], unique=True)
    db.table("postings").create_index(["url"])
    db.table("subscriptions").create(
        {
            "id": int,
            "platform": str,
            "workspace": str,
            "channel": str,
            "filter": str,
            "mode": str,
            "at": str,
            "tz": str,
            "weekday": str,
            "created_by": str,
            "created_at": str,
            "paused": int,
            "paused_reason": str,
            "paused_at": str,
            "last_digest_at": str,
        },
        pk="id",
        not_null={"platform", "channel", "filter", "mode"},
        defaults={"paused": 0},
    )
    db.table("subscriptions").create_index(["platform", "workspace", "channel"])
    db.table("deliveries").create(
        {
            "id": int,
            "subscription_id": int,
            "posting_id": int,
            "kind": str,
            "status": str,
            "attempts": int,
            "next_attempt_at": str,
            "lease_until": str,
            "error": str,
            "created_at": str,
            "sent_at": str,
            "message_ref": str,
        },
        pk="id",
        not_null={"subscription_id", "posting_id", "kind", "status"},
        defaults={"attempts": 0},
        foreign_keys=[("posting_id", "postings", "id")],
    )
    # The outbox promise: nobody is alerted twice for one posting, across restarts.
    db.table("deliveries").create_index(["subscription_id", "posting_id"], unique=True)
    db.table("deliveries").create_index(["status", "next_attempt_at"])


@migrations()
def m002_near_duplicate_keys(db: Database) -> None:
    """Index near-duplicate lookups (company + normalised title) instead of scanning."""
    db.table("postings").add_column("company_key", str)
    db.table("postings").add_column("title_key", str)
    rows = list(db.query("select id, company, title from postings"))
    for row in rows:
        db.execute(
            "update postings set company_key = ?, title_key = ? where id = ?",
            [company_key(row["company"] or ""), title_key(row["title"] or ""), row["id"]],
        )
    db.table("postings").create_index(["company_key", "title_key"])


@migrations()
def m003_delivery_recovery(db: Database) -> None:
    """Outbox recovery: who holds a lease, which poll queued a row, rows taken over."""
    # lease_owner: the worker (host:pid:token) that claimed a row, so that a restart can
    # take back the rows of a worker that died without waiting for its lease to run out.
    db.table("deliveries").add_column("lease_owner", str)
    # batch: the poll that queued the row; a burst is counted per poll and channel.
    db.table("deliveries").add_column("batch", str)
    # recovered: 1 when the row was claimed from an expired `sending` lease, so the worker
    # asks the platform whether the message already went before sending it again.
    db.table("deliveries").add_column("recovered", int)


@migrations()
def m004_alerts_that_stay_true(db: Database) -> None:
    """Mentions and reminders per subscription; edits, closures and source notices."""
    db.table("subscriptions").add_column("mention", str)
    db.table("subscriptions").add_column("remind_days", int)
    # shown: what a single alert showed when sent (closed? title, deadline), so a change
    # edits it once; null for grouped messages and digests, which are never edited.
    db.table("deliveries").add_column("shown", str)
    db.table("deliveries").add_column("edit_due", int)
    db.table("deliveries").add_column("edit_attempts", int)
    db.table("deliveries").create_index(["edit_due"])
    db.table("deliveries").create_index(["posting_id"])
    # missing_polls: full-board polls in a row that no longer listed the posting.
    db.table("postings").add_column("missing_polls", int)
    db.table("postings").add_column("closed_at", str)
    db.table("postings").create_index(["deadline"])
    # failing_since: when the current run of failed polls began (null when healthy).
    db.table("sources").add_column("failing_since", str)
    # A source already failing at the upgrade has failed since its last poll at least.
    db.execute("update sources set failing_since = last_polled_at where consecutive_failures > 0")
    db.table("reminders").create(
        {
            "subscription_id": int,
            "posting_id": int,
            "status": str,
            "created_at": str,
            "sent_at": str,
            "message_ref": str,
            "error": str,
        },
        pk=("subscription_id", "posting_id"),
    )
    db.table("source_notices").create(
        {
            "source": str,
            "platform": str,
            "workspace": str,
            "channel": str,
            "down_since": str,
            "notified_at": str,
        },
        pk=("source", "platform", "workspace", "channel"),
    )


@migrations()
def m005_edit_due_index_partial(db: Database) -> None:
    """Index only the deliveries waiting for an edit (``edit_due = 1``), a handful at a time.

    Every alert queued paid for an entry in the full index, though nearly every row's
    ``edit_due`` is null (never changed) or 0 (edited); the one query that reads it asks
    for ``edit_due = 1``, which the partial index answers.
    """
    db.execute("drop index if exists idx_deliveries_edit_due")
    db.execute("create index idx_deliveries_edit_due on deliveries (edit_due) where edit_due = 1")


@migrations()
def m006_corrections_and_evidence(db: Database) -> None:
    """Keep people's corrections of postings, and where each fact of a posting was read.

    ``corrections`` holds one correction per posting (issue #15), applied over every later
    poll's reading; ``postings.evidence`` is the JSON list of (field, origin) pairs.
    """
    db.execute("alter table postings add column evidence text not null default '[]'")
    db.execute(
        "create table corrections (posting_id integer primary key references postings(id),"
        " fields text not null, by_who text not null default '', at text not null)"
    )


@migrations()
def m007_grouped_message_parts(db: Database) -> None:
    """Send grouped messages (digests, bursts) exactly once, part by part (issue #17).

    ``deliveries.group_key`` names the grouped message a row first went out in; it stays
    across retries, so that a retry sends the same rows as the same message.
    ``message_parts`` holds each part of it that reached its channel, so that a retry
    resumes at the first part not sent.
    """
    db.execute("alter table deliveries add column group_key text")
    db.execute(
        "create table message_parts (group_key text not null, part integer not null,"
        " message_ref text not null, sent_at text not null, primary key (group_key, part))"
    )


_ALL = (
    m001_initial,
    m002_near_duplicate_keys,
    m003_delivery_recovery,
    m004_alerts_that_stay_true,
    m005_edit_due_index_partial,
    m006_corrections_and_evidence,
    m007_grouped_message_parts,
)
assert len(_ALL) == SCHEMA_VERSION


def schema_version(db: Database) -> int:
    """How many migrations this database has applied."""
    return len(migrations.applied(db))


def pending(db: Database) -> bool:
    """Whether ``db`` lacks a migration of this code (a new file, or an older release's)."""
    return schema_version(db) < SCHEMA_VERSION


def apply(db: Database, where: str) -> None:
    """Upgrade ``db`` to this code's schema; refuse one written by a newer release."""
    known = {m.__name__ for m in _ALL}
    applied = [m.name for m in migrations.applied(db)]
    if unknown := [name for name in applied if name not in known]:
        raise SchemaTooNewError(where, len(applied), SCHEMA_VERSION, unknown)
    migrations.apply(db)
