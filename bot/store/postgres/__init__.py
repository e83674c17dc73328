"""The PostgreSQL backend: one database shared by several bots on several hosts."""

from __future__ import annotations

from bot.store.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
