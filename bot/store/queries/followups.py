"""Follow-ups: edits of sent alerts, deadline reminders, notices that a source is down."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal

from bot.store.dialect import chunks, marks
from bot.store.queries.deliveries import DeliveryReader
from bot.store.records import Delivery
from bot.store.rows import _dt, _ts


class FollowupQueries(DeliveryReader):
    """What happens after an alert went out."""

    def flag_edits(self, posting_ids: Sequence[int]) -> int:
        """Ask for the single alerts sent for these postings to be edited (they changed).

        A merged copy that changed stands for the posting it was merged into, which is
        what alerts are about.
        """
        flagged = 0
        with self._atomic():
            for chunk in chunks(list(posting_ids)):
                flagged += self._execute(
                    "update deliveries set edit_due = 1, edit_attempts = 0 where posting_id in"
                    " (select coalesce(duplicate_of, id) from postings"
                    f" where id in ({marks(chunk)}))"
                    " and status = 'sent' and shown is not null and message_ref is not null",
                    list(chunk),
                )
        return flagged

    def due_edits(self, limit: int = 100) -> list[Delivery]:
        """Sent alerts waiting to be edited, fewest failed tries first, then oldest."""
        return self._deliveries(
            "d.edit_due = 1 order by coalesce(d.edit_attempts, 0), d.id limit ?", [limit]
        )

    def edit_done(self, delivery_id: int, shown: str | None) -> None:
        """The alert now shows ``shown`` (or was left alone because it already did).

        If the posting changed again while the edit was on its way, it stays due.
        """
        with self._atomic():
            self._execute(
                "update deliveries set edit_due = 0, shown = coalesce(?, shown) where id = ?",
                [shown, delivery_id],
            )
            self._flag_if_stale([delivery_id])

    def edit_failed(self, delivery_id: int, error: str, *, give_up: bool, tries: int) -> None:
        """An edit did not go through: try again on a later pass, or never.

        Never when ``give_up`` (the message is gone) or after ``tries`` failed tries.
        """
        with self._atomic():
            self._execute(
                "update deliveries set edit_due = case when ? = 1 or coalesce(edit_attempts, 0) + 1"
                " >= ? then 0 else 1 end, error = ?,"
                " edit_attempts = coalesce(edit_attempts, 0) + 1 where id = ?",
                [int(give_up), tries, f"edit: {error}"[:500], delivery_id],
            )

    # ------------------------------------------------------------ reminders

    def reminder_candidates(self, now: datetime, horizon: timedelta) -> list[Delivery]:
        """Sent alerts of open postings whose deadline is ahead (within ``horizon``), for
        subscriptions that asked for reminders and have not had one for that posting."""
        return self._deliveries(
            "d.status = 'sent' and s.remind_days > 0 and s.paused = 0 and p.active = 1"
            " and p.deadline > ? and p.deadline <= ? and not exists (select 1 from reminders r"
            " where r.subscription_id = d.subscription_id and r.posting_id = d.posting_id"
            " and r.status != 'retry') order by p.deadline, d.id",
            [_ts(now), _ts(now + horizon)],
        )

    def claim_reminder(self, sub_id: int, posting_id: int, now: datetime) -> bool:
        """Take the one reminder of (subscription, posting); False if it is already taken."""
        with self._atomic():
            return (
                self._execute(
                    "insert into reminders (subscription_id, posting_id, status, created_at)"
                    " values (?, ?, 'sending', ?) on conflict (subscription_id, posting_id)"
                    " do update set status = 'sending' where reminders.status = 'retry'",
                    [sub_id, posting_id, _ts(now)],
                )
                > 0
            )

    def finish_reminder(
        self,
        sub_id: int,
        posting_id: int,
        status: Literal["sent", "retry", "failed", "skipped"],
        *,
        now: datetime,
        message_ref: str | None = None,
        error: str | None = None,
    ) -> None:
        """Record how a claimed reminder ended (``retry``: the next pass tries again)."""
        with self._atomic():
            self._execute(
                "update reminders set status = ?, sent_at = ?, message_ref = ?, error = ?"
                " where subscription_id = ? and posting_id = ?",
                [
                    status,
                    _ts(now) if status == "sent" else None,
                    message_ref,
                    error[:500] if error else None,
                    sub_id,
                    posting_id,
                ],
            )

    def notices(self, source: str) -> list[tuple[str, str, str]]:
        """The channels (platform, workspace, channel) told that ``source`` is down."""
        return [
            (r["platform"], r["workspace"], r["channel"])
            for r in self._query(
                "select * from source_notices where source = ? order by platform, channel",
                [source],
            )
        ]

    def notice_sources(self) -> list[str]:
        """Sources some channel was told are down."""
        return [r["source"] for r in self._query("select distinct source from source_notices")]

    def add_notice(
        self, source: str, target: tuple[str, str, str], down_since: datetime, now: datetime
    ) -> None:
        """Remember that ``target`` was told ``source`` is down (so it is told once)."""
        with self._atomic():
            self._execute(
                "insert into source_notices"
                " (source, platform, workspace, channel, down_since, notified_at)"
                " values (?, ?, ?, ?, ?, ?) on conflict (source, platform, workspace, channel)"
                " do update set down_since = excluded.down_since,"
                " notified_at = excluded.notified_at",
                [source, *target, _ts(down_since), _ts(now)],
            )

    def notice_down_since(self, source: str, target: tuple[str, str, str]) -> datetime | None:
        """When the outage began that ``target`` was told about."""
        rows = self._tuples(
            "select down_since from source_notices where source = ? and platform = ?"
            " and workspace = ? and channel = ?",
            [source, *target],
        )
        return _dt(rows[0][0]) if rows else None

    def drop_notice(self, source: str, target: tuple[str, str, str]) -> bool:
        """Forget a notice (the recovery was told, or the channel is gone); True for the
        one process that removed it, so that one alone tells the recovery."""
        with self._atomic():
            return (
                self._execute(
                    "delete from source_notices where source = ? and platform = ?"
                    " and workspace = ? and channel = ?",
                    [source, *target],
                )
                > 0
            )

    def claim_notice(
        self, source: str, target: tuple[str, str, str], down_since: datetime, now: datetime
    ) -> bool:
        """Record, before telling it, that ``target`` is told ``source`` is down: True for
        the one process whose row this is. Processes sharing the database each see the
        source down; only the one that claimed a channel's notice sends it."""
        with self._atomic():
            return (
                self._execute(
                    "insert into source_notices"
                    " (source, platform, workspace, channel, down_since, notified_at)"
                    " values (?, ?, ?, ?, ?, ?)"
                    " on conflict (source, platform, workspace, channel) do nothing",
                    [source, *target, _ts(down_since), _ts(now)],
                )
                > 0
            )
