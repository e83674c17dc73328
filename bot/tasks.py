"""Task helpers for the bot's run loop: quiet ends on shutdown and cancellation."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from typing import Any

log = logging.getLogger("jobbot")


def _until_shutdown(job: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[object]]:
    """``job``, ending quietly when the scheduler's shutdown cancels it mid-run.

    Jobs await the store's threads and the chat platforms; a stop (SIGTERM, Ctrl-C) can
    land on such an await, and the scheduler would log that cancellation as a failure.
    """

    @functools.wraps(job)
    async def run() -> object:
        try:
            return await job()
        except asyncio.CancelledError:
            log.debug("%s: stopped mid-run by shutdown", getattr(job, "__name__", job))
            return None

    return run


async def _cancel_all(tasks: Sequence[asyncio.Task[Any]]) -> None:
    """Cancel tasks and wait until each has ended, whatever it raised."""
    for task in tasks:
        task.cancel()
    for task in tasks:
        with suppress(asyncio.CancelledError, Exception):
            await task
