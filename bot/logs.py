"""Logging set-up: readable text by default, one JSON object per line on request.

Every line passes a redacting filter first: the values of the configured secrets
(tokens, signing secrets), anything shaped like a Slack or Discord token, and the
password in a URL's user-info are masked before a line is written, whatever logged it.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

__all__ = ["REDACTED", "RedactingFilter", "configure_logging", "mask_urls", "redact"]

REDACTED = "[redacted]"
_TOKEN_SHAPES = re.compile(
    r"xox[abposre]-[A-Za-z0-9-]{8,}"  # Slack bot, user and legacy tokens
    r"|xapp-\d-[A-Za-z0-9-]{8,}"  # Slack app-level tokens
    r"|[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,40}"  # Discord bot tokens
)
# User-info runs from "://" to the last "@" before the path; it may hold spaces and "@"s.
_USERINFO = re.compile(r"(://)[^/?#\n]*@")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s<>\"'`]+")
_QUERY_PAIR = re.compile(r"([?&;])([^=&;#\s]+)=([^&;#\s]*)")
_CREDENTIAL_KEYS = (
    "token",
    "key",
    "secret",
    "signature",
    "sig",
    "password",
    "passwd",
    "pwd",
    "auth",
)
_CREDENTIAL_WORDS = ("credential", "session", "apikey")
# A short secret would mask ordinary words; real tokens are far longer than this.
_MIN_SECRET_LENGTH = 6


def _credential_key(key: str) -> bool:
    name = re.sub(r"[^a-z]", "", key.lower())
    return name.endswith(_CREDENTIAL_KEYS) or any(word in name for word in _CREDENTIAL_WORDS)


def _mask_query(match: re.Match[str]) -> str:
    return _QUERY_PAIR.sub(
        lambda pair: f"{pair[1]}{pair[2]}={REDACTED}" if _credential_key(pair[2]) else pair[0],
        match[0],
    )


def mask_urls(text: str) -> str:
    """``text`` (a URL, or any text with URLs in it) with every credential in a URL masked.

    The whole user-info goes (``http://TOKEN@host/`` hides a token as a user name, and a
    password may contain spaces or ``@``), and so do the values of query keys shaped like
    credentials: ``token``, ``access_token``, ``api_key``, ``secret``, ``signature``,
    ``sig``, ``password`` and the like.
    """
    text = _USERINFO.sub(rf"\g<1>{REDACTED}@", text)
    return _URL.sub(_mask_query, text)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with known secret values, token-shaped strings and URL credentials masked."""
    for secret in sorted((s for s in secrets if len(s) >= _MIN_SECRET_LENGTH), key=len)[::-1]:
        text = text.replace(secret, REDACTED)
    text = _TOKEN_SHAPES.sub(REDACTED, text)
    return mask_urls(text)


class RedactingFilter(logging.Filter):
    """Masks secrets in a record's message and traceback before any handler formats it."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = tuple(secrets)
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drops a line."""
        record.msg = redact(record.getMessage(), self.secrets)
        record.args = None
        if record.exc_info:
            record.exc_text = redact(self._formatter.formatException(record.exc_info), self.secrets)
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        return True


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        # Structured fields passed as ``extra={"fields": {...}}`` become top-level keys.
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update({k: v for k, v in fields.items() if k not in entry})
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["error"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str, fmt: str, secrets: Iterable[str] = ()) -> None:
    """Log to standard error at ``level`` in ``fmt`` ('text' or 'json'), masking ``secrets``."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        )
    # On the handler, not a logger: records from every library logger pass through it.
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Library chatter (httpx request lines, apscheduler job runs) drowns the bot's own lines.
    for noisy in ("httpx", "httpcore", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
