"""Personal alerts on Discord (#19): `/jobs subscribe … to_me` alerts go to the user's DM.

The real discord.py client against FakeDiscord, as in ``tests/test_discord.py``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.app import JobBot
from subscriptions.model import Filter, Schedule, Subscription
from tests.conftest import FeedServer
from tests.fakes.discord_api import (
    DEFAULT_GUILD_ID,
    DEFAULT_MEMBER_PERMISSIONS,
    DEFAULT_TEXT_CHANNEL_ID,
    DEFAULT_USER_ID,
    PRIVATE_CHANNEL_CONTEXT,
    FakeDiscord,
)
from tests.test_discord import CHANNEL, NLP, OLD, Running, discord_bot, feed
from tests.test_discord import running as running  # the fixture
from tests.test_discord_alerts import DEADLINE, _closed, _posting

pytestmark = pytest.mark.integration

MEMBER = DEFAULT_MEMBER_PERMISSIONS  # no Manage Channels
OTHER_USER = 555_000_000_000_000_001
FILTERS = {"areas": "nlp", "countries": "DE", "degree": "phd-only", "to_me": True}


async def subscribe_me(running: Running, user: int = DEFAULT_USER_ID) -> dict[str, object]:
    payload = running.fake.slash_interaction(
        "jobs", "subscribe", FILTERS, member_permissions=MEMBER, user_id=user
    )
    await running.fake.dispatch("INTERACTION_CREATE", payload)
    return await running.fake.wait_for_callback(payload["id"])


async def test_to_me_in_a_guild_sends_one_embed_alert_by_dm(
    running: Running, feed_server: FeedServer
) -> None:
    fake = running.fake
    [jobs] = fake.commands(DEFAULT_GUILD_ID)
    subscribe = next(o for o in jobs["options"] if o["name"] == "subscribe")
    assert "to_me" in {o["name"] for o in subscribe["options"]}
    assert "stop" in {o["name"] for o in jobs["options"]}

    callback = await subscribe_me(running)
    data = callback["data"]
    assert isinstance(data, dict) and data["flags"] & 64  # only the user sees it
    assert "for you alone" in data["content"]
    [sub] = running.bot.store.subscriptions()
    # A Discord user is one person in every server: their own have no server (#19).
    assert sub.target == ("discord", "", f"@{DEFAULT_USER_ID}")

    await running.poll_and_deliver()  # the first poll records the backlog
    feed_server.serve("/jobs.rss", feed(OLD, NLP))
    await running.poll_and_deliver()

    dm = fake.dm_channel(DEFAULT_USER_ID)
    assert dm is not None
    [message] = fake.messages_in(dm)
    [embed] = message["embeds"]
    assert embed["url"] == "https://jobs.test.example/nlp"
    assert message["allowed_mentions"] == {"parse": []} and fake.pings(message) == set()
    assert fake.messages_in(DEFAULT_TEXT_CHANNEL_ID) == []
    assert running.bot.store.delivery_statuses().get("sent") == 1


async def test_closed_dms_pause_only_that_users_personal_subscriptions(
    running: Running, feed_server: FeedServer
) -> None:
    fake = running.fake
    await running.slash("subscribe", {"areas": "nlp"})  # the channel's, by a manager
    await subscribe_me(running)
    await subscribe_me(running, OTHER_USER)
    fake.refuse_dms(DEFAULT_USER_ID)

    await running.poll_and_deliver()
    feed_server.serve("/jobs.rss", feed(OLD, NLP))
    await running.poll_and_deliver()

    subs = {s.channel: s for s in running.bot.store.subscriptions()}
    mine = subs[f"@{DEFAULT_USER_ID}"]
    assert mine.paused and mine.paused_reason is not None
    assert mine.paused_reason.startswith("50007") and "direct messages" in mine.paused_reason
    assert not subs[CHANNEL].paused and not subs[f"@{OTHER_USER}"].paused
    assert len(fake.messages_in(DEFAULT_TEXT_CHANNEL_ID)) == 1
    other_dm = fake.dm_channel(OTHER_USER)
    assert other_dm is not None and len(fake.messages_in(other_dm)) == 1
    # The user sees why next time they list their subscriptions.
    listing = await running.slash("list", perms=MEMBER)
    assert "paused: 50007" in listing["data"]["content"]


async def test_stop_removes_only_ones_own(running: Running) -> None:
    await running.slash("subscribe", {"areas": "nlp"})
    await subscribe_me(running)
    await subscribe_me(running, OTHER_USER)
    callback = await running.slash("stop", perms=MEMBER)
    assert "Removed your 1 personal subscription(s)" in callback["data"]["content"]
    left = [s.channel for s in running.bot.store.subscriptions()]
    assert left == [CHANNEL, f"@{OTHER_USER}"]


@pytest.fixture
async def everywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, feed_server: FeedServer
) -> AsyncIterator[Running]:
    """The bot with its commands synced globally, as in production: only global commands
    can be installed to a user's account and typed in DMs."""

    def with_source(bot: JobBot, _: FakeDiscord) -> None:
        feed_server.serve("/jobs.rss", feed(OLD))
        bot.store.upsert_source("test", "rss", feed_server.url("/jobs.rss"), 600, now=bot.clock())

    async with discord_bot(tmp_path, monkeypatch, with_source, global_commands=True) as bot:
        yield bot


