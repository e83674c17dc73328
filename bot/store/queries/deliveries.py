"""Outbox rows joined with their subscription and posting, as ``Delivery`` values."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.store.dialect import SqlBase, marks
from bot.store.records import Delivery
from bot.store.rows import _dt, _row_state, _stored_from, _subscription_from

_SUBSCRIPTION_COLUMNS = (
    "platform",
    "workspace",
    "channel",
    "filter",
    "mode",
    "at",
    "tz",
    "weekday",
    "mention",
    "remind_days",
    "created_by",
    "created_at",
    "paused",
    "paused_reason",
    "paused_at",
    "last_digest_at",
)


class DeliveryReader(SqlBase):
    """The one join every outbox, edit and reminder reader shares."""

    def _deliveries(self, where: str, params: Sequence[Any]) -> list[Delivery]:
        rows = self._query(
            "select d.id as d_id, d.kind as d_kind, d.status as d_status,"
            " d.attempts as d_attempts, d.batch as d_batch, d.recovered as d_recovered,"
            " d.sent_at as d_sent_at, d.message_ref as d_message_ref, d.error as d_error,"
            " d.next_attempt_at as d_next_attempt_at, d.shown as d_shown,"
            " d.created_at as d_created_at,"
            " d.group_key as d_group_key,"
            " s.*, p.* , p.id as p_id, s.id as s_id"
            " from deliveries d join subscriptions s on s.id = d.subscription_id"
            f" join postings p on p.id = d.posting_id where {where}",
            params,
        )
        result = []
        for row in rows:
            sub_row = {k: row[k] for k in _SUBSCRIPTION_COLUMNS}
            sub_row["id"] = row["s_id"]
            post_row = dict(row)
            post_row["id"] = row["p_id"]
            result.append(
                Delivery(
                    id=row["d_id"],
                    subscription=_subscription_from(sub_row),
                    posting=_stored_from(post_row),
                    kind=row["d_kind"],
                    status=row["d_status"],
                    attempts=row["d_attempts"],
                    batch=row["d_batch"],
                    recovered=bool(row["d_recovered"]),
                    sent_at=_dt(row["d_sent_at"]),
                    message_ref=row["d_message_ref"],
                    error=row["d_error"],
                    next_attempt_at=_dt(row["d_next_attempt_at"]),
                    queued_at=_dt(row["d_created_at"]),
                    shown=row["d_shown"],
                    group_key=row["d_group_key"],
                )
            )
        return result

    def _flag_if_stale(self, ids: Sequence[int]) -> None:
        """Flag for an edit the sent alerts whose shown state is no longer the posting's."""
        stale = [
            (row[0],)
            for row in self._tuples(
                "select d.id, d.shown, p.active, p.title, p.deadline from deliveries d"
                f" join postings p on p.id = d.posting_id where d.id in ({marks(ids)})"
                " and d.shown is not null",
                list(ids),
            )
            if row[1] != _row_state(row[2], row[3], row[4])
        ]
        if stale:
            self._executemany("update deliveries set edit_due = 1 where id = ?", stale)

    # ------------------------------------------------------------ edits
