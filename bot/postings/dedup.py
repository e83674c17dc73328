"""Keys that tell when two postings are the same job (DESIGN.md, "Identity and dedup")."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

from bot.postings.model import Posting
from bot.postings.text import normalise_key

__all__ = [
    "NEAR_DUPLICATE_WINDOW",
    "company_key",
    "continued_listing",
    "is_near_duplicate",
    "names_one_job",
    "title_key",
]

NEAR_DUPLICATE_WINDOW = timedelta(days=60)
_COMPANY_SUFFIX = re.compile(
    r"\b(inc|llc|ltd|limited|gmbh|ag|sa|sas|bv|plc|corp|corporation|co|company|group)\b"
)
# Words that vary between cross-posts of one job but do not make it a different job.
_TITLE_NOISE = re.compile(r"\b(new|hiring|remote|hybrid|onsite|on site|job|opening|position)\b")
_DIGIT = re.compile(r"\d")


def company_key(company: str) -> str:
    """The company name without legal suffixes and punctuation."""
    return " ".join(_COMPANY_SUFFIX.sub(" ", normalise_key(company)).split())


def title_key(title: str) -> str:
    """A normalised title: case, accents, punctuation and noise words removed.

    Years and numbers stay, so the 2025 and 2026 editions of a programme differ.
    """
    return " ".join(_TITLE_NOISE.sub(" ", normalise_key(title)).split())


def is_near_duplicate(new: Posting, new_seen: datetime, old: Posting, old_seen: datetime) -> bool:
    """Same company, normalised title and overlapping countries, seen and posted within 60 days.

    Without a company (a feed with no author), a title alone says too little across
    sources: only a copy on the same source at the same link can be a near-duplicate.
    """
    if new.company:
        if company_key(new.company) != company_key(old.company):
            return False
    elif old.company or not new.url or (new.source, new.url) != (old.source, old.url):
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


def names_one_job(url: str) -> bool:
    """Whether a canonical URL looks like the page of one job, not a board or careers page.

    A job's page carries an identifier in its last path segment or in a query value
    (Greenhouse's ``/jobs/4012345``, a Lever UUID, Workday's ``JR-1234``, ``?gh_jid=…``);
    a careers or listing page (``/careers``, ``/jobs``, the site's root) carries none.
    """
    parts = urlsplit(url)
    last = parts.path.rstrip("/").rpartition("/")[2]
    return any(_DIGIT.search(text) for text in (last, *(v for _, v in parse_qsl(parts.query))))


def continued_listing(
    new: Posting,
    now: datetime,
    listed: Mapping[int, tuple[Posting, datetime | None]],
    taken: Collection[int] = (),
) -> int | None:
    """The stored listing that ``new`` is a later sighting of, on the same source, if any.

    For feeds whose GUIDs change on every request: an item with an unknown GUID is still
    the listing its source showed before when it is at the same canonical URL and

    - has the same title key and company key (with no company, the same title and link), or
    - is the only listing the source has at a URL that names one job (``names_one_job``):
      a changed title there is an edit of that job, as under an unchanged GUID.

    At a URL shared by a whole board (every item links to ``/careers``) only the first rule
    applies, and only to a listing seen and posted within ``NEAR_DUPLICATE_WINDOW``: the
    same title there a year later is the next opening, as for near-duplicates.

    ``listed`` maps the row id of each posting stored for ``new``'s source at ``new``'s URL
    to that posting and when it was last seen. A listing seen at ``now`` or in ``taken``
    (listed by another item of this poll) is accounted for: two items listed together are
    two listings, never one. Returns the row id (the oldest when several fit) or None.
    """
    if not new.url:
        return None
    here = {
        row_id: (old, seen)
        for row_id, (old, seen) in sorted(listed.items())
        if old.source == new.source and old.url == new.url
    }
    free = {
        row_id: (old, seen)
        for row_id, (old, seen) in here.items()
        if row_id not in taken and (seen is None or seen < now)
    }
    one_job = names_one_job(new.url)
    for row_id, (old, seen) in free.items():
        if title_key(new.title) != title_key(old.title):
            continue
        if company_key(new.company) != company_key(old.company):
            continue
        if one_job or _recent(new, now, old, seen):
            return row_id
    if one_job and len(here) == 1 and free:
        return next(iter(free))
    return None


def _recent(new: Posting, now: datetime, old: Posting, seen: datetime | None) -> bool:
    """Seen and posted close enough in time to be one opening (see ``is_near_duplicate``)."""
    if seen is None or now - seen > NEAR_DUPLICATE_WINDOW:
        return False
    if new.posted_at is None or old.posted_at is None:
        return True
    return abs(new.posted_at - old.posted_at) <= NEAR_DUPLICATE_WINDOW
