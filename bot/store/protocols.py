"""What each consumer needs from the store: one small protocol per concern, and ``Store``.

Code that reads or writes state is typed against these, never against a backend, so
the SQLite and PostgreSQL stores are interchangeable (``open_store`` picks one).
Chat code imports the records and these protocols only, never a database driver.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from bot.postings.correction import Correction
from bot.postings.model import Posting
from bot.store.records import (
    Delivery,
    DeliveryKind,
    IngestResult,
    PostingTrace,
    SourceState,
    StoredPosting,
)
from subscriptions.model import Filter, Schedule, SubscribeOutcome, Subscription

__all__ = [
    "FollowupStore",
    "OutboxStore",
    "PostingStore",
    "SourceStore",
    "Store",
    "SubscriptionStore",
]


class SourceStore(Protocol):
    """Sources and their poll state (the scheduler, ingest, `jobbot sources`)."""

    def upsert_source(
        self,
        name: str,
        kind: str,
        url: str,
        interval_s: int,
        *,
        backfill: int = 0,
        settings: dict[str, Any] | None = None,
        now: datetime,
    ) -> SourceState:
        """Add a source, or update the kind, URL and interval of one with this name."""
        ...

    def claim_due_sources(
        self, now: datetime, *, lease: timedelta, skip: Collection[str] = ()
    ) -> list[SourceState]:
        """Take the enabled sources due at ``now`` for polling, by name (one process each)."""
        ...

    def release_sources(self, claims: Mapping[str, datetime], now: datetime) -> int:
        """Give back sources claimed (until the given time) whose poll will not finish."""
        ...

    def source(self, name: str) -> SourceState | None:
        """One source by name."""
        ...

    def sources(self) -> list[SourceState]:
        """Every source, by name."""
        ...

    def remove_source(self, name: str) -> bool:
        """Forget a source (its postings stay). True when it existed."""
        ...

    def record_poll_success(
        self,
        name: str,
        now: datetime,
        *,
        etag: str | None,
        last_modified: str | None,
        next_poll_at: datetime,
    ) -> None:
        """A poll answered: keep validators, clear the error, count the poll."""
        ...

    def record_poll_failure(
        self, name: str, now: datetime, error: str, *, next_poll_at: datetime
    ) -> SourceState | None:
        """A poll failed: keep the error, count failures in a row, schedule the retry."""
        ...


class PostingStore(Protocol):
    """Postings: storing a poll's batch and reading what is stored."""

    def transaction(self) -> AbstractContextManager[None]:
        """Group several store calls into one transaction."""
        ...

    def ingest(self, postings: Sequence[Posting], now: datetime, *, alert: bool) -> IngestResult:
        """Store a batch from one poll; return the postings that are new to jobbot."""
        ...

    def correct(
        self, posting_id: int, correction: Correction, by: str, now: datetime
    ) -> StoredPosting | None:
        """Keep a person's correction of a posting and apply it; None if no such posting."""
        ...

    def corrections(self) -> list[tuple[StoredPosting, Correction, str, datetime]]:
        """Every correction kept, oldest first: (posting, correction, by whom, when)."""
        ...

    def mark_unlisted(self, source: str, listed: Iterable[str] | None, now: datetime) -> list[int]:
        """After a complete listing of a board: close what it left out twice in a row."""
        ...

    def posting(self, posting_id: int) -> StoredPosting | None:
        """One stored posting by row id."""
        ...

    def recent_postings(self, limit: int = 500) -> list[StoredPosting]:
        """The newest distinct postings (duplicates left out), newest first."""
        ...

    def trace(self, posting_id: int | None = None, url: str | None = None) -> PostingTrace | None:
        """What happened to one posting, found by row id or by (canonical) URL."""
        ...

    def alerted_postings_since(self, since: datetime, limit: int = 1000) -> list[StoredPosting]:
        """Postings first seen after ``since`` that were new enough to alert, newest first."""
        ...

    def duplicates_since(self, since: datetime, limit: int = 10_000) -> list[StoredPosting]:
        """Postings first seen at or after ``since`` that were merged into an earlier one."""
        ...

    def source_postings(self, source: str, limit: int = 500) -> list[StoredPosting]:
        """A source's newest distinct postings (to see which channels rely on it)."""
        ...

    def counts(self) -> dict[str, int]:
        """Row counts for the summary lines."""
        ...


class SubscriptionStore(Protocol):
    """Subscriptions (slash commands, the matcher index, digests)."""

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
        ...

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
        """Save a subscription unless the place has one with this filter or holds ``cap``."""
        ...

    def subscription(self, sub_id: int) -> Subscription | None:
        """One subscription by id."""
        ...

    def subscriptions(
        self,
        *,
        platform: str | None = None,
        workspace: str | None = None,
        channel: str | None = None,
    ) -> list[Subscription]:
        """Subscriptions, optionally those of one platform, workspace or channel, by id."""
        ...

    def remove_subscription(self, sub_id: int) -> bool:
        """Delete a subscription and its undelivered outbox rows."""
        ...

    def set_paused(
        self, sub_id: int, paused: bool, reason: str | None = None, *, now: datetime
    ) -> None:
        """Pause (with a reason shown in /jobs list) or resume a subscription."""
        ...

    def pause_target(
        self, platform: str, workspace: str, channel: str, reason: str, *, now: datetime
    ) -> list[int]:
        """Pause every active subscription of one channel; return their ids."""
        ...

    def set_last_digest(self, sub_id: int, at: datetime) -> None:
        """Record when a subscription's digest last went out."""
        ...

    def subscriptions_signature(self) -> tuple[int, int, int]:
        """Changes whenever a subscription is added, removed, paused or resumed."""
        ...


