"""The `jobbot` command: its argument parser and entry point, which dispatch to the handlers."""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
from collections.abc import Sequence

from bot import __version__
from bot.cli_bot import (
    CLI_CHANNEL,
    CLI_PLATFORM,
    CLI_WORKSPACE,
    _export_labels,
    _fix,
    _poll_once,
    _run,
    _subs,
    _why,
)
from bot.cli_sources import _sources
from bot.cli_tools import _classify, _db_copy, _transfer
from bot.config import Settings, env_secret_values, load_settings
from bot.errors import JobbotError
from bot.logs import configure_logging, redact
from bot.sources.base import registered_kinds

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jobbot", description="Research-internship alerts for Slack, Discord and the terminal."
    )
    parser.add_argument("--version", action="version", version=f"jobbot {__version__}")
    parser.add_argument("--log-format", choices=["text", "json"], help="log line format")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    commands.add_parser(
        "run",
        help="run the bot: poll sources, send alerts and digests",
        description="Run the bot until Ctrl-C or SIGTERM. With no Slack or Discord tokens in "
        "the environment, alerts print to this terminal.",
    )

    demo = commands.add_parser(
        "demo",
        help="a self-contained demo on bundled feeds (no network, no tokens)",
        description="Serve the bundled demo feeds on 127.0.0.1, poll them, match them against "
        "demo subscriptions and print the alerts and a digest. Leaves nothing "
        "behind.",
    )
    demo.add_argument("--quiet", action="store_true", help="print only the summary line")

    poll = commands.add_parser(
        "poll",
        help="poll sources once and deliver what matches",
        description="Poll every source once, deliver, and exit.",
    )
    poll.add_argument(
        "--once", action="store_true", required=True, help="poll once and exit (required)"
    )

    why_cmd = commands.add_parser(
        "why",
        help="what happened to one posting, for each subscription",
        description="Say stage by stage what jobbot did with one posting (by link or id): "
        "which source saw it, whether it was merged as a duplicate or recorded at a first "
        "poll, and for each subscription whether a filter did not match or the alert was "
        "queued, sent or failed.",
    )
    why_cmd.add_argument("posting", help="the posting's link, or its jobbot id (#42)")
    why_cmd.add_argument("--platform", help="only subscriptions of this platform")
    why_cmd.add_argument("--channel", help="only subscriptions of this channel")

    fix = commands.add_parser(
        "fix",
        help="correct what jobbot read about one posting, and match it again",
        description="Correct a posting's degree, countries, areas, internship or posting kind "
        "(as /jobs fix). The correction is kept over later polls; subscriptions that now "
        "match it and never got it get it once.",
    )
    fix.add_argument("posting", help="the posting's jobbot id (#42), as `jobbot why` shows it")
    fix.add_argument(
        "fields",
        nargs="+",
        help="degree:phd-only country:DE area:speech,-cv internship:yes posting:no",
    )
    labels = commands.add_parser(
        "export-labels",
        help="write every correction as an evaluation label (benchmarks/eval/labels.jsonl)",
    )
    labels.add_argument("file", nargs="?", default="-", help="the JSON Lines file, or - (stdout)")
    subs = commands.add_parser(
        "subs",
        help="manage subscriptions (same grammar as /jobs)",
        description="Manage subscriptions from the command line.",
    )
    subs_commands = subs.add_subparsers(dest="subs_command", metavar="ACTION", required=True)
    add = subs_commands.add_parser(
        "add",
        help="add a subscription",
        description="Add a subscription with the /jobs subscribe grammar, for example: "
        "jobbot subs add area:nlp,recsys country:US,DE degree:phd-only "
        "mode:daily at:09:00 tz:Europe/Berlin",
    )
    add.add_argument("filters", nargs="*", help="key:value filters")
    add.add_argument(
        "--platform",
        default=CLI_PLATFORM,
        choices=["console", "slack", "discord", "webhook"],
        help="where alerts go (webhook: --channel is the URL that receives JSON POSTs)",
    )
    add.add_argument("--workspace", default=CLI_WORKSPACE, help="Slack team id or Discord guild id")
    add.add_argument("--channel", default=CLI_CHANNEL, help="channel id (or name for console)")
    subs_commands.add_parser(
        "list",
        help="list every subscription",
        description="List every subscription on every platform.",
    )
    remove = subs_commands.add_parser(
        "remove", help="remove a subscription by id", description="Remove a subscription by id."
    )
    remove.add_argument("id", type=int, help="subscription id (see `jobbot subs list`)")

    sources = commands.add_parser(
        "sources",
        help="list, add and remove sources",
        description="Manage the sources jobbot polls.",
    )
    src_commands = sources.add_subparsers(dest="sources_command", metavar="ACTION", required=True)
    src_commands.add_parser(
        "list",
        help="list sources with their health",
        description="List sources with their poll state and health.",
    )
    src_add = src_commands.add_parser(
        "add",
        help="add a source by URL",
        description="Add a source. The kind is detected from the response where not given.",
    )
    src_add.add_argument(
        "url",
        help="feed or API URL, or with --kind a board token (e.g. databricks --kind greenhouse)",
    )
    src_add.add_argument("--kind", help=f"source kind ({', '.join(registered_kinds())})")
    src_add.add_argument("--interval", default=None, help="poll interval, e.g. 30m, 6h, 1d")
    src_add.add_argument("--name", help="a short unique name (default: from the URL)")
    src_add.add_argument(
        "--backfill",
        type=int,
        default=0,
        metavar="N",
        help="alert the newest N postings of the first poll (default: none)",
    )
    src_remove = src_commands.add_parser(
        "remove",
        help="remove a source by name",
        description="Stop polling a source (postings stay).",
    )
    src_remove.add_argument("name")

    commands.add_parser(
        "doctor",
        help="check the config, database, tokens, channels and sources",
        description="Check the configuration, the database, each chat token (Slack auth.test, "
        "Discord /users/@me), the channels subscriptions post to, and each source (one "
        "request). Prints what is wrong and how to fix it; exits 1 when something is.",
    )
    export = commands.add_parser(
        "export",
        help="write every subscription as JSON",
        description="Write every subscription as JSON (to standard output or a file), "
        "for `jobbot import` on another installation.",
    )
    export.add_argument("file", nargs="?", default="-", help="output file (default: -)")
    imp = commands.add_parser(
        "import",
        help="add subscriptions from a `jobbot export` file",
        description="Add the subscriptions of a `jobbot export` file. Every entry is checked "
        "with the /jobs grammar first; if any is wrong, nothing is imported.",
    )
    imp.add_argument("file", help="the JSON file, or - for standard input")

    db = commands.add_parser(
        "db",
        help="database tools: copy this bot's database to PostgreSQL",
        description="Database tools.",
    )
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_copy = db_commands.add_parser(
        "copy",
        help="copy every row of this bot's database into an empty PostgreSQL database",
        description="Copy sources (with their poll state), postings, subscriptions, the "
        "outbox, reminders and source notices into an empty PostgreSQL database, then "
        "print the row counts on both sides. Set database_url to it afterwards.",
    )
    db_copy.add_argument("--to", required=True, help="postgresql://user@host/db")

    classify = commands.add_parser(
        "classify",
        help="print what jobbot understands of posting documents (JSON Lines)",
        description="Read feeds, API responses or saved posting pages (text or HTML) and print "
        "one JSON object per posting. Use - for standard input.",
    )
    classify.add_argument("paths", nargs="+", help="files, or - for standard input")
    classify.add_argument(
        "--explain",
        action="store_true",
        help="add where each fact was read: source:FIELD, jsonld:PROPERTY, title or text",
    )
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {"log_format": args.log_format} if args.log_format else {}
    return load_settings(overrides=overrides)


