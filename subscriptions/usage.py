"""The usage line of each `/jobs` command, shown in help and with every mistake."""

from __future__ import annotations

from subscriptions.fix import FIX_USAGE

__all__ = ["USAGE"]

USAGE: dict[str, str] = {
    "subscribe": (
        "/jobs subscribe area:nlp,recsys country:US,DE degree:phd-only "
        'keywords:"applied science" exclude:senior company:amazon internship:yes '
        "mode:instant|daily|weekly at:09:00 tz:Europe/Berlin day:mon "
        "mention:@group-or-role|@here remind:3d [to:me]"
    ),
    "list": "/jobs list",
    "why": "/jobs why URL|ID   (what happened to one posting, for each subscription here)",
    "unsubscribe": "/jobs unsubscribe ID   (IDs are shown by /jobs list)",
    "pause": "/jobs pause ID",
    "resume": "/jobs resume ID [catch-up]",
    "preview": "/jobs preview area:cv country:DE   (same filters as subscribe)",
    "digest": "/jobs digest now",
    "areas": "/jobs areas",
    "sources": (
        "/jobs sources   |   /jobs sources add URL [kind:rss] [interval:30m] [name:NAME] "
        "[backfill:N]   |   /jobs sources remove NAME   (add and remove: admins only)"
    ),
    "fix": FIX_USAGE,
    "stop": "/jobs stop me   (removes every personal subscription of yours, nothing else)",
    "help": "/jobs help [command]",
}
