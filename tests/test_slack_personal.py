"""Personal alerts on Slack (#19): `to:me` subscriptions go to the user's DM with the app.

The real bolt app in HTTP mode against FakeSlack, as in ``tests/test_slack.py``.
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from bot.app import build
from bot.chat.slack import SlackAdapter
from subscriptions.model import Filter, Schedule, Subscription
from tests.conftest import FeedServer
from tests.fakes.slack_api import (
    TEAM_ID,
    USER_ID,
    FakeSlack,
    block_actions_body,
    check_blocks,
    check_view,
    event_body,
    slash_command_body,
    view_submission_body,
)
from tests.test_discord_alerts import DEADLINE, _closed, _posting
from tests.test_slack import CHANNEL, MT, Harness, Item, eventually, http_settings
from tests.test_slack import slack as slack  # the fixture

pytestmark = pytest.mark.integration

OTHER_USER = "U0OTHER"
SPEECH = Item(
    "asr-1",
    "Applied Science Intern – Automated Speech Recognition (PhD), Aachen",
    "Voice Lab",
    "Aachen, Germany",
    "Speech recognition research. Enrolled in a PhD program.",
)
SUBSCRIBE = "subscribe area:speech country:DE degree:phd-only to:me"


class Clock:
    """The bot's clock, moved by the test (digests are due by it)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 23, 6, 0, tzinfo=UTC))  # 07:00 in Berlin


@pytest.fixture
async def harness(
    tmp_path: Path, slack: FakeSlack, feed_server: FeedServer, clock: Clock
) -> AsyncIterator[Harness]:
    slack.add_user(OTHER_USER, name="other")
    bot = build(http_settings(tmp_path, slack), console=io.StringIO(), clock=clock)
    [service] = bot.services
    await service.start()
    async with aiohttp.ClientSession() as http:
        yield Harness(bot, service, slack, feed_server, http)
    await service.close()
    await bot.aclose()


async def jobs_as(harness: Harness, text: str, user: str) -> dict[str, object]:
    status, reply = await harness.post(
        slash_command_body(text, channel_id=CHANNEL, user_id=user, user_name=user.lower())
    )
    assert status == 200, reply
    return reply if isinstance(reply, dict) else {"text": reply}


async def test_to_me_sends_one_dm_and_nothing_in_the_channel(harness: Harness) -> None:
    reply = await harness.jobs(SUBSCRIBE)
    assert reply.get("response_type", "ephemeral") == "ephemeral"  # nobody else sees it
    assert "for you alone" in reply["text"], reply
    [sub] = harness.bot.store.subscriptions()
    assert sub.target == ("slack", TEAM_ID, f"@{USER_ID}")

    await harness.feed_items()  # the first poll records the backlog
    await harness.feed_items(SPEECH, MT)
    await harness.bot.worker.run_once()

    im = harness.slack.ims[USER_ID]
    assert im.startswith("D")
    opened = harness.slack.calls_to("conversations.open")
    posts = harness.slack.calls_to("chat.postMessage")
    assert len(opened) == 1 and opened[0].args["users"] == USER_ID
    assert [p.args["channel"] for p in posts] == [im]
    assert harness.slack.calls.index(opened[0]) < harness.slack.calls.index(posts[0])
    [message] = harness.slack.messages_in(im)
    assert message["blocks"][0]["text"]["text"] == SPEECH.title
    assert check_blocks(message["blocks"]) == []
    assert harness.slack.messages_in(CHANNEL) == []
    assert not harness.slack.mentions_in(message).notifies_anyone
    assert harness.slack.violations == []

    # A second alert reuses the DM channel: conversations.open is asked once.
    await harness.feed_items(
        SPEECH,
        MT,
        Item(
            "asr-2",
            "Speech Intern (PhD), Berlin",
            "Voice Lab",
            "Berlin, Germany",
            "ASR. PhD students only.",
        ),
    )
    await harness.bot.worker.run_once()
    assert len(harness.slack.calls_to("conversations.open")) == 1
    assert len(harness.slack.messages_in(im)) == 2


