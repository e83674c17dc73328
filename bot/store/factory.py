"""``open_store``: the backend the ``database_url`` setting names."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from bot.errors import ConfigError
from bot.store.protocols import Store
from bot.store.urls import is_postgres_url, mask_url

__all__ = ["DatabaseSettings", "open_store"]


class DatabaseSettings(Protocol):
    """What ``open_store`` reads from the configuration."""

    @property
    def database_url(self) -> str | None: ...

    @property
    def database_path(self) -> Path: ...


def open_store(settings: DatabaseSettings) -> Store:
    """Open the store: SQLite in the data directory when ``database_url`` is unset, else
    the PostgreSQL database it names (created tables and upgrades included)."""
    url = settings.database_url
    if not url:
        from bot.store.sqlite import SQLiteStore

        return SQLiteStore.open(settings.database_path)
    if is_postgres_url(url):
        # Imported here: a SQLite-only install never loads psycopg.
        from bot.store.postgres import PostgresStore

        return PostgresStore.open(url)
    raise ConfigError(
        "database_url",
        f"{mask_url(url)!r} is not a postgresql:// URL (leave it unset for SQLite)",
    )
