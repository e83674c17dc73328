"""Who may do what: channel managers change subscriptions, configured admins change sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import JobBot, build
from bot.config import load_settings
from bot.errors import CommandError
from subscriptions.commands import CommandContext
from subscriptions.grammar import parse_command
from tests.conftest import NOW


@pytest.fixture
async def bot(tmp_path: Path):
    settings = load_settings(
        env={"JOBBOT_DATA_DIR": str(tmp_path / "data")},
        cwd=tmp_path,
        overrides={"default_sources": False, "admins": ["slack:UADMIN", "discord:42"]},
    )
    bot = build(settings, clock=lambda: NOW)
    yield bot
    await bot.aclose()


def ctx(platform: str = "slack", user: str = "UMEMBER", *, can_manage: bool = True):
    return CommandContext(platform, "T1", "C1", user, NOW, can_manage=can_manage)


async def test_only_configured_admins_add_and_remove_sources(bot: JobBot) -> None:
    add = "sources add https://jobs.example.org/feed.rss name:lab interval:2h"
    refused = await bot.command(add, ctx())
    assert not refused.ok
    assert "only jobbot's admins (the `admins` list in the bot's config file)" in refused.text
    assert bot.store.source("lab") is None
    # The same user id on another platform is not an admin either.
    assert not (await bot.command(add, ctx("discord", "UADMIN"))).ok

    added = await bot.command(add, ctx(user="UADMIN"))
    assert added.ok, added.text
    source = bot.store.source("lab")
    assert source is not None and source.interval_s == 7200 and source.kind == "rss"
    assert "Added source `lab`" in added.text

    assert not (await bot.command("sources remove lab", ctx("discord", "7"))).ok
    assert (await bot.command("sources remove lab", ctx("discord", "42"))).ok
    assert bot.store.source("lab") is None
    assert (
        "no source named `lab`"
        in (await bot.command("sources remove lab", ctx(user="UADMIN"))).text
    )


async def test_unknown_kind_is_refused_with_the_known_ones(bot: JobBot) -> None:
    reply = await bot.command("sources add https://x.example/f kind:gopher", ctx(user="UADMIN"))
    assert not reply.ok and "choose one of" in reply.text and "rss" in reply.text


async def test_listing_sources_is_for_everyone(bot: JobBot) -> None:
    assert (await bot.command("sources", ctx(can_manage=False))).ok


async def test_subscriptions_need_channel_managers_and_say_who_may(bot: JobBot) -> None:
    reply = await bot.command("subscribe area:nlp", ctx(can_manage=False))
    assert not reply.ok and "only members who can manage this channel" in reply.text
    assert bot.store.subscriptions() == []
    assert (await bot.command("subscribe area:nlp", ctx())).ok
    for verb in ("pause 1", "unsubscribe 1", "resume 1"):
        assert not (await bot.command(verb, ctx(can_manage=False))).ok, verb
    assert (await bot.command("list", ctx(can_manage=False))).ok


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("sources add ftp://x.example/f", "http:// or https:// URL"),
        ("sources add", "http:// or https:// URL"),
        ("sources add https://x.example/f interval:1m", "at least 5m"),
        ("sources add https://x.example/f colour:red", "not a sources option"),
        ("sources add https://x.example/f name:../../etc", "`name:` takes"),
        ("sources add https://x.example/f backfill:1000", "0 to 100"),
        ("sources remove", "name of one source"),
        ("sources purge all", "knows `add` and `remove`"),
    ],
)
def test_bad_source_commands_say_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(CommandError, match=problem) as error:
        parse_command(text)
    assert error.value.usage is not None and "sources add URL" in error.value.usage
