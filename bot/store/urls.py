"""Database URLs: which backend a URL names, and how to show one without its password."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

__all__ = ["is_postgres_url", "mask_url"]


def is_postgres_url(url: str) -> bool:
    """True for ``postgresql://…`` (or ``postgres://…``)."""
    return urlsplit(url).scheme in {"postgresql", "postgres"}


def mask_url(url: str) -> str:
    """``url`` with any password replaced by ``***``, safe to log or print."""
    try:
        parts = urlsplit(url)
        query = "&".join(
            "password=***" if pair.lower().startswith("password=") else pair
            for pair in parts.query.split("&")
        )
        if parts.password is None:
            return urlunsplit(parts._replace(query=query))
        netloc = parts.netloc.rpartition("@")[2]
        user = parts.netloc.rpartition("@")[0].partition(":")[0]
        return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}", query=query))
    except ValueError:
        return "<unreadable database URL>"
