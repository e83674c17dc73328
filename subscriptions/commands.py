"""Platform-neutral handlers for `/jobs` commands.

Slack, Discord and the CLI parse nothing themselves: they pass the text (or the typed
options, rendered as text) with a ``CommandContext`` and show the ``Reply``. Handlers
talk to storage through the small ``Repository`` protocol, so this module imports no
database code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.chat.render import chat_safe, safe_url
from bot.errors import CommandError
from bot.postings.correction import Correction
from bot.postings.gazetteer import country_name
from bot.postings.model import Posting
from bot.postings.taxonomy import load_taxonomy
from subscriptions.grammar import (
    USAGE,
    Command,
    SourceRequest,
    format_filter,
    format_schedule,
    parse_command,
)
from subscriptions.matcher import matches
from subscriptions.model import Filter, Schedule, SubscribeOutcome, Subscription
from subscriptions.personal import is_personal, owner_of, personal_target

__all__ = ["CommandContext", "Reply", "Repository", "handle", "run_command"]

PREVIEW_POOL = 1000
PREVIEW_SHOWN = 5


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


def _describe(sub: Subscription) -> str:
    text = f"#{sub.id}  {format_filter(sub.filter)}  {format_schedule(sub.schedule)}"
    if sub.paused:
        text += f"  (paused{': ' + sub.paused_reason if sub.paused_reason else ''})"
    return text


def _own(repo: Repository, ctx: CommandContext, sub_id: int, verb: str) -> Subscription:
    """The subscription to change: one's own personal one, or (for a manager) the channel's."""
    sub = repo.subscription(sub_id)
    if sub is not None and is_personal(sub) and sub.target[:2] == _me(ctx)[:2]:
        if owner_of(sub) == ctx.user:
            return sub  # one's own: no channel rights needed
        raise CommandError(
            f"#{sub_id} is someone else's personal subscription; only they can change it. "
            "`/jobs list` shows yours.",
            USAGE[verb],
        )
    _require_manage(ctx)
    if sub is None or sub.target != (ctx.platform, ctx.workspace, ctx.channel):
        raise CommandError(
            f"This channel has no subscription #{sub_id}; `/jobs list` shows its IDs.", USAGE[verb]
        )
    return sub


def _require_manage(ctx: CommandContext) -> None:
    if not ctx.can_manage:
        raise CommandError(
            f"Sorry, only {ctx.manage_rule} can change this channel's job alerts. "
            "Anyone can use `/jobs list`, `/jobs why`, `/jobs preview`, `/jobs areas` "
            "and `/jobs help`."
        )


_MENTION_KINDS = {"slack": ("group:", "a user group"), "discord": ("role:", "a role")}


def _check_mention(mention: str, platform: str) -> None:
    """A Discord role means nothing on Slack and a Slack user group nothing on Discord."""
    expected = _MENTION_KINDS.get(platform)
    if not mention or mention == "here" or expected is None:
        return
    if not mention.startswith(expected[0]):
        raise CommandError(
            f"On {platform.capitalize()}, `mention:` takes {expected[1]} or @here.",
            USAGE["subscribe"],
        )


def _manage_source(request: SourceRequest, ctx: CommandContext, repo: Repository) -> Reply:
    if not ctx.is_admin:
        raise CommandError(
            f"Sorry, only {ctx.admin_rule} can add or remove sources. Ask whoever runs "
            "jobbot to add you, or to add the source. Anyone can see them with `/jobs sources`."
        )
    if request.action == "remove":
        if not repo.remove_source(request.name):
            raise CommandError(
                f"There is no source named `{request.name}`; `/jobs sources` lists them.",
                USAGE["sources"],
            )
        return Reply(f"Removed source `{request.name}` (its postings stay).", ephemeral=False)
    if ctx.source_kinds and request.kind not in ctx.source_kinds:
        raise CommandError(
            f"`kind:{request.kind}` is not a source kind; choose one of "
            f"{', '.join(ctx.source_kinds)}.",
            USAGE["sources"],
        )
    interval = request.interval_s or ctx.default_interval
    repo.upsert_source(
        request.name,
        request.kind,
        request.url,
        interval,
        backfill=request.backfill,
        now=ctx.now,
    )
    first = (
        f"alerts its newest {request.backfill} posting(s)"
        if request.backfill
        else "records what is there without alerting"
    )
    return Reply(
        f"Added source `{request.name}` ({request.kind}), polled every {interval // 60} min. "
        f"Its first poll {first}.",
        ephemeral=False,
    )


def _help(topic: str | None) -> str:
    if topic:
        return f"Usage: {USAGE[topic]}"
    lines = [
        "jobbot posts research-internship alerts in this channel.",
        "",
        *(f"• {usage}" for usage in USAGE.values()),
        "",
        "Filters: area (see /jobs areas), country (codes or names), degree (phd-only,",
        "phd-or-masters, any, unknown; or phd / masters for postings open to you),",
        "keywords, exclude, company, internship (yes, no, any; default yes), remote (yes).",
        "Several values: commas. Within one filter any value matches; all filters must hold.",
        "mode: instant (default), daily or weekly, with at:HH:MM tz:Area/City day:mon.",
        "mention: the role or user group (or @here) each alert pings; remind:3d posts one",
        "reminder that many days before a posting's deadline.",
        "why: paste a posting's link to see what happened to it for each subscription here.",
        "to:me: the alerts come to you alone, as direct messages (no channel rights needed,",
        "no mention); /jobs stop me removes all of yours.",
    ]
    return "\n".join(lines)


def _preview(repo: Repository, filter_: Filter) -> str:
    found = [s.posting for s in repo.recent_postings(PREVIEW_POOL) if matches(filter_, s.posting)]
    if not found:
        return (
            f"No posting seen so far matches `{format_filter(filter_)}`. "
            "New ones will, once you subscribe."
        )
    lines = [f"{len(found)} recent posting(s) match `{format_filter(filter_)}`; newest:"]
    for posting in found[:PREVIEW_SHOWN]:
        where = ", ".join(country_name(c) for c in posting.countries) or "location not stated"
        # Posting text is hostile until cleaned: no mentions, fake links or 100k titles.
        title = chat_safe(posting.title, 150)
        company = chat_safe(posting.company, 100) or "unknown company"
        url = safe_url(posting.url) or "(no usable link)"
        lines.append(f"• {title} — {company} ({where})\n  {url}")
    return "\n".join(lines)


def _fix(command: Command, ctx: CommandContext, repo: Repository) -> Reply:
    """Correct what jobbot read about one posting; the caller matches it again."""
    _require_manage(ctx)
    assert command.target is not None and command.correction is not None
    stored = repo.correct(command.target, command.correction, f"{ctx.platform}:{ctx.user}", ctx.now)
    if stored is None:
        raise CommandError(
            f"There is no posting #{command.target}; `/jobs why LINK` shows a posting's ID.",
            USAGE["fix"],
        )
    posting = stored.posting
    areas = ", ".join(posting.areas) or "none"
    countries = ", ".join(posting.countries) or "none"
    read = (
        f"degree {posting.degree}; countries {countries}; areas {areas}; "
        f"internship {'yes' if posting.is_internship else 'no'}; "
        f"{'a posting' if posting.is_posting else 'not a posting: never alerted'}"
    )
    return Reply(
        f"Corrected ({command.correction.describe()}). jobbot now reads "
        f"“{chat_safe(posting.title, 200)}” as: {read}. Later polls keep this correction.",
        rematch=stored.id,
    )


def _me(ctx: CommandContext) -> tuple[str, str, str]:
    """The personal target of the user in ``ctx``; CommandError without a user."""
    if not ctx.user:
        raise CommandError("Personal subscriptions need a chat user: use Slack or Discord.")
    return personal_target(ctx.platform, ctx.workspace, ctx.user)


def _mine(repo: Repository, ctx: CommandContext) -> list[Subscription]:
    """The personal subscriptions of the user in ``ctx`` (in this workspace)."""
    platform, workspace, channel = _me(ctx)
    return repo.subscriptions(platform=platform, workspace=workspace, channel=channel)


def _list(repo: Repository, ctx: CommandContext) -> str:
    """The channel's subscriptions, then the user's own personal ones."""
    mine = _mine(repo, ctx) if ctx.user else []
    if ctx.direct:
        if not mine:
            return "You have no personal subscriptions. Start with `/jobs subscribe area:nlp`."
        return "Your personal subscriptions:\n" + "\n".join(_describe(s) for s in mine)
    subs = repo.subscriptions(platform=ctx.platform, workspace=ctx.workspace, channel=ctx.channel)
    parts = []
    if subs:
        parts.append("Subscriptions in this channel:\n" + "\n".join(_describe(s) for s in subs))
    else:
        parts.append(
            "This channel has no subscriptions. Start with `/jobs subscribe area:nlp country:DE`."
        )
    if mine:
        parts.append(
            "Your personal subscriptions (direct messages):\n"
            + "\n".join(_describe(s) for s in mine)
        )
    return "\n".join(parts)


def _subscribe_personal(command: Command, ctx: CommandContext, repo: Repository) -> Reply:
    """`subscribe … to:me`: a subscription of the user's own, needing no channel rights."""
    assert command.filter is not None and command.schedule is not None
    if command.schedule.mention:
        raise CommandError(
            "A personal subscription pings nobody: leave out `mention:` with `to:me`.",
            USAGE["subscribe"],
        )
    platform, workspace, channel = _me(ctx)
    sub, outcome = repo.subscribe_once(
        platform=platform,
        workspace=workspace,
        channel=channel,
        filter=command.filter,
        schedule=command.schedule,
        created_by=ctx.user,
        now=ctx.now,
        cap=ctx.personal_cap,
    )
    if outcome == "full" or sub is None:
        return Reply(
            f"You already have {ctx.personal_cap} personal subscriptions, the most one person "
            "may hold. `/jobs list` shows them; `/jobs unsubscribe ID` makes room.",
            ok=False,
        )
    described = f"{format_filter(sub.filter)} {format_schedule(sub.schedule)}"
    if outcome == "exists":
        return Reply(
            f"You already have that filter: #{sub.id} {described}. Nothing changed.",
            subscription=sub,
        )
    when = (
        "as they appear" if sub.schedule.mode == "instant" else f"in a {sub.schedule.mode} digest"
    )
    # Only the user sees the reply: a personal subscription is nobody else's business.
    return Reply(
        f"Subscribed #{sub.id} for you alone: {described}.\nMatching postings will come to "
        f"you as direct messages {when}. `/jobs stop me` removes all of yours.",
        subscription=sub,
    )


