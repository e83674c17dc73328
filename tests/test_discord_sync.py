"""The `/jobs` commands live in one scope (#17): moving them between a server and global
clears the old copy. jobbot is built by ``bot.app.build`` and restarted on one data
directory (where the marker is) against the fake Discord.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import discord
import pytest

from bot.app import build
from bot.chat.discord_adapter import DiscordAdapter
from bot.chat.discord_sync import MARKER, Scope
from bot.config import load_settings
from tests.fakes.discord_api import DEFAULT_APPLICATION_ID, DEFAULT_GUILD_ID, FakeDiscord
from tests.fakes.specs import load_discord_spec

pytestmark = pytest.mark.integration

OTHER_GUILD_ID = DEFAULT_GUILD_ID + 1


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    """A fake Discord with a second server; discord.py's URLs are put back afterwards."""
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    gateway = discord.gateway.DiscordWebSocket
    monkeypatch.setattr(gateway, "DEFAULT_GATEWAY", gateway.DEFAULT_GATEWAY)
    served = FakeDiscord(spec=load_discord_spec())
    served.add_guild(OTHER_GUILD_ID, name="Other Lab")
    async with served:
        yield served
        assert served.violations == []


async def _run_once(tmp_path: Path, fake: FakeDiscord, guild_id: int | None) -> DiscordAdapter:
    """Start jobbot with the commands in ``guild_id`` (None: global) until it is connected."""
    env = {
        "JOBBOT_DATA_DIR": str(tmp_path / "data"),
        "DISCORD_TOKEN": fake.token,
        "DISCORD_API_URL": fake.api_base,
        "DISCORD_GATEWAY_URL": fake.gateway_url,
    }
    if guild_id is not None:
        env["DISCORD_GUILD_ID"] = str(guild_id)
    bot = build(load_settings(env=env, cwd=tmp_path, overrides={"default_sources": False}))
    adapter = bot.adapters["discord"]
    assert isinstance(adapter, DiscordAdapter)
    adapter.guild_ready_timeout = 0.05
    identified = len(fake.identifies)
    try:
        await adapter.start()
        # The gateway opens after the sync (and the clearing) are done.
        await fake.wait_for(lambda: len(fake.identifies) > identified, what="IDENTIFY")
    finally:
        await bot.aclose()
    return adapter


def _names(fake: FakeDiscord, guild_id: int | None) -> list[str]:
    return [c["name"] for c in fake.commands(guild_id)]


async def test_moving_commands_between_a_server_and_global_clears_the_old_copy(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    await _run_once(tmp_path, fake, DEFAULT_GUILD_ID)
    assert _names(fake, DEFAULT_GUILD_ID) == ["jobs"] and _names(fake, None) == []

    await _run_once(tmp_path, fake, None)
    assert _names(fake, None) == ["jobs"]
    assert _names(fake, DEFAULT_GUILD_ID) == []

    await _run_once(tmp_path, fake, DEFAULT_GUILD_ID)
    assert _names(fake, DEFAULT_GUILD_ID) == ["jobs"]
    assert _names(fake, None) == []

    # From one server to another: the first one is cleared too.
    await _run_once(tmp_path, fake, OTHER_GUILD_ID)
    assert _names(fake, OTHER_GUILD_ID) == ["jobs"]
    assert _names(fake, DEFAULT_GUILD_ID) == [] and _names(fake, None) == []
    uploads = [(s["guild_id"], len(s["commands"])) for s in fake.command_syncs]
    assert uploads == [
        (str(DEFAULT_GUILD_ID), 1),
        (None, 1),
        (str(DEFAULT_GUILD_ID), 0),
        (str(DEFAULT_GUILD_ID), 1),
        (None, 0),
        (str(OTHER_GUILD_ID), 1),
        (str(DEFAULT_GUILD_ID), 0),
    ]

    # An unchanged target uploads and clears nothing.
    await _run_once(tmp_path, fake, OTHER_GUILD_ID)
    assert len(fake.command_syncs) == len(uploads)


async def test_a_server_the_bot_left_is_not_cleared_and_the_move_goes_on(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    await _run_once(tmp_path, fake, OTHER_GUILD_ID)
    await fake.remove_guild(OTHER_GUILD_ID)  # its commands go with it (403 from now on)
    await _run_once(tmp_path, fake, None)
    assert _names(fake, None) == ["jobs"]
    marker = (tmp_path / "data" / MARKER).read_text().splitlines()
    assert Scope.parse(marker[1]) == Scope(DEFAULT_APPLICATION_ID, None)


async def test_a_marker_of_an_older_jobbot_is_read_and_rewritten(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    await _run_once(tmp_path, fake, DEFAULT_GUILD_ID)
    marker = tmp_path / "data" / MARKER
    digest, scope = marker.read_text().splitlines()
    assert scope == f"app {DEFAULT_APPLICATION_ID} guild {DEFAULT_GUILD_ID}"
    marker.write_text(digest + "\n")  # the one-line marker jobbot wrote before
    await _run_once(tmp_path, fake, DEFAULT_GUILD_ID)
    assert len(fake.command_syncs) == 1  # same digest: nothing to upload
    await _run_once(tmp_path, fake, None)  # the old scope is unknown: nothing cleared
    assert _names(fake, None) == ["jobs"] and _names(fake, DEFAULT_GUILD_ID) == ["jobs"]
    assert marker.read_text().splitlines()[1] == f"app {DEFAULT_APPLICATION_ID} global"


def test_scopes_read_back_what_they_write() -> None:
    for scope in (Scope(1, None), Scope(1, 2)):
        assert Scope.parse(str(scope)) == scope
    for text in ("", "stale", "app x global", "app 1 guild", "app 1 guild 2 3"):
        assert Scope.parse(text) is None
