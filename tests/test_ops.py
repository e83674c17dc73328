"""`jobbot run` serves /healthz and /metrics; its output never carries a token."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from bot.ops import Health, Metrics, OpsServer, health
from bot.store import SourceState
from tests.conftest import DATA, NOW

ROOT = Path(__file__).resolve().parents[1]
# Fake but realistically shaped: the token patterns must catch them even if unknown.
SLACK_BOT = "xoxb-1234567890-0987654321-FakeFakeFakeFakeFake1"
SLACK_APP = "xapp-1-A0FAKE-1234567890-fakefakefakefakefakefakefakefake"
SIGNING = "8f2b1c9e0d7a6f5e4d3c2b1a0f9e8d7c"
DISCORD = "MTIzNDU2Nzg5MDEyMzQ1Njc4OTA.GaBcDe.fakefakefakefakefakefakefakefakefa"
SECRETS = {
    "SLACK_BOT_TOKEN": SLACK_BOT,
    "SLACK_APP_TOKEN": SLACK_APP,
    "SLACK_SIGNING_SECRET": SIGNING,
    "DISCORD_TOKEN": DISCORD,
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def static_feed() -> Iterator[str]:
    """tests/data served by a plain threaded HTTP server on 127.0.0.1 (the bot is a subprocess)."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(DATA)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_", "JOBBOT_"))
    }
    env["JOBBOT_DATA_DIR"] = str(tmp_path / "data")
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def _start(tmp_path: Path, config: str, port: int, **extra: str) -> subprocess.Popen[str]:
    (tmp_path / "jobbot.toml").write_text(config)
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "--log-format", "json", "-v", "run"],
        cwd=tmp_path,
        env=_env(tmp_path, JOBBOT_METRICS_PORT=str(port), **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_health(port: int, *, polled: bool) -> tuple[int, dict[str, object]]:
    deadline = time.monotonic() + 20
    answer: tuple[int, dict[str, object]] = (0, {})
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            answer = (response.status_code, response.json())
            if not polled or answer[1].get("last_successful_poll"):
                return answer
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return answer


def _stop(process: subprocess.Popen[str], wait: float = 10) -> tuple[str, str]:
    process.send_signal(signal.SIGTERM)
    try:
        return process.communicate(timeout=wait)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.communicate(timeout=10)


@pytest.mark.slow
@pytest.mark.integration
def test_run_serves_healthz_and_metrics(tmp_path: Path, static_feed: str) -> None:
    port = free_port()
    process = _start(
        tmp_path,
        "default_sources = false\nallow_private_sources = true\n"
        f'[[sources]]\nname = "local"\nkind = "rss"\nurl = "{static_feed}/feed_v1.rss"\n'
        '[[sources]]\nname = "down"\nkind = "rss"\nurl = "http://127.0.0.1:9/x.rss"\n',
        port,
    )
    try:
        status, health_body = _wait_for_health(port, polled=True)
        assert status == 200 and health_body["status"] == "ok", health_body
        assert isinstance(health_body["last_successful_poll_age_seconds"], float)
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
        out, err = _stop(process)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    assert 'jobbot_polls_total{outcome="ok",source="local"} 1.0' in text
    assert 'jobbot_poll_errors_total{source="down"} 1.0' in text
    assert 'jobbot_postings_seen_total{source="local"}' in text
    assert 'jobbot_alerts_sent_total{platform="console"} 0.0' in text
    assert 'jobbot_rate_limited_total{platform="console"} 0.0' in text
    assert 'jobbot_delivery_latency_seconds_count{platform="console"} 0.0' in text
    json_lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    polls = [line for line in json_lines if line.get("event") == "poll"]
    assert {(p["source"], p["ok"]) for p in polls} == {("local", True), ("down", False)}
    assert all(isinstance(p.get("seen", 0), int) for p in polls)


@pytest.mark.slow
@pytest.mark.integration
def test_run_never_prints_a_token(tmp_path: Path) -> None:
    port = free_port()
    process = _start(
        tmp_path,
        # A source whose URL carries a password: it must not be shown either.
        "default_sources = false\nallow_private_sources = true\n"
        '[[sources]]\nname = "private"\nkind = "rss"\n'
        f'url = "http://user:{SIGNING}@127.0.0.1:9/x.rss"\n',
        port,
        # Every chat connection points at a closed port, so each one fails and logs.
        SLACK_API_URL="http://127.0.0.1:9/api/",
        DISCORD_API_URL="http://127.0.0.1:9/api/v10",
        DISCORD_GATEWAY_URL="ws://127.0.0.1:9/",
        **SECRETS,
    )
    try:
        status, _ = _wait_for_health(port, polled=False)
        time.sleep(1.5)  # let the connections fail and the first poll run
        # Unreachable chat platforms neither block polling nor the stop signal.
        out, err = _stop(process, wait=15)
    finally:
        process.kill()
    assert status == 200
    assert process.returncode == 0, err[-2000:]
    assert "jobbot stopped." in out and "source private: poll failed" in err
    output = out + err
    assert "127.0.0.1:9" in output  # the failures were logged ...
    for name, value in SECRETS.items():
        assert value not in output, f"{name} leaked into the output of jobbot run"  # ... masked


def test_health_is_ok_when_recent_and_unhealthy_when_polling_stopped() -> None:
    fresh = SourceState("a", "rss", "u", 3600, last_success_at=NOW - timedelta(minutes=5))
    stale = SourceState("a", "rss", "u", 3600, last_success_at=NOW - timedelta(hours=4))
    never = SourceState("a", "rss", "u", 3600, consecutive_failures=5)
    started = NOW - timedelta(days=1)
    assert health([fresh], NOW, started).ok
    verdict = health([stale], NOW, started)
    assert not verdict.ok and verdict.last_success_age_s == 4 * 3600
    assert not health([never], NOW, started).ok
    assert health([never], NOW, NOW - timedelta(minutes=1)).ok  # just started
    assert health([], NOW, started).ok


async def test_healthz_answers_503_when_unhealthy() -> None:
    verdict = Health(False, "no poll for hours", None, None, 1, ("a",))
    server = OpsServer(Metrics(), lambda: verdict)
    assert await server.start("127.0.0.1", 0)
    try:
        async with httpx.AsyncClient() as client:
            answer = await client.get(f"http://127.0.0.1:{server.port}/healthz")
        assert answer.status_code == 503
        assert answer.json()["status"] == "unhealthy"
        assert answer.json()["failing_sources"] == ["a"]
    finally:
        await server.stop()


async def test_a_busy_metrics_port_does_not_stop_the_bot() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        server = OpsServer(Metrics(), lambda: Health(True, "", None, None, 0, ()))
        assert not await server.start("127.0.0.1", port)


async def test_a_delivery_batch_is_counted_and_logged_as_one_line(
    settings, feed_server, caplog: pytest.LogCaptureFixture
) -> None:
    import io
    import logging

    from bot.app import build
    from subscriptions.commands import CommandContext

    feed_server.serve("/jobs.rss", (DATA / "feed_v1.rss").read_bytes())
    bot = build(settings, console=io.StringIO(), clock=lambda: NOW)
    try:
        ctx = CommandContext("console", "test", "all", "t", NOW)
        assert (await bot.command("subscribe internship:any", ctx)).ok
        url = feed_server.url("/jobs.rss")
        bot.store.upsert_source("feed", "rss", url, 600, backfill=3, now=NOW)
        await bot.poll_all()
        with caplog.at_level(logging.INFO, logger="jobbot"):
            report = await bot.deliver()
        assert report.sent == 3
        batches = [r for r in caplog.records if r.getMessage().startswith("delivery batch")]
        assert len(batches) == 1 and batches[0].fields["sent"] == 3  # type: ignore[attr-defined]
        text = bot.metrics.render().decode()
        assert 'jobbot_alerts_sent_total{platform="console"} 3.0' in text
        assert 'jobbot_alerts_queued_total{source="feed"} 3.0' in text
        assert 'jobbot_delivery_latency_seconds_count{platform="console"} 3.0' in text
    finally:
        await bot.aclose()
