"""Answering a chat command within the platforms' 3 seconds (issue #17).

Slack drops a slash command (and a modal submission) that is not acknowledged within 3 s,
Discord an interaction that gets no first response within 3 s. A command's work runs on
the store, which a big poll may hold for seconds. So the work starts as a task at once
and the adapter waits for it only until ``ANSWER_WITHIN`` after the command arrived:
finished by then, it answers inline as always; not yet, it acknowledges at once (Slack
``ack()``, Discord ``defer()``) and delivers the reply when the work is done (Slack's
``response_url`` or ``chat.postEphemeral``, Discord's interaction followup).

The platform-neutral part lives here; each adapter keeps its own way of answering.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

from subscriptions.commands import Reply

__all__ = ["ANSWER_WITHIN", "FAILED", "Pending", "guarded"]

# Seconds from a command's arrival to the latest first answer. Both platforms allow 3 s,
# counted from when they sent the request; the last second is left for what this process
# cannot see: the request's way in, bolt's or discord.py's dispatch before the handler
# runs (a busy event loop during a big poll), and the acknowledgement's way back.
ANSWER_WITHIN = 2.0

FAILED = "Something went wrong on jobbot's side; it was logged."


async def guarded(work: Awaitable[Reply], text: str, log: logging.Logger) -> Reply:
    """The command's reply, or the "something went wrong" reply when its work raised.

    An adapter is an edge: a bug or a broken database must still answer the user, and
    the traceback goes to the log with the command that caused it.
    """
    try:
        return await work
    except Exception:
        log.exception("/jobs %s failed", text)
        return Reply(FAILED, ok=False)


class Pending:
    """A command's work, started as a task when the command arrived.

    ``arrived`` is the event loop's clock (``loop.time()``) when the handler began, which
    is as close to the request's arrival as this process gets.
    """

    def __init__(self, work: Awaitable[Reply], text: str, log: logging.Logger) -> None:
        loop = asyncio.get_running_loop()
        self.arrived = loop.time()
        self.task: asyncio.Task[Reply] = asyncio.ensure_future(guarded(work, text, log))

    async def within(self, budget: float = ANSWER_WITHIN) -> Reply | None:
        """The reply if the work finishes within ``budget`` of arrival, else ``None``.

        The work goes on either way: ``reply()`` waits for the rest of it.
        """
        remaining = self.arrived + budget - asyncio.get_running_loop().time()
        if remaining > 0 and not self.task.done():
            # asyncio.wait, unlike wait_for, leaves the task running when time is up.
            await asyncio.wait({self.task}, timeout=remaining)
        return self.task.result() if self.task.done() else None

    async def reply(self) -> Reply:
        """The reply, once the work is done (``guarded``: it never raises)."""
        return await self.task
