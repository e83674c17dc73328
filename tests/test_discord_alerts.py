"""Discord alerts beyond the first send: role pings, edits, reminders, notices, forum posts.

The real discord.py client of ``DiscordAdapter`` (built by ``bot.app.build``) against the
fake Discord REST API + gateway on 127.0.0.1; what a message would ping is computed by the
fake from its content and ``allowed_mentions`` (embeds never ping). Refs #10.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.chat.base import EditsAlerts, FindsSent, SendsNotices
from bot.chat.discord_render import CLOSED_COLOUR
from bot.chat.render import CLOSED_NOTE
from bot.errors import PermanentChatError, TransientChatError
from bot.postings.model import Posting
from bot.store import StoredPosting
from subscriptions.model import Filter, Schedule, Subscription
from tests.conftest import FeedServer
from tests.fakes.discord_api import (
    DEFAULT_FORUM_CHANNEL_ID,
    DEFAULT_GUILD_ID,
    DEFAULT_MOD_ROLE_ID,
    DEFAULT_TEXT_CHANNEL_ID,
)
from tests.store_readers import unsure
from tests.test_discord import HOSTILE, MANAGER, NLP, OLD, Running, discord_bot, feed

pytestmark = pytest.mark.integration

ROLE = str(DEFAULT_MOD_ROLE_ID)
TEXT = str(DEFAULT_TEXT_CHANNEL_ID)
FORUM = str(DEFAULT_FORUM_CHANNEL_ID)
HOSTILE_TITLE = "@everyone <@&999> [x](https://evil.example) Research Intern"
POSTED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
DEADLINE = datetime(2026, 11, 27, tzinfo=UTC)


@pytest.fixture
async def running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Running]:
    """jobbot's Discord adapter logged in to the fake and ready (no sources)."""
    async with discord_bot(tmp_path, monkeypatch) as bot:
        yield bot


def _sub(channel: str = TEXT, mention: str = "", remind_days: int = 0) -> Subscription:
    return Subscription(
        id=1,
        platform="discord",
        workspace=str(DEFAULT_GUILD_ID),
        channel=channel,
        filter=Filter(),
        schedule=Schedule(mention=mention, remind_days=remind_days),
    )


def _posting(n: int = 1, **changes: Any) -> StoredPosting:
    values: dict[str, Any] = {
        "source": "test",
        "external_id": f"p{n}",
        "url": f"https://jobs.test.example/{n}",
        "title": f"Research Intern {n}, Parsing",
        "company": "Lingua Labs",
        "countries": ("DE",),
        "areas": ("nlp",),
        "degree": "phd-only",
        "is_internship": True,
        "posted_at": POSTED,
    }
    values.update(changes)
    return StoredPosting(n, Posting(**values), POSTED)


def _closed(stored: StoredPosting) -> StoredPosting:
    return dataclasses.replace(stored, posting=dataclasses.replace(stored.posting, active=False))


# ------------------------------------------------------------------ mentions


async def test_the_adapter_offers_the_edit_and_notice_hooks(running: Running) -> None:
    assert isinstance(running.adapter, EditsAlerts)
    assert isinstance(running.adapter, SendsNotices)


async def test_a_role_subscription_pings_exactly_its_role(running: Running) -> None:
    await running.adapter.send_alert(_sub(mention=f"role:{ROLE}"), _posting(), 1)
    [message] = running.fake.messages_in(TEXT)
    assert running.fake.pings(message) == {f"role:{ROLE}"}
    assert message["content"] == f"<@&{ROLE}>"
    allowed = message["allowed_mentions"]  # discord.py sends the id as a number
    assert (allowed["parse"], [str(r) for r in allowed["roles"]]) == ([], [ROLE])
    assert message["mention_roles"] == [ROLE] and message["mention_everyone"] is False


async def test_a_hostile_title_still_pings_only_the_role(running: Running) -> None:
    hostile = _posting(title=HOSTILE_TITLE, company="<@&999> @here")
    await running.adapter.send_alert(_sub(mention=f"role:{ROLE}"), hostile, 1)
    [message] = running.fake.messages_in(TEXT)
    assert running.fake.pings(message) == {f"role:{ROLE}"}
    assert "999" not in message["content"] and "everyone" not in message["content"]
    assert running.fake.link_hosts(message) == {"jobs.test.example"}


