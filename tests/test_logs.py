"""The redacting log filter: known secrets, token shapes and URL passwords never get out."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.logs import REDACTED, configure_logging, redact

SECRET = "s3cr3t-signing-value-123"
SLACK = "xoxb-1111-2222-abcdefABCDEF"
DISCORD = "MTIzNDU2Nzg5MDEyMzQ1Njc4OTA.GaBcDe.fakefakefakefakefakefakefakefakefa"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    # pytest swaps sys.stderr between phases, so the handler's stream is set in the test.
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    yield stream
    root.handlers[:], level = saved
    root.setLevel(level)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_secrets_are_masked_in_messages_args_and_tracebacks(
    captured: io.StringIO, fmt: str
) -> None:
    configure_logging("debug", fmt, secrets=[SECRET])
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(captured)
    log = logging.getLogger("jobbot.test")
    log.info("token %s and %s", SLACK, SECRET)
    log.warning("fetching https://user:%s@example.org/feed", "hunter22")
    try:
        raise RuntimeError(f"bad token {DISCORD}")
    except RuntimeError:
        log.exception("failed")
    out = captured.getvalue()
    for value in (SECRET, SLACK, DISCORD, "hunter22"):
        assert value not in out
    assert out.count(REDACTED) >= 4
    if fmt == "json":
        lines = [json.loads(line) for line in out.splitlines()]
        assert "RuntimeError" in lines[-1]["error"]


def test_redact_keeps_ordinary_text() -> None:
    text = "source lab: 12 seen, 3 new; https://example.org/jobs?id=5"
    assert redact(text, ["abc"]) == text  # too short to be a secret: not masked
    assert redact(f"x {SECRET} y", [SECRET]) == f"x {REDACTED} y"
