"""Settings: secrets from the environment, everything else from an optional TOML file.

Every setting is listed once in ``SETTINGS`` with its default and a help line; the
README documents each (a test keeps the two in step). ``load_settings`` parses the
file once into a frozen ``Settings``; a bad value stops start-up with a message that
names the key.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import platformdirs

from bot.errors import ConfigError
from bot.sources.base import SourceSpec, registered_kinds
from bot.store.urls import is_postgres_url, mask_url
from bot.validate import MIN_SOURCE_INTERVAL, source_name_problem, source_url_problem

__all__ = [
    "ENV_SECRETS",
    "SECRET_NAMES",
    "SETTINGS",
    "Setting",
    "Settings",
    "env_secret_values",
    "load_settings",
    "parse_interval",
    "source_interval",
]

_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hr|d|day|w)?\s*$", re.I)
_UNITS = {
    "s": 1,
    "sec": 1,
    "m": 60,
    "min": 60,
    "h": 3600,
    "hr": 3600,
    "d": 86400,
    "day": 86400,
    "w": 604800,
}


def parse_interval(value: object, key: str = "interval") -> int:
    """Seconds from ``90``, ``"30m"``, ``"6h"`` or ``"1d"``; at least 1 s."""
    if isinstance(value, bool):
        raise ConfigError(key, f"{value!r} is not a duration")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _INTERVAL.match(str(value))
        if not match:
            raise ConfigError(key, f"{value!r} is not a duration like 90, '30m', '6h' or '1d'")
        seconds = float(match.group(1)) * _UNITS[(match.group(2) or "s").lower()]
    if seconds < 1:
        raise ConfigError(key, "must be at least 1 second")
    return int(seconds)


def source_interval(value: object, key: str = "interval") -> int:
    """A source's poll interval: a duration of at least MIN_SOURCE_INTERVAL seconds."""
    seconds = parse_interval(value, key)
    if seconds < MIN_SOURCE_INTERVAL:
        raise ConfigError(
            key, f"{value!r} is under the minimum poll interval of {MIN_SOURCE_INTERVAL} seconds"
        )
    return seconds


def _bool(value: object, key: str) -> bool:
    if isinstance(value, bool):
        return value
    raise ConfigError(key, f"{value!r} is not true or false")


