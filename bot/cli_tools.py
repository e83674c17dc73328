"""`jobbot` commands that work on files and the store, without a running bot."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.config import Settings
from bot.errors import ConfigError, JobbotError
from bot.sources.http import now_utc
from bot.store import open_store


def _classify(paths: Sequence[str], explain: bool = False) -> int:
    from bot.classify import classify_document, dumps

    now = now_utc()
    failures = 0
    for path in paths:
        try:
            body = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
            rows = classify_document(
                body, "-" if path == "-" else Path(path).name, now, explain=explain
            )
        except (OSError, JobbotError) as error:
            print(f"jobbot classify: {path}: {error}", file=sys.stderr)
            failures += 1
            continue
        for row in rows:
            sys.stdout.write(dumps(row) + "\n")
    sys.stdout.flush()
    return 1 if failures else 0


def _transfer(args: argparse.Namespace, settings: Settings) -> int:
    from bot.transfer import import_subscriptions, write_export

    store = open_store(settings)
    try:
        if args.command == "export":
            if args.file == "-":
                write_export(store, sys.stdout)
            else:
                with open(args.file, "w", encoding="utf-8") as out:
                    write_export(store, out)
            return 0
        raw = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
        added = import_subscriptions(store, raw, now_utc())
        print(f"Imported {added} subscription(s).")
        return 0
    finally:
        store.close()


def _db_copy(args: argparse.Namespace, settings: Settings) -> int:
    from bot.store.copy import copy_store
    from bot.store.dialect import SqlBase
    from bot.store.postgres import PostgresStore
    from bot.store.urls import is_postgres_url, mask_url

    if not is_postgres_url(args.to):
        raise ConfigError("--to", f"{mask_url(args.to)!r} is not a postgresql:// URL")
    source = open_store(settings)
    try:
        target = PostgresStore.open(args.to)
        try:
            assert isinstance(source, SqlBase)
            report = copy_store(source, target)
        finally:
            target.close()
    finally:
        source.close()
    print(f"Rows in {settings.database} → {mask_url(args.to)}:")
    for table, count in report.source.items():
        print(f"  {table:<16}{count:>10} → {report.target[table]}")
    if not report.equal:
        print("jobbot: the counts differ; the copy is incomplete", file=sys.stderr)
        return 1
    print("Copied. Set database_url (or JOBBOT_DATABASE_URL) to the new database.")
    return 0
