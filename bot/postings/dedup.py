"""Keys that tell when two postings are the same job (DESIGN.md, "Identity and dedup")."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from bot.postings.model import Posting
from bot.postings.text import normalise_key

__all__ = ["NEAR_DUPLICATE_WINDOW", "company_key", "is_near_duplicate", "title_key"]

NEAR_DUPLICATE_WINDOW = timedelta(days=60)
_COMPANY_SUFFIX = re.compile(
    r"\b(inc|llc|ltd|limited|gmbh|ag|sa|sas|bv|plc|corp|corporation|co|company|group)\b"
)
# Words that vary between cross-posts of one job but do not make it a different job.
_TITLE_NOISE = re.compile(r"\b(new|hiring|remote|hybrid|onsite|on site|job|opening|position)\b")


def company_key(company: str) -> str:
    """The company name without legal suffixes and punctuation."""
    return " ".join(_COMPANY_SUFFIX.sub(" ", normalise_key(company)).split())


def title_key(title: str) -> str:
    """A normalised title: case, accents, punctuation and noise words removed.

    Years and numbers stay, so the 2025 and 2026 editions of a programme differ.
    """
    return " ".join(_TITLE_NOISE.sub(" ", normalise_key(title)).split())


def is_near_duplicate(new: Posting, new_seen: datetime, old: Posting, old_seen: datetime) -> bool:
    """Same company, normalised title and overlapping countries, seen and posted within 60 days."""
    if not new.company or company_key(new.company) != company_key(old.company):
        return False
    if title_key(new.title) != title_key(old.title):
        return False
    if new.countries and old.countries and not set(new.countries) & set(old.countries):
        return False
    # Posted dates far apart mean a new opening or the next edition of a programme whose
    # title carries no year (a "Software Engineer Intern" posted in 2023 and again in 2024),
    # even when the old listing is still on the board.
    if (
        new.posted_at is not None
        and old.posted_at is not None
        and abs(new.posted_at - old.posted_at) > NEAR_DUPLICATE_WINDOW
    ):
        return False
    return abs(new_seen - old_seen) <= NEAR_DUPLICATE_WINDOW
