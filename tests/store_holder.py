"""A store held by another thread, as a big poll's write holds it (issue #17).

The SQLite store runs every call under one lock; storing a big batch keeps it for
seconds. ``held`` takes that lock from a thread of its own until the test lets go, so a
command's work is slow for as long as the test wants and finishes only when it says.
The test's own event loop must not call the store meanwhile (it would wait too).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from bot.store.sqlite import SQLiteStore

# However a test fails, the store comes back after this long.
LONGEST_HOLD_S = 15.0


class Hold:
    """The holding thread: ``release()`` lets go, after ``then`` (run with the lock held)."""

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store
        self._go = threading.Event()
        self._taken = threading.Event()
        self._then: Callable[[SQLiteStore], Any] | None = None
        self._thread = threading.Thread(target=self._hold, name="store-holder", daemon=True)

    def _hold(self) -> None:
        with self._store._lock:
            self._taken.set()
            self._go.wait(LONGEST_HOLD_S)
            if self._then is not None:
                self._then(self._store)

    def start(self) -> None:
        self._thread.start()
        assert self._taken.wait(5), "the store's lock was not taken"

    @property
    def holding(self) -> bool:
        """True until ``release()``: no work that needs the store can have finished."""
        return not self._go.is_set()

    def release(self, then: Callable[[SQLiteStore], Any] | None = None) -> None:
        """Let the store go, first running ``then`` on it (say, to break it)."""
        self._then = then
        self._go.set()
        self._thread.join(LONGEST_HOLD_S)


@contextmanager
def held(store: Any) -> Iterator[Hold]:
    """Hold ``store`` (a SQLite store) from another thread until ``release()`` or the end."""
    assert isinstance(store, SQLiteStore), "the harness's store is SQLite"
    hold = Hold(store)
    hold.start()
    try:
        yield hold
    finally:
        if hold.holding:
            hold.release()