async def test_another_user_cannot_remove_it_and_stop_me_removes_only_ones_own(
    harness: Harness,
) -> None:
    await harness.jobs("subscribe area:cv")  # the channel's
    await harness.jobs(SUBSCRIBE)
    await harness.jobs("subscribe area:nlp mode:daily to:me")
    await jobs_as(harness, SUBSCRIBE, OTHER_USER)
    mine = [s.id for s in harness.bot.store.subscriptions() if s.channel == f"@{USER_ID}"]
    assert len(mine) == 2

    refused = await jobs_as(harness, f"unsubscribe {mine[0]}", OTHER_USER)
    assert "someone else's personal subscription" in str(refused["text"])
    assert harness.bot.store.subscription(mine[0]) is not None

    listed = await jobs_as(harness, "list", OTHER_USER)
    assert "Your personal subscriptions" in str(listed["text"])
    assert f"#{mine[0]} " not in str(listed["text"])

    stopped = await harness.jobs("stop me")
    assert "Removed your 2 personal subscription(s)" in stopped["text"]
    left = [s.channel for s in harness.bot.store.subscriptions()]
    assert left == [CHANNEL, f"@{OTHER_USER}"]


async def test_a_daily_personal_digest_goes_to_the_dm_at_the_users_time(
    harness: Harness, clock: Clock
) -> None:
    await harness.jobs("subscribe area:speech mode:daily at:09:00 tz:Europe/Berlin to:me")
    await harness.feed_items()
    await harness.feed_items(SPEECH)
    assert await harness.bot.digests.run_due() == 0  # 07:00 in Berlin: not yet
    clock.now += timedelta(hours=1, minutes=59)  # 08:59
    assert await harness.bot.digests.run_due() == 0
    clock.now += timedelta(minutes=2)  # 09:01 in Berlin
    assert await harness.bot.digests.run_due() == 1
    im = harness.slack.ims[USER_ID]
    [message] = harness.slack.messages_in(im)
    assert message["blocks"][0]["text"]["text"] == "Daily digest: 1 new posting(s)"
    assert harness.slack.messages_in(CHANNEL) == []
    assert harness.slack.violations == []


async def test_a_user_who_left_pauses_only_their_personal_subscriptions(
    harness: Harness,
) -> None:
    await harness.jobs("subscribe area:speech")  # the channel's
    await harness.jobs(SUBSCRIBE)
    await jobs_as(harness, SUBSCRIBE, OTHER_USER)
    harness.slack.add_user(USER_ID, name="tester", deleted=True)
    await harness.feed_items()
    await harness.feed_items(SPEECH)
    await harness.bot.worker.run_once()
    by_channel = {s.channel: s for s in harness.bot.store.subscriptions()}
    mine = by_channel[f"@{USER_ID}"]
    assert mine.paused and mine.paused_reason is not None
    assert "cannot send this user direct messages" in mine.paused_reason
    assert not by_channel[CHANNEL].paused and not by_channel[f"@{OTHER_USER}"].paused
    assert len(harness.slack.messages_in(CHANNEL)) == 1
    assert len(harness.slack.messages_in(harness.slack.ims[OTHER_USER])) == 1


def _home_sections(harness: Harness, user: str) -> list[str]:
    view = harness.slack.home_views[user]
    assert check_view(view) == []
    return [b["text"]["text"] for b in view["blocks"] if b["type"] == "section"]


