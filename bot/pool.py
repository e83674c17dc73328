"""Parsing and enrichment in worker processes, so a poll uses more than one CPU core.

Feed parsing (feedparser) and enrichment are pure CPU work on one source's body; the bot's
own process keeps the network, the database, matching and delivery. ``EnrichPool`` runs
that work in a ``ProcessPoolExecutor`` when ``ingest_workers`` allows more than one process
and the body is big enough to be worth sending, and in the calling process otherwise: the
postings are the same either way (``tests/test_pool.py``).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from multiprocessing.context import BaseContext

import bot.sources  # noqa: F401  (registers the built-in kinds in each worker process)
from bot.errors import FetchError, ParseError, SourceError
from bot.postings.enrich import enrich
from bot.postings.gazetteer import load_gazetteer
from bot.postings.model import Posting, RawPosting
from bot.postings.taxonomy import load_taxonomy
from bot.sources.base import SourceKind, SourceSpec, kind_for

__all__ = ["EnrichPool", "usable_cores", "warm_up"]

log = logging.getLogger("jobbot.pool")

# Below these sizes a body or a batch is handled in the bot's own process: sending it to
# a worker and the postings back costs more than it saves.
MIN_OFFLOAD_BYTES = 64 * 1024
MIN_OFFLOAD_RECORDS = 50


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity, where the platform tells)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def warm_up() -> None:
    """Build the taxonomy and gazetteer (cached) before the first body arrives."""
    load_taxonomy()
    load_gazetteer()


def _start_worker(bot_pid: int) -> None:
    """Worker initializer: warm up, and leave when the bot's process is gone.

    A bot killed without closing its pool (SIGKILL, out of memory) would otherwise leave
    its workers waiting for work forever. Ctrl-C reaches the whole process group: the
    bot stops its workers itself, so a worker ignores SIGINT instead of printing a
    ``KeyboardInterrupt`` traceback on the way out.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    warm_up()
    if os.name == "posix":  # os.kill(pid, 0) only asks on POSIX (on Windows it kills)
        threading.Thread(
            target=_exit_with, args=(bot_pid,), name="jobbot-bot-watch", daemon=True
        ).start()


