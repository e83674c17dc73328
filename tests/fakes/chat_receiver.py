"""A fake webhook receiver on 127.0.0.1 that counts what reached it, per delivery.

It answers the webhook adapter's POSTs and its recovery lookup
(``GET ?subscription_id=S&posting_id=P`` → ``{"found": true}``), and counts every
(subscription, posting) it received, so that a test sees a repeat as a count of 2.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class ChatReceiver:
    """Received messages and per-(subscription, posting) counts."""

    base_url: str = ""
    delay: float = 0.0
    fail_with: int | None = None
    lookup: bool = True  # False: a plain endpoint that answers every GET with 200 "ok"
    received: Counter[tuple[int, int]] = field(default_factory=Counter)
    messages: list[dict[str, Any]] = field(default_factory=list)
    keys: Counter[str] = field(default_factory=Counter)
    lookups: int = 0

    def url(self, path: str) -> str:
        """The URL of one webhook target on this receiver."""
        return f"{self.base_url}{path}"

    def duplicates(self) -> dict[tuple[int, int], int]:
        """(subscription, posting) pairs that arrived more than once."""
        return {pair: n for pair, n in self.received.items() if n > 1}

    async def handle_post(self, request: web.Request) -> web.Response:
        if self.fail_with is not None:
            return web.Response(status=self.fail_with, headers={"Retry-After": "1"})
        payload = await request.json()
        # Count on arrival, then answer late: a crash in between leaves the sender unsure.
        self.messages.append(payload)
        self.keys[request.headers.get("Idempotency-Key", "")] += 1
        for item in payload["postings"]:
            self.received[(item["subscription_id"], item["posting_id"])] += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        return web.json_response({"ok": True})

    async def handle_get(self, request: web.Request) -> web.Response:
        self.lookups += 1
        if not self.lookup:
            return web.Response(text="ok")
        pair = (int(request.query["subscription_id"]), int(request.query["posting_id"]))
        if pair in self.received:
            return web.json_response({"found": True, "ref": f"fake:{pair[0]}:{pair[1]}"})
        return web.json_response({"found": False}, status=404)


@asynccontextmanager
async def chat_receiver(delay: float = 0.0) -> AsyncIterator[ChatReceiver]:
    """Run a receiver on a free loopback port for the duration of the block."""
    receiver = ChatReceiver(delay=delay)
    app = web.Application()
    app.router.add_route("POST", "/{tail:.*}", receiver.handle_post)
    app.router.add_route("GET", "/{tail:.*}", receiver.handle_get)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    receiver.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield receiver
    finally:
        await runner.cleanup()
