"""`jobbot db copy`: move every row of one store into another (SQLite → PostgreSQL).

Rows keep their ids, so outbox rows, reminders and duplicates still point where they
did, and the bot goes on from where it was: nothing sent is sent again, and no posting
it already knew is alerted as new. The target must be empty (freshly migrated).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.errors import StoreError
from bot.store.dialect import SqlBase

__all__ = ["TABLES", "CopyReport", "copy_store"]

# In an order that satisfies the foreign keys (deliveries → postings); the key orders
# the reads so that a big table goes over in chunks.
TABLES: tuple[tuple[str, str], ...] = (
    ("sources", "name"),
    ("postings", "id"),
    # People's corrections of postings (#15), applied over every later poll's reading.
    ("corrections", "posting_id"),
    ("subscriptions", "id"),
    ("deliveries", "id"),
    ("reminders", "subscription_id, posting_id"),
    ("source_notices", "source, platform, workspace, channel"),
    # The parts already sent of grouped messages that went out in part (#17).
    ("message_parts", "group_key, part"),
)
_CHUNK = 2000


@dataclass(frozen=True, slots=True)
class CopyReport:
    """Rows per table on each side after the copy."""

    source: dict[str, int]
    target: dict[str, int]

    @property
    def equal(self) -> bool:
        """True when every table holds as many rows in the target as in the source."""
        return self.source == self.target


def _counts(store: SqlBase) -> dict[str, int]:
    return {table: int(store._scalar(f"select count(*) from {table}")) for table, _ in TABLES}


def copy_store(source: SqlBase, target: SqlBase) -> CopyReport:
    """Copy every table of ``source`` into the empty ``target``, in one transaction."""
    before = _counts(target)
    if any(before.values()):
        filled = ", ".join(f"{table} ({n})" for table, n in before.items() if n)
        raise StoreError(
            getattr(target, "where", "target"), f"is not empty: {filled}; copy into a new one"
        )
    with target._atomic():
        for table, key in TABLES:
            offset = 0
            while rows := source._query(
                f"select * from {table} order by {key} limit ? offset ?", [_CHUNK, offset]
            ):
                columns = list(rows[0])
                target._executemany(
                    f"insert into {table} ({', '.join(columns)})"
                    f" values ({', '.join('?' * len(columns))})",
                    [[row[c] for c in columns] for row in rows],
                )
                offset += len(rows)
        if target.dialect.name == "postgresql":
            # Ids came with the rows: new rows must be numbered after them.
            for table in ("postings", "subscriptions", "deliveries"):
                target._tuples(
                    f"select setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" coalesce((select max(id) from {table}), 0) + 1, false)"
                )
    return CopyReport(_counts(source), _counts(target))