async def test_here_pings_here_and_no_mention_pings_nobody(running: Running) -> None:
    hostile = _posting(title=HOSTILE_TITLE)
    await running.adapter.send_alert(_sub(mention="here"), hostile, 1)
    await running.adapter.send_alert(_sub(), hostile, 2)
    # A Slack user group means nothing on Discord: it pings nobody.
    await running.adapter.send_alert(_sub(mention="group:S0123"), hostile, 3)
    here, plain, group = running.fake.messages_in(TEXT)
    assert running.fake.pings(here) == {"here"} and here["content"] == "@here"
    assert running.fake.pings(plain) == set() and plain["allowed_mentions"] == {"parse": []}
    assert running.fake.pings(group) == set() and group["content"] == ""


async def test_a_digest_pings_the_role_once(running: Running) -> None:
    postings = [_posting(i, title=f"Intern {i} @everyone " + "x" * 150) for i in range(60)]
    refs = await running.adapter.send_digest(
        _sub(mention=f"role:{ROLE}"), postings, "Daily digest for #1", "d-1"
    )
    first, *rest = running.fake.messages_in(TEXT)
    assert len(refs) == 1 + len(rest) and rest
    assert first["content"].startswith(f"<@&{ROLE}> Daily digest for #1 — 60 posting")
    assert running.fake.pings(first) == {f"role:{ROLE}"}
    assert all(running.fake.pings(m) == set() for m in rest)


# ------------------------------------------------------------------ edits


async def test_a_closed_posting_edits_the_alert_once_keeping_its_fields(running: Running) -> None:
    sub = _sub(mention=f"role:{ROLE}")
    stored = _posting(deadline=DEADLINE)
    ref = await running.adapter.send_alert(sub, stored, 1)
    assert ref is not None
    [message] = running.fake.messages_in(TEXT)
    before = message["embeds"][0]
    await running.adapter.edit_alert(sub, _closed(stored), ref)

    [edit] = running.fake.edits
    assert ref == f"{edit['channel_id']}/{edit['message_id']}" == f"{TEXT}/{message['id']}"
    assert edit["body"]["allowed_mentions"] == {"parse": []}
    [after] = message["embeds"]  # the fake's stored message, now edited
    assert after["title"] == "[Closed] " + before["title"]
    assert after["description"] == CLOSED_NOTE
    assert after["color"] == CLOSED_COLOUR != before["color"]
    assert after["fields"] == before["fields"]
    assert after["url"] == before["url"]
    assert message["components"][0]["components"][0]["label"] == "Apply"
    assert message["content"] == f"<@&{ROLE}>"  # kept, and the edit pings nobody
    assert running.fake.pings(message) == set()
    assert message["edited_timestamp"] is not None
    assert len(running.fake.messages_in(TEXT)) == 1


async def test_deadline_is_shown_and_a_changed_one_edited_in(running: Running) -> None:
    stored = _posting(deadline=DEADLINE)
    ref = await running.adapter.send_alert(_sub(), stored, 1)
    assert ref is not None
    [message] = running.fake.messages_in(TEXT)
    fields = {f["name"]: f["value"] for f in message["embeds"][0]["fields"]}
    assert fields["Apply by"] == "27 Nov 2026"
    later = dataclasses.replace(stored.posting, deadline=datetime(2026, 12, 4, tzinfo=UTC))
    await running.adapter.edit_alert(_sub(), dataclasses.replace(stored, posting=later), ref)
    fields = {f["name"]: f["value"] for f in message["embeds"][0]["fields"]}
    assert fields["Apply by"] == "04 Dec 2026"
    assert not message["embeds"][0]["title"].startswith("[Closed]")


async def test_editing_a_deleted_message_is_permanent(running: Running) -> None:
    ref = await running.adapter.send_alert(_sub(), _posting(), 1)
    assert ref is not None and running.adapter.client is not None
    channel_id, message_id = ref.split("/")
    await running.adapter.client.http.delete_message(int(channel_id), int(message_id))
    with pytest.raises(PermanentChatError) as raised:
        await running.adapter.edit_alert(_sub(), _closed(_posting()), ref)
    assert raised.value.code == "10008"
    assert running.fake.edits == []