async def test_the_home_tab_lists_ones_own_and_its_buttons_change_only_ones_own(
    harness: Harness,
) -> None:
    await harness.jobs("subscribe area:cv")  # the channel's: #1
    await harness.jobs(SUBSCRIBE)  # mine: #2
    await jobs_as(harness, "subscribe area:rl to:me", OTHER_USER)  # theirs: #3
    opened = {"type": "app_home_opened", "user": USER_ID, "channel": "D0HOME", "tab": "home"}
    # The Messages tab also reports itself opened: it publishes nothing.
    status, _ = await harness.post(event_body({**opened, "tab": "messages"}))
    assert status == 200
    status, _ = await harness.post(event_body(opened))
    assert status == 200
    await eventually(lambda: USER_ID in harness.slack.home_views)
    [section] = _home_sections(harness, USER_ID)
    assert section.startswith("*#2* `area:speech country:DE degree:phd-only`")
    assert len(harness.slack.calls_to("views.publish")) == 1

    view = harness.slack.home_views[USER_ID]
    [new, actions] = [b for b in view["blocks"] if b["type"] == "actions"]
    assert [e["action_id"] for e in new["elements"]] == ["home_subscribe"]
    assert [e["action_id"] for e in actions["elements"]] == ["home_pause", "home_remove"]
    await harness.post(block_actions_body("home_pause", value="2", view=view, user_id=USER_ID))
    await eventually(lambda: "_Paused" in _home_sections(harness, USER_ID)[0])
    assert harness.bot.store.subscription(2).paused  # type: ignore[union-attr]

    # A click forged by another user (or on a channel's subscription) changes nothing.
    before = len(harness.slack.calls_to("views.publish"))
    for sub_id in ("2", "1"):
        await harness.post(
            block_actions_body("home_remove", value=sub_id, view=view, user_id=OTHER_USER)
        )
    await eventually(lambda: len(harness.slack.calls_to("views.publish")) == before + 2)
    assert [s.id for s in harness.bot.store.subscriptions()] == [1, 2, 3]
    assert "area:rl" in _home_sections(harness, OTHER_USER)[0]  # theirs, not mine

    await harness.post(block_actions_body("home_remove", value="2", view=view, user_id=USER_ID))
    await eventually(lambda: harness.bot.store.subscription(2) is None)
    await eventually(lambda: "no personal subscriptions" in _home_sections(harness, USER_ID)[0])
    assert harness.slack.violations == []


async def test_commands_typed_in_the_apps_dm_manage_personal_subscriptions(
    harness: Harness,
) -> None:
    await harness.jobs("subscribe area:cv")  # the channel's
    reply = await harness.jobs("subscribe area:speech country:DE", channel="D0APPDM")
    assert "for you alone" in reply["text"], reply
    [_, sub] = harness.bot.store.subscriptions()
    assert sub.target == ("slack", TEAM_ID, f"@{USER_ID}")
    listed = await harness.jobs("list", channel="D0APPDM")
    assert listed["text"] == (
        f"Your personal subscriptions:\n#{sub.id}  area:speech country:DE  mode:instant"
    )
    await harness.feed_items()
    await harness.feed_items(SPEECH)
    assert len(harness.slack.messages_in(harness.slack.ims[USER_ID])) == 1
    assert "Removed your 1" in (await harness.jobs("stop me", channel="D0APPDM"))["text"]


def _form_values(areas: str, tz: str = "Europe/Berlin") -> dict[str, object]:
    return {
        "areas": {"areas": {"type": "multi_static_select", "selected_options": [{"value": areas}]}},
        "mode": {"mode": {"type": "static_select", "selected_option": {"value": "daily"}}},
        "at": {"at": {"type": "timepicker", "selected_time": "08:00"}},
        "tz": {"tz": {"type": "plain_text_input", "value": tz}},
    }


