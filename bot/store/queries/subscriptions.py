"""Subscriptions: who wants which postings, where and when."""

from __future__ import annotations

from datetime import datetime

from bot.store.dialect import SqlBase
from bot.store.rows import _filter_from_json, _filter_to_json, _subscription_from, _ts
from subscriptions.model import Filter, Schedule, SubscribeOutcome, Subscription


class SubscriptionQueries(SqlBase):
    """Add, list, pause and remove subscriptions; when their digests last went."""

    def add_subscription(
        self,
        *,
        platform: str,
        workspace: str,
        channel: str,
        filter: Filter,
        schedule: Schedule,
        created_by: str,
        now: datetime,
    ) -> Subscription:
        """Save a new subscription; digests count from now."""
        with self._atomic():
            [(sub_id,)] = self._tuples(
                "insert into subscriptions (platform, workspace, channel, filter, mode, at, tz,"
                " weekday, mention, remind_days, created_by, created_at, paused, last_digest_at)"
                " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?) returning id",
                [
                    platform,
                    workspace,
                    channel,
                    _filter_to_json(filter),
                    schedule.mode,
                    schedule.at,
                    schedule.tz,
                    schedule.weekday,
                    schedule.mention,
                    schedule.remind_days,
                    created_by,
                    _ts(now),
                    _ts(now),
                ],
            )
        assert sub_id is not None
        sub = self.subscription(int(sub_id))
        assert sub is not None
        return sub

    def subscribe_once(
        self,
        *,
        platform: str,
        workspace: str,
        channel: str,
        filter: Filter,
        schedule: Schedule,
        created_by: str,
        now: datetime,
        cap: int | None = None,
    ) -> tuple[Subscription | None, SubscribeOutcome]:
        """Save a subscription unless the place already has one with this filter or is full.

        ``("created", new)``, ``("exists", the one with this filter)`` or ``("full", None)``
        when the place holds ``cap`` subscriptions. The check and the insert run as one,
        across processes too, so a burst of identical requests makes one subscription.
        """
        place = [platform, workspace, channel]
        with self._claiming():
            if lock := self.dialect.lock_key():
                self._tuples(lock, ["subscribe:" + "\x1f".join(place)])
            rows = self._tuples(
                "select id, filter from subscriptions"
                " where platform = ? and workspace = ? and channel = ? order by id",
                place,
            )
            same = [int(r[0]) for r in rows if _filter_from_json(r[1]) == filter]
            if not same and (cap is None or len(rows) < cap):
                created = self.add_subscription(
                    platform=platform,
                    workspace=workspace,
                    channel=channel,
                    filter=filter,
                    schedule=schedule,
                    created_by=created_by,
                    now=now,
                )
        if same:
            return self.subscription(same[0]), "exists"
        if cap is not None and len(rows) >= cap:
            return None, "full"
        return created, "created"

    def subscription(self, sub_id: int) -> Subscription | None:
        """One subscription by id."""
        rows = self._query("select * from subscriptions where id = ?", [sub_id])
        return _subscription_from(rows[0]) if rows else None

    def subscriptions(
        self,
        *,
        platform: str | None = None,
        workspace: str | None = None,
        channel: str | None = None,
    ) -> list[Subscription]:
        """Subscriptions, optionally those of one platform, workspace or channel, by id."""
        clauses, params = [], []
        for column, value in (
            ("platform", platform),
            ("workspace", workspace),
            ("channel", channel),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        where = f" where {' and '.join(clauses)}" if clauses else ""
        rows = self._each(f"select * from subscriptions{where} order by id", params)
        return [_subscription_from(r) for r in rows]

    def remove_subscription(self, sub_id: int) -> bool:
        """Delete a subscription and its undelivered outbox rows."""
        with self._atomic():
            self._execute("delete from deliveries where subscription_id = ?", [sub_id])
            return self._execute("delete from subscriptions where id = ?", [sub_id]) > 0

    def set_paused(
        self, sub_id: int, paused: bool, reason: str | None = None, *, now: datetime
    ) -> None:
        """Pause (with a reason shown in /jobs list) or resume a subscription."""
        with self._atomic():
            self._execute(
                "update subscriptions set paused = ?, paused_reason = ?, paused_at = ?"
                " where id = ?",
                [int(paused), reason if paused else None, _ts(now) if paused else None, sub_id],
            )

    def pause_target(
        self, platform: str, workspace: str, channel: str, reason: str, *, now: datetime
    ) -> list[int]:
        """Pause every active subscription of one channel; return their ids."""
        with self._atomic():
            ids = [
                r["id"]
                for r in self._query(
                    "select id from subscriptions where platform = ? and workspace = ?"
                    " and channel = ? and paused = 0",
                    [platform, workspace, channel],
                )
            ]
            self._execute(
                "update subscriptions set paused = 1, paused_reason = ?, paused_at = ?"
                " where platform = ? and workspace = ? and channel = ? and paused = 0",
                [reason, _ts(now), platform, workspace, channel],
            )
        return ids

    def set_last_digest(self, sub_id: int, at: datetime) -> None:
        """Record when a subscription's digest last went out."""
        with self._atomic():
            self._execute(
                "update subscriptions set last_digest_at = ? where id = ?", [_ts(at), sub_id]
            )

    # ------------------------------------------------------------ outbox

    def subscriptions_signature(self) -> tuple[int, int, int]:
        """Changes whenever a subscription is added, removed, paused or resumed."""
        [row] = self._tuples(
            "select count(*), coalesce(max(id), 0), coalesce(sum(paused * id), 0)"
            " from subscriptions"
        )
        return (int(row[0]), int(row[1]), int(row[2]))