@pytest.mark.parametrize(("status", "code"), [(403, 50013), (404, 10003)])
async def test_editing_in_a_lost_channel_is_permanent(
    running: Running, status: int, code: int
) -> None:
    ref = await running.adapter.send_alert(_sub(), _posting(), 1)
    assert ref is not None
    running.fake.fail_channel(DEFAULT_TEXT_CHANNEL_ID, status=status, code=code, times=1)
    with pytest.raises(PermanentChatError) as raised:
        await running.adapter.edit_alert(_sub(), _closed(_posting()), ref)
    assert raised.value.code == str(code)


async def test_a_429_discord_py_does_not_wait_out_is_transient(running: Running) -> None:
    ref = await running.adapter.send_alert(_sub(), _posting(), 1)
    assert ref is not None
    # Without the headers discord.py trusts, a 429 reaches the adapter as an error.
    running.fake.fail_channel(DEFAULT_TEXT_CHANNEL_ID, status=429, code=0, times=1)
    with pytest.raises(TransientChatError) as raised:
        await running.adapter.edit_alert(_sub(), _closed(_posting()), ref)
    assert raised.value.code == "rate_limited"
    await running.adapter.edit_alert(_sub(), _closed(_posting()), ref)  # later, it goes
    assert len(running.fake.edits) == 1


async def test_a_bad_message_ref_is_permanent(running: Running) -> None:
    with pytest.raises(PermanentChatError):
        await running.adapter.edit_alert(_sub(), _posting(), "not-a-ref")


# ------------------------------------------------------------------ reminders and notices


async def test_a_reminder_is_the_alert_headed_by_the_deadline(running: Running) -> None:
    sub = _sub(mention=f"role:{ROLE}", remind_days=3)
    stored = _posting(title=HOSTILE_TITLE, deadline=DEADLINE)
    ref = await running.adapter.send_reminder(sub, stored, "reminder:1:1:2026-11-24")
    again = await running.adapter.send_reminder(sub, stored, "reminder:1:1:2026-11-24")
    assert ref == again and running.fake.deduplicated_count == 1
    [message] = running.fake.messages_in(TEXT)
    assert message["content"] == f"<@&{ROLE}> Deadline in 3 days: apply by 27 Nov 2026"
    assert running.fake.pings(message) == {f"role:{ROLE}"}
    assert len(message["nonce"]) <= 25 and message["enforce_nonce"] is True
    [embed] = message["embeds"]
    assert "evil\u2024example" in embed["title"]
    assert {f["name"]: f["value"] for f in embed["fields"]}["Apply by"] == "27 Nov 2026"


async def test_a_notice_pings_nobody(running: Running) -> None:
    text = "Source @everyone <@&999> has failed for 3 days.\nAlerts from it are late."
    await running.adapter.send_notice(_sub(mention="here"), text, "notice:test:down")
    [message] = running.fake.messages_in(TEXT)
    assert message["allowed_mentions"] == {"parse": []}
    assert running.fake.pings(message) == set()
    assert message["content"].startswith("Source @")
    assert "\nAlerts from it are late." in message["content"]
    assert message["embeds"] == []


# ------------------------------------------------------------------ forum channels


async def test_a_forum_gets_one_post_per_alert_with_area_tags(running: Running) -> None:
    fake = running.fake
    sub = _sub(channel=FORUM, mention=f"role:{ROLE}")
    nlp = _posting(1, title="Research Intern, Parsing " + "y" * 200)
    robots = _posting(2, title="Robot Learning Intern", areas=("robotics", "cv", "ml"))
    first = await running.adapter.send_alert(sub, nlp, 1)
    second = await running.adapter.send_alert(sub, robots, 2)
    again = await running.adapter.send_alert(sub, robots, 2)  # a retry opens no new post
    assert again == second

    forum = fake.channel(FORUM)  # the fake's forum (tags nlp, vision, robotics)
    tag_ids = {t["name"]: t["id"] for t in forum["available_tags"]}
    one, two = fake.threads
    assert one["parent_id"] == two["parent_id"] == FORUM
    assert one["name"] == ("Research Intern, Parsing " + "y" * 200)[:99] + "…"
    assert len(one["name"]) == 100
    assert two["name"] == "Robot Learning Intern"
    assert one["applied_tags"] == [tag_ids["nlp"]]
    assert two["applied_tags"] == [tag_ids["robotics"]]
    assert first == f"{one['id']}/{one['message']['id']}"
    assert fake.pings(one["message"]) == {f"role:{ROLE}"}
    assert fake.messages_in(FORUM) == []

    # The alert in a post is edited like any other.
    assert second is not None
    await running.adapter.edit_alert(sub, _closed(robots), second)
    [edit] = fake.edits
    assert edit["channel_id"] == two["id"]
    assert fake.messages_in(two["id"])[0]["embeds"][0]["title"].startswith("[Closed] ")


