"""What a starting bot prints: the sources it watches, its subscriptions, where alerts go."""

from __future__ import annotations

from collections.abc import Iterable

from bot.config import Settings
from bot.store.protocols import Store
from subscriptions.grammar import format_filter, format_schedule

__all__ = ["describe"]


def describe(store: Store, platforms: Iterable[str], settings: Settings) -> str:
    """The start-up summary of a bot with this store, these chat platforms and settings."""
    lines = []
    sources = store.sources()
    lines.append(f"Watching {len(sources)} source(s):")
    for source in sources:
        lines.append(
            f"  • {source.name} [{source.kind}] every {_duration(source.interval_s)} — {source.url}"
        )
    subs = store.subscriptions()
    lines.append(f"{len(subs)} subscription(s):")
    for sub in subs:
        state = " (paused)" if sub.paused else ""
        lines.append(
            f"  • #{sub.id} {sub.platform}:{sub.channel} "
            f"{format_filter(sub.filter)} {format_schedule(sub.schedule)}{state}"
        )
    if not subs:
        lines.append("  (none yet: add one with `jobbot subs add area:ml country:US`)")
    targets = ["the terminal (console)"]
    targets += [name for name in platforms if name not in ("console", "webhook")]
    targets.append("webhooks (subscriptions with --platform webhook)")
    lines.append("Alerts go to: " + ", ".join(targets))
    lines.append(f"Database: {settings.database}")
    return "\n".join(lines)


def _duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
