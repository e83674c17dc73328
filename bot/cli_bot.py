"""`jobbot` commands that build the bot and act through it: run, poll, why, fix, subs, labels."""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import sys
from pathlib import Path

from bot.app import JobBot, build
from bot.compose import install_stop_signals, start_ops_server
from bot.config import Settings
from bot.errors import CommandError
from bot.logs import mask_urls, redact
from bot.validate import id_problem, webhook_url_problem
from bot.why import why
from subscriptions.commands import CommandContext
from subscriptions.grammar import format_filter, format_schedule

CLI_PLATFORM = "console"
CLI_WORKSPACE = "local"
CLI_CHANNEL = "terminal"


def _cli_context(
    bot: JobBot,
    platform: str = CLI_PLATFORM,
    workspace: str = CLI_WORKSPACE,
    channel: str = CLI_CHANNEL,
) -> CommandContext:
    return CommandContext(
        platform=platform,
        workspace=workspace,
        channel=channel,
        user="cli",
        now=bot.clock(),
        can_manage=True,
        is_admin=True,  # whoever runs the CLI runs the bot
    )


async def _run(settings: Settings) -> int:
    bot = build(settings)
    try:
        # Source URLs may carry credentials; the terminal is as public as the logs.
        print(redact(bot.describe(), settings.secret_values()), flush=True)
        ops = await start_ops_server(bot)
        if ops is not None:
            print(
                f"Health and metrics: http://{settings.metrics_host}:{ops.port}/healthz "
                "and /metrics",
                flush=True,
            )
        print("jobbot is running. Press Ctrl-C to stop.", flush=True)
        stop = asyncio.Event()
        install_stop_signals(stop)
        try:
            await bot.run(stop)
        finally:
            if ops is not None:
                await ops.stop()
    finally:
        await bot.aclose()
    print("jobbot stopped.", flush=True)
    return 0


async def _poll_once(settings: Settings) -> int:
    bot = build(settings)
    try:
        reports = await bot.poll_all()
        delivered = await bot.worker.run_once()
        digests = await bot.digests.run_due()
        await bot.follow_up()
    finally:
        await bot.aclose()
    failed = [r for r in reports if not r.ok]
    for report in reports:
        state = (
            "not modified"
            if report.not_modified
            else f"{report.seen} seen, {report.new} new, {report.queued} queued"
            if report.ok
            else f"FAILED: {report.error}"
        )
        print(f"{report.source}: {state}")
    print(f"{delivered.sent} alert(s) sent, {digests} digest(s) sent")
    return 1 if failed and len(failed) == len(reports) else 0


async def _why(args: argparse.Namespace, settings: Settings) -> int:
    bot = build(settings)
    try:
        subs = bot.store.subscriptions(platform=args.platform, channel=args.channel)
        print(why(bot.store, args.posting, subs))
    finally:
        await bot.aclose()
    return 0


async def _fix(args: argparse.Namespace, settings: Settings) -> int:
    bot = build(settings)
    try:
        text = "fix " + shlex.join([args.posting, *args.fields])
        reply = await bot.command(text, _cli_context(bot))
        print(reply.text, file=sys.stdout if reply.ok else sys.stderr)
        if reply.ok:
            # Deliver what the correction queued, as `jobbot poll` does.
            await bot.deliver()
        return 0 if reply.ok else 2
    finally:
        await bot.aclose()


def _export_labels(args: argparse.Namespace, settings: Settings) -> int:
    from bot.labels import correction_labels

    bot = build(settings)
    try:
        lines = [json.dumps(label, ensure_ascii=False) for label in correction_labels(bot.store)]
    finally:
        asyncio.run(bot.aclose())
    text = "".join(line + "\n" for line in lines)
    if args.file == "-":
        sys.stdout.write(text)
    else:
        Path(args.file).write_text(text, encoding="utf-8")
        print(f"{len(lines)} label(s) written to {args.file}", file=sys.stderr)
    return 0


async def _subs(args: argparse.Namespace, settings: Settings) -> int:
    bot = build(settings)
    try:
        if args.subs_command == "list":
            subs = bot.store.subscriptions()
            if not subs:
                print("No subscriptions. Add one with: jobbot subs add area:ml country:US")
            for sub in subs:
                paused = f"  (paused: {sub.paused_reason})" if sub.paused else ""
                print(
                    f"#{sub.id}  {sub.platform}:{sub.workspace}:{mask_urls(sub.channel)}  "
                    f"{format_filter(sub.filter)}  {format_schedule(sub.schedule)}{paused}"
                )
            return 0
        if args.subs_command == "remove":
            if problem := id_problem(args.id):
                raise CommandError(problem)
            found = bot.store.subscription(args.id)
            ctx = (
                _cli_context(bot, found.platform, found.workspace, found.channel)
                if found
                else _cli_context(bot)
            )
            reply = await bot.command(f"unsubscribe {args.id}", ctx)
        else:
            if args.platform == "webhook" and (problem := webhook_url_problem(args.channel)):
                raise CommandError(problem)
            ctx = _cli_context(bot, args.platform, args.workspace, args.channel)
            reply = await bot.command("subscribe " + shlex.join(args.filters), ctx)
        print(reply.text, file=sys.stdout if reply.ok else sys.stderr)
        return 0 if reply.ok else 2
    finally:
        await bot.aclose()
