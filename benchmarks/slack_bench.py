"""Slack: Block Kit rendering speed and `/jobs` acknowledgement latency, as JSON.

Run from the repository root: ``python -m benchmarks.slack_bench``. The latency part runs
the real bolt app in HTTP mode on 127.0.0.1 against the fake Slack Web API (tests/fakes);
Slack wants an acknowledgement within 3 s.
"""

from __future__ import annotations

import asyncio
import io
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

import aiohttp

from benchmarks.slack_setup import SECRET, slack_settings
from bot.app import build
from bot.chat.slack_render import alert_message, digest_messages
from bot.postings.model import Posting
from bot.postings.taxonomy import load_taxonomy
from tests.fakes.slack_api import FakeSlack, sign_request, slash_command_body


def _postings(count: int) -> list[Posting]:
    slugs = load_taxonomy().slugs
    now = datetime(2026, 11, 23, tzinfo=UTC)
    return [
        Posting(
            source="bench",
            external_id=str(n),
            url=f"https://jobs.example/{n}",
            title=f"Research Intern {n} – <Speech> & Language (PhD)",
            company="Acme & Co",
            countries=("DE", "US"),
            areas=(slugs[n % len(slugs)],),
            degree="phd-only",
            is_internship=True,
            posted_at=now - timedelta(minutes=n),
        )
        for n in range(count)
    ]


def bench_render(count: int = 1000) -> dict[str, object]:
    postings = _postings(count)
    start = time.perf_counter()
    for n, posting in enumerate(postings):
        alert_message(posting, n)
    alerts_s = time.perf_counter() - start
    start = time.perf_counter()
    messages = digest_messages("Daily digest", postings, "bench")
    digest_s = time.perf_counter() - start
    return {
        "postings": count,
        "alert_render_us_each": round(alerts_s / count * 1e6, 1),
        "digest_render_ms": round(digest_s * 1e3, 1),
        "digest_messages": len(messages),
        "digest_max_blocks": max(len(m.blocks) for m in messages),
    }


async def bench_ack(requests: int = 200) -> dict[str, object]:
    async with FakeSlack(per_channel_interval=0) as slack:
        with tempfile.TemporaryDirectory() as tmp:
            settings = slack_settings(tmp, slack)
            bot = build(settings, console=io.StringIO())
            [service] = bot.services
            await service.start()
            url = f"http://127.0.0.1:{service.port}/slack/events"
            latencies = []
            async with aiohttp.ClientSession() as http:
                for n in range(requests):
                    text = "list" if n % 2 else f"subscribe area:nlp keywords:k{n}"
                    # Spread over people and channels: one user is held to
                    # commands_per_minute and one channel to its subscription cap.
                    body = slash_command_body(
                        text, channel_id=f"C0BENCH{n % 10}", user_id=f"U0BENCH{n}"
                    )
                    headers = {
                        "Content-Type": "application/x-www-form-urlencoded",
                        **sign_request(SECRET, body),
                    }
                    start = time.perf_counter()
                    async with http.post(url, data=body, headers=headers) as response:
                        await response.read()
                        assert response.status == 200
                    latencies.append(time.perf_counter() - start)
            await service.close()
            await bot.aclose()
    latencies.sort()
    return {
        "requests": requests,
        "ack_ms_p50": round(statistics.median(latencies) * 1e3, 2),
        "ack_ms_p95": round(latencies[int(len(latencies) * 0.95)] * 1e3, 2),
        "ack_ms_max": round(latencies[-1] * 1e3, 2),
    }


def main() -> int:
    result = {
        "python": sys.version.split()[0],
        "render": bench_render(),
        "slash_command": asyncio.run(bench_ack()),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