async def private_command(
    running: Running,
    subcommand: str,
    options: dict[str, object] | None = None,
    **where: object,
) -> dict[str, object]:
    """`/jobs <subcommand>` typed outside a server; the interaction's callback."""
    payload = running.fake.private_slash_interaction("jobs", subcommand, options, **where)  # type: ignore[arg-type]
    await running.fake.dispatch("INTERACTION_CREATE", payload)
    return await running.fake.wait_for_callback(payload["id"])


async def test_the_synced_command_declares_user_install_and_the_dm_contexts(
    everywhere: Running,
) -> None:
    [sync] = everywhere.fake.command_syncs
    assert sync["guild_id"] is None
    [jobs] = sync["payload"]
    assert sorted(jobs["integration_types"]) == [0, 1]  # server install and user install
    assert sorted(jobs["contexts"]) == [0, 1, 2]  # servers, the bot's DM, private chats
    assert jobs.get("default_member_permissions") is None


@pytest.mark.parametrize("user_install", [True, False], ids=["user-install", "server-install"])
async def test_subscribe_typed_in_the_bots_dm_sends_one_embed_alert_by_dm(
    everywhere: Running, feed_server: FeedServer, user_install: bool
) -> None:
    callback = await private_command(
        everywhere,
        "subscribe",
        {"areas": "nlp", "countries": "DE"},
        user_id=OTHER_USER,
        user_install=user_install,
    )
    data = callback["data"]
    assert isinstance(data, dict) and data["flags"] & 64
    assert "for you alone" in data["content"]
    [sub] = everywhere.bot.store.subscriptions()
    assert sub.target == ("discord", "", f"@{OTHER_USER}")

    await everywhere.poll_and_deliver()
    feed_server.serve("/jobs.rss", feed(OLD, NLP))
    await everywhere.poll_and_deliver()

    dm = everywhere.fake.dm_channel(OTHER_USER)
    assert dm is not None
    [message] = everywhere.fake.messages_in(dm)
    [embed] = message["embeds"]
    assert embed["url"] == "https://jobs.test.example/nlp"
    assert message["allowed_mentions"] == {"parse": []}
    assert everywhere.fake.messages_in(DEFAULT_TEXT_CHANNEL_ID) == []


async def test_commands_in_a_private_chat_are_about_ones_own(everywhere: Running) -> None:
    """In a group DM the bot is not in, it can only answer: everything is personal."""
    where = {"user_id": OTHER_USER, "context": PRIVATE_CHANNEL_CONTEXT}
    made = await private_command(everywhere, "subscribe", {"areas": "speech"}, **where)
    assert "for you alone" in made["data"]["content"]  # type: ignore[index]
    listing = await private_command(everywhere, "list", **where)
    content = listing["data"]["content"]  # type: ignore[index]
    assert "area:speech" in content and "#1" in content
    [sub] = everywhere.bot.store.subscriptions()
    # Another user's DM cannot touch it.
    refused = await private_command(
        everywhere,
        "unsubscribe",
        {"subscription": str(sub.id)},
        user_id=DEFAULT_USER_ID,
        context=PRIVATE_CHANNEL_CONTEXT,
    )
    assert "#1 is someone else's" in refused["data"]["content"]  # type: ignore[index]
    assert everywhere.bot.store.subscriptions() == [sub]
    stopped = await private_command(everywhere, "stop", **where)
    assert "Removed your 1 personal subscription(s)" in stopped["data"]["content"]  # type: ignore[index]
    assert everywhere.bot.store.subscriptions() == []


async def test_a_member_may_subscribe_to_me_where_jobbot_cannot_post(running: Running) -> None:
    """A personal subscription goes by DM, so the channel's permissions do not matter."""
    running.fake.set_bot_permissions(DEFAULT_TEXT_CHANNEL_ID, 1 << 10)  # view only
    callback = await subscribe_me(running)
    assert "for you alone" in callback["data"]["content"]  # type: ignore[index]
    refused = await running.slash("subscribe", {"areas": "nlp"})
    assert "cannot post in this channel" in refused["data"]["content"]
    assert [s.channel for s in running.bot.store.subscriptions()] == [f"@{DEFAULT_USER_ID}"]


