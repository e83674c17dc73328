"""Settings: TOML plus environment, defaults, and errors that name the key."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bot.config import env_secret_values, load_settings, parse_interval
from bot.errors import ConfigError


def test_defaults_and_default_sources(tmp_path: Path) -> None:
    settings = load_settings(env={}, cwd=tmp_path)
    assert settings.allow_private_sources is False
    assert settings.sources and all(s.kind for s in settings.sources)
    assert settings.secrets == {}


def test_file_from_cwd_env_data_dir_and_secrets(tmp_path: Path) -> None:
    (tmp_path / "jobbot.toml").write_text(
        'default_sources = false\ndefault_interval = "30m"\n'
        '[[sources]]\nkind = "rss"\nurl = "https://a.example/f"\n'
        '[[sources]]\nname = "b"\nkind = "rss"\nurl = "https://b.example/f"\ninterval = "2h"\n'
    )
    settings = load_settings(
        env={"JOBBOT_DATA_DIR": str(tmp_path / "d"), "SLACK_BOT_TOKEN": "xoxb-1"}, cwd=tmp_path
    )
    assert settings.data_dir == tmp_path / "d"
    assert [(s.name, s.interval_s) for s in settings.sources] == [
        ("https://a.example/f", 1800),
        ("b", 7200),
    ]
    assert settings.has_secret("SLACK_BOT_TOKEN") and not settings.has_secret("DISCORD_TOKEN")


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ("default_interval = 'soon'", "default_interval"),
        ("burst_threshold = -1", "burst_threshold"),
        ("allow_private_sources = 'yes'", "allow_private_sources"),
        ("colour = 'blue'", "colour"),
        ("log_format = 'xml'", "log_format"),
        ("[[sources]]\nurl = 'x'", "sources[0]"),
        (
            "[[sources]]\nkind='rss'\nurl='a'\nname='n'\n[[sources]]\nkind='rss'\nurl='b'\nname='n'",
            "sources[1].name",
        ),
        ("this is not toml", "jobbot.toml"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, toml: str, key: str) -> None:
    (tmp_path / "jobbot.toml").write_text(toml)
    with pytest.raises(ConfigError) as raised:
        load_settings(env={}, cwd=tmp_path)
    assert key in str(raised.value)


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="JOBBOT_CONFIG"):
        load_settings(env={"JOBBOT_CONFIG": str(tmp_path / "nope.toml")}, cwd=tmp_path)


@pytest.mark.parametrize(
    ("value", "seconds"), [(90, 90), ("30m", 1800), ("6h", 21600), ("1d", 86400), ("45 s", 45)]
)
def test_intervals(value: object, seconds: int) -> None:
    assert parse_interval(value) == seconds


def test_database_url_is_unset_by_default_and_the_environment_wins(tmp_path: Path) -> None:
    settings = load_settings(env={"JOBBOT_DATA_DIR": str(tmp_path)}, cwd=tmp_path)
    assert settings.database_url is None and settings.database == str(tmp_path / "jobbot.db")
    (tmp_path / "jobbot.toml").write_text('database_url = "postgresql://bot@db.example/jobs"\n')
    assert load_settings(env={}, cwd=tmp_path).database_url == "postgresql://bot@db.example/jobs"
    env = {"JOBBOT_DATABASE_URL": "postgresql://bot:s3cret@other.example:5433/jobs"}
    settings = load_settings(env=env, cwd=tmp_path)
    assert settings.database_url == env["JOBBOT_DATABASE_URL"]
    # Shown and logged without its password, which logs mask like a token.
    assert settings.database == "postgresql://bot:***@other.example:5433/jobs"
    assert "s3cret" in settings.secret_values()


@pytest.mark.parametrize(
    ("env", "toml", "key"),
    [
        ({}, 'database_url = "mysql://root:hunter2@db/jobs"\n', "database_url"),
        ({}, "database_url = 5\n", "database_url"),
        ({"JOBBOT_DATABASE_URL": "sqlite://root:hunter2@x/y"}, "", "JOBBOT_DATABASE_URL"),
    ],
)
def test_a_bad_database_url_names_the_setting_and_never_the_password(
    tmp_path: Path, env: dict[str, str], toml: str, key: str
) -> None:
    (tmp_path / "jobbot.toml").write_text(toml)
    with pytest.raises(ConfigError) as raised:
        load_settings(env=env, cwd=tmp_path)
    assert key in str(raised.value) and "hunter2" not in str(raised.value)


ROOT = Path(__file__).resolve().parents[1]
_ENV_NAMES = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}


def _env_reads(path: Path) -> list[str]:
    """Where ``path`` touches the process environment (``os.environ``, ``getenv``, …)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Attribute) and node.attr in _ENV_NAMES:
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: .{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            names = {alias.name for alias in node.names} & _ENV_NAMES
            found += [f"{path.relative_to(ROOT)}:{node.lineno}: from os import {n}" for n in names]
    return found


def test_only_the_config_module_reads_the_environment() -> None:
    # Settings have one home (#17): every environment variable is read in bot/config.py,
    # and everything else is handed what it needs by the composition root.
    config = ROOT / "bot" / "config.py"
    files = [p for d in ("bot", "subscriptions") for p in sorted((ROOT / d).rglob("*.py"))]
    assert config in files
    assert _env_reads(config), "the check itself finds nothing"
    reads = [hit for path in files if path != config for hit in _env_reads(path)]
    assert reads == []


def test_secret_values_come_from_the_secret_names_only(tmp_path: Path) -> None:
    env = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_API_URL": "http://x/", "DISCORD_TOKEN": ""}
    assert env_secret_values(env) == ["xoxb-1"]
    settings = load_settings(env={**env, "JOBBOT_DATA_DIR": str(tmp_path)}, cwd=tmp_path)
    assert settings.secret_values() == ["xoxb-1"]
