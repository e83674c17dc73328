"""The per-user limit on `/jobs` commands (#18): a flood is refused before the store.

A script or a replayed request could otherwise keep the store busy for everyone. Each
user may run ``per_minute`` commands a minute; a refusal says when to try again. The
users remembered are forgotten once idle, so the limit does not grow for as long as the
bot runs.
"""

from __future__ import annotations

import time
from collections.abc import Hashable

from bot.chat.pacing import ChannelPacer

__all__ = ["CommandLimit"]

# Idle users are forgotten once more than this many are remembered, at most once a
# minute, so that many active users do not make every command walk them all.
FORGET_USERS_ABOVE = 1000


class CommandLimit:
    """At most ``per_minute`` commands a minute for each user."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._pacer = ChannelPacer(per_minute, 60.0)
        self._forgot_at = 0.0

    def wait(self, user: Hashable) -> float:
        """Take a command of ``user``: 0.0 when it may run now, else the seconds to wait."""
        if self._pacer.keys_held() > FORGET_USERS_ABOVE:
            now = time.monotonic()
            if now - self._forgot_at >= 60.0:
                self._forgot_at = now
                self._pacer.forget_idle()  # users who typed nothing in the last minute
        return self._pacer.try_take(user)

    def refusal(self, wait: float) -> str:
        """What a refused user is told."""
        return (
            f"Too many commands: at most {self.per_minute} a minute. "
            f"Try again in {max(1, round(wait))} s."
        )
