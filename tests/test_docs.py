"""The README stays honest: its commands, settings and environment variables exist."""

from __future__ import annotations

import re
from pathlib import Path

from bot.config import ENV_SECRETS, SETTINGS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_and_secret_is_documented() -> None:
    for setting in SETTINGS:
        assert f"| `{setting.key}` |" in README, setting.key
    for name, _ in ENV_SECRETS:
        assert f"| `{name}` |" in README, name
    assert "| `JOBBOT_CONFIG` |" in README and "| `JOBBOT_DATA_DIR` |" in README


def test_quick_start_has_the_two_commands_and_ci_runs_the_test_one() -> None:
    blocks = re.findall(r"```sh\n(.+?)\n```", README.split("## Quick start")[1].split("##")[0])
    assert len(blocks) == 2
    run, test = blocks
    assert run.endswith("jobbot run")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test in ci.splitlines()


def test_every_cli_command_and_the_docker_run_line_are_documented() -> None:
    from bot.cli import _parser

    parser = _parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    for name in commands:
        assert f"`jobbot {name}" in README, name
    docker_run = [line for line in README.splitlines() if line.startswith("docker run")]
    assert docker_run and "-p " in docker_run[0] and "9464" in docker_run[0]
    assert "/jobs sources add" in README and "/healthz" in README and "/metrics" in README
