"""Delivery with three processes ÷ one process, sharing one PostgreSQL outbox (#16).

Each process (``benchmarks/delivery_process.py``) runs the real ``DeliveryWorker``
against the fake chat server (``benchmarks/chat_server.py``) with 60 rate-limited
channels; ``bench_delivery_processes`` says how the limits are chosen and why.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.multi import (
    ROOT,
    MultiSize,
    empty_database,
    postgres_database,
)
from benchmarks.scale import NOW, make_postings, queue_for_channels

__all__ = ["bench_delivery_processes"]


def _queue_alerts(url: str, size: MultiSize, seed: int) -> int:
    """An empty outbox database with ``per_channel`` alerts queued for each channel."""
    from bot.store.postgres import PostgresStore

    empty_database(url)
    store = PostgresStore.open(url)
    try:
        postings = make_postings(random.Random(seed), size.per_channel, source="delivery")
        stored = store.ingest(postings, NOW, alert=True).new
        return queue_for_channels(store, stored, size.channels)
    finally:
        store.close()


@contextmanager
def _chat_server(rate: int) -> Iterator[tuple[str, Callable[[], dict[str, int]], int]]:
    """The fake chat server in a process of its own: its URL, a way to read its counts,
    and its process id."""
    import httpx

    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.chat_server", "--rate", str(rate)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()

        def stats() -> dict[str, int]:
            return dict(httpx.get(f"{base_url}/stats", timeout=10).json())

        yield base_url, stats, server.pid
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stdout is not None:
            server.stdout.close()


def _deliver_with(processes: int, url: str, size: MultiSize) -> dict[str, Any]:
    """Start ``processes`` delivery processes on the queued outbox; time them from the
    moment all are ready (imports and connections are not counted) to the last send."""
    with _chat_server(size.channel_rate) as (chat_url, stats, server_pid):
        server_before = _server_cpu_s(server_pid)
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.delivery_process",
                    url,
                    chat_url,
                    str(size.channel_rate),
                ],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(processes)
        ]
        try:
            for proc in procs:
                assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
            for proc in procs:
                assert proc.stdin is not None
                proc.stdin.write("go\n")
                proc.stdin.flush()
            reports = []
            for proc in procs:
                out, _ = proc.communicate(timeout=600)
                reports.append(json.loads(out.strip().splitlines()[-1]))
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        counts = stats()
        server_after = _server_cpu_s(server_pid)
    server_cpu = (
        round(1000 * (server_after - server_before) / counts["accepted"], 3)
        if server_before is not None and server_after is not None
        else None
    )
    elapsed = max(r["finished"] for r in reports) - min(r["started"] for r in reports)
    return {
        "msgs_per_s": round(counts["accepted"] / elapsed, 1),
        "s": round(elapsed, 3),
        "delivered": counts["accepted"],
        "extra_429s": counts["rejected"],
        "duplicates": counts["duplicates"],
        "sent_per_process": [r["sent"] for r in reports],
        "cpu_ms_per_msg": round(1000 * sum(r["cpu_s"] for r in reports) / counts["accepted"], 3),
        "server_cpu_ms_per_msg": server_cpu,
    }


def _server_cpu_s(pid: int) -> float | None:
    """CPU seconds a process has used so far (Linux), to see where the cores went."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_delivery_processes(size: MultiSize, seed: int) -> dict[str, Any]:
    """Delivery with three processes sharing one PostgreSQL outbox ÷ with one process.

    Each process is the real ``DeliveryWorker`` (claims with ``FOR UPDATE SKIP LOCKED``,
    a lane per channel, each channel paced at its limit) posting with aiohttp to the fake
    chat server, which refuses (429) whatever goes over a channel's limit.

    What the ratio measures depends on where the limit sits. Where the channels' limits
    add up to less than one process can push, one process already sends at the
    platform's ceiling (``delivery_efficiency``: 0.99 of 400 msg/s in one event loop),
    and more processes cannot add anything: the ratio would be about 1 whatever the
    code. So the fake server allows each of the 60 channels ``channel_rate`` messages a
    second, a sum (``delivery_processes_limit_msgs_per_s``) above what one process,
    and what three, can send: one process is then bound by its own work per message
    (one event loop rendering, posting and recording each, with a commit to PostgreSQL
    per message; ``cpu_ms_per_msg``), not by the platform, and the ratio says how much
    three event loops add. (60 channels at 50 msg/s stand in for the thousands of real
    channels, at about 1 msg/s each, that it would take to fill one process.) Each
    process paces every channel by itself, so three processes could together go over a
    channel's limit; the fake server would refuse that, and
    ``delivery_processes_extra_429s`` counts it.

    On a machine with fewer cores than processes the three compete for the same cores
    (with the fake server and PostgreSQL): ``machine.nproc`` says how many there were.
    """
    skipped = {
        "delivery_one_process_msgs_per_s": None,
        "delivery_three_processes_msgs_per_s": None,
        "delivery_processes_ratio": None,
    }
    with postgres_database("delivery") as (url, reason):
        if url is None:
            return skipped | {"delivery_processes_skipped": reason}
        best: dict[int, dict[str, Any]] = {}
        total = 0
        for _ in range(size.runs):
            for processes in (1, 3):
                total = _queue_alerts(url, size, seed)
                figures = _deliver_with(processes, url, size)
                # Everything went, each message once, and nothing is left in the outbox.
                assert figures["delivered"] == total and figures["duplicates"] == 0, figures
                if processes not in best or figures["msgs_per_s"] > best[processes]["msgs_per_s"]:
                    best[processes] = figures
    one, three = best[1], best[3]
    return {
        "delivery_processes_channels": size.channels,
        "delivery_processes_rate_limit_per_channel": size.channel_rate,
        "delivery_processes_limit_msgs_per_s": size.channels * size.channel_rate,
        "delivery_processes_messages": total,
        "delivery_processes_runs": size.runs,
        "delivery_one_process_msgs_per_s": one["msgs_per_s"],
        "delivery_three_processes_msgs_per_s": three["msgs_per_s"],
        "delivery_processes_ratio": round(three["msgs_per_s"] / one["msgs_per_s"], 3),
        "delivery_processes_sent_per_process": three["sent_per_process"],
        "delivery_processes_cpu_ms_per_msg": {
            "one": one["cpu_ms_per_msg"],
            "three": three["cpu_ms_per_msg"],
        },
        "delivery_processes_server_cpu_ms_per_msg": {
            "one": one["server_cpu_ms_per_msg"],
            "three": three["server_cpu_ms_per_msg"],
        },
        "delivery_processes_extra_429s": {"one": one["extra_429s"], "three": three["extra_429s"]},
        "delivery_processes_duplicates": one["duplicates"] + three["duplicates"],
        "delivery_processes_skipped": None,
    }
