"""Background WAL checkpoints for the SQLite store."""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger("jobbot.store")

# WAL pages after which the writer checkpoints itself when a background thread should have
# (SQLite's default is 1000; see SQLiteStore.checkpoint_in_background).
WAL_BACKSTOP_PAGES = 10_000


class _Checkpointer:
    """Copies committed pages from the WAL into the database file, in a thread of its own.

    SQLite's automatic checkpoint runs inside the commit that crosses its threshold, so
    the writer (a poll storing its postings) waits for the copy and its fsync. A passive
    checkpoint from a second connection does the same work beside the writer instead; it
    never blocks it, and the writer's own checkpoint stays as a backstop.
    """

    INTERVAL_S = 0.05
    # With nothing new in the WAL (an idle bot), look again only this often.
    IDLE_INTERVAL_S = 1.0

    def __init__(self, path: str) -> None:
        # Opened here, not in the thread: a database it cannot open raises to the caller,
        # which then keeps the writer's own checkpoints as they were.
        self._conn = sqlite3.connect(path, check_same_thread=False)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="jobbot-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        interval, seen, failing = self.INTERVAL_S, -1, False
        try:
            while not self._stop.wait(interval):
                try:
                    row = self._conn.execute("pragma wal_checkpoint(passive)").fetchone()
                except sqlite3.Error as error:
                    if not failing:  # once per run of failures, not every 50 ms
                        log.warning(
                            "background checkpoint failed (the writer's own go on): %s", error
                        )
                    failing = True
                    continue
                failing = False
                # The WAL grew since the last look: the writer is busy, keep up with it.
                interval = self.INTERVAL_S if row[1] != seen else self.IDLE_INTERVAL_S
                seen = row[1]
        finally:
            self._conn.close()

    def stop(self) -> None:
        """End the thread (after its current checkpoint)."""
        self._stop.set()
        self._thread.join()
