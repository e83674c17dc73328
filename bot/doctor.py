"""`jobbot doctor`: checks the configuration, the database, each token, the channels
subscriptions post to, and each source, and says how to fix what is wrong.

Token values are never printed: a token is named by its environment variable, and
every line goes through the same redaction as the logs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import httpx

from bot.chat.slack_scopes import BOT_SCOPES, REQUIRED_SCOPES, SCOPE_PURPOSES
from bot.config import Settings
from bot.errors import JobbotError, SchemaTooNewError, SourceError
from bot.logs import redact
from bot.sources.base import PollState, SourceSpec, kind_for
from bot.sources.http import HttpFetcher
from bot.store import SCHEMA_VERSION, open_store
from subscriptions.personal import is_personal_channel

__all__ = ["Finding", "format_findings", "run_doctor"]

DEFAULT_SLACK_API = "https://slack.com/api/"
DEFAULT_DISCORD_API = "https://discord.com/api/v10"
# What posting alerts and answering /jobs needs from a Slack bot token.
TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class Finding:
    """One check: what was checked, whether it is fine, what is wrong and how to fix it."""

    check: str
    ok: bool
    detail: str
    fix: str = ""


def format_findings(findings: Iterable[Finding], secrets: Iterable[str] = ()) -> str:
    """One line per check (and a fix line under each problem), with secrets masked."""
    lines = []
    hidden = tuple(secrets)
    for f in findings:
        lines.append(f"{'ok ' if f.ok else 'BAD'}  {f.check}: {f.detail}")
        if not f.ok and f.fix:
            lines.append(f"      fix: {f.fix}")
    return redact("\n".join(lines), hidden)


def _database(settings: Settings) -> tuple[Finding, list[tuple[str, str, str]]]:
    """The database opens and migrates; returns the (platform, workspace, channel) targets."""
    where = settings.database  # never the password
    if settings.database_url:
        fix = (
            "check database_url / JOBBOT_DATABASE_URL (postgresql://user@host/db):"
            " the server runs, the database exists and the user may create tables"
        )
    else:
        fix = "make the data directory writable by this user, or set JOBBOT_DATA_DIR"
    try:
        store = open_store(settings)
    except SchemaTooNewError as error:
        return Finding("database", False, str(error), "upgrade jobbot to open it"), []
    except Exception as error:  # the edge: any failure to open is the finding itself
        return (
            Finding(
                "database",
                False,
                f"cannot open {where}: {type(error).__name__}: {error}",
                fix,
            ),
            [],
        )
    try:
        subs = store.subscriptions()
        counts = store.counts()
        targets = sorted({s.target for s in subs})
        detail = (
            f"{where} (schema {store.schema_version()} of {SCHEMA_VERSION}, {len(subs)} "
            f"subscription(s), {counts.get('postings', 0)} posting(s))"
        )
    finally:
        store.close()
    return Finding("database", True, detail), targets


async def _slack(
    client: httpx.AsyncClient, token: str, api: str, channels: Sequence[str]
) -> list[Finding]:
    found = []
    name = "Slack bot token (SLACK_BOT_TOKEN)"
    new_token = (
        "copy the Bot User OAuth Token (xoxb-…) from your app's OAuth & Permissions page at "
        "https://api.slack.com/apps, reinstall the app if it was revoked, and set SLACK_BOT_TOKEN"
    )
    try:
        response = await client.post(
            api + "auth.test", headers={"Authorization": f"Bearer {token}"}
        )
        answer = response.json()
    except (httpx.HTTPError, ValueError) as error:
        return [
            Finding(name, False, f"Slack could not be reached at {api}: {error}", "check network")
        ]
    if not answer.get("ok"):
        code = answer.get("error", f"HTTP {response.status_code}")
        return [Finding(name, False, f"rejected by Slack ({code})", new_token)]
    found.append(
        Finding(name, True, f"valid for workspace {answer.get('team')} ({answer.get('team_id')})")
    )
    granted = response.headers.get("x-oauth-scopes")
    if granted is not None:
        have = {g.strip() for g in granted.split(",")}
        missing = [s for s in BOT_SCOPES if s not in have]
        fix = (
            "add the missing scopes under OAuth & Permissions → Bot Token Scopes (or update "
            "the app from bot/data/slack-manifest.yml), then reinstall the app to the workspace"
        )
        required = [s for s in REQUIRED_SCOPES if s in missing]
        found.append(
            Finding(
                "Slack scopes",
                not required,
                "missing " + ", ".join(required)
                if required
                else f"{', '.join(REQUIRED_SCOPES)} granted",
                fix,
            )
        )
        for scope in (s for s in missing if s not in REQUIRED_SCOPES):
            # The bot runs without it; one feature does not (a failing check, with its fix).
            found.append(
                Finding(f"Slack scope {scope}", False, f"missing: no {SCOPE_PURPOSES[scope]}", fix)
            )
    for channel in channels:
        try:
            info = (
                await client.post(
                    api + "conversations.info",
                    headers={"Authorization": f"Bearer {token}"},
                    data={"channel": channel},
                )
            ).json()
        except (httpx.HTTPError, ValueError) as error:
            found.append(Finding(f"Slack channel {channel}", False, str(error)))
            continue
        if not info.get("ok"):
            found.append(
                Finding(
                    f"Slack channel {channel}",
                    False,
                    f"a subscription posts here but Slack answers {info.get('error')}",
                    "invite the bot with `/invite @jobbot` in the channel, or remove its "
                    "subscriptions with `jobbot subs remove ID`",
                )
            )
        elif info.get("channel", {}).get("is_member") is False:
            found.append(
                Finding(
                    f"Slack channel {channel}",
                    False,
                    "the bot is not a member of this channel",
                    "invite the bot with `/invite @jobbot` in the channel",
                )
            )
        else:
            found.append(Finding(f"Slack channel {channel}", True, "the bot can post here"))
    return found


async def _discord(
    client: httpx.AsyncClient, token: str, api: str, channels: Sequence[str]
) -> list[Finding]:
    name = "Discord token (DISCORD_TOKEN)"
    headers = {"Authorization": f"Bot {token}"}
    try:
        response = await client.get(f"{api}/users/@me", headers=headers)
    except httpx.HTTPError as error:
        return [
            Finding(name, False, f"Discord could not be reached at {api}: {error}", "check network")
        ]
    if response.status_code == 401:
        return [
            Finding(
                name,
                False,
                "rejected by Discord (401 Unauthorized)",
                "open https://discord.com/developers/applications → your app → Bot → "
                "Reset Token, and set DISCORD_TOKEN to the new token",
            )
        ]
    if response.status_code != 200:
        return [Finding(name, False, f"Discord answered HTTP {response.status_code}")]
    me = response.json()
    found = [Finding(name, True, f"valid for bot user {me.get('username')} ({me.get('id')})")]
    for channel in channels:
        answer = await client.get(f"{api}/channels/{channel}", headers=headers)
        if answer.status_code == 200:
            found.append(Finding(f"Discord channel {channel}", True, "the bot can see it"))
        else:
            found.append(
                Finding(
                    f"Discord channel {channel}",
                    False,
                    f"a subscription posts here but Discord answers HTTP {answer.status_code}",
                    "give the bot's role View Channel, Send Messages and Embed Links in this "
                    "channel, or remove its subscriptions with `jobbot subs remove ID`",
                )
            )
    return found


def _discord_scope(guild: str) -> Finding:
    """Where `/jobs` is uploaded, and what that leaves out."""
    if guild.strip():
        return Finding(
            "Discord commands",
            True,
            f"/jobs goes to server {guild.strip()} only (DISCORD_GUILD_ID): it is not offered "
            "in DMs nor to members who add jobbot to their own account; unset "
            "DISCORD_GUILD_ID for that",
        )
    return Finding(
        "Discord commands",
        True,
        "/jobs is global: servers, the bot's DMs and user installs (a change can take a "
        "while to show)",
    )


def _where(spec: SourceSpec) -> str:
    """How to find a source: its URL, or its board name when the config gives a token."""
    if "://" in spec.url:
        return f"{spec.url} in a browser"
    return f"that {spec.kind} board {spec.url!r} exists (the name is case-sensitive)"


async def _sources(settings: Settings, fetcher: HttpFetcher) -> list[Finding]:
    found = []
    store = open_store(settings)
    try:
        specs = {
            s.name: SourceSpec(s.name, s.kind, s.url, s.interval_s)
            for s in store.sources()
            if s.enabled
        }
    finally:
        store.close()
    # Sources in the config file count even before `jobbot run` has copied them in.
    specs |= {s.name: s for s in settings.sources}
    for spec in specs.values():
        check = f"source {spec.name}"
        source = spec
        try:
            result = await kind_for(source.kind).fetch(spec, PollState(), fetcher)
        except KeyError:
            found.append(
                Finding(check, False, f"unknown kind {source.kind!r}", "fix kind in the config")
            )
            continue
        except SourceError as error:
            found.append(
                Finding(
                    check,
                    False,
                    error.problem,
                    f"check {_where(source)}; fix or remove it "
                    f"(`jobbot sources remove {source.name}` or the config file)",
                )
            )
            continue
        found.append(Finding(check, True, f"{len(result.records)} posting(s) in one request"))
    return found


async def run_doctor(
    settings: Settings,
    *,
    slack_api_url: str | None = None,
    discord_api_url: str | None = None,
    check_sources: bool = True,
) -> list[Finding]:
    """Every check, in order; nothing here changes the database or sends a message."""
    where = str(settings.config_path) if settings.config_path else "no file (defaults)"
    findings = [Finding("config", True, f"{where}; {len(settings.sources)} configured source(s)")]
    database, targets = _database(settings)
    findings.append(database)
    if not settings.secret_values():
        findings.append(
            Finding("chat tokens", True, "none set: alerts go to the terminal (console)")
        )
    # A personal target is a user's DM, opened when an alert goes: no channel to probe.
    personal = [t for t in targets if is_personal_channel(t[2])]
    if personal:
        findings.append(
            Finding(
                "personal subscriptions",
                True,
                f"{len(personal)} user(s) get alerts by direct message; not checked here (a "
                "refused DM pauses that user's, and /jobs tells them why)",
            )
        )
    channels = [t for t in targets if t not in personal]
    slack_channels = [c for p, _, c in channels if p == "slack"]
    discord_channels = [c for p, _, c in channels if p == "discord"]
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        if settings.has_secret("SLACK_BOT_TOKEN"):
            api = slack_api_url or DEFAULT_SLACK_API
            api = api if api.endswith("/") else api + "/"
            findings += await _slack(
                client, settings.secrets["SLACK_BOT_TOKEN"], api, slack_channels
            )
        elif slack_channels:
            findings.append(
                Finding(
                    "Slack",
                    False,
                    f"{len(slack_channels)} channel(s) have subscriptions but SLACK_BOT_TOKEN "
                    "is not set",
                    "set SLACK_BOT_TOKEN (and SLACK_APP_TOKEN for Socket Mode)",
                )
            )
        app_token = settings.secrets.get("SLACK_APP_TOKEN")
        if app_token is not None and not app_token.startswith("xapp-"):
            findings.append(
                Finding(
                    "Slack app token (SLACK_APP_TOKEN)",
                    False,
                    "does not start with xapp-",
                    "create an app-level token with connections:write under Basic Information "
                    "→ App-Level Tokens and set SLACK_APP_TOKEN",
                )
            )
        if settings.has_secret("DISCORD_TOKEN"):
            findings += await _discord(
                client,
                settings.secrets["DISCORD_TOKEN"],
                (discord_api_url or DEFAULT_DISCORD_API).rstrip("/"),
                discord_channels,
            )
            findings.append(_discord_scope(settings.secrets.get("DISCORD_GUILD_ID", "")))
        elif discord_channels:
            findings.append(
                Finding(
                    "Discord",
                    False,
                    f"{len(discord_channels)} channel(s) have subscriptions but DISCORD_TOKEN "
                    "is not set",
                    "set DISCORD_TOKEN",
                )
            )
    if check_sources and database.ok:
        fetcher = HttpFetcher(
            timeout=float(settings.fetch_timeout),
            max_bytes=settings.max_body_mb * 1024 * 1024,
            allow_private=settings.allow_private_sources,
        )
        try:
            findings += await _sources(settings, fetcher)
        except JobbotError as error:
            findings.append(Finding("sources", False, str(error)))
        finally:
            await fetcher.aclose()
    return findings