async def test_an_archived_forum_post_is_unarchived_to_be_edited(running: Running) -> None:
    fake = running.fake
    sub = _sub(channel=FORUM)
    ref = await running.adapter.send_alert(sub, _posting(), 1)
    assert ref is not None
    [thread] = fake.threads
    fake.archive_thread(thread["id"])
    await running.adapter.edit_alert(sub, _closed(_posting()), ref)
    [unarchive] = fake.channel_edits
    assert unarchive == {"channel_id": thread["id"], "body": {"archived": False}}
    [edit] = fake.edits
    assert fake.messages_in(thread["id"])[0]["embeds"][0]["title"].startswith("[Closed] ")
    assert edit["message_id"] == ref.split("/")[1]

    # A locked post stays as it is: unarchiving it needs Manage Threads.
    fake.archive_thread(thread["id"], locked=True)
    with pytest.raises(PermanentChatError) as raised:
        await running.adapter.edit_alert(sub, _posting(), ref)
    assert raised.value.code == "50013"
    assert len(fake.edits) == 1


async def test_a_digest_in_a_forum_is_one_post(running: Running) -> None:
    fake = running.fake
    postings = [_posting(i, title=f"Intern {i} " + "x" * 150) for i in range(60)]
    refs = await running.adapter.send_digest(
        _sub(channel=FORUM), postings, "Daily digest for #1", "d-1"
    )
    [thread] = fake.threads
    assert thread["name"] == "Daily digest for #1"
    assert thread["applied_tags"] == [t["id"] for t in fake.channel(FORUM)["available_tags"]][:1]
    parts = fake.messages_in(thread["id"])
    assert len(parts) == len(refs) > 1
    assert {r.split("/")[0] for r in refs} == {thread["id"]}
    # A retry (say, the last part failed) reuses the post and posts nothing twice.
    await running.adapter.send_digest(_sub(channel=FORUM), postings, "Daily digest for #1", "d-1")
    assert len(fake.threads) == 1 and len(fake.messages_in(thread["id"])) == len(parts)


async def test_reminders_and_notices_in_a_forum_are_posts(running: Running) -> None:
    fake = running.fake
    sub = _sub(channel=FORUM, remind_days=1)
    await running.adapter.send_reminder(sub, _posting(deadline=DEADLINE), "r-1")
    await running.adapter.send_notice(sub, "Source test is back.", "n-1")
    reminder, notice = fake.threads
    assert reminder["name"] == "Reminder: Research Intern 1, Parsing"
    assert reminder["message"]["content"] == "Deadline in 1 day: apply by 27 Nov 2026"
    assert notice["name"] == "jobbot: Source test is back."
    assert fake.pings(notice["message"]) == set()


async def test_after_a_crash_a_forum_post_that_went_out_is_found(running: Running) -> None:
    """A forum post takes no nonce: find_sent looks for it among the forum's active posts."""
    fake = running.fake
    adapter = running.adapter
    sub = _sub(channel=FORUM)
    assert isinstance(adapter, FindsSent)
    ref = await adapter.send_alert(sub, _posting(1), 7)
    adapter._posts.clear()  # a restart forgets the posts this process opened
    assert await adapter.find_sent(sub, unsure(sub, _posting(1), 7)) == {7: ref}
    assert await adapter.find_sent(sub, unsure(sub, _posting(2), 8)) == {}  # never sent
    # Same name, another posting (another link): not it.
    other = _posting(1, url="https://jobs.test.example/elsewhere")
    assert await adapter.find_sent(sub, unsure(sub, other, 9)) == {}
    # In a channel the nonce makes a re-send safe: nothing to look up.
    assert await adapter.find_sent(_sub(), unsure(_sub(), _posting(1), 7)) == {}
    [thread] = fake.threads
    fake.archive_thread(thread["id"])
    # Only active posts are searched: a crash is recovered within minutes, and a post
    # archives itself only after a day without activity.
    assert await adapter.find_sent(sub, unsure(sub, _posting(1), 7)) == {}
    assert len(fake.threads) == 1


