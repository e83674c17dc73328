"""The seam each chat platform implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.store import StoredPosting
from subscriptions.model import Subscription

__all__ = ["ChatAdapter", "Service"]


class ChatAdapter(Protocol):
    """Sends alerts and digests to one platform's channels.

    Raises ``TransientChatError`` (retry later) or ``PermanentChatError`` (the channel is
    gone or access was lost). Returns a reference to the message sent, where the
    platform gives one, so that it can be found (and edited) later.
    """

    platform: str

    async def send_alert(
        self, subscription: Subscription, posting: StoredPosting, delivery_id: int
    ) -> str | None:
        """Post one alert."""
        ...

    async def send_digest(
        self,
        subscription: Subscription,
        postings: Sequence[StoredPosting],
        title: str,
        digest_key: str,
    ) -> list[str]:
        """Post a grouped message (a digest, or a burst of alerts) in as many parts as needed."""
        ...


class Service(Protocol):
    """A connection that runs alongside the scheduler (e.g. a chat gateway client)."""

    async def start(self) -> None:
        """Connect; returns once connected (work continues in background tasks)."""
        ...

    async def close(self) -> None:
        """Disconnect and stop its background tasks."""
        ...