def _stop_me(repo: Repository, ctx: CommandContext) -> Reply:
    """`stop me`: remove every personal subscription of the user, and nothing else."""
    mine = _mine(repo, ctx)
    for sub in mine:
        repo.remove_subscription(sub.id)
    if not mine:
        return Reply("You have no personal subscriptions; nothing to stop.")
    ids = ", ".join(f"#{s.id}" for s in mine)
    return Reply(f"Removed your {len(mine)} personal subscription(s) ({ids}).")


def handle(command: Command, ctx: CommandContext, repo: Repository) -> Reply:
    """Carry out a parsed command for the channel in ``ctx``."""
    if command.verb == "help":
        return Reply(_help(command.topic))
    if command.verb == "areas":
        taxonomy = load_taxonomy()
        lines = ["Research areas (use the slug, e.g. `area:nlp,recsys`):"]
        lines += [f"• `{a.slug}` — {a.label}" for a in taxonomy.areas.values()]
        return Reply("\n".join(lines))
    if command.verb == "sources" and command.source is not None:
        return _manage_source(command.source, ctx, repo)
    if command.verb == "sources":
        lines = ["Sources jobbot watches:"]
        for source in repo.sources():
            health = "ok" if source.healthy else f"UNHEALTHY: {source.last_error}"
            last = (
                source.last_success_at.strftime("%d %b %H:%M UTC")
                if source.last_success_at
                else "never"
            )
            lines.append(f"• {source.name} ({source.kind}) — last success {last}; {health}")
        return Reply("\n".join(lines) if len(lines) > 1 else "No sources are configured.")
    if command.verb == "list":
        return Reply(_list(repo, ctx))
    if command.verb == "preview":
        assert command.filter is not None
        return Reply(_preview(repo, command.filter))
    if command.verb == "why":
        return Reply("", why=command.query)
    if command.verb == "fix":
        return _fix(command, ctx, repo)
    if command.verb == "digest":
        here = (
            []
            if ctx.direct
            else repo.subscriptions(
                platform=ctx.platform, workspace=ctx.workspace, channel=ctx.channel
            )
        )
        # And the user's own digests: they come by DM, wherever the command was typed.
        here += _mine(repo, ctx) if ctx.user else []
        subs = [s for s in here if s.schedule.mode != "instant" and not s.paused]
        if not subs:
            return Reply(
                "This channel has no active daily or weekly subscription; "
                "instant ones alert as postings arrive."
            )
        return Reply(
            f"Sending the digest for {', '.join(f'#{s.id}' for s in subs)} now.",
            digest_now=tuple(s.id for s in subs),
        )
    if command.verb == "stop":
        return _stop_me(repo, ctx)
    if command.verb == "subscribe" and (command.personal or ctx.direct):
        return _subscribe_personal(command, ctx, repo)
    if command.verb == "subscribe":
        _require_manage(ctx)
        assert command.filter is not None and command.schedule is not None
        _check_mention(command.schedule.mention, ctx.platform)
        sub, outcome = repo.subscribe_once(
            platform=ctx.platform,
            workspace=ctx.workspace,
            channel=ctx.channel,
            filter=command.filter,
            schedule=command.schedule,
            created_by=ctx.user,
            now=ctx.now,
            cap=ctx.subscription_cap,
        )
        if outcome == "full" or sub is None:
            return Reply(
                f"This channel already has {ctx.subscription_cap} subscriptions, the most it "
                "may hold. `/jobs list` shows them; `/jobs unsubscribe ID` makes room.",
                ok=False,
            )
        if outcome == "exists":
            return Reply(
                f"This channel already has that filter: #{sub.id} "
                f"{format_filter(sub.filter)} {format_schedule(sub.schedule)}. Nothing "
                "changed; `/jobs list` shows every subscription here.",
                subscription=sub,
            )
        when = (
            "as they appear"
            if sub.schedule.mode == "instant"
            else f"in a {sub.schedule.mode} digest"
        )
        return Reply(
            f"Subscribed #{sub.id}: {format_filter(sub.filter)} "
            f"{format_schedule(sub.schedule)}.\nMatching postings will be posted here "
            f"{when}. `/jobs preview {format_filter(sub.filter)}` shows recent matches."
            if sub.filter != Filter()
            else f"Subscribed #{sub.id} to every internship posting, {when}.",
            ephemeral=False,
            subscription=sub,
        )
    assert command.target is not None
    sub = _own(repo, ctx, command.target, command.verb)
    if command.verb == "unsubscribe":
        repo.remove_subscription(sub.id)
        return Reply(f"Unsubscribed #{sub.id} ({format_filter(sub.filter)}).", ephemeral=False)
    if command.verb == "pause":
        if sub.paused:
            return Reply(f"#{sub.id} is already paused.")
        repo.set_paused(sub.id, True, f"paused by {ctx.user}" if ctx.user else None, now=ctx.now)
        return Reply(
            f"Paused #{sub.id}. `/jobs resume {sub.id}` turns it back on.", ephemeral=False
        )
    if not sub.paused:
        return Reply(f"#{sub.id} is not paused.")
    repo.set_paused(sub.id, False, now=ctx.now)
    catch_up = ((sub.id, sub.paused_at),) if command.catch_up and sub.paused_at else ()
    return Reply(
        f"Resumed #{sub.id}."
        + (
            " Sending what matched meanwhile as one digest."
            if catch_up
            else " Alerts start from now."
        ),
        ephemeral=False,
        catch_up=catch_up,
    )


def run_command(text: str, ctx: CommandContext, repo: Repository) -> Reply:
    """Parse and carry out one command; a mistake becomes a reply that shows the right form."""
    try:
        return handle(parse_command(text), ctx, repo)
    except CommandError as error:
        return Reply(str(error), ok=False)
