"""A JSON loader for source bodies that cannot be turned against the bot.

``json.loads`` recurses once per nesting level, so a body of a million ``[`` raises
RecursionError (or worse, exhausts the C stack); it also accepts ``NaN`` and lone
surrogates. ``load_json`` checks the size and nesting depth before parsing, with a
linear scan that ignores brackets inside strings, and turns every failure into a
``ParseError`` for that poll.
"""

from __future__ import annotations

import json
import re

from bot.errors import ParseError

__all__ = ["MAX_JSON_BYTES", "MAX_JSON_DEPTH", "load_json"]

MAX_JSON_BYTES = 10 * 1024 * 1024
MAX_JSON_DEPTH = 64
# Strings (with escapes) are skipped whole so that brackets inside them do not count.
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.S)


def _depth(body: bytes) -> int:
    deepest = depth = 0
    for match in _TOKENS.finditer(body):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        elif token in (b"]", b"}"):
            depth -= 1
    return deepest


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


def load_json(
    body: bytes | str,
    source: str,
    *,
    max_bytes: int = MAX_JSON_BYTES,
    max_depth: int = MAX_JSON_DEPTH,
) -> object:
    """Parse a JSON body; too big, too deep, not UTF-8 or not JSON raises ParseError."""
    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    if len(raw) > max_bytes:
        raise ParseError(source, f"JSON body of {len(raw)} bytes is over the {max_bytes}-byte cap")
    if not raw.strip():
        raise ParseError(source, "empty response")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ParseError(source, f"JSON body is not valid UTF-8 ({error.reason})") from error
    if "\x00" in text:
        raise ParseError(source, "JSON body contains NUL bytes (binary data?)")
    depth = _depth(raw)
    if depth > max_depth:
        raise ParseError(source, f"JSON is nested {depth} levels deep (limit {max_depth})")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as error:
        raise ParseError(source, f"response is not valid JSON: {error}") from error
