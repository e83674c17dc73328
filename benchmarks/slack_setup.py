"""The bot's settings for benchmarks against the fake Slack in HTTP mode on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.config import Settings, load_settings
from tests.fakes.slack_api import BOT_TOKEN, FakeSlack

SECRET = "bench-secret"


def slack_settings(data_dir: str, slack: FakeSlack, **overrides: Any) -> Settings:
    """Settings with Slack's bot token and signing secret, talking to ``slack``, serving
    commands on a free port, with no default sources (``overrides`` add to that)."""
    return load_settings(
        env={
            "JOBBOT_DATA_DIR": data_dir,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack.api_url,
            "JOBBOT_HOST": "127.0.0.1",
            "JOBBOT_PORT": "0",
        },
        cwd=Path(data_dir),
        overrides={"default_sources": False, **overrides},
    )
