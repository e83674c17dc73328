"""The benchmark suite's code path runs at a tiny size and reports every figure.

Timings are never asserted; only that each figure is there and that the checks the
benchmarks make of themselves (identical matches, no duplicates) hold.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.__main__ import main
from benchmarks.ack_bench import main as ack_main
from benchmarks.delivery_processes import bench_delivery_processes
from benchmarks.fair_delivery import measure
from benchmarks.ingest_backends import bench_ingest_backends
from benchmarks.multi import MULTI_SIZES
from benchmarks.slack_bad_day import measure as bad_day

KEYS = {
    "matcher_speedup",
    "matcher_identical",
    "ingest_postings_per_s",
    "ingest_ratio",
    "repoll_requests_per_source",
    "repoll_parse_calls",
    "delivery_efficiency",
    "delivery_extra_429s",
    "delivery_duplicates",
    "peak_rss_mb",
    "machine",
    # #16: several bots on PostgreSQL (null, with the reason, without a server).
    "ingest_sqlite_postings_per_s",
    "ingest_postgres_postings_per_s",
    "ingest_postgres_ratio",
    "ingest_postgres_skipped",
    "delivery_one_process_msgs_per_s",
    "delivery_three_processes_msgs_per_s",
    "delivery_processes_ratio",
    "delivery_processes_skipped",
    "loop_lag_max_ms",
    "loop_lag_p99_ms",
}


@pytest.mark.integration
@pytest.mark.slow
def test_tiny_run_emits_every_figure_as_one_json_object(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bench.json"
    assert main(["--tiny", "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(out.read_text())
    assert KEYS <= printed.keys()
    assert printed["size"] == "tiny"
    assert printed["matcher_identical"] is True
    assert printed["repoll_parse_calls"] == 0
    # The counter sees every body the first poll parsed (so the 0 above means something).
    assert printed["ingest_first_poll_parse_calls"] == printed["ingest_sources"]
    assert printed["repoll_requests_per_source"] == 1.0
    assert printed["delivery_duplicates"] == 0
    assert printed["delivery_outbox"] == {"sent": printed["delivery_messages"]}
    assert printed["ingest_stored"] == printed["ingest_postings"]
    assert printed["loop_lag_stored"] == printed["loop_lag_postings"]
    assert printed["loop_lag_samples"] > 0
    if printed["ingest_postgres_skipped"] is None:
        assert isinstance(printed["ingest_postgres_ratio"], float)
    if printed["delivery_processes_skipped"] is None:
        assert printed["delivery_processes_duplicates"] == 0
        # The three processes shared the outbox: between them they sent every message.
        sent = printed["delivery_processes_sent_per_process"]
        assert len(sent) == 3 and sum(sent) == printed["delivery_processes_messages"]


def test_postgresql_figures_are_null_with_the_reason_when_no_server_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Port 1 on loopback: nothing listens there, so the connection is refused at once.
    monkeypatch.setenv("JOBBOT_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:1/none")
    ingest = bench_ingest_backends(MULTI_SIZES["tiny"], 8)
    delivery = bench_delivery_processes(MULTI_SIZES["tiny"], 8)
    assert ingest["ingest_postgres_ratio"] is None
    assert (
        "no PostgreSQL at postgresql://postgres@127.0.0.1:1/none"
        in ingest["ingest_postgres_skipped"]
    )
    assert delivery["delivery_processes_ratio"] is None
    assert delivery["delivery_processes_skipped"].startswith("no PostgreSQL at")


@pytest.mark.integration
async def test_fair_delivery_benchmark_reports_its_figures() -> None:
    result = await measure(backlog=10, busy_before=1, observe=1.0)
    assert result["backlog"] == 10
    assert isinstance(result["quiet_channel_alert_s"], float)
    assert isinstance(result["busy_channel_messages_per_s"], float)
    # The worker keeps to Slack's pace: the fake never had to refuse a message.
    assert result["slack_rate_limited"] == 0


ACK_KEYS = {
    "ack_ms_p50",
    "ack_ms_max",
    "acks_over_3s",
    "answered_in_ack",
    "answered_later",
    "never_answered",
    "late_reply_s_max",
    "work_s_max",
}


@pytest.mark.integration
@pytest.mark.slow
def test_tiny_ack_run_reports_every_figure_and_answers_every_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ack.json"
    assert ack_main(["--tiny", "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(out.read_text())
    [shape] = [value for key, value in printed.items() if key[0].isdigit()]
    assert ACK_KEYS <= shape.keys()
    assert shape["postings"] > 0 and shape["commands"] >= 1
    assert shape["never_answered"] == 0
    assert shape["answered_in_ack"] + shape["answered_later"] == shape["commands"]


@pytest.mark.integration
@pytest.mark.slow
async def test_slack_bad_day_with_jobbot_run_delivers_every_alert_once() -> None:
    """#17, shortened: the real `jobbot run` with its token refused, then through a 503
    outage with a plain-text body; the full run is benchmarks/results/slack_bad_day.json."""
    result = await bad_day(auth_s=2, outage_s=2, channels=3, postings=2)
    for scenario in result.values():
        assert scenario["delivered"] == scenario["alerts"] == 6, scenario
        assert scenario["sent_twice"] == 0 and scenario["subscriptions_paused"] == 0
        assert scenario["outbox"] == {"sent": 6}
    # A refusal (503) is retried as is: nothing to look up in the history.
    assert result["outage_503_text"]["history_calls"] == 0
