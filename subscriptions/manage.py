"""`/jobs` handlers that change things: subscribe, personal subscriptions, sources, fix."""

from __future__ import annotations

from bot.chat.render import chat_safe
from bot.errors import CommandError
from subscriptions.context import CommandContext, Reply, Repository, _me, own_subscriptions
from subscriptions.formatting import format_filter, format_schedule, when_sent
from subscriptions.grammar import USAGE, Command, SourceRequest
from subscriptions.model import Subscription
from subscriptions.personal import is_personal, owner_of


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


def to_me_hint(ctx: CommandContext) -> str:
    """How to ask for a personal subscription on the platform of ``ctx``."""
    if ctx.platform == "discord":
        return "set the subscribe's `to_me` option to True"
    return "add `to:me` to the subscribe"


def _require_manage(ctx: CommandContext) -> None:
    if not ctx.can_manage:
        raise CommandError(
            f"Sorry, only {ctx.manage_rule} can change this channel's job alerts. "
            f"Anyone can keep alerts of their own, sent as direct messages: {to_me_hint(ctx)}. "
            "Anyone can use `/jobs list`, `/jobs why`, `/jobs preview`, `/jobs areas` and "
            "`/jobs help`."
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


def _subscribe_personal(command: Command, ctx: CommandContext, repo: Repository) -> Reply:
    """`subscribe … to:me`: a subscription of the user's own, needing no channel rights."""
    assert command.filter is not None and command.schedule is not None
    if command.schedule.mention:
        raise CommandError(
            "Personal alerts ping nobody: leave out `mention:`.",
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
    when = when_sent(sub.schedule)
    # Only the user sees the reply: a personal subscription is nobody else's business.
    return Reply(
        f"Subscribed #{sub.id} for you alone: {described}.\nMatching postings will come to "
        f"you as direct messages {when}. `/jobs stop me` removes all of yours.",
        subscription=sub,
    )


def _stop_me(repo: Repository, ctx: CommandContext) -> Reply:
    """`stop me`: remove every personal subscription of the user, and nothing else."""
    mine = own_subscriptions(repo, ctx)
    for sub in mine:
        repo.remove_subscription(sub.id)
    if not mine:
        return Reply("You have no personal subscriptions; nothing to stop.")
    ids = ", ".join(f"#{s.id}" for s in mine)
    return Reply(f"Removed your {len(mine)} personal subscription(s) ({ids}).")
