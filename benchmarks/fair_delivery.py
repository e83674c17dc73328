"""Fair delivery at Slack's pace, as JSON: how long a quiet channel's new alert waits
while another channel works through a backlog of 1,000 queued alerts.

Run from the repository root: ``python -m benchmarks.fair_delivery [--backlog N]``. The
real bot (store, delivery worker, Slack adapter with its pacer) sends to the fake Slack
Web API (tests/fakes) on 127.0.0.1, which accepts about one message a second per channel
as Slack does.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime

from benchmarks.slack_setup import slack_settings
from bot.app import build
from bot.postings.model import Posting
from subscriptions.model import Filter, Schedule
from tests.fakes.slack_api import TEAM_ID, FakeSlack

BUSY, QUIET = "C0BUSY", "C0QUIET"


def _posting(n: int) -> Posting:
    return Posting(
        source="bench",
        external_id=str(n),
        url=f"https://jobs.example/{n}",
        title=f"Research Intern {n} - Speech",
        company="Acme",
        countries=("DE",),
        areas=("speech",),
        is_internship=True,
    )


async def _until(condition: Callable[[], object]) -> float:
    """Seconds until ``condition`` holds (a minute at most)."""
    start = time.perf_counter()
    for _ in range(3000):
        if condition():
            return time.perf_counter() - start
        await asyncio.sleep(0.02)
    raise TimeoutError("the fake Slack never saw the message")


async def measure(
    backlog: int = 1000, busy_before: int = 3, observe: float = 5.0
) -> dict[str, object]:
    """Queue ``backlog`` alerts for one channel, start delivering, then add one alert for
    another channel once the busy one has sent ``busy_before``; time that alert."""
    async with FakeSlack(per_channel_interval=1.0) as slack:
        with tempfile.TemporaryDirectory() as tmp:
            settings = slack_settings(tmp, slack)
            bot = build(settings, console=io.StringIO())
            now = datetime.now(UTC)
            busy, quiet = (
                bot.store.add_subscription(
                    platform="slack",
                    workspace=TEAM_ID,
                    channel=channel,
                    filter=Filter(),
                    schedule=Schedule(),
                    created_by="bench",
                    now=now,
                )
                for channel in (BUSY, QUIET)
            )
            postings = [_posting(n) for n in range(backlog + 1)]
            stored = bot.store.ingest(postings, now, alert=True).new
            # One poll each, so that none of the backlog is grouped into a burst message.
            for n, posting in enumerate(stored[:backlog]):
                bot.store.enqueue([(busy, posting.id)], now, batch=f"poll-{n}")
            delivering = asyncio.create_task(bot.worker.run_once())
            await _until(lambda: len(slack.messages_in(BUSY)) >= busy_before)
            bot.store.enqueue([(quiet, stored[backlog].id)], now, batch="poll-quiet")
            busy_at_enqueue = len(slack.messages_in(BUSY))
            start = time.perf_counter()
            waited = await _until(lambda: slack.messages_in(QUIET))
            # Keep going a little to see that the busy channel holds Slack's pace.
            await asyncio.sleep(observe)
            busy_rate = (len(slack.messages_in(BUSY)) - busy_at_enqueue) / (
                time.perf_counter() - start
            )
            delivering.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await delivering
            await bot.aclose()
    return {
        "backlog": backlog,
        "quiet_channel_alert_s": round(waited, 2),
        "busy_channel_messages_per_s": round(busy_rate, 2),
        "slack_rate_limited": slack.rate_limited_count,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fair_delivery")
    parser.add_argument("--backlog", type=int, default=1000)
    args = parser.parse_args(argv)
    result = {"python": sys.version.split()[0], **asyncio.run(measure(args.backlog))}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