async def _doctor(args: argparse.Namespace) -> int:
    from bot.doctor import Finding, format_findings, run_doctor

    try:
        settings = _settings(args)
    except JobbotError as error:
        bad = Finding(
            "config",
            False,
            str(error),
            "fix the named setting in the TOML file (see the settings table in README.md)",
        )
        print(format_findings([bad], env_secret_values()))
        return 1
    configure_logging("warning", settings.log_format, secrets=settings.secret_values())
    findings = await run_doctor(
        settings,
        slack_api_url=settings.secrets.get("SLACK_API_URL"),
        discord_api_url=settings.secrets.get("DISCORD_API_URL"),
    )
    print(format_findings(findings, settings.secret_values()))
    problems = sum(not f.ok for f in findings)
    print(f"\n{problems} problem(s) found." if problems else "\nAll checks passed.")
    return 1 if problems else 0


_DB_FIX = "restore it from a backup or move it aside (see `jobbot doctor`)"


def _one_line(error: BaseException) -> str:
    """The error's message on one line (an import's problems are joined with '; ')."""
    lines = [line.strip().removeprefix("- ") for line in str(error).splitlines() if line.strip()]
    return "; ".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `jobbot` console script and `python -m bot`."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        if args.command == "classify":
            return _classify(args.paths, args.explain)
        if args.command == "demo":
            from bot.demo import run_demo

            configure_logging("warning" if args.quiet else "info", args.log_format or "text")
            return asyncio.run(run_demo(quiet=args.quiet))
        if args.command == "doctor":
            return asyncio.run(_doctor(args))
        settings = _settings(args)
        configure_logging(
            "debug" if args.verbose else settings.log_level,
            settings.log_format,
            secrets=settings.secret_values(),
        )
        if args.command == "run":
            return asyncio.run(_run(settings))
        if args.command == "poll":
            return asyncio.run(_poll_once(settings))
        if args.command == "subs":
            return asyncio.run(_subs(args, settings))
        if args.command == "why":
            return asyncio.run(_why(args, settings))
        if args.command == "fix":
            return asyncio.run(_fix(args, settings))
        if args.command == "export-labels":
            return _export_labels(args, settings)
        if args.command == "sources":
            return asyncio.run(_sources(args, settings))
        if args.command in ("export", "import"):
            return _transfer(args, settings)
        if args.command == "db":
            return _db_copy(args, settings)
    except JobbotError as error:
        # An error message may quote a bad value; never let it carry a token.
        print(f"jobbot: {redact(_one_line(error), env_secret_values())}", file=sys.stderr)
        return 2
    except sqlite3.DatabaseError as error:
        print(
            f"jobbot: the database cannot be used: {_one_line(error)}; {_DB_FIX}", file=sys.stderr
        )
        return 2
    except OSError as error:
        where = f" {error.filename}" if error.filename else ""
        print(f"jobbot: cannot use{where}: {error.strerror or error}", file=sys.stderr)
        return 2
    except UnicodeDecodeError as error:
        print(
            f"jobbot: a file is not UTF-8 text (byte {error.start}: {error.reason})",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        return 130
    parser.error(f"unknown command {args.command}")
    return 2
