"""What `/jobs` handlers share: who asks (CommandContext), the Reply and the Repository."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.errors import CommandError
from bot.postings.correction import Correction
from bot.postings.model import Posting
from subscriptions.model import Filter, Schedule, SubscribeOutcome, Subscription
from subscriptions.personal import personal_target

__all__ = ["CommandContext", "Reply", "Repository", "own_subscriptions"]


class _HasPosting(Protocol):
    @property
    def posting(self) -> Posting: ...


class _StoredPosting(_HasPosting, Protocol):
    @property
    def id(self) -> int: ...


class _SourceInfo(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def healthy(self) -> bool: ...
    @property
    def last_error(self) -> str | None: ...
    @property
    def last_success_at(self) -> datetime | None: ...


class Repository(Protocol):
    """What the handlers need from storage (bot.store.Store implements it)."""

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
    ) -> tuple[Subscription | None, SubscribeOutcome]: ...

    def subscriptions(
        self,
        *,
        platform: str | None = None,
        workspace: str | None = None,
        channel: str | None = None,
    ) -> list[Subscription]: ...

    def subscription(self, sub_id: int) -> Subscription | None: ...

    def remove_subscription(self, sub_id: int) -> bool: ...

    def set_paused(
        self, sub_id: int, paused: bool, reason: str | None = None, *, now: datetime
    ) -> None: ...

    def recent_postings(self, limit: int = 500) -> Sequence[_HasPosting]: ...

    def sources(self) -> Sequence[_SourceInfo]: ...

    def upsert_source(
        self,
        name: str,
        kind: str,
        url: str,
        interval_s: int,
        *,
        backfill: int = 0,
        now: datetime,
    ) -> _SourceInfo: ...

    def remove_source(self, name: str) -> bool: ...

    def correct(
        self, posting_id: int, correction: Correction, by: str, now: datetime
    ) -> _StoredPosting | None: ...


@dataclass(frozen=True, slots=True)
class CommandContext:
    """Who typed the command, where, and what they may do."""

    platform: str
    workspace: str
    channel: str
    user: str
    now: datetime
    can_manage: bool = True
    manage_rule: str = "members who can manage this channel"
    is_admin: bool = False
    admin_rule: str = "jobbot's admins (the `admins` list in the bot's config file)"
    source_kinds: tuple[str, ...] = ()
    default_interval: int = 3600
    # The most subscriptions one channel may hold (`max_subscriptions_per_channel`).
    subscription_cap: int = 50
    # The most personal subscriptions one user may hold (`max_personal_subscriptions`).
    personal_cap: int = 10
    # Typed in a direct message with the bot: `subscribe` makes a personal subscription
    # (as with `to:me`) and `list` shows only the user's own.
    direct: bool = False


@dataclass(frozen=True, slots=True)
class Reply:
    """What to show the user; ``digest_now``/``catch_up`` ask the caller to send digests."""

    text: str
    ephemeral: bool = True
    ok: bool = True
    digest_now: tuple[int, ...] = ()
    catch_up: tuple[tuple[int, datetime], ...] = ()
    subscription: Subscription | None = None
    # `/jobs why`: the posting asked about; the caller looks it up and fills in the text.
    why: str | None = None
    # `/jobs fix`: the corrected posting's id; the caller matches it again.
    rematch: int | None = None


def _me(ctx: CommandContext) -> tuple[str, str, str]:
    """The personal target of the user in ``ctx``; CommandError without a user."""
    if not ctx.user:
        raise CommandError("Personal subscriptions need a chat user: use Slack or Discord.")
    return personal_target(ctx.platform, ctx.workspace, ctx.user)


def own_subscriptions(repo: Repository, ctx: CommandContext) -> list[Subscription]:
    """The personal subscriptions of the user in ``ctx`` (in this workspace)."""
    platform, workspace, channel = _me(ctx)
    return repo.subscriptions(platform=platform, workspace=workspace, channel=channel)
