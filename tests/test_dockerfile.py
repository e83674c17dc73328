"""The Dockerfile: a non-root user, a data volume, a health check, and no baked-in secrets."""

from __future__ import annotations

import re
from pathlib import Path

from bot.config import ENV_SECRETS

ROOT = Path(__file__).resolve().parents[1]


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    text = re.sub(r"\\\n\s*", " ", text)
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last_from:]


def test_runs_as_a_non_root_user() -> None:
    users = [arg for word, arg in final_stage() if word == "USER"]
    assert users, "the final stage sets no USER: it would run as root"
    assert users[-1].split(":")[0] not in ("root", "0")
    # The user is switched to before the command runs.
    words = [word for word, _ in final_stage()]
    assert words.index("USER") < words.index("CMD")


def test_data_directory_is_a_volume_and_the_database_goes_there() -> None:
    stage = final_stage()
    volumes = [arg for word, arg in stage if word == "VOLUME"]
    assert volumes and "/data" in volumes[0]
    env = " ".join(arg for word, arg in stage if word == "ENV")
    assert "JOBBOT_DATA_DIR=/data" in env


def test_health_check_asks_healthz_and_metrics_listen_beyond_loopback() -> None:
    stage = final_stage()
    checks = [arg for word, arg in stage if word == "HEALTHCHECK"]
    assert len(checks) == 1 and "/healthz" in checks[0] and "CMD" in checks[0]
    env = " ".join(arg for word, arg in stage if word == "ENV")
    assert "JOBBOT_METRICS_HOST=0.0.0.0" in env
    assert any(word == "EXPOSE" and "9464" in arg for word, arg in stage)


def test_no_secret_is_baked_in() -> None:
    names = [name for name, _ in ENV_SECRETS] + ["TOKEN", "SECRET", "PASSWORD"]
    for word, arg in instructions():
        if word in ("ENV", "ARG", "LABEL"):
            assert not any(name in arg.upper() for name in names), f"{word} {arg}"
        if word in ("COPY", "ADD"):
            assert ".env" not in arg and "jobbot.toml" not in arg, f"{word} {arg}"
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for pattern in (".env", ".git", "jobbot.toml", "*.db"):
        assert pattern in ignored, pattern
