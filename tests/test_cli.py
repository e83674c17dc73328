"""The `jobbot` command as a user types it: subs, sources, poll, classify, run, demo."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.cli import main
from tests.conftest import DATA, FeedServer

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config file and data dir of our own, as a user's environment would give."""
    config = tmp_path / "jobbot.toml"
    config.write_text("default_sources = false\nallow_private_sources = true\n")
    monkeypatch.setenv("JOBBOT_CONFIG", str(config))
    monkeypatch.setenv("JOBBOT_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def test_subs_add_list_remove(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "subs",
                "add",
                "area:nlp,speech",
                "country:DE",
                "keywords:applied science",
                "mode:daily",
                "tz:Europe/Berlin",
            ]
        )
        == 0
    )
    assert "Subscribed #1" in capsys.readouterr().out
    assert main(["subs", "list"]) == 0
    listed = capsys.readouterr().out
    assert "#1  console:local:terminal  area:nlp,speech country:DE" in listed
    assert "keywords:'applied science'" in listed
    assert main(["subs", "add", "area:quantum"]) == 2
    assert "not a research area" in capsys.readouterr().err
    assert main(["subs", "remove", "1"]) == 0
    assert main(["subs", "remove", "1"]) == 2
    assert "no subscription #1" in capsys.readouterr().err


def test_bad_config_names_the_key(tmp_path: Path, monkeypatch, capsys) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('default_interval = "soon"\n')
    monkeypatch.setenv("JOBBOT_CONFIG", str(config))
    assert main(["subs", "list"]) == 2
    assert "default_interval" in capsys.readouterr().err


@pytest.mark.integration
async def test_sources_add_detects_the_kind_and_poll_once(
    cli_env: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    feed_server.serve("/feed", (DATA / "feed_v1.rss").read_bytes())
    code = await asyncio.to_thread(
        main, ["sources", "add", feed_server.url("/feed"), "--name", "t", "--interval", "30m"]
    )
    assert code == 0
    assert "Added source 't' (rss), polled every 1800s" in capsys.readouterr().out
    assert await asyncio.to_thread(main, ["poll", "--once"]) == 0
    assert "t: 3 seen, 0 new" in capsys.readouterr().out
    assert await asyncio.to_thread(main, ["sources", "list"]) == 0
    assert "1 poll(s)" in capsys.readouterr().out
    feed_server.serve("/other", b"<html>hello</html>", "text/html")
    assert await asyncio.to_thread(main, ["sources", "add", feed_server.url("/other")]) == 2
    assert "give --kind" in capsys.readouterr().err
    assert await asyncio.to_thread(main, ["sources", "remove", "t"]) == 0


def test_classify_prints_json_lines_and_reports_unreadable_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "page.txt"
    page.write_text(
        "Research Intern - Computer Vision (PhD)\nLocation: Zürich, Switzerland\n"
        "Apply now. Currently enrolled in a PhD program.\n"
    )
    code = main(["classify", str(DATA / "feed_v1.rss"), str(tmp_path / "missing.xml"), str(page)])
    captured = capsys.readouterr()
    assert code == 1 and "missing.xml" in captured.err
    rows = [json.loads(line) for line in captured.out.splitlines()]
    assert [r["title"] for r in rows] == [
        "Research Intern – Speech Recognition (PhD), Aachen",
        "Applied Scientist Intern, Recommender Systems",
        "Senior Software Engineer, Payments",
        "Research Intern - Computer Vision (PhD)",
    ]
    assert rows[0]["countries"] == ["DE"] and rows[0]["degree"] == "phd-only"
    assert rows[3]["countries"] == ["CH"] and rows[3]["areas"] == ["cv"]
    for key in (
        "title",
        "company",
        "url",
        "countries",
        "remote",
        "areas",
        "degree",
        "is_posting",
        "is_internship",
        "posted_at",
        "pay",
        "duration",
    ):
        assert key in rows[0]


def _env(tmp_path: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_", "JOBBOT_"))
    }
    env["JOBBOT_DATA_DIR"] = str(tmp_path / "data")
    env["PYTHONPATH"] = str(ROOT)
    return env


@pytest.mark.slow
def test_demo_prints_alerts_a_digest_and_the_summary_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo"],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    last = result.stdout.strip().splitlines()[-1]
    match = re.fullmatch(r"(\d+) postings, (\d+) new, (\d+) alerts sent, (\d+) digests sent", last)
    assert match, last
    postings, new, alerts, digests = map(int, match.groups())
    assert postings >= 30 and new < postings and alerts >= 5 and digests >= 1
    assert "Daily digest" in result.stdout and "▶ " in result.stdout
    assert list(tmp_path.iterdir()) == []  # nothing left behind outside its temp dir


@pytest.mark.slow
def test_run_prints_what_it_watches_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    (tmp_path / "jobbot.toml").write_text(
        'default_sources = false\n[[sources]]\nname = "local"\nkind = "rss"\n'
        'url = "http://127.0.0.1:9/nothing.rss"\ninterval = "1h"\n'
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        lines: list[str] = []
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            lines.append(line)
            if "Press Ctrl-C" in line:
                break
        # Wait for the first poll to fail against the closed port, then stop the bot.
        err_lines: list[str] = []
        while time.monotonic() < deadline + 20:
            line = process.stderr.readline()
            err_lines.append(line)
            if "poll failed" in line or not line:
                break
        process.send_signal(signal.SIGTERM)
        out, rest = process.communicate(timeout=20)
        err = "".join(err_lines) + rest
    finally:
        process.kill()
    text = "".join(lines) + out
    assert process.returncode == 0
    assert "Watching 1 source(s):" in text and "local [rss] every 1h" in text
    assert "0 subscription(s)" in text and "Alerts go to: the terminal" in text
    assert "jobbot stopped." in text
    assert "Traceback" not in err
    assert "source local: poll failed" in err
