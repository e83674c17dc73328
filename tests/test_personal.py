"""Personal subscriptions (`to:me`, `stop me`): the grammar, the target form, the handlers (#19)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import JobBot, build
from bot.config import load_settings
from bot.postings.model import Posting
from bot.transfer import export_subscriptions, import_subscriptions
from subscriptions.commands import CommandContext
from subscriptions.grammar import USAGE, parse_command
from subscriptions.personal import (
    is_personal,
    is_personal_channel,
    owner_of,
    personal_channel,
    personal_target,
    undeliverable_reason,
    user_of_channel,
)
from tests.conftest import NOW


@pytest.fixture
async def bot(tmp_path: Path):
    settings = load_settings(
        env={"JOBBOT_DATA_DIR": str(tmp_path / "data")},
        cwd=tmp_path,
        overrides={"default_sources": False, "max_personal_subscriptions": 3},
    )
    bot = build(settings, clock=lambda: NOW)
    yield bot
    await bot.aclose()


def ctx(user: str = "UANNA", *, channel: str = "C1", can_manage: bool = False) -> CommandContext:
    return CommandContext("slack", "T1", channel, user, NOW, can_manage=can_manage)


def test_the_target_form_is_one_no_channel_id_can_take() -> None:
    assert personal_target("slack", "T1", "U123") == ("slack", "T1", "@U123")
    # Discord user ids are global: one set of personal subscriptions across servers.
    assert personal_target("discord", "G1", "42") == ("discord", "", "@42")
    assert is_personal_channel("@U123") and user_of_channel("@42") == "42"
    for channel in ("C0JOBS", "G123", "D123", "123456789012345678", "@", ""):
        assert not is_personal_channel(channel) and user_of_channel(channel) is None
    for bad in ("", "@U1", " U1"):
        with pytest.raises(ValueError):
            personal_channel(bad)


def test_to_me_and_stop_me_parse() -> None:
    command = parse_command("subscribe area:speech country:DE degree:phd-only to:me")
    assert command.personal and command.filter is not None
    assert command.filter.areas == {"speech"} and command.filter.countries == {"DE"}
    assert not parse_command("subscribe area:speech").personal
    assert parse_command("stop me").verb == "stop"
    assert "to:me" in USAGE["subscribe"] and "stop me" in USAGE["stop"]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("subscribe area:nlp to:channel", "`to:channel` is not valid"),
        ("subscribe to:me to:me", "`to:` is given twice"),
        ("stop", "`stop` takes `me`"),
        ("stop everyone", "`stop` takes `me`"),
    ],
)
async def test_bad_personal_commands_say_the_right_form(bot: JobBot, text: str, says: str) -> None:
    reply = await bot.command(text, ctx())
    assert not reply.ok and says in reply.text
    assert bot.store.subscriptions() == []


async def test_anyone_subscribes_to_me_without_channel_rights(bot: JobBot) -> None:
    reply = await bot.command("subscribe area:speech country:DE degree:phd-only to:me", ctx())
    assert reply.ok and reply.ephemeral, reply.text
    assert "for you alone" in reply.text and "direct messages" in reply.text
    [sub] = bot.store.subscriptions()
    assert sub.target == ("slack", "T1", "@UANNA") and is_personal(sub)
    assert owner_of(sub) == "UANNA" and sub.created_by == "UANNA"
    # The same filter again is refused per person, as it is per channel.
    again = await bot.command("subscribe area:speech country:DE degree:phd-only to:me", ctx())
    assert "already have that filter" in again.text and len(bot.store.subscriptions()) == 1
    # Another user may have the very same filter for themselves.
    assert (
        await bot.command("subscribe area:speech country:DE degree:phd-only to:me", ctx("UBEN"))
    ).ok
    assert len(bot.store.subscriptions()) == 2
    # Without to:me, the channel's rules hold as before.
    refused = await bot.command("subscribe area:speech", ctx())
    assert not refused.ok and "only members who can manage" in refused.text


async def test_a_personal_subscription_pings_nobody(bot: JobBot) -> None:
    reply = await bot.command("subscribe area:nlp mention:@here to:me", ctx())
    assert not reply.ok and "ping nobody" in reply.text
    assert bot.store.subscriptions() == []


async def test_one_user_holds_at_most_the_personal_limit(bot: JobBot) -> None:
    for area in ("nlp", "cv", "rl"):
        assert (await bot.command(f"subscribe area:{area} to:me", ctx())).ok
    full = await bot.command("subscribe area:speech to:me", ctx())
    assert not full.ok and "3 personal subscriptions, the most" in full.text
    # Another user's limit is their own.
    assert (await bot.command("subscribe area:speech to:me", ctx("UBEN"))).ok


async def test_list_shows_the_channels_and_ones_own(bot: JobBot) -> None:
    await bot.command("subscribe area:cv", ctx("UBOSS", can_manage=True))
    await bot.command("subscribe area:speech to:me", ctx())
    await bot.command("subscribe area:rl to:me", ctx("UBEN"))
    text = (await bot.command("list", ctx())).text
    assert "Subscriptions in this channel:\n#1  area:cv" in text
    assert "Your personal subscriptions (direct messages):\n#2  area:speech" in text
    assert "area:rl" not in text  # Ben's are Ben's
    # From another channel: the same personal ones, none of C1's.
    elsewhere = (await bot.command("list", ctx(channel="C2"))).text
    assert "no subscriptions" in elsewhere and "#2  area:speech" in elsewhere


async def test_only_the_owner_changes_a_personal_subscription(bot: JobBot) -> None:
    await bot.command("subscribe area:speech to:me", ctx())
    [sub] = bot.store.subscriptions()
    for verb in ("pause", "resume", "unsubscribe"):
        # Not another member, and not a channel manager either.
        for other in (ctx("UBEN"), ctx("UBOSS", can_manage=True)):
            reply = await bot.command(f"{verb} {sub.id}", other)
            assert not reply.ok and "someone else's personal subscription" in reply.text
    assert bot.store.subscription(sub.id) == sub
    paused = await bot.command(f"pause {sub.id}", ctx(channel="C9"))
    assert paused.ok and bot.store.subscription(sub.id).paused  # type: ignore[union-attr]
    assert (await bot.command(f"resume {sub.id}", ctx())).ok
    assert (await bot.command(f"unsubscribe {sub.id}", ctx())).ok
    assert bot.store.subscriptions() == []


async def test_channel_rules_are_unchanged_for_channel_subscriptions(bot: JobBot) -> None:
    await bot.command("subscribe area:cv", ctx("UBOSS", can_manage=True))
    refused = await bot.command("unsubscribe 1", ctx())
    assert not refused.ok and "only members who can manage" in refused.text
    missing = await bot.command("pause 99", ctx(can_manage=True))
    assert "This channel has no subscription #99" in missing.text


async def test_stop_me_removes_all_of_ones_own_and_nothing_else(bot: JobBot) -> None:
    await bot.command("subscribe area:cv", ctx("UBOSS", can_manage=True))
    await bot.command("subscribe area:speech to:me", ctx())
    await bot.command("subscribe area:nlp mode:daily to:me", ctx(channel="C2"))
    await bot.command("subscribe area:rl to:me", ctx("UBEN"))
    reply = await bot.command("stop me", ctx())
    assert reply.ok and "Removed your 2 personal subscription(s) (#2, #3)" in reply.text
    left = [s.target for s in bot.store.subscriptions()]
    assert left == [("slack", "T1", "C1"), ("slack", "T1", "@UBEN")]
    assert "no personal subscriptions" in (await bot.command("stop me", ctx())).text


async def test_help_mentions_to_me_and_stop_me(bot: JobBot) -> None:
    text = (await bot.command("help", ctx())).text
    assert "to:me" in text and "/jobs stop me" in text
    # In a DM with the bot there is no channel: the help says what /jobs does there.
    direct = CommandContext("slack", "T1", "D1", "UANNA", NOW, can_manage=False, direct=True)
    first = (await bot.command("help", direct)).text.splitlines()[0]
    assert "your own" in first and "this channel" not in first


async def test_a_member_without_channel_rights_is_told_about_to_me(bot: JobBot) -> None:
    reply = await bot.command("subscribe area:speech", ctx())
    assert not reply.ok and "add `to:me`" in reply.text
    assert bot.store.subscriptions() == []


async def test_export_and_import_carry_personal_subscriptions(bot: JobBot, tmp_path: Path) -> None:
    await bot.command("subscribe area:speech mode:daily at:08:00 tz:Europe/Berlin to:me", ctx())
    await bot.command("pause 1", ctx())
    text = export_subscriptions(bot.store)
    other = build(
        load_settings(
            env={"JOBBOT_DATA_DIR": str(tmp_path / "other")},
            cwd=tmp_path,
            overrides={"default_sources": False},
        ),
        clock=lambda: NOW,
    )
    try:
        assert import_subscriptions(other.store, text, NOW) == 1
        [sub] = other.store.subscriptions()
        assert sub.target == ("slack", "T1", "@UANNA") and owner_of(sub) == "UANNA"
        assert sub.paused and sub.schedule.at == "08:00"
    finally:
        await other.aclose()


async def test_why_explains_ones_own_personal_subscriptions_too(bot: JobBot) -> None:
    await bot.command("subscribe area:cv", ctx("UBOSS", can_manage=True))
    await bot.command("subscribe area:speech to:me", ctx())
    await bot.command("subscribe area:rl to:me", ctx("UBEN"))
    posting = Posting(
        source="gen",
        external_id="n1",
        url="https://jobs.test.example/n1",
        title="Research Intern, NLP",
        company="Lab",
        countries=("DE",),
        areas=("nlp",),
        degree="phd-only",
    )
    bot.store.ingest([posting], NOW, alert=True)
    text = (await bot.command("why https://jobs.test.example/n1", ctx())).text
    assert "Subscriptions in this channel:\n• #1 (area:cv): did not match" in text
    assert "Yours (DMs):\n• #2 (area:speech): did not match" in text
    assert "#3" not in text  # Ben's


async def test_digest_now_also_sends_ones_own_digests(bot: JobBot) -> None:
    await bot.command("subscribe area:cv mode:daily", ctx("UBOSS", can_manage=True))
    await bot.command("subscribe area:nlp mode:daily to:me", ctx())
    await bot.command("subscribe area:rl mode:daily to:me", ctx("UBEN"))
    assert (await bot.command("digest now", ctx(can_manage=True))).digest_now == (1, 2)
    # Without the right to manage the channel: one's own only, and the reply says why.
    mine = await bot.command("digest now", ctx())
    assert mine.digest_now == (2,) and "Only members who can manage" in mine.text
    refused = await bot.command("digest now", ctx("UNOBODY"))
    assert not refused.ok and refused.text.startswith("Only members who can manage")
    direct = CommandContext("slack", "T1", "D1", "UANNA", NOW, direct=True)
    assert (await bot.command("digest now", direct)).digest_now == (2,)


async def test_on_discord_ones_own_are_the_same_in_every_server(bot: JobBot) -> None:
    def in_guild(guild: str, user: str = "42") -> CommandContext:
        return CommandContext("discord", guild, "100", user, NOW, can_manage=False)

    await bot.command("subscribe area:nlp to:me", in_guild("G1"))
    [sub] = bot.store.subscriptions()
    assert sub.target == ("discord", "", "@42")
    assert f"#{sub.id}  area:nlp" in (await bot.command("list", in_guild("G2"))).text
    again = await bot.command("subscribe area:nlp to:me", in_guild("G2"))
    assert "already have that filter" in again.text
    refused = await bot.command(f"pause {sub.id}", in_guild("G2", "43"))
    assert "someone else's" in refused.text
    assert (await bot.command(f"pause {sub.id}", in_guild("G2"))).ok
    assert "Removed your 1" in (await bot.command("stop me", in_guild("G3"))).text


async def test_the_next_command_says_which_of_ones_own_jobbot_paused(bot: JobBot) -> None:
    await bot.command("subscribe area:speech to:me", ctx())
    await bot.command("subscribe area:nlp to:me", ctx())
    await bot.command("subscribe area:cv to:me", ctx())
    await bot.command("pause 2", ctx())  # paused by the user: no note for that one
    bot.store.set_paused(3, True, "paused before export", now=NOW)  # nor for an import's
    bot.store.pause_target("slack", "T1", "@UANNA", undeliverable_reason("50007"), now=NOW)
    reply = await bot.command("areas", ctx())
    assert reply.text.startswith("Research areas")
    assert "could not send you direct messages (50007)" in reply.text
    assert "paused your personal subscription(s) #1." in reply.text
    assert "`/jobs resume 1`" in reply.text
    # Somebody else hears nothing of it; nor does a listing, which shows the reason itself.
    assert "paused" not in (await bot.command("areas", ctx("UBEN"))).text
    assert (await bot.command("list", ctx())).text.count("50007") == 1
    # A reply the channel sees says nothing of one member's DMs.
    public = await bot.command("subscribe area:rl", ctx(can_manage=True))
    assert not public.ephemeral and "direct messages" not in public.text
    await bot.command("resume 1", ctx())
    assert "could not send" not in (await bot.command("areas", ctx())).text
