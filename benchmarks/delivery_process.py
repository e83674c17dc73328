"""One delivery process of the multi-process delivery benchmark (``benchmarks/multi.py``).

``python -m benchmarks.delivery_process DATABASE_URL CHAT_URL RATE``: opens the shared
PostgreSQL store and a real ``DeliveryWorker`` posting to the fake chat server (each
channel paced at RATE messages a second), prints ``ready``, waits for a line on stdin
(every process starts sending at once), sends until the outbox holds nothing due or in
flight, and prints one JSON line: messages sent, wall-clock start and end, CPU seconds.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from benchmarks.scale import HttpChatAdapter
from bot.chat.delivery import DeliveryWorker
from bot.chat.pacing import ChannelPacer
from bot.sources.http import now_utc
from bot.store.postgres import PostgresStore

# Rows another process holds count as work left: this one stops only when all is sent.
UNFINISHED = ("pending", "retry", "sending")


async def deliver(database_url: str, chat_url: str, rate: int) -> dict[str, float]:
    """Send until the shared outbox is done; what this process sent, and when."""
    store = PostgresStore.open(database_url)
    try:
        async with HttpChatAdapter(chat_url, "aiohttp") as adapter:
            worker = DeliveryWorker(
                store,
                {"bench": adapter},
                now_utc,
                burst_threshold=10**9,
                pacers={"bench": ChannelPacer(rate, 1.0, spread=True)},
            )
            print("ready", flush=True)
            await asyncio.to_thread(sys.stdin.readline)
            started, cpu = time.time(), time.process_time()
            sent = retried = 0
            finished = started
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                report = await worker.run_once()
                sent += report.sent
                retried += report.retried
                if report.sent:
                    finished = time.time()
                    continue
                # A pass that found nothing: done, unless rows held by another process
                # (or put back after a 429) are still to come due.
                statuses = await asyncio.to_thread(store.delivery_statuses)
                if not any(statuses.get(status) for status in UNFINISHED):
                    break
                await asyncio.sleep(0.05)
            return {
                "sent": sent,
                "retried": retried,
                "started": started,
                "finished": finished,
                "cpu_s": time.process_time() - cpu,
            }
    finally:
        store.close()


if __name__ == "__main__":
    url, chat, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
    print(json.dumps(asyncio.run(deliver(url, chat, limit))), flush=True)
