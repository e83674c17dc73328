"""The console adapter: alerts and digests printed to the terminal (no tokens needed)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from bot.chat.parts import PartProgress, send_parts
from bot.chat.render import plain_alert, plain_digest, reminder_heading, safe_text
from bot.store import StoredPosting
from subscriptions.model import Subscription

__all__ = ["ConsoleAdapter"]


class ConsoleAdapter:
    """Prints alerts to a text stream (standard output by default)."""

    platform = "console"

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    @property
    def stream(self) -> TextIO:
        """Where output goes (looked up late so tests can capture stdout)."""
        return self._stream if self._stream is not None else sys.stdout

    def _write(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    async def send_alert(
        self, subscription: Subscription, posting: StoredPosting, delivery_id: int
    ) -> str | None:
        """Print one alert, headed by the channel it is for."""
        self._write(
            f"\n[#{subscription.channel} · subscription {subscription.id}]\n"
            + plain_alert(posting.posting)
        )
        return f"console:{delivery_id}"

    async def edit_alert(
        self, subscription: Subscription, posting: StoredPosting, message_ref: str
    ) -> None:
        """A terminal cannot edit what it printed: print the alert again, marked as an update."""
        self._write(
            f"\n[#{subscription.channel} · subscription {subscription.id} · update to an "
            f"earlier alert]\n" + plain_alert(posting.posting)
        )

    async def send_reminder(
        self,
        subscription: Subscription,
        posting: StoredPosting,
        key: str,
        *,
        days_left: int | None = None,
    ) -> str | None:
        """Print the alert again under a deadline heading."""
        days = subscription.schedule.remind_days if days_left is None else days_left
        self._write(
            f"\n[#{subscription.channel} · subscription {subscription.id} · "
            f"{reminder_heading(posting.posting, days)}]\n" + plain_alert(posting.posting)
        )
        return f"console:{key}"

    async def send_notice(self, subscription: Subscription, text: str, key: str) -> str | None:
        """Print a notice from jobbot."""
        self._write(f"\n[#{subscription.channel}] {safe_text(text, 1000)}")
        return f"console:{key}"

    async def send_digest(
        self,
        subscription: Subscription,
        postings: Sequence[StoredPosting],
        title: str,
        digest_key: str,
        *,
        progress: PartProgress | None = None,
    ) -> list[str]:
        """Print a digest in one piece (not again once ``progress`` has it)."""

        async def send(index: int, text: str, refs: Sequence[str]) -> str:
            self._write(text)
            return f"console:{digest_key}"

        text = f"\n[#{subscription.channel} · subscription {subscription.id}]\n" + plain_digest(
            title, [p.posting for p in postings]
        )
        return await send_parts([text], progress, send)
