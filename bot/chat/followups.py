"""What happens after an alert: edits that keep it true, deadline reminders, source notices.

One pass (``FollowUps.run_once``) runs beside the delivery worker:

* **Edits.** When a posting closes (or opens again), or its title or deadline changes,
  ingest flags the single alerts sent for it; each is re-rendered and replaced once
  (``EditsAlerts``). Digests and grouped messages are never edited.
* **Reminders.** ``remind:3d`` on a subscription: one reminder three days before the
  deadline of each open posting it alerted about, if the alert went out before then.
* **Source notices.** When a source a channel relies on (one of its recent postings
  matches the channel's subscriptions) has failed every poll for longer than
  ``notice_after``, the channel is told once; and once more when the source recovers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.chat.base import ChatAdapter, EditsAlerts, SendsNotices
from bot.errors import PermanentChatError, TransientChatError
from bot.store import SourceState, shown_state
from bot.store.protocols import Store
from subscriptions.matcher import SubscriptionIndex
from subscriptions.model import MAX_REMIND_DAYS, Subscription

__all__ = ["FollowUpReport", "FollowUps", "down_notice", "recovery_notice"]

log = logging.getLogger("jobbot.followups")
# An edit that keeps failing for a passing reason is given up after this many tries.
MAX_EDIT_ATTEMPTS = 5
# Sources whose recent postings decide which channels rely on them.
RELIANCE_SAMPLE = 500

Target = tuple[str, str, str]


@dataclass(slots=True)
class FollowUpReport:
    """What one pass did."""

    edited: int = 0
    reminded: int = 0
    notices: int = 0


def _when(moment: datetime) -> str:
    return moment.strftime("%d %b %H:%M UTC")


def _hours(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:.0f} h" if hours >= 1 else f"{span.total_seconds() / 60:.0f} min"


def down_notice(source: SourceState, now: datetime) -> str:
    """The one message a channel gets when a source it relies on has been down too long."""
    since = source.failing_since or now
    error = (source.last_error or "no answer")[:200]
    return (
        f"Heads-up from jobbot: the source `{source.name}` has failed every poll since "
        f"{_when(since)} ({_hours(now - since)}; last error: {error}). New postings from it "
        "cannot be alerted until it recovers. jobbot keeps retrying and will post here "
        "when it is back."
    )


def recovery_notice(source: SourceState, down_since: datetime | None, now: datetime) -> str:
    """The message after a down notice, when the source answers again."""
    span = f" after {_hours(now - down_since)}" if down_since else ""
    return (
        f"jobbot: the source `{source.name}` is working again{span}. New postings from it "
        "are alerted as usual."
    )


class FollowUps:
    """Runs the edit, reminder and source-notice passes against the chat adapters."""

    def __init__(
        self,
        store: Store,
        adapters: Mapping[str, ChatAdapter],
        clock: Callable[[], datetime],
        index: Callable[[], SubscriptionIndex],
        *,
        notice_after: timedelta = timedelta(hours=6),
    ) -> None:
        self.store = store
        self.adapters = adapters
        self.clock = clock
        self.index = index
        self.notice_after = notice_after

    async def run_once(self) -> FollowUpReport:
        """One pass of each kind of follow-up."""
        report = FollowUpReport()
        report.edited = await self.edit_alerts()
        report.reminded = await self.send_reminders()
        report.notices = await self.send_source_notices()
        return report

    # ------------------------------------------------------------ edits

    async def edit_alerts(self) -> int:
        """Replace each flagged alert with its posting's current state; return edits made."""
        edited = 0
        for delivery in await asyncio.to_thread(self.store.due_edits):
            state = shown_state(delivery.posting.posting)
            adapter = self.adapters.get(delivery.subscription.platform)
            if state == delivery.shown:
                await asyncio.to_thread(self.store.edit_done, delivery.id, None)  # it changed back
                continue
            if not isinstance(adapter, EditsAlerts) or delivery.message_ref is None:
                # Nothing this platform can edit.
                await asyncio.to_thread(self.store.edit_done, delivery.id, state)
                continue
            try:
                await adapter.edit_alert(
                    delivery.subscription, delivery.posting, delivery.message_ref
                )
            except TransientChatError as error:
                await asyncio.to_thread(
                    self.store.edit_failed,
                    delivery.id,
                    str(error),
                    give_up=False,
                    tries=MAX_EDIT_ATTEMPTS,
                )
                continue
            except PermanentChatError as error:
                # The message or the channel is gone: there is nothing left to keep true.
                log.info("alert %s cannot be edited: %s", delivery.id, error)
                await asyncio.to_thread(
                    self.store.edit_failed,
                    delivery.id,
                    str(error),
                    give_up=True,
                    tries=MAX_EDIT_ATTEMPTS,
                )
                continue
            except Exception as error:  # the edge: one bad edit must not stop the others
                log.exception("editing alert %s failed", delivery.id)
                await asyncio.to_thread(
                    self.store.edit_failed,
                    delivery.id,
                    repr(error),
                    give_up=False,
                    tries=MAX_EDIT_ATTEMPTS,
                )
                continue
            await asyncio.to_thread(self.store.edit_done, delivery.id, state)
            edited += 1
        return edited

    # ------------------------------------------------------------ reminders

    async def send_reminders(self) -> int:
        """Send the reminders that are due; return how many went."""
        now = self.clock()
        sent = 0
        horizon = timedelta(days=MAX_REMIND_DAYS + 1)
        for delivery in await asyncio.to_thread(self.store.reminder_candidates, now, horizon):
            sub, stored = delivery.subscription, delivery.posting
            deadline = stored.posting.deadline
            assert deadline is not None  # the query asks for a deadline
            due = deadline - timedelta(days=sub.schedule.remind_days)
            if now < due:
                continue
            adapter = self.adapters.get(sub.platform)
            if not await asyncio.to_thread(self.store.claim_reminder, sub.id, stored.id, now):
                continue
            if (delivery.sent_at and delivery.sent_at > due) or not isinstance(
                adapter, SendsNotices
            ):
                # The alert itself came inside the reminder window (or the platform has
                # no reminders): a second message so soon would only repeat it.
                await asyncio.to_thread(
                    self.store.finish_reminder, sub.id, stored.id, "skipped", now=now
                )
                continue
            try:
                # Days left, not the lead time asked for: a late pass says what is true.
                days_left = max(0, (deadline.date() - now.date()).days)
                ref = await adapter.send_reminder(
                    sub, stored, f"r{sub.id}-{stored.id}", days_left=days_left
                )
            except TransientChatError as error:
                await asyncio.to_thread(
                    self.store.finish_reminder,
                    sub.id,
                    stored.id,
                    "retry",
                    now=now,
                    error=str(error),
                )
                continue
            except PermanentChatError as error:
                await asyncio.to_thread(
                    self.store.finish_reminder,
                    sub.id,
                    stored.id,
                    "failed",
                    now=now,
                    error=str(error),
                )
                continue
            except Exception as error:  # the edge: a claimed reminder must not be stranded
                log.exception("reminder for #%s failed", sub.id)
                await asyncio.to_thread(
                    self.store.finish_reminder,
                    sub.id,
                    stored.id,
                    "retry",
                    now=now,
                    error=repr(error),
                )
                continue
            await asyncio.to_thread(
                self.store.finish_reminder, sub.id, stored.id, "sent", now=now, message_ref=ref
            )
            sent += 1
        return sent

    # ------------------------------------------------------------ source notices

    def relying_channels(self, source: str) -> dict[Target, Subscription]:
        """Channels with an active subscription that one of the source's recent postings
        matches (open or closed: a closed posting still shows what the channel reads)."""
        index = self.index()
        targets: dict[Target, Subscription] = {}
        for stored in self.store.source_postings(source, RELIANCE_SAMPLE):
            posting = (
                stored.posting if stored.posting.active else replace(stored.posting, active=True)
            )
            for sub in index.match(posting):
                targets.setdefault(sub.target, sub)
        return targets

    async def send_source_notices(self) -> int:
        """Tell channels about sources down too long, and about their recovery; return count."""
        now = self.clock()
        sent = 0
        sources = {source.name: source for source in await asyncio.to_thread(self.store.sources)}
        for source in sources.values():
            if not source.enabled or source.failing_since is None:
                continue
            if now - source.failing_since < self.notice_after:
                continue
            told = set(await asyncio.to_thread(self.store.notices, source.name))
            relying = await asyncio.to_thread(self.relying_channels, source.name)
            for target, sub in relying.items():
                if target in told:
                    continue
                # Claimed before it is sent: of several bots sharing the database, one
                # tells the channel; a notice that could not go is given back for later.
                claimed = await asyncio.to_thread(
                    self.store.claim_notice, source.name, target, source.failing_since, now
                )
                if not claimed:
                    continue
                key = f"n{source.name}-{source.failing_since.isoformat()}-{sub.id}"
                if await self._notice(sub, down_notice(source, now), key):
                    sent += 1
                else:
                    await asyncio.to_thread(self.store.drop_notice, source.name, target)
        for name in await asyncio.to_thread(self.store.notice_sources):
            back = sources.get(name)
            if back is not None and back.failing_since is not None:
                continue  # still down
            for target in await asyncio.to_thread(self.store.notices, name):
                subs = await asyncio.to_thread(
                    self.store.subscriptions,
                    platform=target[0],
                    workspace=target[1],
                    channel=target[2],
                )
                down_since = await asyncio.to_thread(self.store.notice_down_since, name, target)
                # Whoever removes the record tells the recovery (one bot of several).
                if not await asyncio.to_thread(self.store.drop_notice, name, target):
                    continue
                if back is None or not subs:
                    continue  # the source or the channel's subscriptions are gone
                key = f"u{name}-{down_since.isoformat() if down_since else ''}-{subs[0].id}"
                if await self._notice(subs[0], recovery_notice(back, down_since, now), key):
                    sent += 1
                else:  # put back, to try again on the next pass
                    await asyncio.to_thread(
                        self.store.add_notice, name, target, down_since or now, now
                    )
        return sent

    async def _notice(self, sub: Subscription, text: str, key: str) -> bool:
        """Send one notice; False when it should be tried again later."""
        adapter = self.adapters.get(sub.platform)
        if not isinstance(adapter, SendsNotices):
            return True  # nowhere to say it; don't keep trying
        try:
            await adapter.send_notice(sub, text, key)
        except TransientChatError as error:
            log.warning("notice to %s #%s will be retried: %s", sub.platform, sub.channel, error)
            return False
        except PermanentChatError as error:
            log.info("notice to %s #%s dropped: %s", sub.platform, sub.channel, error)
        except Exception:  # the edge: try again on the next pass
            log.exception("notice to %s #%s failed", sub.platform, sub.channel)
            return False
        return True
