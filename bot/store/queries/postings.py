"""Postings: storing a poll's batch (identity, near-duplicates), closing what boards drop."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from bot.postings.correction import Correction
from bot.postings.dedup import NEAR_DUPLICATE_WINDOW, is_near_duplicate
from bot.postings.model import Posting
from bot.store.dialect import chunks, marks
from bot.store.queries.listings import ListingLookup, continued, without_company
from bot.store.records import IngestResult, StoredPosting, shown_state
from bot.store.rows import (
    _INSERT_POSTING,
    _POSTING_COLUMNS,
    _UPDATE_POSTING,
    _dt,
    _posting_from,
    _posting_row,
    _row_state,
    _stored_from,
    _ts,
    _update_params,
)


class PostingQueries(ListingLookup):
    """Ingest and the closing of postings a complete board no longer lists."""

    def ingest(self, postings: Sequence[Posting], now: datetime, *, alert: bool) -> IngestResult:
        """Store a batch from one poll; return the postings that are new to jobbot.

        Identity: the same (source, external id) is the same posting (an edit updates
        it and never re-alerts). An item under an id the source never sent before may
        still be a listing it showed before, at the same canonical URL (feeds whose GUIDs
        change on every request, see ``continued_listing``): it takes over that posting's
        identity and is updated the same way. A posting whose canonical URL or
        near-duplicate key matches a posting from elsewhere is stored as a duplicate of
        it, not as new. ``alert=False`` (a source's first poll) records everything as
        already known.

        The batch costs a fixed number of queries, not a few per posting: one lookup
        each for identities, URLs and near-duplicate keys (on their indexes), one for the
        rows of the sources at the URLs of items with unknown ids (when there are any),
        updates by ``executemany``, and one prepared insert per new posting. Postings
        earlier in the batch count for the ones after them, exactly as if they were stored
        one by one, except that which stored listing an item continues is decided for the
        whole poll first (a listing another item lists by its own id is not continued).
        """
        new: list[StoredPosting] = []
        changed: list[int] = []
        updated = duplicates = 0
        stamp = _ts(now)
        since = now - NEAR_DUPLICATE_WINDOW
        rows = [_posting_row(p) for p in postings]
        with self._atomic():
            known = self._identities({(p.source, p.external_id) for p in postings})
            # Items under ids never seen may be listings their source showed before (#18).
            listed = self._listed_at(
                {
                    (p.source, p.url)
                    for p in postings
                    if p.url and (p.source, p.external_id) not in known
                }
            )
            # The continued listing takes the item's id (the update below rewrites it), so
            # a feed that keeps its new GUIDs from now on is found by identity next time.
            known |= continued(postings, known, listed, now)
            by_url = self._by_url({p.url for p in postings if p.url})
            near = self._by_near_key(
                {
                    (r["company_key"], r["title_key"])
                    for p, r in zip(postings, rows, strict=True)
                    if p.company
                }
            )
            # Near-duplicates without a company: the source's own rows at the same link.
            for title, entry in without_company(listed):
                filed = near.setdefault(("", title), [])
                if all(e[0] != entry[0] for e in filed):
                    filed.append(entry)
                    filed.sort(key=lambda e: int(e[0]))
            updates: list[dict[str, Any]] = []
            refreshed: set[int] = set()
            # Where each row known to this batch is filed: (near-duplicate key, URL).
            placed: dict[int, tuple[tuple[str, str] | None, str | None]] = {}
            for key, entries in near.items():
                for entry in entries:
                    placed[entry[0]] = (key, entry[2].url)
            for url, url_entries in by_url.items():
                for posting_id, _, _ in url_entries:
                    placed[posting_id] = (placed.get(posting_id, (None, None))[0], url)
            for posting, row in zip(postings, rows, strict=True):
                identity = known.get((posting.source, posting.external_id))
                if identity is not None:
                    row["last_seen_at"] = stamp
                    row["id"] = identity[0]
                    updates.append(row)
                    updated += 1
                    if shown_state(posting) != identity[2]:
                        changed.append(identity[0])
                    # The edited posting is what later postings of this batch compare with.
                    old_near, old_url = placed.get(identity[0], (None, None))
                    if old_near is not None and old_near in near:
                        near[old_near] = [e for e in near[old_near] if e[0] != identity[0]]
                    if old_url is not None and old_url in by_url:
                        by_url[old_url] = [e for e in by_url[old_url] if e[0] != identity[0]]
                    self._file_near(near, identity[0], identity[1], posting, now, row)
                    placed[identity[0]] = ((row["company_key"], row["title_key"]), posting.url)
                    if posting.url:
                        by_url.setdefault(posting.url, []).append(
                            (identity[0], posting.source, identity[1])
                        )
                        by_url[posting.url].sort()
                    continue
                duplicate_of = self._duplicate_in(posting, row, now, since, by_url, near)
                row |= {
                    "first_seen_at": stamp,
                    "last_seen_at": stamp,
                    "duplicate_of": duplicate_of,
                    "alerted": int(alert and duplicate_of is None),
                }
                [(inserted,)] = self._tuples(
                    _INSERT_POSTING + " returning id", [row[c] for c in _POSTING_COLUMNS]
                )
                posting_id = int(inserted)
                known[(posting.source, posting.external_id)] = (
                    posting_id,
                    duplicate_of,
                    shown_state(posting),
                )
                if posting.url:
                    by_url.setdefault(posting.url, []).append(
                        (posting_id, posting.source, duplicate_of)
                    )
                self._file_near(near, posting_id, duplicate_of, posting, now, row)
                placed[posting_id] = ((row["company_key"], row["title_key"]), posting.url)
                if duplicate_of is not None:
                    duplicates += 1
                    refreshed.add(duplicate_of)
                    old_near, _ = placed.get(duplicate_of, (None, None))
                    for entry in near.get(old_near, []) if old_near is not None else []:
                        if entry[0] == duplicate_of:
                            entry[3] = now
                elif alert:
                    new.append(StoredPosting(posting_id, posting, now))
            if updates:
                self._keep_corrections(updates)
                self._executemany(_UPDATE_POSTING, [_update_params(r) for r in updates])
                # Listed again: no longer missing (see mark_unlisted); closed_at follows active.
                self._executemany(
                    "update postings set missing_polls = 0, closed_at = case when active = 1"
                    " then null else coalesce(closed_at, ?) end where id = ?",
                    [(stamp, r["id"]) for r in updates],
                )
            if refreshed:
                self._executemany(
                    "update postings set last_seen_at = ? where id = ?",
                    [(stamp, posting_id) for posting_id in sorted(refreshed)],
                )
        return IngestResult(
            new=new,
            updated=updated,
            duplicates=duplicates,
            seen=len(postings),
            changed=tuple(dict.fromkeys(changed)),
        )

    def _keep_corrections(self, updates: list[dict[str, Any]]) -> None:
        """Apply people's corrections over a poll's new reading of the postings they fixed."""
        ids = [r["id"] for r in updates]
        found: dict[int, str] = {}
        for part in chunks(ids):
            found.update(
                self._tuples(
                    "select posting_id, fields from corrections"
                    f" where posting_id in ({marks(part)})",
                    list(part),
                )
            )
        for row in updates:
            if row["id"] in found:
                corrected = Correction.from_json(found[row["id"]]).apply(_posting_from(row))
                row.update(_corrected_columns(corrected))

    def correct(
        self, posting_id: int, correction: Correction, by: str, now: datetime
    ) -> StoredPosting | None:
        """Keep a person's correction of a posting (merged with earlier ones) and apply it.

        A duplicate's correction goes to the posting it duplicates, the one alerts name.
        Returns the corrected posting, or None when there is no posting with that id.
        """
        with self._atomic():
            rows = self._query("select * from postings where id = ?", [posting_id])
            if rows and rows[0]["duplicate_of"] is not None:
                rows = self._query("select * from postings where id = ?", [rows[0]["duplicate_of"]])
            if not rows:
                return None
            root = int(rows[0]["id"])
            prior = self._tuples("select fields from corrections where posting_id = ?", [root])
            merged = Correction.from_json(prior[0][0]).then(correction) if prior else correction
            self._execute(
                "insert into corrections (posting_id, fields, by_who, at) values (?, ?, ?, ?)"
                " on conflict (posting_id) do update set fields = excluded.fields,"
                " by_who = excluded.by_who, at = excluded.at",
                [root, merged.to_json(), by, _ts(now)],
            )
            columns = _corrected_columns(merged.apply(_posting_from(rows[0])))
            self._execute(
                f"update postings set {', '.join(f'{c} = ?' for c in columns)} where id = ?",
                [*columns.values(), root],
            )
            stored = self._query("select * from postings where id = ?", [root])
        return _stored_from(stored[0])

    def corrections(self) -> list[tuple[StoredPosting, Correction, str, datetime]]:
        """Every correction kept, oldest first: (posting, correction, by whom, when)."""
        rows = self._query(
            "select p.*, c.fields as correction_fields, c.by_who, c.at as corrected_at"
            " from corrections c join postings p on p.id = c.posting_id order by c.at, p.id"
        )
        return [
            (
                _stored_from(row),
                Correction.from_json(row["correction_fields"]),
                row["by_who"],
                _dt(row["corrected_at"]) or datetime.min,
            )
            for row in rows
        ]

    def mark_unlisted(self, source: str, listed: Iterable[str] | None, now: datetime) -> list[int]:
        """After a complete listing of a board: close what it left out twice in a row.

        For sources that list every open posting each poll (ATS boards), a posting that
        is missing from two consecutive polls has closed; one miss may be a glitch of the
        board. ``listed`` None means "unchanged since the last poll" (a 304): what was
        missing then is missing again. Returns the ids of postings closed by this poll.
        """
        listed_ids = set(listed) if listed is not None else None
        stamp = _ts(now)
        closed: list[int] = []
        misses: list[tuple[int, int]] = []
        rows = self._tuples(
            "select id, external_id, coalesce(missing_polls, 0) from postings"
            " where source = ? and active = 1",
            [source],
        )
        for posting_id, external_id, missing in rows:
            if external_id in listed_ids if listed_ids is not None else missing == 0:
                continue
            misses.append((missing + 1, posting_id))
            if missing + 1 >= 2:
                closed.append(posting_id)
        with self._atomic():
            self._executemany("update postings set missing_polls = ? where id = ?", misses)
            self._executemany(
                "update postings set active = 0, closed_at = ? where id = ?",
                [(stamp, posting_id) for posting_id in closed],
            )
        return closed

    def _identities(
        self, keys: set[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[int, int | None, str]]:
        """(source, external id) → (row id, duplicate_of, shown state) for stored keys."""
        found: dict[tuple[str, str], tuple[int, int | None, str]] = {}
        by_source: dict[str, list[str]] = {}
        for source, external_id in keys:
            by_source.setdefault(source, []).append(external_id)
        for source, ids in by_source.items():
            for chunk in chunks(sorted(ids)):
                in_list = marks(chunk)
                for row in self._tuples(
                    "select id, external_id, duplicate_of, active, title, deadline from postings"
                    f" where source = ? and external_id in ({in_list})",
                    [source, *chunk],
                ):
                    state = _row_state(row[3], row[4], row[5])
                    found[(source, row[1])] = (int(row[0]), row[2], state)
        return found

    def _by_url(self, urls: set[str]) -> dict[str, list[tuple[int, str, int | None]]]:
        """Canonical URL → stored (id, source, duplicate_of), by id."""
        found: dict[str, list[tuple[int, str, int | None]]] = {}
        for chunk in chunks(sorted(urls)):
            in_list = marks(chunk)
            for row in self._tuples(
                f"select id, url, source, duplicate_of from postings where url in ({in_list})"
                " order by id",
                chunk,
            ):
                found.setdefault(row[1], []).append((int(row[0]), row[2], row[3]))
        return found

    def _by_near_key(self, keys: set[tuple[str, str]]) -> dict[tuple[str, str], list[list[Any]]]:
        """(company key, title key) → stored [id, duplicate_of, posting, last seen], by id."""
        found: dict[tuple[str, str], list[list[Any]]] = {}
        for chunk in chunks(sorted(keys), 400):
            pairs = ",".join("(?, ?)" for _ in chunk)
            params = [value for pair in chunk for value in pair]
            # A join on the list of keys, not "(company_key, title_key) in (values ...)":
            # SQLite answers that form by scanning every posting; the join searches the
            # index once per key.
            for row in self._query(
                f"select p.* from (values {pairs}) as k join postings p"
                " on p.company_key = k.column1 and p.title_key = k.column2 order by p.id",
                params,
            ):
                key = (row["company_key"], row["title_key"])
                seen = _dt(row["last_seen_at"])
                found.setdefault(key, []).append(
                    [row["id"], row["duplicate_of"], _posting_from(row), seen]
                )
        return found

    @staticmethod
    def _file_near(
        near: dict[tuple[str, str], list[list[Any]]],
        posting_id: int,
        duplicate_of: int | None,
        posting: Posting,
        now: datetime,
        row: dict[str, Any],
    ) -> None:
        """Make a row written in this batch visible to the near-duplicate checks after it."""
        entries = near.setdefault((row["company_key"], row["title_key"]), [])
        entries.append([posting_id, duplicate_of, posting, now])
        entries.sort(key=lambda e: int(e[0]))

    @staticmethod
    def _duplicate_in(
        posting: Posting,
        row: dict[str, Any],
        now: datetime,
        since: datetime,
        by_url: dict[str, list[tuple[int, str, int | None]]],
        near: dict[tuple[str, str], list[list[Any]]],
    ) -> int | None:
        """The posting this one duplicates (same URL elsewhere, or a near-duplicate), if any."""
        if posting.url:
            for posting_id, source, duplicate_of in by_url.get(posting.url, []):
                if source != posting.source:
                    return duplicate_of or posting_id
        candidates = [
            e
            for e in near.get((row["company_key"], row["title_key"]), [])
            if e[3] is None or e[3] >= since
        ]
        if not posting.company:
            # Without a company only copies on this source at this link count; taking them
            # out first keeps others with the same title from crowding them past the cap.
            here = (posting.source, posting.url)
            candidates = [e for e in candidates if (e[2].source, e[2].url) == here]
        for posting_id, duplicate_of, old, seen in candidates[:20]:
            if is_near_duplicate(posting, now, old, seen or now):
                return int(duplicate_of or posting_id)
        return None


def _corrected_columns(posting: Posting) -> dict[str, Any]:
    """The columns a correction can change, from the corrected posting."""
    return {
        "countries": json.dumps(list(posting.countries)),
        "areas": json.dumps(list(posting.areas)),
        "degree": posting.degree,
        "is_posting": int(posting.is_posting),
        "is_internship": int(posting.is_internship),
        "evidence": json.dumps([list(pair) for pair in posting.evidence]),
    }
