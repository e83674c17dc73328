"""`/jobs` acknowledgement latency during a 10,000-posting poll (issue #17), as JSON.

    python -m benchmarks.ack_bench [--tiny] [--out PATH] [--seed N]

The real bot (``bot.app.build``) serves Slack over HTTP on 127.0.0.1 against the fake
Slack Web API (tests/fakes) and polls generated RSS feeds (``benchmarks.scale``) with
``subscriptions`` subscriptions; every posting is new and alerted (backfill), so storing,
matching and queueing all run. While the poll runs, a `/jobs` command (subscribe and list
in turn) is sent every ``EVERY_S`` seconds with a response_url on the fake. Per command:
how long until the HTTP acknowledgement, and whether the reply was in it or came later
through the response_url (and when: what the acknowledgement would have waited for
before #17, when the work ran first).

Two shapes of the same 10,000 postings: 50 sources of 200 (the store is taken per
source, briefly) and 2 sources of 5,000 (each batch keeps the store for seconds).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.output import emit
from benchmarks.scale import FeedSite, machine, make_feed, make_filters
from benchmarks.slack_setup import SECRET, slack_settings
from bot.app import build
from bot.chat.answer import ANSWER_WITHIN
from subscriptions.model import Schedule
from tests.fakes.slack_api import FakeSlack, sign_request, slash_command_body

EVERY_S = 0.25  # a command this often while the poll runs
SLACK_LIMIT_S = 3.0


@dataclass(frozen=True)
class Shape:
    """One poll: ``sources`` feeds of ``per_source`` postings each."""

    sources: int
    per_source: int


SIZES = {
    "full": {"shapes": (Shape(50, 200), Shape(2, 5000)), "subscriptions": 1000},
    "tiny": {"shapes": (Shape(2, 100),), "subscriptions": 50},
}


@dataclass
class Sent:
    """One command: when it went, when it was acknowledged and how it was answered."""

    name: str
    sent: float
    acked: float = 0.0
    inline: bool = False
    late_at: float | None = None


async def _poll_with_commands(shape: Shape, subscriptions: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    feeds = {f"/feed/{s}.xml": make_feed(rng, s, shape.per_source) for s in range(shape.sources)}
    site = FeedSite(feeds)
    await site.start()
    try:
        async with FakeSlack(per_channel_interval=0) as slack:
            with tempfile.TemporaryDirectory() as tmp:
                settings = slack_settings(tmp, slack, allow_private_sources=True)
                bot = build(settings, console=io.StringIO())
                try:
                    for filter_ in make_filters(random.Random(seed + 1), subscriptions):
                        bot.store.add_subscription(
                            platform="console",
                            workspace="w",
                            channel="c",
                            filter=filter_,
                            schedule=Schedule(),
                            created_by="bench",
                            now=bot.clock(),
                        )
                    for path in feeds:
                        bot.store.upsert_source(
                            path.rsplit("/", 1)[-1],
                            "rss",
                            site.base_url + path,
                            3600,
                            backfill=shape.per_source,
                            now=bot.clock(),
                        )
                    [service] = bot.services
                    await service.start()
                    # As `jobbot run` has them: worker processes up before the first poll.
                    await bot.start_ingest_workers()
                    url = f"http://127.0.0.1:{service.port}/slack/events"
                    return await _measure(bot, slack, url)
                finally:
                    await bot.aclose()
    finally:
        await site.stop()


async def _measure(bot: Any, slack: FakeSlack, url: str) -> dict[str, Any]:
    sent: list[Sent] = []
    tasks: list[asyncio.Task[None]] = []

    async with aiohttp.ClientSession() as http:

        async def command(n: int) -> None:
            text = "list" if n % 2 else f"subscribe area:nlp keywords:k{n}"
            record = Sent(f"c{n}", time.perf_counter())
            sent.append(record)
            # Many people in a few channels: one user is held to commands_per_minute and
            # one channel to its subscription cap, which would time refusals instead.
            body = slash_command_body(
                text,
                channel_id=f"C0BENCH{n % 10}",
                user_id=f"U0BENCH{n}",
                response_url=slack.response_url(record.name),
            )
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                **sign_request(SECRET, body),
            }
            async with http.post(url, data=body, headers=headers) as response:
                answer = await response.read()
                assert response.status == 200, response.status
            record.acked = time.perf_counter()
            record.inline = bool(answer)

        started = time.perf_counter()
        poll = asyncio.create_task(bot.poll_all())
        n = 0
        while not poll.done():
            tasks.append(asyncio.create_task(command(n)))
            n += 1
            await asyncio.sleep(EVERY_S)
            _note_late(slack, sent)
        reports = await poll
        poll_s = time.perf_counter() - started
        await asyncio.gather(*tasks)
        deadline = time.perf_counter() + 30
        while time.perf_counter() < deadline and any(
            not s.inline and s.late_at is None for s in sent
        ):
            await asyncio.sleep(0.01)
            _note_late(slack, sent)
    acks = sorted(s.acked - s.sent for s in sent)
    late = [s for s in sent if not s.inline]
    waits = [s.late_at - s.sent for s in late if s.late_at is not None]
    return {
        "postings": sum(r.seen for r in reports),
        "poll_s": round(poll_s, 2),
        "commands": len(sent),
        "ack_ms_p50": round(statistics.median(acks) * 1e3, 1),
        "ack_ms_max": round(acks[-1] * 1e3, 1),
        "acks_over_3s": sum(a > SLACK_LIMIT_S for a in acks),
        "answered_in_ack": len(sent) - len(late),
        "answered_later": len(late),
        "never_answered": sum(s.late_at is None for s in late),
        "late_reply_s_max": round(max(waits), 2) if waits else None,
        # The longest a command's work took (to its inline or its late reply): before #17
        # the acknowledgement waited for the work, so this long.
        "work_s_max": round(max([s.acked - s.sent for s in sent if s.inline] + waits), 2),
        "works_over_3s": sum(w > SLACK_LIMIT_S for w in waits),
    }


def _note_late(slack: FakeSlack, sent: list[Sent]) -> None:
    now = time.perf_counter()
    for record in sent:
        if record.late_at is None and slack.responses.get(record.name):
            record.late_at = now


def run(size: str, seed: int) -> dict[str, Any]:
    """Every shape of ``size``, one poll each, as one flat-ish dict."""
    plan = SIZES[size]
    result: dict[str, Any] = {
        "size": size,
        "answer_within_s": ANSWER_WITHIN,
        "command_every_s": EVERY_S,
        "subscriptions": plan["subscriptions"],
        "machine": machine(),
    }
    for shape in plan["shapes"]:
        name = f"{shape.sources}x{shape.per_source}"
        print(f"polling {name} …", file=sys.stderr, flush=True)
        result[name] = asyncio.run(_poll_with_commands(shape, plan["subscriptions"], seed))
    return result


def main(argv: list[str] | None = None) -> int:
    """Print the measurement as JSON (and write it to --out when given)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="a few seconds (smoke test)")
    parser.add_argument("--out", type=Path, help="also write the JSON to this file")
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args(argv)
    emit(run("tiny" if args.tiny else "full", args.seed), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
