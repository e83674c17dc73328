"""Read-only `/jobs` handlers: list, preview and help texts."""

from __future__ import annotations

from bot.chat.render import chat_safe, safe_url
from bot.postings.gazetteer import country_name
from subscriptions.context import CommandContext, Repository, own_subscriptions
from subscriptions.formatting import format_filter, format_schedule
from subscriptions.grammar import USAGE
from subscriptions.matcher import matches
from subscriptions.model import Filter, Subscription

PREVIEW_POOL = 1000
PREVIEW_SHOWN = 5


def _describe(sub: Subscription) -> str:
    text = f"#{sub.id}  {format_filter(sub.filter)}  {format_schedule(sub.schedule)}"
    if sub.paused:
        text += f"  (paused{': ' + sub.paused_reason if sub.paused_reason else ''})"
    return text


def _help(topic: str | None, *, direct: bool = False) -> str:
    if topic:
        return f"Usage: {USAGE[topic]}"
    lines = [
        "Here, /jobs keeps alerts of your own: they come to you as direct messages, and "
        "list, pause, resume and unsubscribe work on yours."
        if direct
        else "jobbot posts research-internship alerts in this channel.",
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


def _list(repo: Repository, ctx: CommandContext) -> str:
    """The channel's subscriptions, then the user's own personal ones."""
    mine = own_subscriptions(repo, ctx) if ctx.user else []
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
