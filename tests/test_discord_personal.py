"""Personal alerts on Discord (#19): `/jobs subscribe … to_me` alerts go to the user's DM.

The real discord.py client against FakeDiscord, as in ``tests/test_discord.py``.
"""

from __future__ import annotations

import pytest

from tests.conftest import FeedServer
from tests.fakes.discord_api import (
    DEFAULT_GUILD_ID,
    DEFAULT_MEMBER_PERMISSIONS,
    DEFAULT_TEXT_CHANNEL_ID,
    DEFAULT_USER_ID,
)
from tests.test_discord import CHANNEL, NLP, OLD, Running, feed
from tests.test_discord import running as running  # the fixture

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
