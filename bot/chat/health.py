"""What the bot knows of each chat platform's token: working, or held until it works.

A refused token (Slack ``invalid_auth``, Discord 401) is no channel's fault. While a
platform is held the delivery worker sends nothing there: it puts that platform's rows
back until the next check, fails and pauses nothing, and checks the token again with
backoff (5 s doubling to 5 minutes). ``/healthz`` answers 503 with the platform's state
and reason while it is held.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

__all__ = ["ChatHealth", "ChecksAuth", "HeldPlatform", "check_delay"]

FIRST_CHECK = 5.0
LAST_CHECK = 300.0


def check_delay(failures: int) -> float:
    """Seconds before the next token check after ``failures`` refusals in a row."""
    return min(FIRST_CHECK * 2.0 ** max(0, failures - 1), LAST_CHECK)


@runtime_checkable
class ChecksAuth(Protocol):
    """The optional token check: raise ``ChatError`` unless the platform takes the token."""

    async def check_auth(self) -> None:
        """Slack ``auth.test``, Discord ``GET /users/@me``."""
        ...


@dataclass(slots=True)
class HeldPlatform:
    """A platform whose token was refused: since when, why, and when to check again."""

    platform: str
    reason: str
    since: datetime
    next_check: datetime
    failures: int = 1

    def as_json(self) -> dict[str, object]:
        """The platform's entry in ``/healthz``."""
        return {
            "state": "held",
            "reason": self.reason,
            "since": self.since.isoformat(),
            "next_check": self.next_check.isoformat(),
        }


class ChatHealth:
    """The held platforms of one bot (in memory: a restart checks every token anew)."""

    def __init__(self) -> None:
        self._held: dict[str, HeldPlatform] = {}

    def hold(self, platform: str, reason: str, now: datetime) -> HeldPlatform:
        """The token was refused (again): hold the platform until the next check."""
        held = self._held.get(platform)
        if held is None:
            held = HeldPlatform(platform, reason, now, now)
            self._held[platform] = held
        else:
            held.failures += 1
            held.reason = reason
        held.next_check = now + timedelta(seconds=check_delay(held.failures))
        return held

    def held(self, platform: str) -> HeldPlatform | None:
        """The platform's hold, if its token is refused."""
        return self._held.get(platform)

    def due(self, now: datetime) -> list[HeldPlatform]:
        """The held platforms whose token is due to be checked again."""
        return [h for h in self._held.values() if h.next_check <= now]

    def release(self, platform: str) -> HeldPlatform | None:
        """The token works again: end the hold (returned, if there was one)."""
        return self._held.pop(platform, None)

    def as_json(self) -> dict[str, dict[str, object]]:
        """The held platforms for ``/healthz`` (empty when every token works)."""
        return {name: held.as_json() for name, held in sorted(self._held.items())}
