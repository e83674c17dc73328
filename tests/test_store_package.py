"""The store package's surface: what it exports, and records that import no database."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import bot.store
import bot.store.protocols

ROOT = Path(__file__).resolve().parents[1]


def test_every_exported_name_exists() -> None:
    for module in (bot.store, bot.store.protocols):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_records_and_protocols_import_no_database_driver() -> None:
    code = (
        "import sys, bot.store.records, bot.store.protocols\n"
        "loaded = {'sqlite3', 'sqlite_utils', 'psycopg', 'psycopg_pool'} & set(sys.modules)\n"
        "print(sorted(loaded))\n"
    )
    # bot/store/__init__.py imports the SQLite backend, so import the modules' files alone.
    out = subprocess.run(
        [sys.executable, "-c", code.replace("import sys, ", "import sys\n" + _stub() + "import ")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == "[]"


def _stub() -> str:
    """Load bot.store's submodules without running bot/store/__init__.py."""
    return (
        "import types, bot\n"
        "package = types.ModuleType('bot.store')\n"
        f"package.__path__ = [{str(ROOT / 'bot' / 'store')!r}]\n"
        "sys.modules['bot.store'] = package\n"
    )


def test_the_postgresql_driver_loads_only_when_asked_for() -> None:
    code = "import sys, bot.app, bot.cli\nprint('psycopg' in sys.modules)\n"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"