async def test_edits_reminders_and_notices_of_ones_own_go_to_the_dm(running: Running) -> None:
    """A personal target is a channel to every follow-up: the edit lands on the DM alert,
    the reminder and the notice in the same DM, nothing in a server channel."""
    fake, adapter = running.fake, running.adapter
    sub = Subscription(
        id=1,
        platform="discord",
        workspace="",
        channel=f"@{OTHER_USER}",
        filter=Filter(),
        schedule=Schedule(remind_days=3),
    )
    stored = _posting(deadline=DEADLINE)
    ref = await adapter.send_alert(sub, stored, 1)
    dm = fake.dm_channel(OTHER_USER)
    assert dm is not None and ref is not None and ref.startswith(f"{dm}/")
    await adapter.edit_alert(sub, _closed(stored), ref)
    [edit] = fake.edits
    assert f"{edit['channel_id']}/{edit['message_id']}" == ref
    await adapter.send_reminder(sub, stored, "reminder:1:1:2026-11-24")
    await adapter.send_notice(sub, "Source test has failed for 3 days.", "notice:test:down")
    alert, reminder, notice = fake.messages_in(dm)
    assert alert["embeds"][0]["title"].startswith("[Closed] ")
    assert reminder["content"] == "Deadline in 3 days: apply by 27 Nov 2026"
    assert notice["content"].startswith("Source test has failed")
    assert all(fake.pings(m) == set() for m in (alert, reminder, notice))
    assert fake.messages_in(DEFAULT_TEXT_CHANNEL_ID) == []


async def test_a_daily_digest_typed_in_a_dm_comes_at_the_users_time(
    everywhere: Running, feed_server: FeedServer
) -> None:
    options = {"areas": "nlp", "mode": "daily", "time": "09:00", "timezone": "Asia/Tokyo"}
    made = await private_command(everywhere, "subscribe", options, user_id=OTHER_USER)
    assert "daily digest" in made["data"]["content"]  # type: ignore[index]
    bot = everywhere.bot
    await everywhere.poll_and_deliver()
    feed_server.serve("/jobs.rss", feed(OLD, NLP))
    await everywhere.poll_and_deliver()
    dm = everywhere.fake.dm_channel(OTHER_USER)
    assert dm is not None and everywhere.fake.messages_in(dm) == []  # a digest, not alerts
    [sub] = bot.store.subscriptions()
    # Due at the next 09:00 in Tokyo (00:00 UTC), whenever the test runs.
    tokyo = ZoneInfo("Asia/Tokyo")
    now = datetime.now(tokyo)
    nine = datetime.combine(now.date(), time(9, 0), tokyo)
    nine += timedelta(days=1) if nine <= now + timedelta(minutes=1) else timedelta()
    for minutes, due in ((-1, 0), (1, 1)):
        moment = (nine + timedelta(minutes=minutes)).astimezone(UTC)
        bot.digests.clock = lambda moment=moment: moment  # type: ignore[misc]
        assert await bot.digests.run_due() == due
    [digest] = everywhere.fake.messages_in(dm)
    assert digest["content"].startswith("Daily digest")
    assert "jobs.test.example/nlp" in json.dumps(digest["embeds"])
    assert sub.target == ("discord", "", f"@{OTHER_USER}")


async def test_in_a_server_where_only_the_user_installed_jobbot_all_is_personal(
    everywhere: Running,
) -> None:
    """The bot is not a member there and cannot post: `/jobs subscribe` is about the
    user's own alerts, as in a DM, and needs neither `to_me` nor channel permissions."""
    elsewhere = {"guild_id": 777_000_000_000_000_001, "channel_id": 777_000_000_000_000_002}
    payload = everywhere.fake.slash_interaction(
        "jobs",
        "subscribe",
        {"areas": "nlp"},
        user_id=OTHER_USER,
        member_permissions=MEMBER,
        user_install_only=True,
        **elsewhere,
    )
    await everywhere.fake.dispatch("INTERACTION_CREATE", payload)
    callback = await everywhere.fake.wait_for_callback(payload["id"])
    assert "for you alone" in callback["data"]["content"]
    [sub] = everywhere.bot.store.subscriptions()
    assert sub.target == ("discord", "", f"@{OTHER_USER}")


async def test_a_server_command_cannot_be_user_installed(running: Running) -> None:
    with pytest.raises(LookupError, match="declares user install"):
        running.fake.slash_interaction("jobs", "list", user_install_only=True)
