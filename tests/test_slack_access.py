"""`/jobs subscribe` on Slack first checks that the bot can post in the channel (#17).

Through the real bolt app and FakeSlack, whose ``conversations.info`` says whether the
channel is private and whether the bot is a member.
"""

from __future__ import annotations

import json
import logging

import pytest

from bot.chat.slack_access import PRIVATE, UNSEEN
from tests import test_slack
from tests.fakes.slack_api import TEAM_ID, view_submission_body
from tests.test_slack import Harness

pytestmark = pytest.mark.integration

# The bot with its Slack app against FakeSlack: tests/test_slack.py's fixtures.
harness = test_slack.harness
slack = test_slack.slack

SECRET = "C0SECRET"


def _form(channel: str) -> str:
    values = {
        "areas": {"areas": {"type": "multi_static_select", "selected_options": [{"value": "nlp"}]}}
    }
    metadata = json.dumps({"team": TEAM_ID, "channel": channel})
    return view_submission_body(values, private_metadata=metadata)


async def test_a_private_channel_without_the_bot_says_invite_and_saves_nothing(
    harness: Harness,
) -> None:
    harness.slack.add_channel(SECRET, "secret", is_private=True, bot_is_member=False)
    reply = await harness.jobs("subscribe area:nlp", channel=SECRET)
    assert reply.get("response_type") != "in_channel"  # to the user alone
    assert reply["text"] == PRIVATE
    assert "`/invite @jobbot`" in reply["text"] and "Nothing was saved" in reply["text"]
    assert harness.bot.store.subscriptions() == []
    [call] = harness.slack.calls_to("conversations.info")
    assert call.args["channel"] == SECRET
    # Invited: the same command subscribes.
    harness.slack.add_channel(SECRET, "secret", is_private=True, bot_is_member=True)
    reply = await harness.jobs("subscribe area:nlp", channel=SECRET)
    assert reply["text"].startswith("Subscribed #1")


async def test_the_subscribe_form_refuses_next_to_its_field(harness: Harness) -> None:
    harness.slack.add_channel(SECRET, "secret", is_private=True, bot_is_member=False)
    status, answer = await harness.post(_form(SECRET))
    assert status == 200 and answer["response_action"] == "errors"
    [error] = answer["errors"].values()
    assert "`/invite @jobbot`" in error
    assert harness.bot.store.subscriptions() == []


async def test_a_public_channel_needs_no_invitation(harness: Harness) -> None:
    # chat:write.public posts in public channels the bot has not joined.
    harness.slack.add_channel("C0OPEN", "open", bot_is_member=False)
    reply = await harness.jobs("subscribe area:nlp", channel="C0OPEN")
    assert reply["text"].startswith("Subscribed #1")


async def test_a_conversation_the_bot_cannot_see_is_refused(harness: Harness) -> None:
    harness.slack.fail_next("conversations.info", error="channel_not_found")
    reply = await harness.jobs("subscribe area:nlp", channel="G0GROUPCHAT")
    assert reply["text"] == UNSEEN and "`to:me`" in reply["text"]
    assert harness.bot.store.subscriptions() == []


async def test_a_dm_between_people_makes_a_personal_subscription_unchecked(
    harness: Harness,
) -> None:
    """Typed in any DM, `/jobs subscribe` is about the user's own alerts (#19): they go
    to the user's DM with the app, so the DM it was typed in needs no check."""
    reply = await harness.jobs("subscribe area:nlp", channel="D0SOMEONE")
    assert "for you alone" in reply["text"]
    [sub] = harness.bot.store.subscriptions()
    assert sub.target == ("slack", TEAM_ID, f"@{test_slack.USER_ID}")
    assert harness.slack.calls_to("conversations.info") == []


@pytest.mark.parametrize("trouble", ["missing_scope", "dropped", "internal_error"])
async def test_a_check_that_cannot_be_made_does_not_block_subscribing(
    harness: Harness, trouble: str, caplog: pytest.LogCaptureFixture
) -> None:
    # An install from before the check (no channels:read), Slack unreachable, a 5xx: the
    # delivery path finds a channel it cannot post in at the first alert anyway.
    if trouble == "dropped":
        # slack_sdk tries a dropped connection again once: drop both.
        harness.slack.drop_answers("conversations.info", times=2)
    elif trouble == "internal_error":
        harness.slack.fail_next("conversations.info", status=500)
    else:
        harness.slack.fail_next("conversations.info", error=trouble)
    with caplog.at_level(logging.WARNING, "jobbot.slack"):
        reply = await harness.jobs("subscribe area:nlp")
    assert reply["text"].startswith("Subscribed #1")
    assert "cannot check that jobbot may post" in caplog.text


async def test_only_subscribing_asks(harness: Harness) -> None:
    await harness.jobs("list")
    await harness.jobs("help")
    assert harness.slack.calls_to("conversations.info") == []
