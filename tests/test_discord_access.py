"""`/jobs subscribe` on Discord first checks that the bot can post in the channel (#17).

The real discord.py client against the fake Discord, which sends the bot's permissions
in the channel with each interaction (``app_permissions``), as Discord does.
"""

from __future__ import annotations

import pytest

from tests import test_discord
from tests.fakes.discord_api import (
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_FORUM_CHANNEL_ID,
    DEFAULT_TEXT_CHANNEL_ID,
    EMBED_LINKS,
    FLAG_EPHEMERAL,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    VIEW_CHANNEL,
)
from tests.test_discord import MANAGER, Running

pytestmark = pytest.mark.integration

# The bot logged in to the fake Discord: tests/test_discord.py's fixture.
running = test_discord.running


async def _subscribe(running: Running, channel: int | str) -> dict:
    payload = running.fake.slash_interaction(
        "jobs", "subscribe", {"areas": "nlp"}, channel_id=channel, member_permissions=MANAGER
    )
    await running.fake.dispatch("INTERACTION_CREATE", payload)
    return await running.fake.wait_for_callback(payload["id"])


async def test_missing_permissions_are_listed_and_nothing_is_saved(running: Running) -> None:
    running.fake.set_bot_permissions(
        DEFAULT_TEXT_CHANNEL_ID, DEFAULT_BOT_PERMISSIONS & ~(SEND_MESSAGES | EMBED_LINKS)
    )
    callback = await _subscribe(running, DEFAULT_TEXT_CHANNEL_ID)
    assert callback["data"]["flags"] & FLAG_EPHEMERAL  # to the user alone
    content = callback["data"]["content"]
    assert content.startswith("jobbot cannot post in this channel: it lacks Send Messages, Embed")
    assert "Nothing was saved." in content
    assert running.bot.store.subscriptions() == []
    # Granted: the same command subscribes.
    running.fake.set_bot_permissions(DEFAULT_TEXT_CHANNEL_ID, DEFAULT_BOT_PERMISSIONS)
    callback = await _subscribe(running, DEFAULT_TEXT_CHANNEL_ID)
    assert callback["data"]["content"].startswith("Subscribed #1")


async def test_a_forum_also_needs_send_messages_in_threads(running: Running) -> None:
    post = running.fake.add_forum_post()
    running.fake.set_bot_permissions(
        DEFAULT_FORUM_CHANNEL_ID, DEFAULT_BOT_PERMISSIONS & ~SEND_MESSAGES_IN_THREADS
    )
    callback = await _subscribe(running, post["id"])
    content = callback["data"]["content"]
    assert content.startswith("jobbot cannot post in this forum: it lacks Send Messages in")
    assert running.bot.store.subscriptions() == []
    running.fake.set_bot_permissions(DEFAULT_FORUM_CHANNEL_ID, DEFAULT_BOT_PERMISSIONS)
    callback = await _subscribe(running, post["id"])
    assert callback["data"]["content"].startswith("Subscribed #1")
    [sub] = running.bot.store.subscriptions()
    assert sub.channel == str(DEFAULT_FORUM_CHANNEL_ID)  # the forum, not the post


async def test_a_channel_the_bot_cannot_see_needs_view_channel(running: Running) -> None:
    running.fake.set_bot_permissions(
        DEFAULT_TEXT_CHANNEL_ID, DEFAULT_BOT_PERMISSIONS & ~VIEW_CHANNEL
    )
    callback = await _subscribe(running, DEFAULT_TEXT_CHANNEL_ID)
    assert "it lacks View Channel." in callback["data"]["content"]
    assert running.bot.store.subscriptions() == []


async def test_permissions_nobody_sent_do_not_block_subscribing(running: Running) -> None:
    running.fake.set_bot_permissions(DEFAULT_TEXT_CHANNEL_ID, 0)
    callback = await _subscribe(running, DEFAULT_TEXT_CHANNEL_ID)
    assert callback["data"]["content"].startswith("Subscribed #1")
