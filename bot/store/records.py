"""The values the store hands out: plain frozen dataclasses, no database import.

Chat code and the core import these without pulling in sqlite or psycopg.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from bot.postings.model import Posting
from subscriptions.model import Subscription

__all__ = [
    "SCHEMA_VERSION",
    "Delivery",
    "DeliveryKind",
    "IngestResult",
    "PostingTrace",
    "SourceState",
    "StoredPosting",
    "shown_state",
]

DeliveryKind = Literal["instant", "digest"]

# How many migrations (m001…) this code knows, on every backend; a database that has
# applied more was written by a newer release and is refused (SchemaTooNewError).
SCHEMA_VERSION = 7


@dataclass(frozen=True, slots=True)
class SourceState:
    """A configured source and where its polling stands."""

    name: str
    kind: str
    url: str
    interval_s: int
    enabled: bool = True
    backfill: int = 0
    etag: str | None = None
    last_modified: str | None = None
    polls: int = 0
    last_polled_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    next_poll_at: datetime | None = None
    settings: dict[str, Any] | None = None
    failing_since: datetime | None = None

    @property
    def healthy(self) -> bool:
        """False after repeated failures in a row."""
        return self.consecutive_failures < 3


@dataclass(frozen=True, slots=True)
class StoredPosting:
    """A posting with its row id and when jobbot first saw it."""

    id: int
    posting: Posting
    first_seen_at: datetime
    duplicate_of: int | None = None


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What one batch did: new postings (to match), updates and merged duplicates."""

    new: list[StoredPosting]
    updated: int
    duplicates: int
    seen: int
    # Stored postings whose title, deadline or open/closed state this batch changed.
    changed: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Delivery:
    """One outbox row joined with its subscription and posting."""

    id: int
    subscription: Subscription
    posting: StoredPosting
    kind: DeliveryKind
    status: str
    attempts: int
    batch: str | None = None
    recovered: bool = False
    sent_at: datetime | None = None
    message_ref: str | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None
    shown: str | None = None
    # When the row was queued: no message for it can be older (crash recovery looks back
    # only that far).
    queued_at: datetime | None = None
    # The grouped message (digest or burst) the row first went out in; kept across
    # retries, so that a retry resumes that message instead of sending another.
    group_key: str | None = None


@dataclass(frozen=True, slots=True)
class PostingTrace:
    """Everything jobbot recorded about one posting, for `/jobs why`.

    ``found`` is the row the question named; ``posting`` the one alerts are about (the
    same row, or the earlier posting ``found`` was merged into as a duplicate).
    ``alerted`` is False for a posting recorded silently at its source's first poll.
    ``copies`` are the rows merged into ``posting`` (the same job seen elsewhere).
    """

    found: StoredPosting
    posting: StoredPosting
    alerted: bool
    copies: tuple[StoredPosting, ...]
    deliveries: tuple[Delivery, ...]
    reminders: tuple[dict[str, Any], ...] = ()


def shown_state(posting: Posting) -> str:
    """What an alert shows that can change later: open or closed, the title, the deadline.

    Stored with each single alert when it is sent; when the posting's state differs from
    it, the alert is edited once (and the new state stored).
    """
    deadline = posting.deadline.date().isoformat() if posting.deadline else ""
    return json.dumps([posting.active, posting.title, deadline])