def _tag(tag_id: int, name: str, *, moderated: bool = False) -> dict[str, Any]:
    return {
        "id": str(tag_id),
        "name": name,
        "moderated": moderated,
        "emoji_id": None,
        "emoji_name": None,
    }


async def test_a_forum_requiring_a_tag_gets_a_parent_area_or_default_tag_and_pauses_nothing(
    running: Running,
) -> None:
    """#17: no tag for the posting's own area is no reason to pause the forum's subscriptions."""
    fake, store = running.fake, running.bot.store
    forum = 1_310_000_000_000_000_950
    tags = [
        # The bot lacks Manage Threads: a moderated tag is never applied.
        _tag(forum + 1, "Speech", moderated=True),
        _tag(forum + 2, "Machine learning"),  # the label of ml, parent of speech
        _tag(forum + 3, "Other"),
    ]
    fake.add_channel(forum, type=15, available_tags=tags, flags=1 << 4)
    now = running.bot.clock()
    sub = store.add_subscription(
        platform="discord",
        workspace=str(DEFAULT_GUILD_ID),
        channel=str(forum),
        filter=Filter(),
        schedule=Schedule(),
        created_by="u",
        now=now,
    )
    speech, search = (_posting(1, areas=("speech",)), _posting(2, areas=("ir",)))
    new = store.ingest([speech.posting, search.posting], now, alert=True).new
    store.enqueue([(sub, p.id) for p in new], now)
    await running.bot.worker.run_once()
    assert store.delivery_statuses() == {"sent": 2}
    assert not any(s.paused for s in store.subscriptions())
    applied = {t["name"]: t["applied_tags"] for t in fake.threads}
    assert applied == {
        "Research Intern 1, Parsing": [str(forum + 2)],  # the parent area's tag
        "Research Intern 2, Parsing": [str(forum + 3)],  # ir has no parent: the default tag
    }


async def test_a_forum_requiring_a_tag_it_cannot_apply_is_a_channel_problem(
    running: Running,
) -> None:
    fake = running.fake
    forum = 1_310_000_000_000_000_960
    only = _tag(forum + 1, "NLP", moderated=True)  # needs Manage Threads, which the bot lacks
    fake.add_channel(forum, type=15, available_tags=[only], flags=1 << 4)
    with pytest.raises(PermanentChatError) as raised:
        await running.adapter.send_alert(_sub(channel=str(forum)), _posting(areas=("nlp",)), 1)
    assert raised.value.code == "40067"
    [refused] = fake.violations
    fake.violations.clear()  # the fake records the refused post; it is what this test wants
    assert refused["code"] == 40067 and fake.threads == []


async def test_a_forum_only_known_by_rest_is_fetched_once(running: Running) -> None:
    """A forum missing from the gateway cache is looked up once over REST, then remembered."""
    fake = running.fake
    fake.add_channel(1_310_000_000_000_000_900, type=15, name="late-board", available_tags=[])
    sub = _sub(channel="1310000000000000900")
    await running.adapter.send_alert(sub, _posting(1), 1)
    await running.adapter.send_alert(sub, _posting(2), 2)
    lookups = [
        r for r in fake.requests if r.get("path", "").endswith("/channels/1310000000000000900")
    ]
    assert len(lookups) == 1
    assert [t["name"] for t in fake.threads] == [
        "Research Intern 1, Parsing",
        "Research Intern 2, Parsing",
    ]


# ------------------------------------------------------------------ the subscribe command


