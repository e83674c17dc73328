"""Uploading the `/jobs` commands: only when they changed, and to one scope only (#17).

The commands go to one server (``DISCORD_GUILD_ID``: they appear at once) or to every
server (global). A marker file in the data directory remembers what was uploaded last
and where: an unchanged set is not uploaded again (Discord limits command creates per
day), and when the target moves from a server to global or back, the old copy is
cleared, so that members do not see every command twice.

Marker (``discord_commands.sha256``): the digest on the first line, as before; then the
scope, ``app <application id> guild <server id>`` or ``app <application id> global``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from bot.chat.discord_lib import app_commands, discord

__all__ = ["MARKER", "Scope", "sync_commands"]

log = logging.getLogger("jobbot.discord")

MARKER = "discord_commands.sha256"


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a command set was uploaded: one application's global set or one server's."""

    application_id: int
    guild_id: int | None

    def __str__(self) -> str:
        where = f"guild {self.guild_id}" if self.guild_id else "global"
        return f"app {self.application_id} {where}"

    @classmethod
    def parse(cls, text: str) -> Scope | None:
        """The scope a marker's second line names; None for anything else (old markers)."""
        match text.split():
            case ["app", app, "global"] if app.isdigit():
                return cls(int(app), None)
            case ["app", app, "guild", guild] if app.isdigit() and guild.isdigit():
                return cls(int(app), int(guild))
        return None


async def sync_commands(
    tree: app_commands.CommandTree[discord.Client],
    client: discord.Client,
    guild_id: int | None,
    state_dir: Path,
) -> bool:
    """Upload the command set when it differs from the last upload; True if it did.

    When the last upload of this application went to another scope, that scope's
    commands are cleared after the new upload (a server the bot has left is skipped).
    The marker is written last: a failed clear is tried again on the next start.
    """
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
    scope = Scope(app_id, guild_id) if app_id is not None else None
    before = Scope.parse(lines[1]) if len(lines) > 1 else None
    if scope is not None and before is not None and _moved(before, scope):
        await _clear(client, before)
    await asyncio.to_thread(_write, marker, f"{digest}\n{scope or ''}\n")
    log.info("synced /jobs commands (%s)", label)
    return True


def _read(marker: Path) -> list[str]:
    return marker.read_text(encoding="utf-8").splitlines() if marker.is_file() else []


def _write(marker: Path, text: str) -> None:
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(text, encoding="utf-8")


def _moved(before: Scope, now: Scope) -> bool:
    """The same application's commands now go elsewhere (another app's are not ours)."""
    return before.application_id == now.application_id and before.guild_id != now.guild_id


async def _clear(client: discord.Client, scope: Scope) -> None:
    """Remove every command of ``scope`` (a bulk overwrite with none)."""
    try:
        if scope.guild_id is None:
            await client.http.bulk_upsert_global_commands(scope.application_id, [])
        else:
            await client.http.bulk_upsert_guild_commands(scope.application_id, scope.guild_id, [])
    except (discord.Forbidden, discord.NotFound) as error:
        # Removed from that server (or it is gone): its commands went with it.
        log.warning("could not clear the old /jobs commands (%s): %s", scope, error)
        return
    log.info("cleared the old /jobs commands (%s)", scope)
