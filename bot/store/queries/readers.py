"""Readers of postings: one posting, the newest, a trace for `/jobs why`, summary counts."""

from __future__ import annotations

from datetime import datetime

from bot.store.queries.deliveries import DeliveryReader
from bot.store.records import PostingTrace, StoredPosting
from bot.store.rows import _stored_from, _ts


class PostingReaders(DeliveryReader):
    """Questions about what is stored, asked by commands, catch-ups and follow-ups."""

    def posting(self, posting_id: int) -> StoredPosting | None:
        """One stored posting by row id."""
        rows = self._query("select * from postings where id = ?", [posting_id])
        return _stored_from(rows[0]) if rows else None

    def recent_postings(self, limit: int = 500) -> list[StoredPosting]:
        """The newest distinct postings (duplicates left out), newest first."""
        rows = self._query(
            "select * from postings where duplicate_of is null"
            " order by coalesce(posted_at, first_seen_at) desc, id desc limit ?",
            [limit],
        )
        return [_stored_from(r) for r in rows]

    def trace(self, posting_id: int | None = None, url: str | None = None) -> PostingTrace | None:
        """What happened to one posting, found by row id or by (canonical) URL."""
        if posting_id is not None:
            rows = self._query("select * from postings where id = ?", [posting_id])
        else:
            rows = self._query(
                "select * from postings where url = ? order by duplicate_of is not null, id",
                [url or ""],
            )
        if not rows:
            return None
        found = rows[0]
        root_id = found["duplicate_of"] or found["id"]
        root = found
        if root_id != found["id"]:
            root = self._query("select * from postings where id = ?", [root_id])[0]
        copies = self._query("select * from postings where duplicate_of = ? order by id", [root_id])
        return PostingTrace(
            found=_stored_from(found),
            posting=_stored_from(root),
            alerted=bool(root["alerted"]),
            copies=tuple(_stored_from(r) for r in copies),
            deliveries=tuple(self._deliveries("d.posting_id = ? order by d.id", [root_id])),
            reminders=tuple(self._query("select * from reminders where posting_id = ?", [root_id])),
        )

    def alerted_postings_since(self, since: datetime, limit: int = 1000) -> list[StoredPosting]:
        """Postings first seen after ``since`` that were new enough to alert, newest first.

        Leaves out duplicates and the silently recorded backlog of a source's first poll:
        what a catch-up owes is what instant alerts would have carried.
        """
        rows = self._query(
            "select * from postings where duplicate_of is null and alerted = 1"
            " and first_seen_at > ? order by first_seen_at desc, id desc limit ?",
            [_ts(since), limit],
        )
        return [_stored_from(r) for r in rows]

    def duplicates_since(self, since: datetime, limit: int = 10_000) -> list[StoredPosting]:
        """Postings first seen at or after ``since`` that were merged into an earlier one."""
        rows = self._query(
            "select * from postings where duplicate_of is not null and first_seen_at >= ?"
            " order by id limit ?",
            [_ts(since), limit],
        )
        return [_stored_from(r) for r in rows]

    # ------------------------------------------------------------ subscriptions
    def source_postings(self, source: str, limit: int = 500) -> list[StoredPosting]:
        """A source's newest distinct postings (to see which channels rely on it)."""
        rows = self._query(
            "select * from postings where source = ? and duplicate_of is null"
            " order by id desc limit ?",
            [source, limit],
        )
        return [_stored_from(r) for r in rows]

    def delivery_statuses(self) -> dict[str, int]:
        """How many outbox rows are in each status."""
        return {
            r["status"]: int(r["n"])
            for r in self._query("select status, count(*) as n from deliveries group by status")
        }

    def counts(self) -> dict[str, int]:
        """Row counts for the summary lines."""
        one = self._scalar
        return {
            "postings": int(one("select count(*) from postings")),
            "distinct_postings": int(
                one("select count(*) from postings where duplicate_of is null")
            ),
            "subscriptions": int(one("select count(*) from subscriptions")),
            "sources": int(one("select count(*) from sources")),
            "sent": int(one("select count(*) from deliveries where status = 'sent'")),
            "pending": int(
                one(
                    "select count(*) from deliveries"
                    " where status in ('pending', 'retry', 'sending')"
                )
            ),
        }
