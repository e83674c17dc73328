"""How long the Discord renderer takes for alerts and large digests, and how many messages
a digest becomes. Prints one JSON object.

    python -m benchmarks.discord_render [--postings 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import UTC, datetime

from bot.chat.discord_render import alert_message, digest_messages, embed_size
from bot.postings.model import Posting

AREAS = ("nlp", "cv", "speech", "recsys", "rl", "robotics")


def _postings(count: int) -> list[Posting]:
    return [
        Posting(
            source="bench",
            external_id=str(i),
            url=f"https://jobs.example.org/{i}",
            title=f"Research Intern {i} – [team](https://x.example) @everyone " + "x" * 100,
            company="Example Research",
            countries=("DE", "US"),
            areas=(AREAS[i % len(AREAS)],),
            degree="phd-only",
            is_internship=True,
            posted_at=datetime(2026, 11, 20, tzinfo=UTC),
        )
        for i in range(count)
    ]


def main() -> None:
    """Time alert and digest rendering; print the figures as JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--postings", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    postings = _postings(args.postings)
    alert_times, digest_times = [], []
    messages = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        for posting in postings:
            alert_message(posting)
        alert_times.append((time.perf_counter() - started) / len(postings))
        started = time.perf_counter()
        messages = digest_messages("Benchmark digest", postings)
        digest_times.append(time.perf_counter() - started)
    print(
        json.dumps(
            {
                "postings": args.postings,
                "alert_render_us_median": round(statistics.median(alert_times) * 1e6, 1),
                "digest_render_ms_median": round(statistics.median(digest_times) * 1e3, 2),
                "digest_messages": len(messages),
                "digest_embeds": sum(len(m.embeds) for m in messages),
                "largest_message_chars": max(
                    sum(embed_size(e) for e in m.embeds) for m in messages
                ),
            }
        )
    )


if __name__ == "__main__":
    main()
