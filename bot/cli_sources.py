"""`jobbot sources`: list, add and remove the sources jobbot polls."""

from __future__ import annotations

import argparse
import sys
from urllib.parse import urlsplit

from bot.app import build
from bot.config import Settings, source_interval
from bot.errors import CommandError
from bot.logs import redact
from bot.sources.base import PollState, kind_for, registered_kinds, sniff_kind
from bot.validate import MAX_BACKFILL, source_name_problem, source_url_problem


def _default_name(url: str, kind: str | None = None) -> str:
    if kind and "://" not in url:  # a board token such as "databricks"
        return f"{kind}-{url.strip().strip('/').replace('/', '-')}"[:60]
    parts = urlsplit(url)
    path = "-".join(p for p in parts.path.split("/") if p)[:40]
    return f"{parts.hostname or 'source'}{'-' + path if path else ''}"


def _check_source_args(args: argparse.Namespace) -> None:
    """Refuse a bad URL, name or backfill of `sources add` before anything is built."""
    problem = source_url_problem(args.url)
    if problem is None and args.name is not None:
        problem = source_name_problem(args.name)
    if problem is None and not 0 <= args.backfill <= MAX_BACKFILL:
        problem = f"--backfill {args.backfill} is not a number from 0 to {MAX_BACKFILL}"
    if problem is not None:
        raise CommandError(problem)


async def _sources(args: argparse.Namespace, settings: Settings) -> int:
    if args.sources_command == "add":
        _check_source_args(args)
    bot = build(settings)
    try:
        if args.sources_command == "list":
            for source in bot.store.sources():
                health = "healthy" if source.healthy else "UNHEALTHY"
                last = (
                    source.last_success_at.isoformat(timespec="minutes")
                    if source.last_success_at
                    else "never"
                )
                error = f"  last error: {source.last_error}" if source.last_error else ""
                print(
                    f"{source.name}  [{source.kind}]  {redact(source.url)}\n"
                    f"    every {source.interval_s}s, {source.polls} poll(s), last success "
                    f"{last}, {health} ({source.consecutive_failures} failure(s) in a row)"
                    f"{error}"
                )
            return 0
        if args.sources_command == "remove":
            if not bot.store.remove_source(args.name):
                print(f"No source named {args.name!r}; see `jobbot sources list`.", file=sys.stderr)
                return 2
            print(f"Removed source {args.name!r} (its postings stay).")
            return 0
        kind = args.kind
        if kind is None and "://" not in args.url:
            print(
                f"{args.url!r} is not a URL; for a board token give --kind "
                f"({', '.join(registered_kinds())}).",
                file=sys.stderr,
            )
            return 2
        if kind is None:
            status, body, _ = await bot.fetcher.get(args.url, PollState())
            kind = sniff_kind(body)
            if kind is None:
                print(
                    f"Could not tell what kind of source {args.url} is; "
                    f"give --kind ({', '.join(registered_kinds())}).",
                    file=sys.stderr,
                )
                return 2
        else:
            try:
                kind_for(kind)
            except KeyError as error:
                print(str(error.args[0]), file=sys.stderr)
                return 2
        interval = (
            source_interval(args.interval, "--interval")
            if args.interval
            else settings.default_interval
        )
        name = args.name or _default_name(args.url, args.kind)
        bot.store.upsert_source(
            name, kind, args.url, interval, backfill=args.backfill, now=bot.clock()
        )
        print(
            f"Added source {name!r} ({kind}), polled every {interval}s. Its first poll "
            + (
                f"alerts its newest {args.backfill} posting(s)."
                if args.backfill
                else "records what is there without alerting."
            )
        )
        return 0
    finally:
        await bot.aclose()