class OutboxStore(Protocol):
    """The delivery outbox (delivery workers and digests)."""

    def transaction(self) -> AbstractContextManager[None]:
        """Group several store calls into one transaction."""
        ...

    def enqueue(
        self,
        items: Iterable[tuple[Subscription, int]],
        now: datetime,
        *,
        kind: DeliveryKind | None = None,
        batch: str | None = None,
    ) -> int:
        """Queue (subscription, posting id) pairs; pairs already queued are ignored."""
        ...

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

        Channels round-robin, at most ``per_channel`` rows of a channel in flight."""
        ...

    def lease_owners(self) -> list[str]:
        """Workers holding rows in ``sending`` (to find those of a worker that died)."""
        ...

    def expire_leases(self, owner: str, now: datetime) -> int:
        """End the leases of a worker known to be dead, so its rows are recovered now."""
        ...

    def claim_digest(
        self, sub_id: int, now: datetime, *, lease: timedelta, owner: str
    ) -> list[Delivery]:
        """Take a subscription's waiting digest rows for sending, newest posting first.

        While a digest that went out in part waits, only its rows are taken."""
        ...

    def group_rows(self, ids: Sequence[int], key: str) -> None:
        """Name the grouped message these rows go out in (rows already named keep theirs)."""
        ...

    def parts_sent(self, key: str) -> list[str]:
        """The refs of a grouped message's parts already sent, first part first."""
        ...

    def record_part(self, key: str, part: int, message_ref: str, now: datetime) -> None:
        """One part of a grouped message reached its channel."""
        ...

    def digest_retry_waiting(self, now: datetime) -> list[int]:
        """Subscriptions whose last digest failed for now and whose retry time is still ahead."""
        ...

    def mark_sent(
        self,
        ids: Sequence[int],
        now: datetime,
        message_ref: str | None = None,
        *,
        shown: str | None = None,
    ) -> None:
        """Deliveries that reached their channel."""
        ...

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
        ...

    def bring_forward(self, ids: Sequence[int], now: datetime, reason: str) -> int:
        """Make rows still waiting for a retry due now; claimed or sent rows stay as they are."""
        ...

    def mark_failed(self, ids: Sequence[int], reason: str) -> None:
        """Deliveries that will never go (the channel is gone, the bot lost access)."""
        ...

    def delivery_statuses(self) -> dict[str, int]:
        """How many outbox rows are in each status."""
        ...


class FollowupStore(Protocol):
    """Edits of sent alerts, deadline reminders and source-down notices."""

    def flag_edits(self, posting_ids: Sequence[int]) -> int:
        """Ask for the single alerts sent for these postings to be edited (they changed)."""
        ...

    def due_edits(self, limit: int = 100) -> list[Delivery]:
        """Sent alerts waiting to be edited, fewest failed tries first, then oldest."""
        ...

    def edit_done(self, delivery_id: int, shown: str | None) -> None:
        """The alert now shows ``shown`` (or was left alone because it already did)."""
        ...

    def edit_failed(self, delivery_id: int, error: str, *, give_up: bool, tries: int) -> None:
        """An edit did not go through: try again on a later pass, or never."""
        ...

    def reminder_candidates(self, now: datetime, horizon: timedelta) -> list[Delivery]:
        """Sent alerts of open postings whose deadline is ahead (within ``horizon``), for"""
        ...

    def claim_reminder(self, sub_id: int, posting_id: int, now: datetime) -> bool:
        """Take the one reminder of (subscription, posting); False if it is already taken."""
        ...

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
        ...

    def notices(self, source: str) -> list[tuple[str, str, str]]:
        """The channels (platform, workspace, channel) told that ``source`` is down."""
        ...

    def notice_sources(self) -> list[str]:
        """Sources some channel was told are down."""
        ...

    def add_notice(
        self, source: str, target: tuple[str, str, str], down_since: datetime, now: datetime
    ) -> None:
        """Remember that ``target`` was told ``source`` is down (so it is told once)."""
        ...

    def claim_notice(
        self, source: str, target: tuple[str, str, str], down_since: datetime, now: datetime
    ) -> bool:
        """Take the telling of ``target`` that ``source`` is down: True for the one process
        whose record this is (the others find it told)."""
        ...

    def notice_down_since(self, source: str, target: tuple[str, str, str]) -> datetime | None:
        """When the outage began that ``target`` was told about."""
        ...

    def drop_notice(self, source: str, target: tuple[str, str, str]) -> bool:
        """Forget a notice (the recovery was told, or the channel is gone); True for the
        one process that removed it."""
        ...


class Store(SourceStore, PostingStore, SubscriptionStore, OutboxStore, FollowupStore, Protocol):
    """Everything the bot keeps; what the composition root builds and passes down."""

    def schema_version(self) -> int:
        """How many migrations this database has applied."""
        ...

    def checkpoint_in_background(self) -> bool:
        """Start background maintenance where the backend has any (SQLite's WAL)."""
        ...

    def close(self) -> None:
        """Release the database."""
        ...
