"""Uploading the `/jobs` commands, only when they changed.

The commands go to one server (``DISCORD_GUILD_ID``: they appear at once) or to every
server (global). A marker file in the data directory holds the digest of what was
uploaded last: an unchanged set is not uploaded again (Discord limits command creates
per day).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import warnings
from pathlib import Path

with warnings.catch_warnings():
    # discord.py imports the stdlib ``audioop`` for voice (deprecated, PEP 594).
    warnings.filterwarnings(
        "ignore", message="'audioop' is deprecated", category=DeprecationWarning
    )
    import discord
    from discord import app_commands

__all__ = ["MARKER", "sync_commands"]

log = logging.getLogger("jobbot.discord")

MARKER = "discord_commands.sha256"


async def sync_commands(
    tree: app_commands.CommandTree[discord.Client],
    client: discord.Client,
    guild_id: int | None,
    state_dir: Path,
) -> bool:
    """Upload the command set when it differs from the last upload; True if it did."""
    guild = discord.Object(guild_id) if guild_id else None
    payload = [c.to_dict(tree) for c in tree.get_commands(guild=guild)]
    app_id = client.application_id
    # A new application (another token) or another target needs its own upload.
    label = f"app-{app_id} " + (f"guild-{guild_id}" if guild else "global")
    digest = hashlib.sha256(
        json.dumps([label, payload], sort_keys=True, default=str).encode()
    ).hexdigest()
    marker = state_dir / MARKER
    lines = await asyncio.to_thread(_read, marker)
    if lines and lines[0].strip() == digest:
        return False
    await tree.sync(guild=guild)
    await asyncio.to_thread(_write, marker, f"{digest}\n")
    log.info("synced /jobs commands (%s)", label)
    return True


def _read(marker: Path) -> list[str]:
    return marker.read_text(encoding="utf-8").splitlines() if marker.is_file() else []


def _write(marker: Path, text: str) -> None:
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(text, encoding="utf-8")
