"""`/jobs why` and `jobbot why`: what happened to one posting, stage by stage.

For a posting named by link or id, says where jobbot saw it (or that no source has),
whether it was merged into another posting as a duplicate or recorded silently at a
source's first poll, and then, for each subscription of the channel, the stage it
reached: which filter dimension did not match, or queued, sent (with a link to the
message), failed (with the reason).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from bot.chat.render import chat_safe
from bot.postings.model import Posting
from bot.postings.taxonomy import load_taxonomy
from bot.postings.urls import canonical_url
from bot.store import Delivery, PostingTrace, StoredPosting
from bot.store.protocols import Store
from subscriptions.grammar import format_filter
from subscriptions.matcher import mismatch
from subscriptions.model import Subscription
from subscriptions.personal import is_personal

__all__ = ["explain", "message_link", "parse_query", "why"]

_SLACK_LINK = re.compile(r"^<?(https?://[^|>\s]+)(?:\|[^>]*)?>?$", re.I)
_ID = re.compile(r"^#?(\d{1,12})$")


def parse_query(query: str) -> tuple[int | None, str | None]:
    """A posting id (``42``, ``#42``) or a link (Slack may wrap it as ``<url|label>``)."""
    text = query.strip()
    if match := _ID.match(text):
        return int(match.group(1)), None
    if match := _SLACK_LINK.match(text):
        return None, canonical_url(match.group(1))
    return None, None


def message_link(platform: str, workspace: str, ref: str | None) -> str:
    """A link to a sent message, from the reference its adapter returned ('' if none)."""
    if not ref:
        return ""
    first = ref.split(",")[0]
    if platform == "slack" and ":" in first:
        channel, ts = first.split(":", 1)
        return f"https://slack.com/archives/{channel}/p{ts.replace('.', '')}"
    if platform == "discord" and "/" in first:
        channel, message = first.split("/", 1)
        return f"https://discord.com/channels/{workspace}/{channel}/{message}"
    return ""


def _when(moment: datetime | None) -> str:
    return moment.strftime("%d %b %Y %H:%M UTC") if moment else "an unknown time"


def _name(stored: StoredPosting) -> str:
    posting = stored.posting
    company = f" at {chat_safe(posting.company, 80)}" if posting.company else ""
    return f"posting #{stored.id} “{chat_safe(posting.title, 120)}”{company}"


_DIMENSIONS = {
    "not a job posting": "it does not read as a job posting (a news item, guide or landing page)",
    "internship": "internship: {internship}",
    "area": "area: the posting's areas are {areas}",
    "country": "country: the posting is in {countries}",
    "remote": "remote: the posting is not remote",
    "degree": "degree: the posting asks for {degree}",
    "company": "company: the posting is from {company}",
    "keywords": "keywords: none of them is in the title or text",
    "exclude": "exclude: an excluded word is in the title or company",
}


def _dimension(reason: str, posting: Posting) -> str:
    taxonomy = load_taxonomy()
    areas = ", ".join(taxonomy.areas[a].label if a in taxonomy.areas else a for a in posting.areas)
    template = _DIMENSIONS.get(reason, reason)
    return template.format(
        internship="the posting is an internship"
        if posting.is_internship
        else "the posting is not an internship",
        areas=areas or "none recognised",
        countries=", ".join(posting.countries) or "no stated country",
        degree=posting.degree,
        company=chat_safe(posting.company, 80) or "no stated company",
    )


def _delivery_stage(delivery: Delivery) -> str:
    sub = delivery.subscription
    if delivery.status == "sent":
        link = message_link(sub.platform, sub.workspace, delivery.message_ref)
        how = "in a digest" if delivery.kind == "digest" else "as an alert"
        # The link on a line of its own: Discord keeps only such links clickable in replies.
        return f"sent {how} at {_when(delivery.sent_at)}" + (f"\n    {link}" if link else "")
    if delivery.status == "failed":
        return f"failed, for good: {chat_safe(delivery.error or 'no reason recorded', 200)}"
    if delivery.kind == "digest" and delivery.status == "pending":
        return f"queued for the next {sub.schedule.mode} digest"
    if delivery.status == "retry":
        return (
            f"queued; the last try failed ({chat_safe(delivery.error or '', 150)}), "
            f"next try at {_when(delivery.next_attempt_at)}"
        )
    return "queued, being sent now" if delivery.status == "sending" else "queued, going out now"


def _subscription_stage(sub: Subscription, trace: PostingTrace, delivery: Delivery | None) -> str:
    if delivery is not None:
        return _delivery_stage(delivery)
    stored = trace.posting
    # Judge the filter on the posting as it was when new: a closed posting was open then.
    reason = mismatch(sub.filter, replace(stored.posting, active=True))
    if reason is not None:
        return f"did not match — {_dimension(reason, stored.posting)}"
    if not trace.alerted:
        return "matches, but was recorded at its source's first poll (no alert by design)"
    if sub.created_at is not None and stored.first_seen_at < sub.created_at:
        return (
            f"matches, but jobbot saw it ({_when(stored.first_seen_at)}) before this "
            f"subscription was made ({_when(sub.created_at)})"
        )
    if not stored.posting.active:
        return "matches, but it had closed before an alert was due"
    if sub.paused:
        return "matches, but the subscription was paused when it arrived"
    return "matches, but no alert was queued (please report this)"


_EVIDENCE_FIELDS = (
    ("is_posting", "Kind"),
    ("degree", "Degree"),
    ("countries", "Countries"),
    ("areas", "Areas"),
    ("is_internship", "Internship"),
)


def read_as(posting: Posting) -> list[str]:
    """What jobbot read about a posting and where, one line per fact (`why`, issue #15)."""
    origins: dict[str, list[str]] = {}
    for field, origin in posting.evidence:
        origins.setdefault(field, []).append(origin)
    values = {
        "is_posting": "a job posting"
        if posting.is_posting
        else "not a job posting (never alerted)",
        "degree": posting.degree,
        "countries": ", ".join(posting.countries) or "none",
        "areas": ", ".join(posting.areas) or "none",
        "is_internship": "yes" if posting.is_internship else "no",
    }
    lines = ["• Read as:"]
    for field, label in _EVIDENCE_FIELDS:
        where = "; ".join(origins.get(field, [])) or "nothing stated"
        lines.append(f"   {label}: {values[field]} — from {chat_safe(where, 300)}")
    return lines


def explain(
    trace: PostingTrace | None,
    subscriptions: Sequence[Subscription],
    *,
    sources: Sequence[str] = (),
) -> str:
    """The `/jobs why` answer for one posting and the channel's subscriptions."""
    if trace is None:
        watched = (
            f" none of the {len(sources)} source(s) jobbot watches" if sources else " no source"
        )
        return (
            "Never seen:" + watched + " has listed this posting (links are compared without "
            "tracking parameters). If it is on a board jobbot does not watch, an admin can add "
            "it with `/jobs sources add URL`."
        )
    found, stored = trace.found, trace.posting
    lines = []
    if found.id != stored.id:
        lines.append(
            f"That link is {_name(found)}, seen on `{chat_safe(found.posting.source, 80)}` at "
            f"{_when(found.first_seen_at)} and merged as a duplicate of {_name(stored)}. "
            "Alerts are about the earlier posting:"
        )
    lines.append(
        f"• Seen: {_name(stored)} on source `{chat_safe(stored.posting.source, 80)}` at "
        f"{_when(stored.first_seen_at)}."
    )
    others = [c for c in trace.copies if c.id != found.id]
    if others:
        names = ", ".join(f"`{chat_safe(c.posting.source, 60)}` (#{c.id})" for c in others[:5])
        lines.append(f"• Also listed on {names}: merged as duplicates, no second alert.")
    lines.extend(read_as(stored.posting))
    if not trace.alerted:
        lines.append(
            "• Recorded at its source's first poll: a new source's existing postings are "
            "stored without alerts (no alert by design)."
        )
    if not stored.posting.active:
        lines.append("• Closed: its source no longer lists it as open.")
    by_sub = {d.subscription.id: d for d in trace.deliveries}
    channel = [s for s in subscriptions if not is_personal(s)]
    mine = [s for s in subscriptions if is_personal(s)]
    if not channel:
        lines.append("This channel has no subscriptions.")
    for heading, subs in (("Subscriptions in this channel:", channel), ("Yours (DMs):", mine)):
        if subs:
            lines.append(heading)
        for sub in subs:
            stage = _subscription_stage(sub, trace, by_sub.get(sub.id))
            lines.append(f"• #{sub.id} ({format_filter(sub.filter)}): {stage}")
    return "\n".join(lines)


def why(store: Store, query: str, subscriptions: Sequence[Subscription]) -> str:
    """Look the posting up and explain it (the one entry point for chat and CLI)."""
    posting_id, url = parse_query(query)
    if posting_id is None and url is None:
        return "`why` takes a posting's link (https://…) or its jobbot id (#42)."
    trace = store.trace(posting_id=posting_id, url=url)
    return explain(trace, subscriptions, sources=[s.name for s in store.sources()])
