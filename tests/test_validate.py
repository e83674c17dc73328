"""Bad input is refused where it enters, with one line naming the value and the rule (#18).

Through the real CLI (``main`` and, for the start-up paths, a subprocess), real SQLite
files and real TOML files: exit code 2, one line on standard error, never a traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import load_settings
from bot.errors import ConfigError
from bot.validate import source_name_problem, source_url_problem, webhook_url_problem

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "jobbot.toml"
    config.write_text("default_sources = false\nallow_private_sources = true\n")
    monkeypatch.setenv("JOBBOT_CONFIG", str(config))
    monkeypatch.setenv("JOBBOT_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def _one_line_error(capsys: pytest.CaptureFixture[str], *needles: str) -> str:
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, err
    return err


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("file:///etc/passwd", "not an http or https URL"),
        ("javascript:alert(1)", "not an http or https URL"),
        ("", "empty"),
        ("   ", "empty"),
        ("http://", "has no host"),
        ("https:///path", "has no host"),
        ("../../etc", "neither an http(s) URL nor a board token"),
    ],
)
def test_bad_source_urls(url: str, rule: str) -> None:
    assert rule in (source_url_problem(url) or "")


def test_good_source_urls_and_tokens_pass() -> None:
    assert source_url_problem("https://example.org/jobs.rss") is None
    assert source_url_problem("databricks") is None
    assert webhook_url_problem("http://127.0.0.1:8080/hook") is None
    assert "not an http" in (webhook_url_problem("file:///tmp/x") or "")


@pytest.mark.parametrize("name", ["a\nb", "../x", "a/b", "", "x" * 61, "a\u202eb"])
def test_bad_source_names(name: str) -> None:
    assert source_name_problem(name) is not None


@pytest.mark.parametrize(
    ("argv", "needles"),
    [
        (["sources", "add", "file:///etc/passwd", "--kind", "rss"], ["file:///etc/passwd"]),
        (["sources", "add", "javascript:alert(1)", "--kind", "rss"], ["not an http"]),
        (["sources", "add", "", "--kind", "rss"], ["empty"]),
        (["sources", "add", "http://", "--kind", "rss"], ["no host"]),
        (["sources", "add", "https://a.example/f", "--kind", "rss", "--name", "a\nb"], ["U+000A"]),
        (["sources", "add", "https://a.example/f", "--kind", "rss", "--name", "../x"], [".."]),
        (
            ["sources", "add", "https://a.example/f", "--kind", "rss", "--interval", "1"],
            ["--interval", "minimum poll interval of 60"],
        ),
        (
            ["sources", "add", "https://a.example/f", "--kind", "rss", "--backfill", "-3"],
            ["--backfill -3", "0 to 1000"],
        ),
        (["subs", "remove", str(2**63)], [str(2**63), "not a subscription id"]),
        (
            ["subs", "add", "--platform", "webhook", "--channel", "file:///tmp/x", "area:nlp"],
            ["not an http or https URL"],
        ),
    ],
)
def test_cli_refuses_with_one_line_and_exit_2(
    cli_env: Path, capsys: pytest.CaptureFixture[str], argv: list[str], needles: list[str]
) -> None:
    assert main(argv) == 2
    _one_line_error(capsys, *needles)


@pytest.mark.parametrize(
    ("toml", "key", "rule"),
    [
        ('[[sources]]\nkind = "nope"\nurl = "https://a.example/f"\n', "sources[0].kind", "nope"),
        ('[[sources]]\nkind = "rss"\nurl = "file:///etc/passwd"\n', "sources[0].url", "http"),
        (
            '[[sources]]\nkind = "rss"\nurl = "https://a.example/"\ninterval = 5\n',
            "sources[0].interval",
            "minimum",
        ),
        ("ingest_workers = 40\n", "ingest_workers", "from 0 to 32"),
        ("max_body_mb = 0\n", "max_body_mb", "from 1 to 1024"),
        ("burst_threshold = 0\n", "burst_threshold", "from 1 to 1000"),
    ],
)
def test_toml_values_out_of_bounds_name_the_key(
    tmp_path: Path, toml: str, key: str, rule: str
) -> None:
    config = tmp_path / "jobbot.toml"
    config.write_text("default_sources = false\n" + toml)
    with pytest.raises(ConfigError) as raised:
        load_settings(env={"JOBBOT_CONFIG": str(config)}, cwd=tmp_path)
    assert raised.value.key == key and rule in raised.value.problem


def test_a_non_utf8_config_is_one_line(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (cli_env / "jobbot.toml").write_bytes(b"default_sources = false\n# caf\xe9\n")
    assert main(["subs", "list"]) == 2
    _one_line_error(capsys, "not UTF-8")


def test_a_data_dir_that_is_a_file(
    cli_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (cli_env / "afile").write_text("x")
    monkeypatch.setenv("JOBBOT_DATA_DIR", str(cli_env / "afile"))
    assert main(["subs", "list"]) == 2
    _one_line_error(capsys, "JOBBOT_DATA_DIR", "is a file")


def test_export_into_a_missing_directory(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", str(cli_env / "missing" / "out.json")]) == 2
    _one_line_error(capsys, "missing")


def _import_doc(**entry: object) -> str:
    base = {"platform": "console", "workspace": "cli", "channel": "c", "filter": "area:nlp"}
    return json.dumps({"jobbot_export": 1, "subscriptions": [base | entry]})


@pytest.mark.parametrize(
    ("entry", "needle"),
    [
        ({"paused": "no"}, "paused 'no' is not true or false"),
        ({"platform": "irc"}, "'irc' is not one of"),
        ({"platform": "webhook", "channel": "file:///tmp/x"}, "not an http or https URL"),
        ({"platform": "webhook", "channel": "gopher://a.example/"}, "not an http or https URL"),
    ],
)
def test_import_refuses_bad_entries(
    cli_env: Path, capsys: pytest.CaptureFixture[str], entry: dict[str, object], needle: str
) -> None:
    path = cli_env / "in.json"
    path.write_text(_import_doc(**entry))
    assert main(["import", str(path)]) == 2
    _one_line_error(capsys, needle)


def test_a_non_utf8_import_file(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = cli_env / "in.json"
    path.write_bytes(b'{"jobbot_export": 1, "subscriptions": ["\xff"]}')
    assert main(["import", str(path)]) == 2
    _one_line_error(capsys, "UTF-8")


def _run_cli(env_dir: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {
        "JOBBOT_CONFIG": str(env_dir / "jobbot.toml"),
        "JOBBOT_DATA_DIR": str(env_dir / "data"),
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )


def test_a_corrupt_database_is_one_line_for_the_real_cli(tmp_path: Path) -> None:
    (tmp_path / "jobbot.toml").write_text("default_sources = false\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "jobbot.db").write_bytes(b"this is not a database" * 500)
    done = _run_cli(tmp_path, "subs", "list")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "database" in done.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_a_read_only_data_dir_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "jobbot.toml").write_text("default_sources = false\n")
    (tmp_path / "data").mkdir(mode=0o500)
    done = _run_cli(tmp_path, "subs", "list")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
