"""Grouped messages (digests, bursts) in parts, each part sent once.

A grouped message too big for one platform message goes in parts. When a later part
fails, the retry must not send the earlier ones again (#17), and a platform's own
de-duplication cannot be relied on for that (Discord's nonce lasts minutes; Slack has
none). So the caller hands the adapter a ``PartProgress``: the refs of the parts already
sent, and a callback that records each new part as soon as it is sent. The adapter
renders the whole message again (rendering is deterministic for the same rows, so part
N is the same part) and ``send_parts`` skips what went and sends the rest, in order.

This module knows nothing of the store: the caller's callback does the recording.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

__all__ = ["PartProgress", "PartSent", "send_parts"]

M = TypeVar("M")

#: Records that part ``index`` (0-based) of a grouped message went out as ``ref``.
PartSent = Callable[[int, str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class PartProgress:
    """How far a grouped message got: its parts already sent, and where to record more."""

    sent: tuple[str, ...] = ()
    record: PartSent | None = None


async def send_parts(
    parts: Sequence[M],
    progress: PartProgress | None,
    send: Callable[[int, M, Sequence[str]], Awaitable[str]],
) -> list[str]:
    """Send the parts not sent yet, in order, recording each; returns every part's ref.

    ``send(index, part, refs)`` sends one part, given the refs of the parts before it
    (Discord sends later parts into the forum post the first one opened). An error
    raised by ``send`` ends the loop: the parts before it stay recorded, and the retry
    resumes at the part that failed.
    """
    progress = progress or PartProgress()
    refs = list(progress.sent[: len(parts)])
    for index in range(len(refs), len(parts)):
        ref = await send(index, parts[index], refs)
        refs.append(ref)
        if progress.record is not None:
            await progress.record(index, ref)
    return refs
