"""The only package that speaks SQL: the records callers see, one protocol per consumer,
and a SQLite and a PostgreSQL implementation sharing their query text.

::

    bot/store/
    ├── records.py      SourceState, StoredPosting, Delivery, … (no database import)
    ├── protocols.py    SourceStore, PostingStore, SubscriptionStore, OutboxStore,
    │                   FollowupStore, and Store combining them
    ├── dialect.py      the seam: placeholders, claims, the primitives a backend gives
    ├── rows.py         rows to values and back
    ├── queries/        every query, written once, one mixin per concern
    ├── sqlite/         sqlite-utils, WAL, migrations m001–m007 (the default)
    ├── postgres/       psycopg 3 + psycopg_pool, migrations m001–m007
    └── factory.py      open_store(): the backend ``database_url`` names

``Store`` here is the SQLite store, as it always was (``Store.open(path)``,
``Store.memory()``); type code that takes any backend with ``bot.store.protocols.Store``.

Beside the store, ``slack_teams.py`` keeps the Slack workspace → Enterprise Grid org map
in the Slack installation database (slack_sdk's file, not the store).
"""

from __future__ import annotations

from bot.store.factory import open_store
from bot.store.records import (
    SCHEMA_VERSION,
    Delivery,
    DeliveryKind,
    IngestResult,
    PostingTrace,
    SourceState,
    StoredPosting,
    shown_state,
)
from bot.store.sqlite import SQLiteStore
from bot.store.sqlite.migrations import migrations
from bot.store.urls import mask_url

# The SQLite store under its old name, so that ``Store.open(path)`` keeps working.
Store = SQLiteStore

__all__ = [
    "SCHEMA_VERSION",
    "Delivery",
    "DeliveryKind",
    "IngestResult",
    "PostingTrace",
    "SQLiteStore",
    "SourceState",
    "Store",
    "StoredPosting",
    "mask_url",
    "migrations",
    "open_store",
    "shown_state",
]
