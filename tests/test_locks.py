"""Process locks (``bot.store.locks``): one holder at a time, freed when the holder goes.

The same contract runs against the file lock (SQLite) and the advisory lock
(PostgreSQL, skipped without JOBBOT_TEST_DATABASE_URL).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from bot.config import load_settings
from bot.store.locks import AdvisoryLock, FileLock, ProcessLock, advisory_key, process_lock

REPO = Path(__file__).resolve().parents[1]

Factory = Callable[[], ProcessLock]


@pytest.fixture(params=["file", "advisory"])
def new_lock(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Factory]:
    """Makes locks of one name, as separate processes would (all released at the end)."""
    made: list[ProcessLock] = []
    url = request.getfixturevalue("postgres_url") if request.param == "advisory" else None

    def make() -> ProcessLock:
        lock: ProcessLock = (
            AdvisoryLock(url, f"test-{tmp_path.name}") if url else FileLock(tmp_path / "test.lock")
        )
        made.append(lock)
        return lock

    yield make
    for lock in made:
        lock.release()


def test_one_holder_at_a_time(new_lock: Factory) -> None:
    first, second = new_lock(), new_lock()
    assert first.try_acquire()
    assert first.try_acquire()  # already held: still True, nothing stacks
    assert first.still_held()
    assert not second.try_acquire()
    assert not second.still_held()
    first.release()
    assert not first.still_held()
    assert second.try_acquire()
    assert not first.try_acquire()


def test_the_file_lock_is_freed_when_its_process_is_killed(tmp_path: Path) -> None:
    path = tmp_path / "gateway.lock"
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from bot.store.locks import FileLock\n"
        f"assert FileLock(Path({str(path)!r})).try_acquire()\n"
        "print('held', flush=True)\n"
        "time.sleep(60)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        lock = FileLock(path)
        assert not lock.try_acquire()
        assert path.read_text().strip() == str(child.pid)  # who holds it, for people
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
        assert lock.try_acquire()
        lock.release()
    finally:
        child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()


def test_an_ended_session_loses_the_advisory_lock(postgres_url: str) -> None:
    import psycopg

    holder, waiter = AdvisoryLock(postgres_url, "ended"), AdvisoryLock(postgres_url, "ended")
    try:
        assert holder.try_acquire()
        assert holder._conn is not None
        # Short keepalives on the server's side: a vanished host loses the lock quickly.
        shown = holder._conn.execute("show tcp_keepalives_idle").fetchone()
        assert shown is not None and shown[0] in ("10s", "10")
        pid = holder._conn.info.backend_pid
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute("select pg_terminate_backend(%s)", (pid,))
        for _ in range(50):  # the server ends the session (and frees its locks) at once
            if waiter.try_acquire():
                break
            time.sleep(0.1)
        assert waiter.still_held()
        assert not holder.still_held()
    finally:
        holder.release()
        waiter.release()


def test_names_map_to_the_backend_and_keys_hide_them(tmp_path: Path) -> None:
    settings = load_settings(env={"JOBBOT_DATA_DIR": str(tmp_path)}, cwd=tmp_path)
    lock = process_lock(settings, "discord-gateway-42")
    assert isinstance(lock, FileLock)
    assert lock.path == tmp_path / "discord-gateway-42.lock"
    key = advisory_key("discord-gateway-42")
    assert -(2**63) <= key < 2**63 and key == advisory_key("discord-gateway-42")
    assert key != advisory_key("discord-gateway-43")


def _open_at(path: str, start: float) -> int:
    """Open (and so upgrade) the store at ``path`` at the moment ``start``; its version."""
    from bot.store.sqlite.store import SQLiteStore

    time.sleep(max(0.0, start - time.time()))
    store = SQLiteStore.open(Path(path))
    try:
        return store.schema_version()
    finally:
        store.close()


def test_processes_opening_one_new_sqlite_file_at_once_upgrade_it_once(tmp_path: Path) -> None:
    """Two `jobbot run` started together on a new data directory both open the file:
    each upgrade step runs once (before, the second failed on a column the first added)."""
    from bot.store.records import SCHEMA_VERSION

    path = str(tmp_path / "data" / "jobbot.db")
    start = time.time() + 1.0
    with ProcessPoolExecutor(4, mp_context=multiprocessing.get_context("spawn")) as pool:
        versions = list(pool.map(_open_at, [path] * 4, [start] * 4))
    assert versions == [SCHEMA_VERSION] * 4
