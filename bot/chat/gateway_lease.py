"""One gateway per bot among several processes: the one holding a lock runs it (#16).

Every ``jobbot run`` with the token logs in and sends through REST. Only the process
holding the lock opens the gateway, where commands arrive, so that no command is
handled twice. The others try to take the lock every ``retry`` seconds: when the
holder stops or dies, one of them opens the gateway within a minute. The holder checks
every ``check`` seconds that it still holds the lock, and closes the gateway at once
when it does not (its database connection ended, and the lock with it).

The lock comes from the composition root (``bot.store.locks`` provides them).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, runtime_checkable

from bot.store.locks import ProcessLock

__all__ = ["GatewayLease", "RunsGateway"]

log = logging.getLogger("jobbot.gateway")

# Seconds. A waiter's attempts: a dead holder's lock is free at once (process gone) or
# within about 25 s (host gone), so a waiter takes over within a minute.
RETRY = 15.0
# The holder's checks, well inside the 25 s after which PostgreSQL drops a vanished
# holder's session: a holder cut off from the database closes its gateway before
# another process can take the lock.
CHECK = 5.0
# How long one lock call may take before it counts as failed (an unreachable database).
CALL_TIMEOUT = 5.0


@runtime_checkable
class RunsGateway(Protocol):
    """An adapter whose gateway runs in one process of several (shown in ``/healthz``)."""

    @property
    def gateway(self) -> str:
        """Where the gateway runs: this process, another process, starting or stopped."""
        ...


class GatewayLease:
    """Opens the gateway while this process holds ``lock``, and closes it when it does not.

    ``open_gateway`` connects and returns the task that runs the connection;
    ``close_gateway`` ends that connection (REST stays up).
    """

    def __init__(
        self,
        lock: ProcessLock,
        open_gateway: Callable[[], Awaitable[asyncio.Task[None]]],
        close_gateway: Callable[[], Awaitable[None]],
        *,
        platform: str = "Discord",
        retry: float = RETRY,
        check: float = CHECK,
    ) -> None:
        self.lock = lock
        self.open_gateway = open_gateway
        self.close_gateway = close_gateway
        self.platform = platform
        self.retry = retry
        self.check = check
        self.state = "starting"
        # One thread, so that lock calls run in the order made: a release queued after
        # an attempt that a stop interrupted runs after it, and frees what it took.
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="gateway-lock")

    async def run(self) -> None:
        """Hold the gateway when the lock can be had; until cancelled, or the gateway ends.

        A gateway that ends by itself (a reset token, refused intents) is not reopened:
        the lock is given up so that another process, perhaps restarted with a new
        token, can take it.
        """
        announced = False
        try:
            while True:
                if not await self._call(self.lock.try_acquire, "take"):
                    self.state = "another process"
                    if not announced:
                        log.info(
                            "%s gateway runs in another process; this one sends through REST",
                            self.platform,
                        )
                        announced = True
                    await asyncio.sleep(self.retry)
                    continue
                announced = False
                self.state = "this process"
                log.info("this process runs the %s gateway (%s)", self.platform, self.lock)
                if await self._hold():
                    self.state = "stopped"
                    return
        finally:
            # The gateway closes before the lock is given up: two never overlap.
            await self.close_gateway()
            await self._call(self.lock.release, "release")
            self._thread.shutdown(wait=False)

    async def _hold(self) -> bool:
        """Run the gateway while the lock holds; True when the gateway ended by itself."""
        try:
            gateway = await self.open_gateway()
        except Exception as error:  # the edge: Discord failing now must not stop retries
            log.warning(
                "the %s gateway could not open (%r); trying again in %.0f s",
                self.platform,
                error,
                self.retry,
            )
            await self._let_go()
            await asyncio.sleep(self.retry)
            return False
        while True:
            done, _ = await asyncio.wait({gateway}, timeout=self.check)
            if done:
                await self._let_go()
                return True
            if not await self._call(self.lock.still_held, "check"):
                log.warning(
                    "lost the %s gateway lock (%s); closing the gateway, this process "
                    "sends through REST",
                    self.platform,
                    self.lock,
                )
                await self._let_go()
                return False

    async def _let_go(self) -> None:
        self.state = "starting"
        await self.close_gateway()
        await self._call(self.lock.release, "release")

    async def _call(self, call: Callable[[], bool | None], what: str) -> bool:
        """Run a lock call in the lock's thread; a failure or a hang counts as False."""
        running = asyncio.get_running_loop().run_in_executor(self._thread, call)
        try:
            return bool(await asyncio.wait_for(running, CALL_TIMEOUT))
        except TimeoutError:
            log.warning("%s gateway lock: %s took over %.0f s", self.platform, what, CALL_TIMEOUT)
        except Exception as error:  # the edge: a database down means "not held", not a crash
            log.warning("%s gateway lock: cannot %s: %s", self.platform, what, error)
        return False
