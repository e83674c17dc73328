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
