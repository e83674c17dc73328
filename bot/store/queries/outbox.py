"""The outbox: queue alerts, claim them under a lease, record how each send ended.

A claim is atomic across processes. On SQLite it runs under ``BEGIN IMMEDIATE`` (one
writer at a time); on PostgreSQL its SELECT locks the rows it takes and skips those
another process holds (``FOR UPDATE SKIP LOCKED``). Either way the UPDATE re-checks
each row's status, so two workers never take the same row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from bot.store.dialect import marks
from bot.store.queries.deliveries import DeliveryReader
from bot.store.records import Delivery, DeliveryKind
from bot.store.rows import _ts
from subscriptions.model import Subscription

# A claimed row's ``recovered`` flag, read from the row before the claim: in flight under
# a lease that ran out (a crash) → unsure; retried → as unsure as its last try left it
# (``mark_retry(maybe_sent=…)``); never tried → sure.
_UNSURE = "case when status = 'sending' then 1 when status = 'retry' then recovered else 0 end"


class OutboxQueries(DeliveryReader):
    """Instant and digest deliveries, their leases and outcomes."""

    def enqueue(
        self,
        items: Iterable[tuple[Subscription, int]],
        now: datetime,
        *,
        kind: DeliveryKind | None = None,
        batch: str | None = None,
    ) -> int:
        """Queue (subscription, posting id) pairs; pairs already queued are ignored.

        The kind follows each subscription's mode unless given (a catch-up is a digest).
        ``batch`` names the poll that found them, so that bursts are counted per poll.
        """
        stamp = _ts(now)
        rows = [
            (
                sub.id,
                posting_id,
                kind or ("instant" if sub.schedule.mode == "instant" else "digest"),
                "pending",
                stamp,
                stamp,
                batch,
            )
            for sub, posting_id in items
        ]
        if not rows:
            return 0
        with self._atomic():
            return self._executemany(
                "insert into deliveries (subscription_id, posting_id, kind, status,"
                " next_attempt_at, created_at, batch) values (?, ?, ?, ?, ?, ?, ?)"
                " on conflict (subscription_id, posting_id) do nothing",
                rows,
            )

    def claim(
        self,
        now: datetime,
        *,
        limit: int = 100,
        lease: timedelta,
        owner: str = "",
        per_channel: int | None = None,
    ) -> list[Delivery]:
        """Take due instant deliveries for sending, under a lease that expires if we crash.

        Channels are served round-robin: each channel's oldest due row comes before any
        channel's second, so one channel's backlog cannot fill the batch. With
        ``per_channel``, a channel never has more than that many rows in flight (its rows
        already being sent, by any worker, count), so a channel's backlog waits in the
        outbox where a later claim can still put another channel's new alert first.

        Atomic across processes: the claim runs under ``BEGIN IMMEDIATE`` (one writer at a
        time) and its UPDATE re-checks each row's status, so two workers on one database
        never take the same row. A row taken over from an expired lease is flagged
        ``recovered``: its message may already have gone out.
        """
        with self._claiming():
            ids = self._claim_ids(now, limit, lease, owner, per_channel)
        if not ids:
            return []
        return self._deliveries(
            f"d.id in ({marks(ids)}) and d.status = 'sending' and d.lease_owner = ? order by d.id",
            [*ids, owner],
        )

    def _claim_ids(
        self, now: datetime, limit: int, lease: timedelta, owner: str, per_channel: int | None
    ) -> list[int]:
        stamp = _ts(now)
        due = (
            "((status in ('pending', 'retry') and next_attempt_at <= ?)"
            " or (status = 'sending' and lease_until <= ?))"
        )
        # Each channel's rows numbered in turn, those in flight first (they hold places
        # of the channel's share); the claim takes places 1, 2, … across all channels.
        # Window functions cannot take FOR UPDATE, so the locking SELECT wraps the ranking.
        ranked = (
            "select d.id, row_number() over (partition by s.platform, s.workspace, s.channel"
            " order by case when d.status = 'sending' and d.lease_until > ? then 0 else 1 end,"
            " d.id) as place,"
            " case when d.status = 'sending' and d.lease_until > ? then 1 else 0 end as busy"
            " from deliveries d join subscriptions s on s.id = d.subscription_id"
            " where d.kind = 'instant' and s.paused = 0 and ("
            " (d.status in ('pending', 'retry') and d.next_attempt_at <= ?)"
            " or d.status = 'sending')"
        )
        # Without a share, every due row may go; the order alone is round-robin.
        share = per_channel if per_channel is not None else 2**62
        ids = [
            int(r[0])
            for r in self._tuples(
                "select d.id from deliveries d where d.id in ("
                f" select id from ({ranked}) r where busy = 0 and place <= ?"
                " order by place, id limit ?)"
                f" order by d.id{self.dialect.skip_locked(of='d')}",
                [stamp, stamp, stamp, share, limit],
            )
        ]
        if ids:
            # SET expressions read the old row. A row that was in flight (a crash) may have
            # gone out already; a retried row is as unsure as its last try left it.
            self._execute(
                f"update deliveries set recovered = {_UNSURE},"
                " status = 'sending', lease_until = ?, lease_owner = ?,"
                f" attempts = attempts + 1 where id in ({marks(ids)}) and {due}",
                [_ts(now + lease), owner, *ids, stamp, stamp],
            )
        return ids

    def lease_owners(self) -> list[str]:
        """Workers holding rows in ``sending`` (to find those of a worker that died)."""
        return [
            r["lease_owner"]
            for r in self._query(
                "select distinct lease_owner from deliveries"
                " where status = 'sending' and lease_owner is not null"
            )
        ]

    def expire_leases(self, owner: str, now: datetime) -> int:
        """End the leases of a worker known to be dead, so its rows are recovered now."""
        with self._atomic():
            return self._execute(
                "update deliveries set lease_until = ? where status = 'sending'"
                " and lease_owner = ?",
                [_ts(now), owner],
            )

    def claim_digest(
        self, sub_id: int, now: datetime, *, lease: timedelta, owner: str
    ) -> list[Delivery]:
        """Take a subscription's waiting digest rows for sending, newest posting first.

        A digest that went out in part is finished first: while one waits, only its rows
        are taken (the same rows, so that a retry sends the same parts); rows queued since
        wait for the next digest. Like ``claim``: atomic across processes, and rows taken
        over from an expired lease (or a failed try that may have gone out) are flagged
        ``recovered``.
        """
        stamp = _ts(now)
        waiting = (
            "subscription_id = ? and kind = 'digest' and status in ('pending', 'retry', 'sending')"
        )
        with self._atomic():
            self._execute(
                "update deliveries set"
                f" recovered = {_UNSURE},"
                " status = 'sending', lease_until = ?, lease_owner = ?, attempts = attempts + 1"
                " where subscription_id = ? and kind = 'digest' and (status in ('pending', 'retry')"
                " or (status = 'sending' and lease_until <= ?))"
                # An unfinished digest's rows if there is one (coalesce: else rows of none).
                " and coalesce(group_key, '') = coalesce("
                f"(select min(group_key) from deliveries where {waiting}), '')",
                [_ts(now + lease), owner, sub_id, stamp, sub_id],
            )
        return self._deliveries(
            "d.subscription_id = ? and d.kind = 'digest' and d.status = 'sending'"
            " and d.lease_owner = ?"
            " order by coalesce(p.posted_at, p.first_seen_at) desc, p.id desc",
            [sub_id, owner],
        )

    def digest_retry_waiting(self, now: datetime) -> list[int]:
        """Subscriptions whose last digest failed for now and whose retry time is still ahead."""
        return [
            r["subscription_id"]
            for r in self._query(
                "select distinct subscription_id from deliveries where kind = 'digest'"
                " and status = 'retry' and next_attempt_at > ? order by subscription_id",
                [_ts(now)],
            )
        ]

    def mark_sent(
        self,
        ids: Sequence[int],
        now: datetime,
        message_ref: str | None = None,
        *,
        shown: str | None = None,
    ) -> None:
        """Deliveries that reached their channel.

        ``shown`` (``shown_state`` of the posting) is given for a single alert, which can
        be edited later; grouped messages and digests leave it empty.
        """
        if not ids:
            return
        with self._atomic():
            self._execute(
                "update deliveries set status = 'sent', sent_at = ?, message_ref = ?,"
                f" shown = ?, lease_until = null, error = null where id in ({marks(ids)})",
                [_ts(now), message_ref, shown, *ids],
            )
            if shown is not None:
                # The posting may have changed while the alert was on its way.
                self._flag_if_stale(ids)
            else:
                self._forget_parts(ids)

    def group_rows(self, ids: Sequence[int], key: str) -> None:
        """Name the grouped message (digest or burst) these rows go out in.

        Rows already named keep their name: a retry resumes the message they first went
        out in. Called before the first part is sent.
        """
        if not ids:
            return
        with self._atomic():
            self._execute(
                "update deliveries set group_key = ?"
                f" where group_key is null and id in ({marks(ids)})",
                [key, *ids],
            )

    def parts_sent(self, key: str) -> list[str]:
        """The message refs of a grouped message's parts already sent, first part first.

        Only parts 0, 1, … without a gap: a retry resumes at the first part missing.
        """
        refs: list[str] = []
        for part, ref in self._tuples(
            "select part, message_ref from message_parts where group_key = ? order by part",
            [key],
        ):
            if int(part) != len(refs):
                break
            refs.append(str(ref))
        return refs

    def record_part(self, key: str, part: int, message_ref: str, now: datetime) -> None:
        """One part of a grouped message reached its channel (recorded before the next)."""
        with self._atomic():
            self._execute(
                "insert into message_parts (group_key, part, message_ref, sent_at)"
                " values (?, ?, ?, ?) on conflict (group_key, part) do nothing",
                [key, part, message_ref, _ts(now)],
            )

    def _forget_parts(self, ids: Sequence[int]) -> None:
        """Drop the parts of these rows' grouped messages: sent whole, or given up on."""
        self._execute(
            "delete from message_parts where group_key in (select group_key from deliveries"
            f" where group_key is not null and id in ({marks(ids)}))",
            list(ids),
        )

    def mark_retry(
        self,
        ids: Sequence[int],
        next_attempt_at: datetime,
        error: str,
        *,
        maybe_sent: bool | None = None,
    ) -> None:
        """Deliveries that failed for now; tried again at ``next_attempt_at``.

        ``maybe_sent``: whether the try may have reached the channel after all (a timeout),
        so that the next claim flags the rows ``recovered`` and they are looked for before
        being sent again; ``None`` leaves what an earlier try said (a row held or put back
        unsent stays as unsure as it was)."""
        if not ids:
            return
        with self._atomic():
            unsure = "recovered" if maybe_sent is None else str(int(maybe_sent))
            self._execute(
                "update deliveries set status = 'retry', next_attempt_at = ?, error = ?,"
                f" lease_until = null, recovered = {unsure} where id in ({marks(ids)})",
                [_ts(next_attempt_at), error[:500], *ids],
            )

    def bring_forward(self, ids: Sequence[int], now: datetime, reason: str) -> int:
        """Make these rows due now, only those still waiting to be retried.

        A row another process has claimed or sent since is left alone: bringing it forward
        must never send it twice. Returns how many rows were brought forward.
        """
        if not ids:
            return 0
        with self._atomic():
            return self._execute(
                "update deliveries set next_attempt_at = ?, error = ?"
                f" where status = 'retry' and id in ({marks(ids)})",
                [_ts(now), reason[:500], *ids],
            )

    def mark_failed(self, ids: Sequence[int], reason: str) -> None:
        """Deliveries that will never go (the channel is gone, the bot lost access)."""
        if not ids:
            return
        with self._atomic():
            self._execute(
                "update deliveries set status = 'failed', error = ?, lease_until = null"
                f" where id in ({marks(ids)})",
                [reason[:500], *ids],
            )
            self._forget_parts(ids)