async def test_the_home_tabs_new_alert_button_opens_the_form_for_ones_own(
    harness: Harness,
) -> None:
    opened = {"type": "app_home_opened", "user": OTHER_USER, "channel": "D0HOME", "tab": "home"}
    await harness.post(event_body(opened))
    await eventually(lambda: OTHER_USER in harness.slack.home_views)
    home = harness.slack.home_views[OTHER_USER]
    # A click whose trigger expired (the form opens too late) says so in the user's DM.
    harness.slack.expire_trigger("1.2.late")
    await harness.post(
        block_actions_body(
            "home_subscribe", value="new", view=home, user_id=OTHER_USER, trigger_id="1.2.late"
        )
    )
    # The DM is opened, then the message posted: wait for the message itself.
    await eventually(
        lambda: bool(
            OTHER_USER in harness.slack.ims
            and harness.slack.messages_in(harness.slack.ims[OTHER_USER])
        )
    )
    [told] = harness.slack.messages_in(harness.slack.ims[OTHER_USER])
    assert told["text"].startswith("I could not open the subscribe form")
    await harness.post(
        block_actions_body("home_subscribe", value="new", view=home, user_id=OTHER_USER)
    )
    await eventually(lambda: len(harness.slack.calls_to("views.open")) == 2)
    call = harness.slack.calls_to("views.open")[-1]
    form = (
        json.loads(call.args["view"]) if isinstance(call.args["view"], str) else call.args["view"]
    )
    assert check_view(form) == []
    assert form["callback_id"] == "jobs_subscribe_me"
    assert "direct messages" in json.dumps(form["blocks"][0])

    metadata = form["private_metadata"]
    status, answer = await harness.post(
        view_submission_body(
            _form_values("speech", tz="Mars/Olympus"),
            callback_id="jobs_subscribe_me",
            private_metadata=metadata,
            user_id=OTHER_USER,
        )
    )
    assert status == 200 and answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"tz"} and harness.bot.store.subscriptions() == []

    status, answer = await harness.post(
        view_submission_body(
            _form_values("speech"),
            callback_id="jobs_subscribe_me",
            private_metadata=metadata,
            user_id=OTHER_USER,
        )
    )
    assert status == 200 and answer["response_action"] == "update"
    assert check_view(answer["view"]) == []
    assert "for you alone" in json.dumps(answer["view"])
    [sub] = harness.bot.store.subscriptions()
    assert sub.target == ("slack", TEAM_ID, f"@{OTHER_USER}")
    assert (sub.schedule.mode, sub.schedule.at, sub.schedule.tz) == (
        "daily",
        "08:00",
        "Europe/Berlin",
    )
    await eventually(lambda: "area:speech" in _home_sections(harness, OTHER_USER)[0])
    assert harness.slack.violations == []


async def test_to_me_needs_no_posting_rights_where_it_is_typed(harness: Harness) -> None:
    """A private channel the bot is not in: a channel subscription is refused, a personal
    one is not (its alerts go by DM)."""
    harness.slack.add_channel("C0SECRET", "secret", is_private=True, bot_is_member=False)
    refused = await harness.jobs("subscribe area:speech", channel="C0SECRET")
    assert "`/invite @jobbot`" in refused["text"]
    reply = await harness.jobs(SUBSCRIBE, channel="C0SECRET")
    assert "for you alone" in reply["text"], reply
    [sub] = harness.bot.store.subscriptions()
    assert sub.target == ("slack", TEAM_ID, f"@{USER_ID}")


async def test_edits_reminders_and_notices_of_ones_own_go_to_the_dm(harness: Harness) -> None:
    """A personal target is a channel to every follow-up: each lands in the user's DM."""
    adapter = harness.bot.adapters["slack"]
    assert isinstance(adapter, SlackAdapter)
    sub = Subscription(
        id=1,
        platform="slack",
        workspace=TEAM_ID,
        channel=f"@{USER_ID}",
        filter=Filter(),
        schedule=Schedule(remind_days=3),
    )
    stored = _posting(deadline=DEADLINE)
    ref = await adapter.send_alert(sub, stored, 1)
    im = harness.slack.ims[USER_ID]
    assert ref is not None and ref.startswith(f"{im}:")
    await adapter.edit_alert(sub, _closed(stored), ref)
    await adapter.send_reminder(sub, stored, "reminder:1:1:2026-11-24")
    await adapter.send_notice(sub, "Source test has failed for 3 days.", "notice:test:down")
    alert, reminder, notice = harness.slack.messages_in(im)
    assert "Closed" in json.dumps(alert["blocks"])
    assert "Deadline in 3 days" in json.dumps(reminder["blocks"])
    assert notice["text"].startswith("Source test has failed")
    assert len(harness.slack.calls_to("conversations.open")) == 1  # the DM is opened once
    assert harness.slack.messages_in(CHANNEL) == []
    assert harness.slack.violations == []
