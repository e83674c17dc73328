"""A fake chat server on 127.0.0.1 that enforces a per-channel rate limit.

``POST /post`` with ``{"channel": …, "delivery": …}`` is accepted (200) while the
channel has sent fewer than ``rate`` messages in the last ``per`` seconds; otherwise it
answers 429 with Retry-After (seconds until the window has room), like Slack and
Discord. ``GET /stats`` reports accepted and rejected messages and duplicate deliveries.
Run as a separate process by the delivery benchmark; prints its base URL on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import deque

from aiohttp import web


class ChatServer:
    """Counts messages per channel and refuses those over the limit."""

    def __init__(self, rate: int, per: float) -> None:
        self.rate = rate
        self.per = per
        self.windows: dict[str, deque[float]] = {}
        self.seen: set[int] = set()
        self.accepted = 0
        self.rejected = 0
        self.duplicates = 0

    async def post(self, request: web.Request) -> web.Response:
        data = await request.json()
        now = time.monotonic()
        window = self.windows.setdefault(data["channel"], deque())
        while window and window[0] <= now - self.per:
            window.popleft()
        if len(window) >= self.rate:
            self.rejected += 1
            wait = window[0] + self.per - now
            return web.json_response(
                {"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": str(max(1, round(wait + 0.5)))},
            )
        window.append(now)
        self.accepted += 1
        if data["delivery"] in self.seen:
            self.duplicates += 1
        self.seen.add(data["delivery"])
        return web.json_response({"ok": True, "ts": f"{now:.6f}"})

    async def stats(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"accepted": self.accepted, "rejected": self.rejected, "duplicates": self.duplicates}
        )


async def main(rate: int, per: float) -> None:
    server = ChatServer(rate, per)
    app = web.Application()
    app.router.add_post("/post", server.post)
    app.router.add_get("/stats", server.stats)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(f"http://127.0.0.1:{runner.addresses[0][1]}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=int, default=20)
    parser.add_argument("--per", type=float, default=1.0)
    args = parser.parse_args()
    asyncio.run(main(args.rate, args.per))