def _positive_int(value: object, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(key, f"{value!r} is not a whole number >= 0")
    return value


def _int_range(low: int, high: int) -> Callable[[object, str], int]:
    def parse(value: object, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigError(key, f"{value!r} is not a whole number from {low} to {high}")
        return value

    return parse


def _port(value: object, key: str) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
        raise ConfigError(key, f"{value!r} is not a port number (0 to 65535; 0 turns it off)")
    return value


def _str(value: object, key: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(key, f"{value!r} is not text")
    return value


def _str_list(value: object, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(key, "must be a list of strings")
    return tuple(value)


def _database_url(value: object, key: str) -> str | None:
    if not isinstance(value, str):
        raise ConfigError(key, "is not text (a postgresql:// URL)")
    if not value.strip():
        return None  # empty: SQLite in the data directory
    if not is_postgres_url(value.strip()):
        # Masked: a URL may carry a password, and this message is printed and logged.
        raise ConfigError(
            key,
            f"{mask_url(value)!r} is not a postgresql://user@host/db URL"
            " (leave it unset for SQLite in the data directory)",
        )
    return value.strip()


def _choice(*choices: str) -> Callable[[object, str], str]:
    def parse(value: object, key: str) -> str:
        if value not in choices:
            raise ConfigError(key, f"{value!r} is not one of {', '.join(choices)}")
        return str(value)

    return parse


@dataclass(frozen=True, slots=True)
class Setting:
    """One TOML setting: its key, default, parser and the help line the README shows."""

    key: str
    default: Any
    parse: Callable[[object, str], Any]
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "data_dir",
        None,
        _str,
        "Where the database lives (env JOBBOT_DATA_DIR wins; default: the user data dir).",
    ),
    Setting(
        "database_url",
        None,
        _database_url,
        "PostgreSQL URL 'postgresql://user@host/db' (env JOBBOT_DATABASE_URL wins; default:"
        " SQLite in data_dir).",
    ),
    Setting(
        "allow_private_sources",
        False,
        _bool,
        "Allow sources on private, loopback and link-local addresses (tests, demo).",
    ),
    Setting("default_sources", True, _bool, "Also watch the shipped default source list."),
    Setting(
        "default_interval",
        3600,
        parse_interval,
        "Poll interval for sources that do not set one ('30m', '6h', seconds).",
    ),
    Setting(
        "delivery_interval",
        5,
        parse_interval,
        "How often the delivery worker looks for queued alerts.",
    ),
    Setting(
        "digest_check_interval",
        60,
        parse_interval,
        "How often due daily/weekly digests are looked for.",
    ),
    Setting(
        "burst_threshold",
        5,
        _int_range(1, 1000),
        "More instant alerts than this for one channel in one poll go as one message.",
    ),
    Setting(
        "max_subscriptions_per_channel",
        50,
        _int_range(1, 10_000),
        "The most subscriptions one channel may hold.",
    ),
    Setting(
        "max_personal_subscriptions",
        10,
        _int_range(1, 1000),
        "The most personal subscriptions (`to:me`, sent as direct messages) one user may hold.",
    ),
    Setting(
        "commands_per_minute",
        30,
        _int_range(1, 1000),
        "The most `/jobs` commands one user may send in a minute.",
    ),
    Setting(
        "source_notice_after",
        6 * 3600,
        parse_interval,
        "Tell channels once when a source they rely on has failed this long ('6h').",
    ),
    Setting("fetch_timeout", 20, parse_interval, "Timeout for one source request, in seconds."),
    Setting("max_body_mb", 10, _int_range(1, 1024), "Largest source response read, in megabytes."),
    Setting(
        "ingest_workers",
        0,
        _int_range(0, 32),
        "Processes that parse and enrich big feeds (0: one per usable CPU core; 1: none).",
    ),
    Setting(
        "admins",
        (),
        _str_list,
        "Chat user ids allowed to manage sources (e.g. 'slack:U123', 'discord:42').",
    ),
    Setting(
        "metrics_port",
        9464,
        _port,
        "Port of /healthz and /metrics (env JOBBOT_METRICS_PORT wins; 0 turns them off).",
    ),
    Setting(
        "metrics_host",
        "127.0.0.1",
        _str,
        "Address /healthz and /metrics listen on (env JOBBOT_METRICS_HOST; '0.0.0.0' in Docker).",
    ),
    Setting("log_format", "text", _choice("text", "json"), "Log lines as text or JSON."),
    Setting(
        "log_level",
        "info",
        _choice("debug", "info", "warning", "error"),
        "Least severe log level shown.",
    ),
)

ENV_SECRETS: tuple[tuple[str, str], ...] = (
    ("SLACK_BOT_TOKEN", "Slack bot token (xoxb-…): one workspace."),
    ("SLACK_APP_TOKEN", "Slack app-level token (xapp-…): Socket Mode."),
    ("SLACK_SIGNING_SECRET", "Slack signing secret: HTTP mode."),
    ("SLACK_CLIENT_ID", "Slack app client id: many workspaces through OAuth."),
    ("SLACK_CLIENT_SECRET", "Slack app client secret: many workspaces through OAuth."),
    ("SLACK_API_URL", "Slack Web API base URL (default https://slack.com/api/)."),
    ("JOBBOT_PORT", "Port of the Slack HTTP endpoint and install pages (default 3000)."),
    ("JOBBOT_HOST", "Address the Slack HTTP endpoint listens on (default 0.0.0.0)."),
    ("DISCORD_TOKEN", "Discord bot token."),
    ("DISCORD_GUILD_ID", "Sync /jobs to this one Discord server only (instant; for testing)."),
    ("DISCORD_API_URL", "Discord REST base URL (default https://discord.com/api/v10)."),
    ("DISCORD_GATEWAY_URL", "Discord gateway websocket URL (default wss://gateway.discord.gg/)."),
)


# The environment values that are secret (masked in logs); the rest of ENV_SECRETS are
# addresses and ids, which logs may show.
SECRET_NAMES: tuple[str, ...] = (
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_CLIENT_SECRET",
    "DISCORD_TOKEN",
)


def env_secret_values(env: Mapping[str, str] | None = None) -> list[str]:
    """The secret values set in the environment, for masking errors raised before (or
    while) the settings load, when there is no ``Settings`` to ask."""
    env = os.environ if env is None else env
    return [env[name] for name in SECRET_NAMES if env.get(name)]


@dataclass(frozen=True, slots=True)
class Settings:
    """All settings, parsed once at start-up."""

    data_dir: Path
    config_path: Path | None = None
    database_url: str | None = None
    allow_private_sources: bool = False
    default_sources: bool = True
    default_interval: int = 3600
    delivery_interval: int = 5
    digest_check_interval: int = 60
    burst_threshold: int = 5
    max_subscriptions_per_channel: int = 50
    max_personal_subscriptions: int = 10
    commands_per_minute: int = 30
    source_notice_after: int = 6 * 3600
    fetch_timeout: int = 20
    max_body_mb: int = 10
    ingest_workers: int = 0
    admins: tuple[str, ...] = ()
    log_format: str = "text"
    log_level: str = "info"
    metrics_port: int = 9464
    metrics_host: str = "127.0.0.1"
    sources: tuple[SourceSpec, ...] = ()
    secrets: Mapping[str, str] = field(default_factory=dict)

    @property
    def database_path(self) -> Path:
        """The SQLite file."""
        return self.data_dir / "jobbot.db"

    @property
    def database(self) -> str:
        """Where the store lives, for people: the SQLite file, or the URL without password."""
        return mask_url(self.database_url) if self.database_url else str(self.database_path)

    def secret_values(self) -> list[str]:
        """The values of the secrets that are set (tokens, signing and client secrets, and
        the password in ``database_url``)."""
        values = env_secret_values(self.secrets)
        if self.database_url and (password := urlsplit(self.database_url).password):
            values.append(password)
        return values

    def has_secret(self, name: str) -> bool:
        """True when the environment set this token."""
        return bool(self.secrets.get(name))


def _parse_sources(raw: object, default_interval: int, where: str) -> list[SourceSpec]:
    if not isinstance(raw, list):
        raise ConfigError(f"{where}sources", "must be a list of [[sources]] tables")
    specs = []
    names: set[str] = set()
    for index, entry in enumerate(raw):
        key = f"{where}sources[{index}]"
        if not isinstance(entry, dict):
            raise ConfigError(key, "must be a table with kind, url and optional name/interval")
        unknown = set(entry) - {"name", "kind", "url", "interval", "backfill"}
        if unknown:
            raise ConfigError(key, f"unknown keys {sorted(unknown)}")
        if "url" not in entry or "kind" not in entry:
            raise ConfigError(key, "needs kind and url")
        url = _str(entry["url"], f"{key}.url")
        if problem := source_url_problem(url):
            raise ConfigError(f"{key}.url", problem)
        kind = _str(entry["kind"], f"{key}.kind")
        if kind not in (kinds := registered_kinds()):
            raise ConfigError(f"{key}.kind", f"{kind!r} is not one of {', '.join(kinds)}")
        name = _str(entry.get("name", url), f"{key}.name")
        if "name" in entry and (problem := source_name_problem(name)):
            raise ConfigError(f"{key}.name", problem)
        if name in names:
            raise ConfigError(f"{key}.name", f"{name!r} is used twice")
        names.add(name)
        interval = (
            source_interval(entry["interval"], f"{key}.interval")
            if "interval" in entry
            else default_interval
        )
        specs.append(
            SourceSpec(
                name=name,
                kind=kind,
                url=url,
                interval_s=interval,
                backfill=_positive_int(entry.get("backfill", 0), f"{key}.backfill"),
            )
        )
    return specs


def default_source_specs(default_interval: int) -> list[SourceSpec]:
    """The shipped default source list (bot/data/default_sources.toml)."""
    raw = resources.files("bot.data").joinpath("default_sources.toml").read_text("utf-8")
    return _parse_sources(tomllib.loads(raw).get("sources", []), default_interval, "default ")


def load_settings(
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    overrides: Mapping[str, object] | None = None,
) -> Settings:
    """Read the environment and the TOML file (JOBBOT_CONFIG, else ./jobbot.toml if present)."""
    env = os.environ if env is None else env
    cwd = Path.cwd() if cwd is None else cwd
    config_path: Path | None = None
    data: dict[str, Any] = {}
    if env.get("JOBBOT_CONFIG"):
        config_path = Path(env["JOBBOT_CONFIG"]).expanduser()
        if not config_path.is_file():
            raise ConfigError("JOBBOT_CONFIG", f"no file at {config_path}")
    elif (cwd / "jobbot.toml").is_file():
        config_path = cwd / "jobbot.toml"
    if config_path is not None:
        try:
            data = tomllib.loads(config_path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(str(config_path), f"is not valid TOML: {error}") from error
        except UnicodeDecodeError as error:
            raise ConfigError(
                str(config_path), f"is not UTF-8 text (byte {error.start}: {error.reason})"
            ) from error
        except OSError as error:
            raise ConfigError(str(config_path), f"cannot be read: {error.strerror}") from error
    data |= dict(overrides or {})
    known = {s.key for s in SETTINGS} | {"sources"}
    unknown = set(data) - known
    if unknown:
        raise ConfigError(
            sorted(unknown)[0], f"is not a setting; known: {', '.join(sorted(known))}"
        )
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        values[setting.key] = (
            setting.parse(data[setting.key], setting.key)
            if setting.key in data
            else setting.default
        )
    data_dir = (
        env.get("JOBBOT_DATA_DIR")
        or values.pop("data_dir")
        or platformdirs.user_data_dir("jobbot", appauthor=False)
    )
    values.pop("data_dir", None)
    if env.get("JOBBOT_DATABASE_URL"):
        values["database_url"] = _database_url(env["JOBBOT_DATABASE_URL"], "JOBBOT_DATABASE_URL")
    if Path(data_dir).expanduser().exists() and not Path(data_dir).expanduser().is_dir():
        where = "JOBBOT_DATA_DIR" if env.get("JOBBOT_DATA_DIR") else "data_dir"
        raise ConfigError(where, f"{data_dir} is a file, not a directory")
    if env.get("JOBBOT_METRICS_PORT"):
        values["metrics_port"] = _port(env["JOBBOT_METRICS_PORT"], "JOBBOT_METRICS_PORT")
    if env.get("JOBBOT_METRICS_HOST"):
        values["metrics_host"] = env["JOBBOT_METRICS_HOST"]
    sources = _parse_sources(data.get("sources", []), values["default_interval"], "")
    if values["default_sources"]:
        configured = {s.name for s in sources}
        sources += [
            s for s in default_source_specs(values["default_interval"]) if s.name not in configured
        ]
    secrets = {name: env[name] for name, _ in ENV_SECRETS if env.get(name)}
    return Settings(
        data_dir=Path(data_dir).expanduser(),
        config_path=config_path,
        sources=tuple(sources),
        secrets=secrets,
        **values,
    )
