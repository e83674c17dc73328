"""Listings under new GUIDs: which stored posting an item with an unknown id continues."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from bot.postings.dedup import continued_listing, title_key
from bot.postings.model import Posting
from bot.store.dialect import SqlBase, chunks, marks
from bot.store.rows import _dt, _posting_from, _row_state

# (row id, duplicate_of, shown state): what ingest knows of a stored identity.
Identity = tuple[int, int | None, str]


# Row id → (posting, last seen, identity) of the rows stored for a source at one URL.
Listed = dict[int, tuple[Posting, datetime | None, Identity]]


class ListingLookup(SqlBase):
    """A read-only lookup for ingest: the rows of a poll's sources at the poll's URLs."""

    def _listed_at(self, keys: set[tuple[str, str]]) -> dict[tuple[str, str], Listed]:
        """(source, URL) → the rows stored for that source at that URL, on the URL index."""
        found: dict[tuple[str, str], Listed] = {}
        by_source: dict[str, list[str]] = {}
        for source, url in keys:
            by_source.setdefault(source, []).append(url)
        for source, urls in sorted(by_source.items()):
            for chunk in chunks(sorted(urls)):
                for row in self._query(
                    f"select * from postings where source = ? and url in ({marks(chunk)})"
                    " order by id",
                    [source, *chunk],
                ):
                    identity = (
                        int(row["id"]),
                        row["duplicate_of"],
                        _row_state(row["active"], row["title"], row["deadline"]),
                    )
                    found.setdefault((source, row["url"]), {})[int(row["id"])] = (
                        _posting_from(row),
                        _dt(row["last_seen_at"]),
                        identity,
                    )
        return found


def continued(
    postings: Sequence[Posting],
    known: dict[tuple[str, str], Identity],
    listed: dict[tuple[str, str], Listed],
    now: datetime,
) -> dict[tuple[str, str], Identity]:
    """(source, external id) → the stored identity each item with an unknown id continues.

    For feeds whose GUIDs change on every request (#18); ``continued_listing`` decides.
    The whole poll is looked at first, so that a listing an item lists by its own id is
    never taken by another item, whatever their order.
    """
    taken = {identity[0] for identity in known.values()}
    found: dict[tuple[str, str], Identity] = {}
    for posting in postings:
        key = (posting.source, posting.external_id)
        at_url = listed.get((posting.source, posting.url))
        if key in known or key in found or not at_url:
            continue
        row_id = continued_listing(
            posting, now, {i: (p, seen) for i, (p, seen, _) in at_url.items()}, taken
        )
        if row_id is not None:
            taken.add(row_id)
            found[key] = at_url[row_id][2]
    return found


def without_company(listed: dict[tuple[str, str], Listed]) -> Iterator[tuple[str, list[Any]]]:
    """(title key, near-duplicate entry) of each listed row that names no company.

    Near-duplicates without a company are copies on one source at one link, so the rows
    at a poll's URLs are all the candidates there are (see ``is_near_duplicate``).
    """
    for at_url in listed.values():
        for row_id, (posting, seen, identity) in at_url.items():
            if not posting.company:
                yield title_key(posting.title), [row_id, identity[1], posting, seen]
