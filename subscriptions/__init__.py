"""What users asked for: filters, the command grammar, the matcher and command handlers."""

from __future__ import annotations

from subscriptions.grammar import Command, format_filter, format_schedule, parse_command
from subscriptions.matcher import SubscriptionIndex, matches, mismatch
from subscriptions.model import Filter, Schedule, Subscription
from subscriptions.personal import is_personal, owner_of, personal_target

__all__ = [
    "Command",
    "Filter",
    "Schedule",
    "Subscription",
    "SubscriptionIndex",
    "format_filter",
    "format_schedule",
    "is_personal",
    "matches",
    "mismatch",
    "owner_of",
    "parse_command",
    "personal_target",
]