def _exit_with(bot_pid: int) -> None:
    while True:
        time.sleep(1.0)
        try:
            os.kill(bot_pid, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:  # alive, under another user (the pid was reused)
            os._exit(0)


# (error class name, problem, retry_after): a SourceError does not survive pickling (its
# __init__ takes other arguments than its message), so it crosses back as plain values.
_Failure = tuple[str, str, float | None]


def _work(
    kind: str, body: bytes | None, records: Sequence[RawPosting], spec: SourceSpec, now: datetime
) -> tuple[list[Posting], _Failure | None]:
    """In a worker: parse the body (if any) with the kind's parser, then enrich every record."""
    try:
        if body is not None:
            records = kind_for(kind).parse(body, spec.name, spec.url)
        return [enrich(record, now) for record in records], None
    except SourceError as error:
        return [], (type(error).__name__, error.problem, error.retry_after)


class EnrichPool:
    """Parse and enrich polled records, in worker processes when that pays.

    ``workers`` is the ``ingest_workers`` setting resolved: 1 runs everything in the
    calling process. The processes start with ``ready`` (a running bot calls it when it
    starts), ``start``, or else at the first big body (a one-off poll whose feeds are all
    small never starts them), and stay until ``close``.
    """

    def __init__(
        self,
        workers: int,
        *,
        min_bytes: int = MIN_OFFLOAD_BYTES,
        min_records: int = MIN_OFFLOAD_RECORDS,
    ) -> None:
        self.workers = max(1, workers)
        self.min_bytes = min_bytes
        self.min_records = min_records
        self._executor: ProcessPoolExecutor | None = None
        # One job per worker, submitted at start: done when that worker is up and warm.
        self._warming: list[Future[int]] = []
        # Processes may start in a thread (``ready``, ``_submit``) while the event loop
        # goes on: one executor, started once, whichever thread asks first.
        self._lock = threading.Lock()
        self._closed = False

    @property
    def parallel(self) -> bool:
        """True when work may go to other processes."""
        return self.workers > 1

    async def parse_and_enrich(
        self, kind: SourceKind, body: bytes, spec: SourceSpec, now: datetime
    ) -> list[Posting]:
        """The postings of one response body (``kind.parse``, then ``enrich``)."""
        if not self.parallel or len(body) < self.min_bytes:
            return [enrich(record, now) for record in kind.parse(body, spec.name, spec.url)]
        return await self._submit(kind.name, body, (), spec, now)

    async def enrich(
        self, records: Sequence[RawPosting], spec: SourceSpec, now: datetime
    ) -> list[Posting]:
        """The postings of records a source has already parsed."""
        if not self.parallel or len(records) < self.min_records:
            return [enrich(record, now) for record in records]
        return await self._submit(spec.kind, None, records, spec, now)

    async def _submit(
        self,
        kind: str,
        body: bytes | None,
        records: Sequence[RawPosting],
        spec: SourceSpec,
        now: datetime,
    ) -> list[Posting]:
        loop = asyncio.get_running_loop()
        executor: Executor | None = self._executor
        if executor is None:  # started in a thread: the fork server may take a second
            executor = await asyncio.to_thread(self._start)
        try:
            postings, failure = await loop.run_in_executor(
                executor, _work, kind, body, list(records), spec, now
            )
        except BrokenProcessPool:
            # A worker died (killed, out of memory): this poll fails and is retried later
            # with backoff; the next one starts fresh processes.
            self._discard()
            raise
        if failure is not None:
            name, problem, retry_after = failure
            error_class = FetchError if name == FetchError.__name__ else ParseError
            raise error_class(spec.name, problem, retry_after=retry_after)
        return postings

    def start(self) -> None:
        """Start the worker processes now (if parallel), without waiting for them."""
        if self.parallel:
            self._start()

    async def ready(self) -> None:
        """Start the worker processes (if parallel) and wait until each has warmed up.

        Starting a process waits for the fork server (a second or so the first time), so
        it happens in a thread: the event loop goes on serving polls and chat meanwhile.
        """
        if not self.parallel:
            return
        await asyncio.to_thread(self._start)
        await asyncio.gather(*(asyncio.wrap_future(job) for job in self._warming))

    def _start(self) -> Executor:
        with self._lock:
            return self._start_locked()

    def _start_locked(self) -> Executor:
        if self._closed:
            # A poll still starting them in its thread when the bot closed its pool: no
            # processes may start after ``close`` (nothing would stop them).
            raise RuntimeError("the ingest worker pool is closed")
        if self._executor is None:
            # forkserver where there is one: workers start from a clean process, not a copy
            # of the running bot with its threads, sockets and database handle.
            context: BaseContext
            if "forkserver" in multiprocessing.get_all_start_methods():
                context = multiprocessing.get_context("forkserver")
                # The server imports the code and builds the tables once; workers forked
                # from it share them. ("__main__" is the default preload, kept.)
                context.set_forkserver_preload(["__main__", "bot.pool_warm"])
            else:
                context = multiprocessing.get_context("spawn")
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=context,
                initializer=_start_worker,
                initargs=(os.getpid(),),
            )
            # The executor starts a process per job waiting: these start them all now.
            self._warming = [self._executor.submit(os.getpid) for _ in range(self.workers)]
            log.info("started %d ingest worker processes", self.workers)
        return self._executor

    def _discard(self) -> None:
        with self._lock:
            executor, self._executor, self._warming = self._executor, None, []
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop the worker processes (work not yet started is dropped); none start after."""
        with self._lock:  # after a start under way in another thread, not before it
            executor, self._executor, self._warming = self._executor, None, []
            self._closed = True
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
