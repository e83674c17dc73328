"""The seam each chat platform implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from bot.chat.parts import PartProgress
from bot.store import Delivery, StoredPosting
from subscriptions.model import Subscription

__all__ = ["ChatAdapter", "EditsAlerts", "FindsSent", "PartProgress", "SendsNotices", "Service"]


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
        *,
        progress: PartProgress | None = None,
    ) -> list[str]:
        """Post a grouped message (a digest, or a burst of alerts) in as many parts as needed.

        ``digest_key`` names the message and stays the same across its retries (the
        platform's idempotency keys derive from it). ``progress`` gives the parts already
        sent, which are not sent again, and records each part as it goes (``send_parts``).
        Returns the refs of every part, those sent before included.
        """
        ...


@runtime_checkable
class FindsSent(Protocol):
    """The optional recovery hook: did a delivery's message already reach its channel?

    After a crash, an outbox row can be left in ``sending``, and a try that timed out
    may have reached the channel: such a row's message may or may not have gone out.
    Before sending these rows again the worker asks the adapter once per channel, which
    looks for what it attached to the messages: the delivery id of an alert (Slack:
    message ``metadata``, found in one page of the channel's recent history; webhook: a
    lookup by subscription and posting). Discord can instead make the re-send itself
    idempotent (the delivery id as ``nonce`` with ``enforce_nonce``). Adapters without
    this hook are at-least-once after a crash: a message may then be sent twice.
    """

    async def find_sent(
        self, subscription: Subscription, deliveries: Sequence[Delivery]
    ) -> dict[int, str]:
        """The references of the messages that already carried some of these deliveries
        (rows of one channel), by delivery id; a row not found is missing."""
        ...


@runtime_checkable
class EditsAlerts(Protocol):
    """The optional edit hook: rewrite an alert already sent so that it stays true.

    Called once when the posting closes (or opens again) or its title or deadline
    changes. The message is rendered afresh from the posting as it now is (closed
    alerts keep their text and say they are closed) and replaces the old one in place
    (Slack ``chat.update``, Discord message edit). ``message_ref`` is what
    ``send_alert`` returned. Digests and grouped messages are never edited.
    """

    async def edit_alert(
        self, subscription: Subscription, posting: StoredPosting, message_ref: str
    ) -> None:
        """Replace the alert at ``message_ref`` with the posting's current state."""
        ...


@runtime_checkable
class SendsNotices(Protocol):
    """Messages that are not alerts: deadline reminders and notices about sources."""

    async def send_reminder(
        self,
        subscription: Subscription,
        posting: StoredPosting,
        key: str,
        *,
        days_left: int | None = None,
    ) -> str | None:
        """Post a reminder that the posting's deadline is near (the alert again, headed so).

        ``key`` is unique per reminder, for the platform's idempotency (Discord nonce);
        ``days_left`` (default: the subscription's ``remind:`` days) heads the message.
        """
        ...

    async def send_notice(self, subscription: Subscription, text: str, key: str) -> str | None:
        """Post a short notice from jobbot in the subscription's channel (no mentions)."""
        ...


class Service(Protocol):
    """A connection that runs alongside the scheduler (e.g. a chat gateway client)."""

    async def start(self) -> None:
        """Connect; returns once connected (work continues in background tasks)."""
        ...

    async def close(self) -> None:
        """Disconnect and stop its background tasks."""
        ...
