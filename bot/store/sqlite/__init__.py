"""The SQLite backend: the embedded default, one file in the data directory."""

from __future__ import annotations

from bot.store.sqlite.store import SQLiteStore

__all__ = ["SQLiteStore"]