async def test_subscribe_takes_a_role_here_and_remind(running: Running) -> None:
    callback = await running.slash(
        "subscribe", {"areas": "nlp", "mention": ROLE, "remind": "3d"}, perms=MANAGER
    )
    assert f"mention:role:{ROLE}" in callback["data"]["content"]
    assert "remind:3d" in callback["data"]["content"]
    assert running.fake.pings(callback) == set()
    [sub] = running.bot.store.subscriptions()
    assert (sub.schedule.mention, sub.schedule.remind_days) == (f"role:{ROLE}", 3)
    assert "not mentionable" not in callback["data"]["content"]
    here = await running.slash("subscribe", {"areas": "cv", "here": True})
    assert "mention:here" in here["data"]["content"]


async def test_subscribing_a_role_discord_will_not_notify_says_so(running: Running) -> None:
    # The bot's own role is not mentionable, and the fake's bot lacks Mention Everyone.
    bot_role = "1310000000000000401"
    callback = await running.slash("subscribe", {"areas": "nlp", "mention": bot_role})
    content = callback["data"]["content"]
    assert content.startswith("Subscribed #1") and f"mention:role:{bot_role}" in content
    assert "the role jobbot is not mentionable" in content
    assert running.fake.pings(callback) == set()


async def test_subscribe_refuses_everyone_and_two_mentions(running: Running) -> None:
    everyone = await running.slash("subscribe", {"areas": "nlp", "mention": str(DEFAULT_GUILD_ID)})
    assert everyone["data"]["flags"] & 64
    assert "would ping everyone" in everyone["data"]["content"]
    both = await running.slash("subscribe", {"areas": "nlp", "mention": ROLE, "here": True})
    assert both["data"]["flags"] & 64 and "not both" in both["data"]["content"]
    assert running.bot.store.subscriptions() == []
    jobs = running.fake.commands(DEFAULT_GUILD_ID)[0]
    [subscribe] = [o for o in jobs["options"] if o["name"] == "subscribe"]
    types = {o["name"]: o["type"] for o in subscribe["options"]}
    assert (types["mention"], types["here"], types["remind"]) == (8, 5, 3)


async def test_jobs_in_a_forum_post_is_about_the_forum(running: Running) -> None:
    """A forum has no message box: `/jobs` typed in one of its posts subscribes the forum."""
    fake = running.fake
    await running.adapter.send_notice(_sub(channel=FORUM), "jobbot is here.", "hello")
    [post] = fake.threads
    payload = fake.slash_interaction(
        "jobs", "subscribe", {"areas": "nlp"}, channel_id=post["id"], member_permissions=MANAGER
    )
    await fake.dispatch("INTERACTION_CREATE", payload)
    callback = await fake.wait_for_callback(payload["id"])
    assert callback["data"]["content"].startswith("Subscribed #1")
    [sub] = running.bot.store.subscriptions()
    assert sub.channel == FORUM
    await running.adapter.send_alert(sub, _posting(), 1)
    assert [t["name"] for t in fake.threads][1:] == ["Research Intern 1, Parsing"]
    listing = fake.slash_interaction("jobs", "list", channel_id=post["id"])
    await fake.dispatch("INTERACTION_CREATE", listing)
    answer = await fake.wait_for_callback(listing["id"])
    assert "#1" in answer["data"]["content"]


# ------------------------------------------------------------------ through the whole bot


async def _subscribe_with_a_feed(
    running: Running, feed_server: FeedServer, options: dict[str, Any], channel: str
) -> None:
    feed_server.serve("/jobs.rss", feed(OLD))
    running.bot.store.upsert_source(
        "test", "rss", feed_server.url("/jobs.rss"), 600, now=running.bot.clock()
    )
    payload = running.fake.slash_interaction(
        "jobs", "subscribe", options, channel_id=channel, member_permissions=MANAGER
    )
    await running.fake.dispatch("INTERACTION_CREATE", payload)
    callback = await running.fake.wait_for_callback(payload["id"])
    assert callback["data"]["content"].startswith("Subscribed #1"), callback
    await running.bot.poll_all()  # the first poll records the backlog, alerts nobody
    await running.bot.worker.run_once()


async def test_a_hostile_posting_reaches_the_role_and_pings_nothing_else(
    running: Running, feed_server: FeedServer
) -> None:
    await _subscribe_with_a_feed(running, feed_server, {"areas": "nlp", "mention": ROLE}, TEXT)
    feed_server.serve("/jobs.rss", feed(OLD, HOSTILE, NLP))
    await running.bot.poll_all()
    await running.bot.worker.run_once()
    messages = running.fake.messages_in(TEXT)
    assert len(messages) == 2
    for message in messages:
        assert running.fake.pings(message) == {f"role:{ROLE}"}
        assert running.fake.link_hosts(message) == {"jobs.test.example"}


