"""Lease owners of delivery workers, and ending the leases of workers that died.

A worker claims outbox rows under a lease named after it (``host:pid:token``); rows of a
worker on this host whose process is gone are taken over at once instead of at the end
of their lease.
"""

from __future__ import annotations

import os
import secrets
import socket
from datetime import datetime

from bot.store.protocols import Store

__all__ = ["new_lease_owner", "owner_is_dead", "reap_dead_leases"]

_HOST = socket.gethostname()
# Lease owners of the workers alive in this process (several may share one process).
_LIVE_OWNERS: set[str] = set()


def owner_is_dead(owner: str) -> bool:
    """True when a lease owner (``host:pid:token``) is a worker on this host that is gone.

    Owners on other hosts, and live processes, are left to their lease's end.
    """
    host, _, rest = owner.rpartition(":")[0].partition(":")
    pid_text = rest
    if host != _HOST or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return owner not in _LIVE_OWNERS
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def new_lease_owner() -> str:
    """A lease owner id for one worker of this process (``host:pid:token``)."""
    owner = f"{_HOST}:{os.getpid()}:{secrets.token_hex(4)}"
    _LIVE_OWNERS.add(owner)
    return owner


def reap_dead_leases(store: Store, now: datetime) -> int:
    """End the leases of workers on this host that died (a crash, SIGKILL)."""
    return sum(
        store.expire_leases(owner, now) for owner in store.lease_owners() if owner_is_dead(owner)
    )
