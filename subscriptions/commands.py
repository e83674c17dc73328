"""Platform-neutral handlers for `/jobs` commands.

Slack, Discord and the CLI parse nothing themselves: they pass the text (or the typed
options, rendered as text) with a ``CommandContext`` and show the ``Reply``. Handlers
talk to storage through the small ``Repository`` protocol, so this module imports no
database code.
"""

from __future__ import annotations

from dataclasses import replace

from bot.errors import CommandError
from bot.postings.taxonomy import load_taxonomy
from subscriptions.context import CommandContext, Reply, Repository, own_subscriptions
from subscriptions.explain import _help, _list, _preview
from subscriptions.formatting import format_filter, format_schedule, when_sent
from subscriptions.grammar import Command, parse_command
from subscriptions.manage import (
    _check_mention,
    _fix,
    _manage_source,
    _own,
    _require_manage,
    _stop_me,
    _subscribe_personal,
)
from subscriptions.model import Filter, Subscription
from subscriptions.personal import paused_undeliverable

__all__ = ["CommandContext", "Reply", "Repository", "handle", "run_command"]


def handle(command: Command, ctx: CommandContext, repo: Repository) -> Reply:
    """Carry out a parsed command for the channel in ``ctx``."""
    if command.verb == "help":
        return Reply(_help(command.topic, direct=ctx.direct))
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
        # The channel's digests for those who manage it; the user's own (they come by DM)
        # wherever the command was typed.
        channel = (
            []
            if ctx.direct
            else _digests(
                repo.subscriptions(
                    platform=ctx.platform, workspace=ctx.workspace, channel=ctx.channel
                )
            )
        )
        if channel and not ctx.can_manage:
            channel = []
            refused = f" Only {ctx.manage_rule} can send this channel's digests early."
        else:
            refused = ""
        subs = channel + (_digests(own_subscriptions(repo, ctx)) if ctx.user else [])
        if not subs and refused:
            return Reply(
                refused.strip() + " You have no daily or weekly subscription of your own.",
                ok=False,
            )
        if not subs:
            where = "You have" if ctx.direct else "This channel has"
            return Reply(
                f"{where} no active daily or weekly subscription; "
                "instant ones alert as postings arrive."
            )
        return Reply(
            f"Sending the digest for {', '.join(f'#{s.id}' for s in subs)} now.{refused}",
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
        when = when_sent(sub.schedule)
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


def _digests(subs: list[Subscription]) -> list[Subscription]:
    """The active daily and weekly subscriptions among ``subs``."""
    return [s for s in subs if s.schedule.mode != "instant" and not s.paused]


def run_command(text: str, ctx: CommandContext, repo: Repository) -> Reply:
    """Parse and carry out one command; a mistake becomes a reply that shows the right form."""
    try:
        command = parse_command(text)
        reply = handle(command, ctx, repo)
    except CommandError as error:
        return Reply(str(error), ok=False)
    # `list` shows each reason, `stop` removed them, `why` is answered by the caller; a
    # reply others can see must not tell them about the user's DMs.
    if command.verb in ("list", "stop", "why") or not ctx.user or not reply.ephemeral:
        return reply
    return _with_paused_note(reply, ctx, repo)


def _with_paused_note(reply: Reply, ctx: CommandContext, repo: Repository) -> Reply:
    """Add to the reply which of the user's personal subscriptions jobbot paused because
    their DMs refused it: the user hears of it the next time they use `/jobs`."""
    stopped = [s for s in own_subscriptions(repo, ctx) if paused_undeliverable(s)]
    if not stopped:
        return reply
    ids = ", ".join(f"#{s.id}" for s in stopped)
    codes = ", ".join(sorted({(s.paused_reason or "").split(":")[0] for s in stopped}))
    note = (
        f"jobbot could not send you direct messages ({codes}), so it paused your personal "
        f"subscription(s) {ids}. Let jobbot message you, then `/jobs resume "
        f"{stopped[0].id}` turns one back on."
    )
    return replace(reply, text=f"{reply.text}\n\n{note}" if reply.text else note)