async def test_the_whole_bot_posts_alerts_into_a_forum(
    running: Running, feed_server: FeedServer
) -> None:
    fake = running.fake
    await running.adapter.send_notice(_sub(channel=FORUM), "jobbot is here.", "hello")
    [hello] = fake.threads
    await _subscribe_with_a_feed(running, feed_server, {"areas": "nlp"}, hello["id"])
    feed_server.serve("/jobs.rss", feed(OLD, NLP))
    await running.bot.poll_all()
    await running.bot.worker.run_once()
    [_, post] = fake.threads
    assert post["parent_id"] == FORUM
    assert post["name"] == "Research Intern – Parsing (PhD), Berlin"
    nlp_tag = next(t["id"] for t in fake.channel(FORUM)["available_tags"] if t["name"] == "nlp")
    assert post["applied_tags"] == [nlp_tag]
    assert running.bot.store.delivery_statuses() == {"sent": 1}


def _listing(active: bool, *, extra: bool = False) -> bytes:
    """A SimplifyJobs list with one NLP internship (open or closed), perhaps and one more."""
    items = [
        {
            "id": "simplify-nlp-1",
            "title": "NLP Research Intern",
            "company_name": "Lingua Labs",
            "locations": ["Berlin, Germany"],
            "url": "https://jobs.test.example/simplify-nlp-1",
            "date_posted": 1763629200,
            "terms": ["Summer 2026"],
            "active": active,
            "is_visible": True,
        }
    ]
    if extra:
        items.append({**items[0], "id": "other", "title": "Robotics Intern", "url": ""})
    return json.dumps(items).encode()


async def test_the_whole_bot_edits_the_alert_of_a_closed_posting_exactly_once(
    running: Running, feed_server: FeedServer
) -> None:
    fake, bot = running.fake, running.bot
    feed_server.serve("/listings.json", b"[]", content_type="application/json")
    bot.store.upsert_source(
        "simplify", "simplify", feed_server.url("/listings.json"), 600, now=bot.clock()
    )
    payload = fake.slash_interaction(
        "jobs",
        "subscribe",
        {"areas": "nlp", "mention": ROLE},
        channel_id=TEXT,
        member_permissions=MANAGER,
    )
    await fake.dispatch("INTERACTION_CREATE", payload)
    assert (await fake.wait_for_callback(payload["id"]))["data"]["content"].startswith(
        "Subscribed #1"
    )

    async def poll(body: bytes) -> None:
        feed_server.serve("/listings.json", body, content_type="application/json")
        await bot.poll_all()
        await bot.worker.run_once()
        await bot.follow_up()

    await poll(b"[]")  # the first poll: nothing to record
    await poll(_listing(active=True))
    [alert] = fake.messages_in(TEXT)
    assert fake.edits == []
    await poll(_listing(active=False))  # the list marks it closed
    await poll(_listing(active=False))  # unchanged (304)
    await poll(_listing(active=False, extra=True))  # changed, still closed
    [edit] = fake.edits
    assert edit["message_id"] == alert["id"]
    [edited] = fake.messages_in(TEXT)
    embed = edited["embeds"][0]
    assert embed["title"].startswith("[Closed] ") and embed["color"] == CLOSED_COLOUR
    assert {f["name"] for f in embed["fields"]} >= {"Company", "Countries", "Areas"}
    assert fake.pings(edit["body"]) == set()

    why = fake.slash_interaction(
        "jobs", "why", {"posting": "https://jobs.test.example/simplify-nlp-1"}, channel_id=TEXT
    )
    await fake.dispatch("INTERACTION_CREATE", why)
    answer = (await fake.wait_for_callback(why["id"]))["data"]["content"]
    assert "Closed: its source no longer lists it as open." in answer
    link = f"https://discord.com/channels/{DEFAULT_GUILD_ID}/{TEXT}/{alert['id']}"
    assert "#1 (area:nlp): sent as an alert at" in answer and link in answer
