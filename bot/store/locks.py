"""Process locks: of several processes sharing one store, one holds a named lock.

``jobbot run`` uses one to keep the Discord gateway in a single process per bot (#16).
No table is needed, so the schema is left alone:

* SQLite (one host): an exclusive ``flock`` on a file beside the database. The kernel
  releases it when the process ends, however it ends (SIGKILL included).
* PostgreSQL (any number of hosts): a session-level advisory lock held on a connection
  of its own, never a pooled one (pooled connections are shared and recycled). The
  server releases it when that session ends; TCP keepalives on both sides make the
  session end within about 25 s when the holder's host vanishes, instead of after the
  kernel's default two hours. A PgBouncer in transaction mode in between would break
  session locks: point ``database_url`` at PostgreSQL or a session-mode pooler.

Each method does blocking I/O: call them from a thread (``asyncio.to_thread``).
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from bot.errors import StoreError
from bot.store.urls import mask_url

if TYPE_CHECKING:
    import psycopg

    from bot.store.factory import DatabaseSettings

__all__ = [
    "AdvisoryLock",
    "FileLock",
    "ProcessLock",
    "advisory_key",
    "file_lock_held",
    "process_lock",
]

# Seconds. The server probes an idle lease connection after KEEPALIVE_IDLE s, then every
# KEEPALIVE_INTERVAL s, and drops it after KEEPALIVE_COUNT unanswered probes: a vanished
# holder loses its lock within 10 + 5 * 3 = 25 s. The client uses the same values, so
# that a holder cut off from the server notices as soon as the server gives up on it.
KEEPALIVE_IDLE = 10
KEEPALIVE_INTERVAL = 5
KEEPALIVE_COUNT = 3
USER_TIMEOUT_MS = (KEEPALIVE_IDLE + KEEPALIVE_INTERVAL * KEEPALIVE_COUNT) * 1000


class ProcessLock(Protocol):
    """A named lock that at most one process holds at a time."""

    def try_acquire(self) -> bool:
        """Take the lock if it is free; True when this process holds it (now or already)."""
        ...

    def still_held(self) -> bool:
        """False once the lock is lost (its database connection ended) or released."""
        ...

    def release(self) -> None:
        """Give the lock up (nothing happens when it is not held)."""
        ...


def advisory_key(name: str) -> int:
    """The 64-bit advisory lock key of a lock name (a hash: names may carry ids)."""
    digest = hashlib.sha256(f"jobbot:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def process_lock(settings: DatabaseSettings, name: str) -> ProcessLock:
    """The lock called ``name`` in the store the settings name: a file lock beside the
    SQLite database, or an advisory lock in the PostgreSQL database."""
    if settings.database_url:
        return AdvisoryLock(settings.database_url, name)
    return FileLock(settings.database_path.parent / f"{name}.lock")


class FileLock:
    """An exclusive ``flock`` on a file: one process of one host holds it.

    ``flock`` locks belong to an open file, so two locks on one path conflict even in
    one process (as two bots in one test do).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def __str__(self) -> str:
        return f"file lock {self.path}"

    def try_acquire(self) -> bool:
        """Take the lock if no other open file holds it; writes this process's pid."""
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        if not _try_lock_file(fd):
            os.close(fd)
            return False
        self._fd = fd
        # For people looking at it (`cat`); the lock, not this text, decides who holds it.
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return True

    def still_held(self) -> bool:
        """A file lock stays held until released (or the process ends)."""
        return self._fd is not None

    def release(self) -> None:
        """Close the file, which releases the lock.

        The file is never deleted: a process that opened it before the deletion would
        lock a file that the next process no longer finds, and both would hold "the" lock.
        """
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


if sys.platform == "win32":
    import msvcrt

    def _try_lock_file(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

else:
    import fcntl

    def _try_lock_file(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


@contextmanager
def file_lock_held(path: Path, *, timeout: float = 120.0) -> Iterator[None]:
    """Hold the file lock at ``path`` for a block, waiting for it up to ``timeout`` s.

    For work that two processes must not do at once, such as upgrading one SQLite
    database that both just opened.
    """
    lock = FileLock(path)
    deadline = time.monotonic() + timeout
    while not lock.try_acquire():
        if time.monotonic() > deadline:
            raise StoreError(str(path), f"another process held it for over {timeout:.0f} s")
        time.sleep(0.05)
    try:
        yield
    finally:
        lock.release()


class AdvisoryLock:
    """A PostgreSQL session-level advisory lock on a dedicated connection.

    The connection is opened for each attempt and kept only while the lock is held, so
    a process waiting for the lock holds no connection between attempts.
    """

    def __init__(self, url: str, name: str) -> None:
        self.url = url
        self.key = advisory_key(name)
        self._conn: psycopg.Connection[Any] | None = None

    def __str__(self) -> str:
        return f"advisory lock {self.key} in {mask_url(self.url)}"

    def try_acquire(self) -> bool:
        """``pg_try_advisory_lock``; a database that cannot be reached raises StoreError."""
        if self._conn is not None:
            return True
        import psycopg

        try:
            conn = _connect(self.url)
        except psycopg.Error as error:
            raise StoreError(mask_url(self.url), f"cannot take {self}: {error}") from error
        try:
            row = conn.execute("select pg_try_advisory_lock(%s)", (self.key,)).fetchone()
        except psycopg.Error as error:
            conn.close()
            raise StoreError(mask_url(self.url), f"cannot take {self}: {error}") from error
        if not (row and row[0]):
            conn.close()
            return False
        self._conn = conn
        return True

    def still_held(self) -> bool:
        """Whether the session holding the lock is still alive (a round trip)."""
        import psycopg

        conn = self._conn
        if conn is None:
            return False
        try:
            conn.execute("select 1")
        except psycopg.Error:
            # The session is gone, and the server released its locks with it.
            self._conn = None
            conn.close()
            return False
        return True

    def release(self) -> None:
        """Close the session: the server releases its advisory locks with it."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def _connect(url: str) -> psycopg.Connection[Any]:
    """A connection of its own with short TCP keepalives on both ends."""
    import psycopg

    conn = psycopg.connect(
        url,
        autocommit=True,
        connect_timeout=10,
        application_name="jobbot lock",
        keepalives=1,
        keepalives_idle=KEEPALIVE_IDLE,
        keepalives_interval=KEEPALIVE_INTERVAL,
        keepalives_count=KEEPALIVE_COUNT,
        tcp_user_timeout=USER_TIMEOUT_MS,
    )
    try:
        # Server side (user-settable; ignored on a Unix socket, where no host can vanish).
        conn.execute(f"set tcp_keepalives_idle = {KEEPALIVE_IDLE}")
        conn.execute(f"set tcp_keepalives_interval = {KEEPALIVE_INTERVAL}")
        conn.execute(f"set tcp_keepalives_count = {KEEPALIVE_COUNT}")
        if conn.info.server_version >= 120000:
            conn.execute(f"set tcp_user_timeout = {USER_TIMEOUT_MS}")
        if conn.info.server_version >= 140000:
            # An idle-session limit set for the database would end the lease every time.
            conn.execute("set idle_session_timeout = 0")
    except BaseException:
        conn.close()
        raise
    return conn
