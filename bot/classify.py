"""`jobbot classify`: what the bot understands of posting documents, as JSON Lines."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot.errors import ParseError
from bot.postings.enrich import enrich
from bot.postings.model import RawPosting, explain_json, posting_json
from bot.postings.page import parse_page
from bot.postings.structured import find_job_posting
from bot.sources.base import kind_for, registered_kinds, sniff_kind
from bot.sources.jsonapi import peek_json

__all__ = ["classify_document"]


def raw_records(body: bytes, name: str) -> tuple[str, list[RawPosting]]:
    """The format detected from the content, and the raw records in it."""
    kind = sniff_kind(body)
    if kind is not None:
        return kind, kind_for(kind).parse(body, name, name)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ParseError(name, "not UTF-8 text and not a known feed or API format") from error
    if not text.strip():
        raise ParseError(name, "empty document")
    if peek_json(body) is not None:
        # A bare schema.org JobPosting reads as the page that would carry it.
        text = f'<script type="application/ld+json">{text}</script>'
        if find_job_posting(text) is None:
            raise ParseError(name, _no_postings())
    return "page", [parse_page(text, name, name)]


def _no_postings() -> str:
    json_kinds = [k for k in registered_kinds() if k not in ("rss", "mdtable", "personio")]
    return (
        "the document is JSON but holds no job postings I can read (known formats: "
        + ", ".join(json_kinds)
        + ", or a schema.org JobPosting)"
    )


def classify_document(
    body: bytes, name: str, now: datetime, *, explain: bool = False
) -> list[dict[str, Any]]:
    """Classify every posting in one document (a feed, an API response or a single page).

    With ``explain``, each row also says where each fact was read (``"explain"``).
    """
    kind, records = raw_records(body, name)
    result = []
    for record in records:
        posting = enrich(record, now)
        row = posting_json(posting)
        row["format"] = kind
        row["file"] = name
        if explain:
            row["explain"] = explain_json(posting)
        result.append(row)
    return result


def dumps(row: dict[str, Any]) -> str:
    """One JSON line."""
    return json.dumps(row, ensure_ascii=False, sort_keys=False)
