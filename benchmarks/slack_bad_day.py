"""Slack on a bad day, as JSON: the real `jobbot run` against the fake Slack while its
token is refused and while it answers 503 with a plain-text body.

Run from the repository root: ``python -m benchmarks.slack_bad_day`` (about four
minutes; ``--auth-s``/``--outage-s`` shorten it). Each scenario starts a fresh bot with
``--channels`` Slack subscriptions and a loopback feed whose first poll alerts
``--postings`` postings to each, with the fault already on; the fault lasts its time,
then the bot is watched until every alert has arrived. Reported per scenario: seconds from
the fault's end to the last alert, alerts sent twice, subscriptions paused, and the most
``conversations.history`` calls in any 60 s (Slack's Tier 3 allows about 50).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.store import Store
from tests.conftest import serving_feeds
from tests.fakes.feeds import feed
from tests.fakes.slack_api import BOT_TOKEN, TEAM_ID, FakeSlack

REPO = Path(__file__).resolve().parents[1]


def _config(tmp: Path, feed_url: str, postings: int) -> Path:
    config = tmp / "jobbot.toml"
    config.write_text(
        f'data_dir = "{tmp / "data"}"\n'
        "default_sources = false\nallow_private_sources = true\ndelivery_interval = 1\n"
        f'[[sources]]\nname = "bench"\nkind = "rss"\nurl = "{feed_url}"\n'
        f'interval = "1h"\nbackfill = {postings}\n',
        encoding="utf-8",
    )
    return config


def _env(config: Path, slack: FakeSlack) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    env.pop("JOBBOT_DATA_DIR", None)
    return env | {
        "JOBBOT_CONFIG": str(config),
        "PYTHONPATH": str(REPO),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": "bench-secret",
        "SLACK_API_URL": slack.api_url,
        "JOBBOT_HOST": "127.0.0.1",
        "JOBBOT_PORT": "0",
        "JOBBOT_METRICS_PORT": "0",
    }


async def _jobbot(env: dict[str, str], log: Path, *args: str) -> asyncio.subprocess.Process:
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", *args, env=env, stdout=out, stderr=out, cwd=REPO
        )


async def _until(condition: Callable[[], bool], within: float) -> float | None:
    """Seconds until ``condition`` holds, or None after ``within`` seconds."""
    start = time.monotonic()
    while time.monotonic() - start < within:
        if condition():
            return time.monotonic() - start
        await asyncio.sleep(0.1)
    return None


def _history_peak(slack: FakeSlack, stamps: list[float]) -> int:
    """The most conversations.history calls in any 60 s window."""
    return max((sum(1 for t in stamps if s <= t < s + 60) for s in stamps), default=0)


async def scenario(
    fault: str, seconds: float, *, channels: int, postings: int, watch: float
) -> dict[str, Any]:
    """One bad day: ``fault`` ("invalid_auth" or "outage") for ``seconds``, then recovery."""
    channel_ids = [f"C0BAD{n:03d}" for n in range(channels)]
    async with FakeSlack(per_channel_interval=1.0) as slack, serving_feeds() as feeds:
        slack.limit_method("conversations.history", 50)
        feeds.serve("/bench.rss", feed(range(postings), prefix="bad"))
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            env = _env(_config(tmp, feeds.url("/bench.rss"), postings), slack)
            log = tmp / "jobbot.log"
            for channel in channel_ids:
                add = await _jobbot(
                    env,
                    log,
                    "subs",
                    "add",
                    "--platform",
                    "slack",
                    "--workspace",
                    TEAM_ID,
                    "--channel",
                    channel,
                )
                if await add.wait() != 0:
                    raise RuntimeError(log.read_text()[-2000:])
            if fault == "invalid_auth":
                slack.fail_auth("invalid_auth")
            else:
                slack.start_outage()
            proc = await _jobbot(env, log, "run")
            history: list[float] = []
            seen = 0

            def watch_history() -> None:
                nonlocal seen
                calls = slack.calls_to("conversations.history")
                history.extend(time.monotonic() for _ in calls[seen:])
                seen = len(calls)

            fault_end = time.monotonic() + seconds
            while time.monotonic() < fault_end:
                watch_history()
                await asyncio.sleep(0.1)
            if fault == "invalid_auth":
                slack.fail_auth(None)
            else:
                slack.end_outage()
            expected = channels * postings

            def delivered() -> bool:
                watch_history()
                return sum(len(slack.messages_in(c)) for c in channel_ids) >= expected

            waited = await _until(delivered, watch)
            await asyncio.sleep(3)  # anything sent twice would show now
            proc.send_signal(signal.SIGTERM)
            await proc.wait()
            copies = Counter((c, m["text"]) for c in channel_ids for m in slack.messages_in(c))
            store = Store.open(tmp / "data" / "jobbot.db")
            try:
                paused = sum(1 for s in store.subscriptions() if s.paused)
                statuses = store.delivery_statuses()
            finally:
                store.close()
    return {
        "fault": fault,
        "fault_s": seconds,
        "channels": channels,
        "alerts": expected,
        "delivered": sum(copies.values()),
        "sent_twice": sum(1 for n in copies.values() if n > 1),
        "last_alert_after_recovery_s": None if waited is None else round(waited, 1),
        "subscriptions_paused": paused,
        "outbox": statuses,
        "history_calls": len(history),
        "history_calls_peak_per_minute": _history_peak(slack, history),
    }


async def measure(
    auth_s: float = 20, outage_s: float = 45, channels: int = 30, postings: int = 2
) -> dict[str, Any]:
    """Both scenarios, one after the other."""
    return {
        "invalid_auth": await scenario(
            "invalid_auth", auth_s, channels=channels, postings=postings, watch=90
        ),
        "outage_503_text": await scenario(
            "outage", outage_s, channels=channels, postings=postings, watch=120
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.slack_bad_day")
    parser.add_argument("--auth-s", type=float, default=20)
    parser.add_argument("--outage-s", type=float, default=45)
    parser.add_argument("--channels", type=int, default=30)
    args = parser.parse_args(argv)
    result = asyncio.run(measure(args.auth_s, args.outage_s, args.channels))
    print(json.dumps({"python": sys.version.split()[0], **result}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
