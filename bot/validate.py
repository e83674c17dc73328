"""Checks for values that enter from outside (CLI, TOML, import files), one rule each.

Each check returns the problem as a sentence naming the value and the rule, or None when
the value is fine; the caller wraps it in the error of its edge (ConfigError for the TOML
file, CommandError for the CLI and imports).
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

__all__ = [
    "MAX_BACKFILL",
    "MAX_ID",
    "MIN_SOURCE_INTERVAL",
    "id_problem",
    "source_name_problem",
    "source_url_problem",
    "webhook_url_problem",
]

# Polling a source more often than once a minute is abuse of its server, not freshness.
MIN_SOURCE_INTERVAL = 60
MAX_BACKFILL = 1000
MAX_ID = 2**63 - 1  # SQLite integers
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_BOARD_TOKEN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,99}$")
_MAX_NAME = 60


def _hidden_character(text: str) -> str | None:
    for ch in text:
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            return f"U+{ord(ch):04X}"
    return None


def _http_url_problem(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        return f"{url!r:.120} is not an http or https URL"
    try:
        host = parts.hostname
    except ValueError:
        host = None
    if not host:
        return f"{url!r:.120} has no host"
    if (hidden := _hidden_character(url)) is not None or " " in url:
        return f"{url!r:.120} contains {hidden or 'a space'}; URLs are written without them"
    return None


def source_url_problem(url: str) -> str | None:
    """A source is an http(s) URL with a host, or a bare board token (``databricks``)."""
    stripped = url.strip()
    if not stripped:
        return "the source URL is empty"
    if _SCHEME.match(stripped):
        return _http_url_problem(stripped)
    if not _BOARD_TOKEN.match(stripped):
        return (
            f"{url!r:.120} is neither an http(s) URL nor a board token "
            "(letters, digits, '.', '_' and '-')"
        )
    return None


def webhook_url_problem(url: str) -> str | None:
    """A webhook target is an http(s) URL with a host."""
    return _http_url_problem(url.strip()) if url.strip() else "the webhook URL is empty"


def source_name_problem(name: str) -> str | None:
    """A source name is one short line without path separators or hidden characters."""
    if not name.strip():
        return "the source name is empty"
    if len(name) > _MAX_NAME:
        return f"source name {name!r:.80} is longer than {_MAX_NAME} characters"
    if (hidden := _hidden_character(name)) is not None:
        return f"source name {name!r:.80} contains the control character {hidden}"
    if "/" in name or "\\" in name or ".." in name:
        return f"source name {name!r:.80} may not contain '/', '\\' or '..'"
    return None


def id_problem(value: int) -> str | None:
    """Subscription ids are whole numbers from 1 to 2**63 - 1."""
    if not 0 < value <= MAX_ID:
        return f"{str(value)[:40]} is not a subscription id (1 to {MAX_ID})"
    return None
