"""jobbot as a Slack app: the real bolt AsyncApp in HTTP mode against FakeSlack, both on 127.0.0.1.

Slash commands arrive as signed HTTP requests; postings come from the loopback feed server;
what the bot sends Slack is checked by the fake (against the Web API spec when ../shared is
present, else without argument-name checks: see ``spec_or_skip_note``).
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import urllib.parse
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from xml.sax.saxutils import escape as xml_escape

import aiohttp
import pytest
from aiohttp import web
from slack_sdk.http_retry import builtin_async_handlers

from bot.app import JobBot, build
from bot.chat.answer import FAILED
from bot.chat.slack_app import SlackService
from bot.config import Settings, load_settings
from bot.errors import ConfigError
from bot.postings.model import Posting
from tests.conftest import FeedServer
from tests.fakes.slack_api import (
    BOT_TOKEN,
    CLIENT_ID,
    CLIENT_SECRET,
    TEAM_ID,
    USER_ID,
    FakeSlack,
    check_blocks,
    sign_request,
    slash_command_body,
    view_submission_body,
)
from tests.fakes.specs import load_slack_spec
from tests.store_holder import held
from tests.store_readers import sent_pairs, unsure

pytestmark = pytest.mark.integration

SIGNING_SECRET = "test-signing-secret"
CHANNEL = "C0JOBS"
SPEC = load_slack_spec()  # None where ../shared is absent: the fake then skips arg-name checks


@dataclass
class Item:
    """One RSS item of the test feed."""

    guid: str
    title: str
    company: str
    location: str
    text: str
    link: str = ""


def rss(*items: Item) -> bytes:
    """A small RSS 2.0 feed (titles are XML-escaped, as a feed must)."""
    parts = []
    for item in items:
        link = item.link or f"https://jobs.test.example/{item.guid}"
        parts.append(
            f"<item><title>{xml_escape(item.title)}</title><link>{xml_escape(link)}</link>"
            f'<guid isPermaLink="false">{item.guid}</guid>'
            f"<dc:creator>{xml_escape(item.company)}</dc:creator>"
            "<pubDate>Fri, 20 Nov 2026 09:00:00 +0000</pubDate>"
            f"<description>{xml_escape(f'<p>Location: {item.location}</p><p>{item.text}</p>')}"
            "</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        "<title>t</title><link>https://jobs.test.example/</link><description>d</description>"
        + "".join(parts)
        + "</channel></rss>"
    ).encode()


MT = Item(
    "mt-1",
    "Research Intern – Machine Translation (PhD or Master's), Berlin",
    "Lingua Labs",
    "Berlin, Germany",
    "Natural language processing research. Enrolled in a PhD or Master's program.",
)


@dataclass
class Harness:
    """The bot with its Slack app serving HTTP on 127.0.0.1, the fake and the feed."""

    bot: JobBot
    service: SlackService
    slack: FakeSlack
    feed: FeedServer
    http: aiohttp.ClientSession

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.service.port}/slack/events"

    async def post(self, body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None):
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            **sign_request(secret, body, timestamp=timestamp),
        }
        async with self.http.post(self.events_url, data=body, headers=headers) as response:
            text = await response.text()
            return response.status, (json.loads(text) if text.startswith("{") else text)

    async def jobs(self, text: str, channel: str = CHANNEL, user: str = USER_ID) -> dict[str, Any]:
        """Run a slash command; its reply, whether in the ack or later at its response_url."""
        name, url = self.slack.fresh_response_url()
        body = slash_command_body(text, channel_id=channel, user_id=user, response_url=url)
        status, reply = await self.post(body)
        assert status == 200, reply
        return await self.slack.command_reply(name, reply)

    async def feed_items(self, *items: Item, backfill: int = 0) -> None:
        """Serve these items and poll once, then deliver what matched."""
        self.feed.serve("/jobs.rss", rss(*items))
        if self.bot.store.source("test") is None:
            self.bot.store.upsert_source(
                "test",
                "rss",
                self.feed.url("/jobs.rss"),
                600,
                backfill=backfill,
                now=self.bot.clock(),
            )
        await self.bot.poll_all()
        await self.bot.worker.run_once()


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(spec=SPEC, per_channel_interval=1.0) as fake:
        yield fake


def http_settings(tmp_path: Path, slack: FakeSlack) -> Settings:
    """Settings for the Slack app in HTTP mode on 127.0.0.1 against ``slack``."""
    return load_settings(
        env={
            "JOBBOT_DATA_DIR": str(tmp_path / "data"),
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
            "JOBBOT_HOST": "127.0.0.1",
            "JOBBOT_PORT": "0",
        },
        cwd=tmp_path,
        overrides={"allow_private_sources": True, "default_sources": False},
    )


@pytest.fixture
async def harness(
    tmp_path: Path, slack: FakeSlack, feed_server: FeedServer
) -> AsyncIterator[Harness]:
    bot = build(http_settings(tmp_path, slack), console=io.StringIO())
    [service] = bot.services
    await service.start()
    async with aiohttp.ClientSession() as http:
        yield Harness(bot, service, slack, feed_server, http)
    await service.close()
    await bot.aclose()


async def eventually(condition: Callable[[], bool], seconds: float = 3.0) -> None:
    """Wait until work started after an ack is visible (or fail after ``seconds``)."""
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the condition never held")


@pytest.fixture
def fixed_retry_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    """AsyncRateLimitErrorRetryHandler sleeps Retry-After + random(); pin the random part."""
    monkeypatch.setattr(builtin_async_handlers, "random", SimpleNamespace(random=lambda: 0.1))


def test_build_lists_slack_as_a_target(tmp_path: Path) -> None:
    settings = load_settings(
        env={
            "JOBBOT_DATA_DIR": str(tmp_path),
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_APP_TOKEN": "xapp-test",
        },
        cwd=tmp_path,
        overrides={"default_sources": False},
    )
    bot = build(settings, console=io.StringIO())
    try:
        assert "slack" in bot.adapters
        assert bot.services[0].config.socket_mode and not bot.services[0].serves_http
        assert "Alerts go to: the terminal (console), slack" in bot.describe()
    finally:
        bot.store.close()
    plain = load_settings(
        env={"JOBBOT_DATA_DIR": str(tmp_path)}, cwd=tmp_path, overrides={"default_sources": False}
    )
    bot = build(plain, console=io.StringIO())
    assert "slack" not in bot.adapters and bot.services == []
    bot.store.close()


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"SLACK_BOT_TOKEN": BOT_TOKEN}, "SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET"),
        ({"SLACK_APP_TOKEN": "xapp-test"}, "SLACK_BOT_TOKEN, or SLACK_CLIENT_ID"),
        ({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": "x", "JOBBOT_PORT": "http"}, "port"),
    ],
)
def test_half_a_slack_setup_stops_start_up_with_the_key(
    tmp_path: Path, env: dict[str, str], problem: str
) -> None:
    settings = load_settings(env={"JOBBOT_DATA_DIR": str(tmp_path), **env}, cwd=tmp_path)
    with pytest.raises(ConfigError, match=re.escape(problem)):
        build(settings, console=io.StringIO())


async def test_subscribe_then_a_matching_posting_is_one_block_kit_message(
    harness: Harness,
) -> None:
    reply = await harness.jobs("subscribe area:nlp country:DE")
    assert reply["response_type"] == "in_channel"
    assert reply["text"].startswith("Subscribed #1: area:nlp country:DE")
    [sub] = harness.bot.store.subscriptions()
    assert (sub.platform, sub.workspace, sub.channel) == ("slack", TEAM_ID, CHANNEL)

    await harness.feed_items()  # first poll of a new source: backlog only, no alert
    other = Item("cv-1", "Computer Vision Intern", "Pixel", "Paris, France", "Vision research.")
    await harness.feed_items(MT, other)
    await harness.bot.worker.run_once()  # nothing left to send

    posts = harness.slack.calls_to("chat.postMessage")
    assert len(posts) == 1
    [message] = harness.slack.messages_in(CHANNEL)
    assert check_blocks(message["blocks"]) == []
    assert message["blocks"][0]["text"]["text"] == MT.title
    apply = message["blocks"][-1]["elements"][0]
    assert apply["url"] == "https://jobs.test.example/mt-1"
    assert message["metadata"]["event_type"] == "jobbot_alert"
    assert message["unfurl_links"] is False and message["unfurl_media"] is False
    assert "Lingua Labs" in message["text"]
    assert harness.slack.violations == []
    assert len(sent_pairs(harness.bot.store)) == 1


async def test_errors_help_and_lists_are_ephemeral(harness: Harness) -> None:
    wrong = await harness.jobs("subscribe area:nlpp")
    assert wrong.get("response_type", "ephemeral") == "ephemeral"
    assert "nlp" in wrong["text"] and "Usage:" in wrong["text"]
    assert harness.bot.store.subscriptions() == []
    for text in ("help", "", "list", "areas"):
        reply = await harness.jobs(text)
        assert reply.get("response_type", "ephemeral") == "ephemeral"
    assert "no subscriptions" in (await harness.jobs("list"))["text"]
    # Another channel's subscriptions are not this channel's.
    await harness.jobs("subscribe country:DE", channel="C0OTHER")
    assert "no subscriptions" in (await harness.jobs("list"))["text"]
    assert "unsubscribe" in (await harness.jobs("unsubscribe 1"))["text"]
    assert len(harness.bot.store.subscriptions()) == 1


async def test_an_id_over_2_63_is_a_usage_reply_not_a_500(harness: Harness) -> None:
    # #18: the store cannot bind such an integer; the grammar refuses it first.
    for target in (str(2**63), "9" * 40, "9" * 5000):
        reply = await harness.jobs(f"unsubscribe {target}")
        assert "is not a subscription ID" in reply["text"]
        assert reply.get("response_type", "ephemeral") == "ephemeral"


async def test_bad_or_stale_signature_is_401_and_changes_nothing(harness: Harness) -> None:
    body = slash_command_body("subscribe area:nlp", channel_id=CHANNEL)
    status, _ = await harness.post(body, secret="not-the-secret")
    assert status == 401
    status, _ = await harness.post(body, timestamp=1_000_000_000)
    assert status == 401
    tampered = body.replace("area%3Anlp", "area%3Acv")
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        **sign_request(SIGNING_SECRET, body),
    }
    async with harness.http.post(harness.events_url, data=tampered, headers=headers) as resp:
        assert resp.status == 401
    assert harness.bot.store.subscriptions() == []


@pytest.mark.usefixtures("fixed_retry_jitter")
async def test_a_429_is_waited_out_and_nothing_is_sent_twice(harness: Harness) -> None:
    await harness.jobs("subscribe area:nlp")
    await harness.feed_items()
    harness.slack.fail_next("chat.postMessage", status=429, retry_after=1)
    await harness.feed_items(MT)
    await harness.bot.worker.run_once()
    assert [c.status for c in harness.slack.calls_to("chat.postMessage")] == [429, 200]
    assert len(harness.slack.messages_in(CHANNEL)) == 1
    assert len(sent_pairs(harness.bot.store)) == 1


async def test_posts_to_one_channel_are_paced_to_slack_limit(harness: Harness) -> None:
    await harness.jobs("subscribe country:DE")
    await harness.feed_items()
    second = Item("mt-2", "NLP Research Intern, Munich", "Lingua Labs", "Munich, Germany", "NLP.")
    await harness.feed_items(MT, second)
    assert len(harness.slack.messages_in(CHANNEL)) == 2
    assert harness.slack.rate_limited_count == 0


async def test_revoked_token_holds_alerts_until_it_works_again(harness: Harness) -> None:
    await harness.jobs("subscribe area:nlp")
    await harness.feed_items()
    harness.slack.revoke_token(BOT_TOKEN)
    await harness.feed_items(MT)
    [sub] = harness.bot.store.subscriptions()
    assert not sub.paused
    assert harness.slack.messages == []
    assert harness.bot.store.delivery_statuses().get("failed", 0) == 0
    verdict = harness.bot.health()
    assert not verdict.ok and "token_revoked" in verdict.reason
    assert verdict.as_json()["chat"]["slack"]["state"] == "held"  # type: ignore[index]
    # Still revoked at the next check: still held, nothing sent.
    held = harness.bot.worker.health.held("slack")
    assert held is not None
    held.next_check = harness.bot.clock()
    await harness.bot.worker.run_once()
    assert harness.slack.messages == []
    assert harness.slack.calls_to("auth.test")[-1].error == "token_revoked"
    # The token works again: the held alert goes out once, without /jobs resume.
    harness.slack.add_token(BOT_TOKEN)
    held.next_check = harness.bot.clock()
    await harness.bot.worker.run_once()
    assert len(harness.slack.messages_in(CHANNEL)) == 1
    assert harness.bot.health().chat == {}
    await harness.bot.worker.run_once()
    assert len(harness.slack.messages_in(CHANNEL)) == 1


async def test_thirty_channels_with_invalid_auth_pause_nothing_and_get_every_alert_once(
    harness: Harness,
) -> None:
    channels = [f"C0AUTH{n:02d}" for n in range(30)]
    for channel in channels:
        await harness.jobs("subscribe area:nlp", channel=channel)
    await harness.feed_items()
    harness.slack.fail_auth("invalid_auth")
    await harness.feed_items(MT)
    assert not any(sub.paused for sub in harness.bot.store.subscriptions())
    assert harness.slack.messages == []
    assert harness.bot.store.delivery_statuses() == {"retry": 30}
    verdict = harness.bot.health()
    assert not verdict.ok and "invalid_auth" in verdict.reason
    # One refused check keeps the hold (and backs off further), still pausing nothing.
    held = harness.bot.worker.health.held("slack")
    assert held is not None and held.failures == 1
    held.next_check = harness.bot.clock()
    await harness.bot.worker.run_once()
    assert held.failures == 2 and harness.slack.messages == []
    harness.slack.fail_auth(None)
    held.next_check = harness.bot.clock()
    await harness.bot.worker.run_once()
    for channel in channels:
        assert len(harness.slack.messages_in(channel)) == 1, channel
    assert harness.bot.store.delivery_statuses() == {"sent": 30}
    assert harness.bot.health().chat == {}
    assert not any(sub.paused for sub in harness.bot.store.subscriptions())


@pytest.mark.parametrize("content_type", ["text/plain", "application/json"])
async def test_an_outage_answering_plain_text_503_delivers_every_alert_exactly_once(
    harness: Harness, content_type: str
) -> None:
    channels = [f"C0DOWN{n:02d}" for n in range(3)]
    for channel in channels:
        await harness.jobs("subscribe area:nlp", channel=channel)
    await harness.feed_items()
    harness.slack.start_outage(content_type=content_type)
    await harness.feed_items(MT)  # the pass ends normally: no exception escapes
    assert harness.slack.messages == []
    assert harness.bot.store.delivery_statuses() == {"retry": 3}
    assert not any(sub.paused for sub in harness.bot.store.subscriptions())
    harness.slack.end_outage()
    # The first success after the outage brings the waiting alerts forward: they go in
    # the same pass instead of each after its own backoff.
    second = Item("mt-2", "NLP Research Intern, Munich", "Lingua Labs", "Munich, Germany", "NLP.")
    await harness.feed_items(MT, second)
    for channel in channels:
        titles = sorted(m["text"] for m in harness.slack.messages_in(channel))
        assert len(titles) == 2 and titles[0] != titles[1], channel
    assert harness.bot.store.delivery_statuses() == {"sent": 6}
    # A 503 is Slack refusing: nothing went, so nothing is looked up in the history.
    assert harness.slack.calls_to("conversations.history") == []


async def test_posts_whose_answer_was_lost_are_looked_up_once_per_channel(
    harness: Harness,
) -> None:
    """#17: a dropped connection may hide a posted message; one history page per channel
    tells which went, and none is posted twice."""
    channels = [f"C0LOST{n:02d}" for n in range(3)]
    for channel in channels:
        await harness.jobs("subscribe area:nlp", channel=channel)
    await harness.feed_items()
    harness.slack.drop_answers("chat.postMessage", times=6)
    second = Item("mt-2", "NLP Research Intern, Munich", "Lingua Labs", "Munich, Germany", "NLP.")
    await harness.feed_items(MT, second)
    # Every message went out, but no answer said so: the rows wait, unsure.
    assert sum(len(harness.slack.messages_in(c)) for c in channels) == 6
    assert harness.bot.store.delivery_statuses() == {"retry": 6}
    harness.bot.store.db.execute(
        "update deliveries set next_attempt_at = '2000-01-01T00:00:00.000000+00:00'"
    )
    await harness.bot.worker.run_once()
    assert harness.bot.store.delivery_statuses() == {"sent": 6}
    for channel in channels:
        assert len(harness.slack.messages_in(channel)) == 2, channel
    history = harness.slack.calls_to("conversations.history")
    assert sorted(call.args["channel"] for call in history) == channels
    assert all(float(call.args["oldest"]) > 0 for call in history)


HOSTILE_TITLE = "<!channel> free money <https://evil.example|amazon.jobs>"


async def test_hostile_posting_mentions_nobody_and_links_only_to_itself(
    harness: Harness,
) -> None:
    await harness.jobs("subscribe internship:any")
    await harness.feed_items()
    # Through the feed: the RSS reader already drops tag-like `<…>` from titles, but the
    # company survives as written.
    from_feed = Item(
        "evil-1",
        "Research Intern *NLP* & Co, Berlin",
        "<@U0USER> Labs & Partners",
        "Berlin, Germany",
        "<!everyone> Research internship in NLP for PhD students.",
    )
    await harness.feed_items(from_feed)
    # A source that keeps titles verbatim could hand over this one: stored and matched
    # the way a poll does it, then delivered by the worker.
    hostile = Posting(
        source="test",
        external_id="evil-2",
        url="https://jobs.test.example/evil-2",
        title=HOSTILE_TITLE,
        company="<!here> <@U0USER> <!subteam^S1|@team>",
        countries=("DE",),
        areas=("nlp",),
        is_internship=True,
        description="<!everyone> apply",
    )
    bot = harness.bot
    new = bot.store.ingest([hostile], bot.clock(), alert=True).new
    bot.store.enqueue(
        [(sub, s.id) for s in new for sub in bot.index().match(s.posting)], bot.clock()
    )
    await bot.worker.run_once()

    messages = harness.slack.messages_in(CHANNEL)
    assert len(messages) == 2
    for message, own_url in zip(messages, ["/evil-1", "/evil-2"], strict=True):
        audit = harness.slack.mentions_in(message)
        assert not audit.notifies_anyone, audit
        assert audit.link_urls in ([], [f"https://jobs.test.example{own_url}"])
        assert message["blocks"][-1]["elements"][0]["url"].endswith(own_url)
        assert not message.get("link_names") and message.get("parse") in (None, "none")
    assert "free money" in json.dumps(messages[1])
    assert "&lt;!here&gt;" in json.dumps(messages[1])
    for call in harness.slack.calls_to("chat.postMessage"):
        assert "link_names" not in call.args and "parse" not in call.args
    assert harness.slack.violations == []


async def test_subscribe_without_arguments_opens_the_modal_and_validates(
    harness: Harness,
) -> None:
    name, url = harness.slack.fresh_response_url()
    body = slash_command_body("subscribe", channel_id=CHANNEL, response_url=url)
    status, reply = await harness.post(body)
    assert (status, reply) == (200, "")  # a bare ack; the modal follows
    await eventually(lambda: bool(harness.slack.views))
    [view] = harness.slack.views.values()
    assert view["callback_id"] == "jobs_subscribe"
    assert [c.status for c in harness.slack.calls_to("views.open")] == [200]
    assert harness.slack.responses[name] == []  # the form is the answer
    metadata = view["private_metadata"]

    # The countries menu loads its options from the app (type-ahead).
    options_body = urllib.parse.urlencode(
        {
            "payload": json.dumps(
                {
                    "type": "block_suggestion",
                    "action_id": "countries",
                    "block_id": "countries",
                    "value": "germ",
                    "team": {"id": TEAM_ID},
                    "user": {"id": "U0USER"},
                    "api_app_id": "A0FAKE",
                    "view": {"id": "V1", "callback_id": "jobs_subscribe"},
                }
            )
        }
    )
    status, options = await harness.post(options_body)
    assert status == 200
    assert {
        "text": {"type": "plain_text", "text": "Germany (DE)", "emoji": False},
        "value": "DE",
    } in options["options"]

    def values(tz: str) -> dict[str, Any]:
        return {
            "areas": {
                "areas": {"type": "multi_static_select", "selected_options": [{"value": "nlp"}]}
            },
            "countries": {
                "countries": {
                    "type": "multi_external_select",
                    "selected_options": [{"value": "DE"}],
                }
            },
            "keywords": {"keywords": {"type": "plain_text_input", "value": "applied science"}},
            "mode": {"mode": {"type": "static_select", "selected_option": {"value": "daily"}}},
            "at": {"at": {"type": "timepicker", "selected_time": "08:30"}},
            "tz": {"tz": {"type": "plain_text_input", "value": tz}},
        }

    status, answer = await harness.post(
        view_submission_body(values("Mars/Olympus"), private_metadata=metadata)
    )
    assert status == 200 and answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"tz"}
    assert harness.bot.store.subscriptions() == []

    status, answer = await harness.post(
        view_submission_body(values("Europe/Berlin"), private_metadata=metadata)
    )
    assert status == 200
    [sub] = harness.bot.store.subscriptions()
    assert (sub.workspace, sub.channel) == (TEAM_ID, CHANNEL)
    assert sub.filter.areas == {"nlp"} and sub.filter.countries == {"DE"}
    assert sub.filter.keywords == ("applied science",)
    assert (sub.schedule.mode, sub.schedule.at, sub.schedule.tz) == (
        "daily",
        "08:30",
        "Europe/Berlin",
    )
    # The confirmation is posted after the ack, so it may land a moment later.
    await eventually(lambda: bool(harness.slack.messages_in(CHANNEL)))
    [confirmation] = harness.slack.messages_in(CHANNEL)
    assert confirmation["text"].startswith(f"Subscribed #{sub.id}")
    assert harness.slack.violations == []


async def test_daily_digest_goes_to_slack_on_digest_now(harness: Harness) -> None:
    await harness.jobs("subscribe area:nlp mode:daily at:09:00 tz:Europe/Berlin")
    await harness.feed_items()
    await harness.feed_items(MT)
    assert harness.slack.messages == []  # digests wait for their time
    reply = await harness.jobs("digest now")
    assert "Sending the digest" in reply["text"]
    await eventually(lambda: bool(harness.slack.messages_in(CHANNEL)))
    [message] = harness.slack.messages_in(CHANNEL)
    assert message["blocks"][0]["text"]["text"] == "Daily digest: 1 new posting(s)"
    assert message["metadata"]["event_type"] == "jobbot_digest"
    assert check_blocks(message["blocks"]) == []
    assert harness.slack.violations == []


async def test_run_serves_slack_on_the_scheduler_loop(tmp_path: Path, slack: FakeSlack) -> None:
    settings = load_settings(
        env={
            "JOBBOT_DATA_DIR": str(tmp_path / "data"),
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
            "JOBBOT_HOST": "127.0.0.1",
            "JOBBOT_PORT": "0",
        },
        cwd=tmp_path,
        overrides={"default_sources": False},
    )
    bot = build(settings, console=io.StringIO())
    [service] = bot.services
    stop = asyncio.Event()
    running = asyncio.create_task(bot.run(stop))
    await eventually(lambda: service.port is not None)
    body = slash_command_body("subscribe country:DE", channel_id=CHANNEL)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        **sign_request(SIGNING_SECRET, body),
    }
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"http://127.0.0.1:{service.port}/slack/events", data=body, headers=headers) as r,
    ):
        assert r.status == 200
        assert (await r.json())["text"].startswith("Subscribed #1")
    stop.set()
    await running
    assert service.port is not None and service._runner is None  # stopped with the bot
    await bot.aclose()


# slack_sdk builds aiohttp.BasicAuth for oauth.v2.access, which aiohttp deprecates; the
# warning comes from the SDK, not from jobbot.
@pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")
async def test_oauth_install_then_alerts_use_that_workspace_token(
    tmp_path: Path, slack: FakeSlack, feed_server: FeedServer
) -> None:
    settings = load_settings(
        env={
            "JOBBOT_DATA_DIR": str(tmp_path / "data"),
            "SLACK_CLIENT_ID": CLIENT_ID,
            "SLACK_CLIENT_SECRET": CLIENT_SECRET,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
            "JOBBOT_HOST": "127.0.0.1",
            "JOBBOT_PORT": "0",
        },
        cwd=tmp_path,
        overrides={"allow_private_sources": True, "default_sources": False},
    )
    bot = build(settings, console=io.StringIO())
    [service] = bot.services
    await service.start()
    base = f"http://127.0.0.1:{service.port}"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/slack/install") as page:
            assert page.status == 200
            state = re.search(r"state=([\w-]+)", await page.text())
            # bolt marks the state cookie Secure (installs run behind https); a browser
            # would send it back, the test does so by hand over plain http.
            cookie = page.headers["Set-Cookie"].split(";")[0]
        assert state is not None
        token = slack.add_oauth_code("code-1", team_id="T0NEW")
        redirect = f"{base}/slack/oauth_redirect?code=code-1&state={state.group(1)}"
        async with http.get(redirect, headers={"Cookie": cookie}) as done:
            assert done.status == 200, await done.text()
        harness = Harness(bot, service, slack, feed_server, http)
        status, reply = await harness.post(
            slash_command_body("subscribe area:nlp", channel_id="C0NEWJOBS", team_id="T0NEW")
        )
        assert status == 200 and reply["text"].startswith("Subscribed #1")
        await harness.feed_items()
        await harness.feed_items(MT)
    [sub] = bot.store.subscriptions()
    assert sub.workspace == "T0NEW"
    [message] = slack.messages_in("C0NEWJOBS")
    assert slack.calls_to("chat.postMessage")[-1].token == token
    assert (tmp_path / "data" / "slack-installations.db").is_file()
    await service.close()
    await bot.aclose()


async def test_an_expired_trigger_gets_a_reply_instead_of_a_form(harness: Harness) -> None:
    body = slash_command_body(
        "subscribe",
        channel_id=CHANNEL,
        trigger_id="1.2.expired",
        response_url=harness.slack.response_url("late"),
    )
    harness.slack.expire_trigger("1.2.expired")
    status, _ = await harness.post(body)
    assert status == 200
    await eventually(lambda: bool(harness.slack.responses["late"]))
    assert "could not open the subscribe form" in harness.slack.responses["late"][0]["text"]
    assert harness.slack.views == {}


class SocketModeServer:
    """Just enough of Slack for Socket Mode on 127.0.0.1 (FakeSlack serves no WebSocket):
    ``apps.connections.open`` hands out this server's WebSocket URL, ``auth.test`` answers
    for the bot token, and tests push envelopes down the socket and read the acks."""

    def __init__(self) -> None:
        self.socket: web.WebSocketResponse | None = None
        self.connected = asyncio.Event()
        self.acks: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.base_url = ""
        self.app_token_refused = False  # as when the app-level token is revoked

    async def api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        auth = request.headers.get("Authorization", "")
        if (
            method == "apps.connections.open"
            and auth == "Bearer xapp-test"
            and not self.app_token_refused
        ):
            return web.json_response(
                {"ok": True, "url": f"{self.base_url}/link".replace("http", "ws")}
            )
        if method == "auth.test" and auth == f"Bearer {BOT_TOKEN}":
            return web.json_response(
                {
                    "ok": True,
                    "url": "https://fake.slack/",
                    "team": "Fake",
                    "user": "jobbot",
                    "team_id": TEAM_ID,
                    "user_id": "U0BOT",
                    "bot_id": "B0BOT",
                }
            )
        return web.json_response({"ok": False, "error": "invalid_auth"})

    async def link(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.socket = socket
        await socket.send_json({"type": "hello", "num_connections": 1})
        self.connected.set()
        async for message in socket:
            if message.type == aiohttp.WSMsgType.TEXT:
                await self.acks.put(json.loads(message.data))
        return socket

    async def send(self, envelope: dict[str, Any]) -> dict[str, Any]:
        assert self.socket is not None
        await self.socket.send_json(envelope)
        return await asyncio.wait_for(self.acks.get(), timeout=5)


@asynccontextmanager
async def socket_mode_bot(tmp_path: Path) -> AsyncIterator[tuple[SocketModeServer, JobBot]]:
    """A SocketModeServer on 127.0.0.1 and jobbot built to use it (not started)."""
    server = SocketModeServer()
    app = web.Application()
    app.router.add_post("/api/{method}", server.api)
    app.router.add_get("/link", server.link)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    server.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    settings = load_settings(
        env={
            "JOBBOT_DATA_DIR": str(tmp_path / "data"),
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_APP_TOKEN": "xapp-test",
            "SLACK_API_URL": f"{server.base_url}/api/",
        },
        cwd=tmp_path,
        overrides={"default_sources": False},
    )
    bot = build(settings, console=io.StringIO())
    try:
        yield server, bot
    finally:
        for service in bot.services:
            await service.close()
        await bot.aclose()
        await runner.cleanup()


async def test_socket_mode_is_the_default_with_an_app_token(tmp_path: Path) -> None:
    async with socket_mode_bot(tmp_path) as (server, bot):
        [service] = bot.services
        await service.start()
        assert service.port is None  # no HTTP endpoint in Socket Mode
        await asyncio.wait_for(server.connected.wait(), timeout=5)
        payload = dict(urllib.parse.parse_qsl(slash_command_body("subscribe area:nlp")))
        ack = await server.send(
            {
                "envelope_id": "e-1",
                "type": "slash_commands",
                "payload": payload,
                "accepts_response_payload": True,
                "retry_attempt": 0,
                "retry_reason": "",
            }
        )
        assert ack["envelope_id"] == "e-1"
        assert ack["payload"]["text"].startswith("Subscribed #1: area:nlp")
        [sub] = bot.store.subscriptions()
        assert (sub.platform, sub.workspace, sub.channel) == ("slack", TEAM_ID, "C0GENERAL")


async def test_an_alert_a_crash_may_have_sent_is_found_in_history_not_sent_again(
    harness: Harness,
) -> None:
    await harness.jobs("subscribe area:nlp")
    await harness.feed_items()
    await harness.feed_items(MT)
    assert len(harness.slack.messages_in(CHANNEL)) == 1
    [(delivery_id,)] = harness.bot.store.db.execute("select id from deliveries").fetchall()
    # As if the worker had crashed after posting, before recording it: the row is left
    # in `sending` under a lease that has run out.
    harness.bot.store.db.execute(
        "update deliveries set status = 'sending', sent_at = null,"
        " lease_until = '2000-01-01T00:00:00.000000+00:00', lease_owner = 'gone:1:x'"
    )
    await harness.bot.worker.run_once()
    assert len(harness.slack.messages_in(CHANNEL)) == 1
    assert harness.bot.store.delivery_statuses() == {"sent": 1}
    history = harness.slack.calls_to("conversations.history")
    assert history and history[-1].args.get("include_all_metadata") in ("1", "true", True)
    # An id that was never posted is not found, so it would be sent.
    adapter = harness.bot.adapters["slack"]
    sub = harness.bot.store.subscriptions()[0]
    stored = harness.bot.store.recent_postings(1)[0]
    assert await adapter.find_sent(sub, unsure(sub, stored, delivery_id))
    assert await adapter.find_sent(sub, unsure(sub, stored, delivery_id + 1000)) == {}


async def test_identical_subscribes_make_one_subscription_and_one_alert(harness: Harness) -> None:
    # #18: a burst of the same /jobs subscribe (a script, a double click, a replayed
    # signed request) from many people at once makes one subscription; the rest are told.
    urls = [harness.slack.fresh_response_url() for _ in range(25)]
    bodies = [
        slash_command_body(
            "subscribe area:nlp country:DE", channel_id=CHANNEL, user_id=f"U{i}", response_url=url
        )
        for i, (_, url) in enumerate(urls)
    ]
    acks = await asyncio.gather(*(harness.post(body) for body in bodies + bodies[:5]))
    assert {status for status, _ in acks} == {200}
    # An ack is empty when the work took longer than the answer budget (a busy machine):
    # that reply comes to the request's response_url (a replay shares its original's).
    inline = [acked["text"] if isinstance(acked, dict) else acked for _, acked in acks if acked]

    def late() -> list[str]:
        return [r["text"] for name, _ in urls for r in harness.slack.responses[name]]

    await eventually(lambda: len(inline) + len(late()) == 30, seconds=30)
    texts = inline + late()
    assert len(texts) == 30
    assert sum(t.startswith("Subscribed #") for t in texts) == 1
    assert sum(t.startswith("This channel already has that filter: #") for t in texts) == 29
    [sub] = harness.bot.store.subscriptions()
    # The same filter written another way is the same filter; another channel may have it.
    again = await harness.jobs("subscribe country:de area:nlp")
    assert again["text"].startswith(f"This channel already has that filter: #{sub.id}")
    assert "Nothing changed" in again["text"] and "/jobs list" in again["text"]
    assert (await harness.jobs("subscribe area:nlp country:DE", channel="C0OTHER"))[
        "text"
    ].startswith("Subscribed #")
    assert f"#{sub.id}" in (await harness.jobs("list"))["text"]

    await harness.feed_items()
    await harness.feed_items(MT)
    assert len(harness.slack.messages_in(CHANNEL)) == 1
    assert len(harness.slack.messages_in("C0OTHER")) == 1


async def test_one_user_is_held_to_the_command_rate(harness: Harness) -> None:
    per_minute = harness.bot.settings.commands_per_minute

    async def jobs_as(user: str, text: str) -> str:
        return str((await harness.jobs(text, user=user))["text"])

    for _ in range(per_minute):
        assert "Too many" not in await jobs_as("UFLOOD", "list")
    refused = await jobs_as("UFLOOD", "subscribe area:cv")
    assert refused.startswith(f"Too many commands: at most {per_minute} a minute.")
    assert re.search(r"Try again in \d+ s\.", refused)
    assert harness.bot.store.subscriptions() == []
    # Others in the same channel are not held back by one user's flood.
    assert (await jobs_as("UCALM", "subscribe area:cv")).startswith("Subscribed #")


async def test_a_full_channel_refuses_another_subscription(
    tmp_path: Path, slack: FakeSlack, feed_server: FeedServer
) -> None:
    settings = http_settings(tmp_path, slack)
    bot = build(replace(settings, max_subscriptions_per_channel=2), console=io.StringIO())
    [service] = bot.services
    await service.start()
    try:
        async with aiohttp.ClientSession() as http:
            harness = Harness(bot, service, slack, feed_server, http)
            assert (await harness.jobs("subscribe area:nlp"))["text"].startswith("Subscribed")
            assert (await harness.jobs("subscribe area:cv"))["text"].startswith("Subscribed")
            full = await harness.jobs("subscribe area:rl")
            assert full["text"].startswith("This channel already has 2 subscriptions")
            assert "/jobs unsubscribe" in full["text"]
            # Asking again for a filter it has is still answered with that subscription.
            assert "already has that filter" in (await harness.jobs("subscribe area:cv"))["text"]
            assert len(bot.store.subscriptions()) == 2
            await harness.jobs("unsubscribe 1")
            assert (await harness.jobs("subscribe area:rl"))["text"].startswith("Subscribed")
    finally:
        await service.close()
        await bot.aclose()


# --- answering within 3 s while the store is busy (#17) ------------------------------------
# The store is held from another thread, as storing a big poll's batch holds it, for longer
# than Slack's 3 s: whatever arrives meanwhile can only finish once the test lets go.


async def _timed_post(harness: Harness, body: str) -> tuple[int, Any, float]:
    loop = asyncio.get_running_loop()
    started = loop.time()
    status, reply = await harness.post(body)
    return status, reply, loop.time() - started


async def test_a_command_while_the_store_is_held_is_acked_at_once_and_answered_later(
    harness: Harness,
) -> None:
    slack = harness.slack
    with held(harness.bot.store) as hold:
        answers = await asyncio.gather(
            *(
                _timed_post(
                    harness,
                    slash_command_body(
                        text, channel_id=CHANNEL, response_url=slack.response_url(text)
                    ),
                )
                for text in ("subscribe area:nlp", "list")
            )
        )
        # Both were acknowledged, empty, before their work could finish (the store is
        # still held), and within Slack's 3 s.
        assert hold.holding
        for status, reply, seconds in answers:
            assert (status, reply) == (200, "")
            assert seconds < 3.0
        assert not slack.responses
        hold.release()
    await eventually(lambda: len(slack.responses) == 2 and all(slack.responses.values()))
    [subscribed] = slack.responses["subscribe area:nlp"]
    assert subscribed["response_type"] == "in_channel"
    assert subscribed["text"].startswith("Subscribed #1: area:nlp")
    [listing] = slack.responses["list"]
    assert listing["response_type"] == "ephemeral" and listing["text"]
    assert len(harness.bot.store.subscriptions()) == 1
    # A quick command still answers in its acknowledgement.
    assert "#1" in (await harness.jobs("list"))["text"]
    assert slack.violations == []


async def test_a_command_that_fails_says_so_after_the_ack_and_in_it(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    slack = harness.slack
    with held(harness.bot.store) as hold:
        body = slash_command_body("list", channel_id=CHANNEL, response_url=slack.response_url("l"))
        assert (await harness.post(body)) == (200, "")
        # The database goes away while the command waits for it.
        hold.release(then=lambda store: store.db.conn.close())
    await eventually(lambda: bool(slack.responses["l"]))
    [late] = slack.responses["l"]
    assert (late["text"], late["response_type"]) == (FAILED, "ephemeral")
    # Now it fails at once: the apology is the acknowledgement itself.
    inline = await harness.jobs("list")
    assert inline["text"] == FAILED and inline.get("response_type", "ephemeral") == "ephemeral"
    assert caplog.text.count("/jobs list failed") == 2  # with the traceback, for whoever runs it


async def test_a_late_reply_that_cannot_be_delivered_is_logged_not_raised(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    slack = harness.slack
    slack.response_url_max_uses = 0  # Slack answers 404 used_url
    with held(harness.bot.store) as hold:
        # The default response_url refuses connections; the second is used up.
        nowhere = slash_command_body("list", channel_id=CHANNEL)
        used = slash_command_body("list", channel_id=CHANNEL, response_url=slack.response_url("u"))
        for body in (nowhere, used):
            assert (await harness.post(body)) == (200, "")
        hold.release()
    await eventually(lambda: caplog.text.count("could not deliver a late /jobs reply") == 2)
    assert "response_url answered 404" in caplog.text
    assert not [r for r in caplog.records if r.name.startswith("slack_bolt")]
    assert "no subscriptions" in (await harness.jobs("list"))["text"]


async def test_a_subscribe_form_submitted_while_the_store_is_held_closes_at_once(
    harness: Harness,
) -> None:
    slack = harness.slack
    metadata = json.dumps({"team": TEAM_ID, "channel": CHANNEL})
    nlp = {
        "areas": {"areas": {"type": "multi_static_select", "selected_options": [{"value": "nlp"}]}}
    }
    with held(harness.bot.store) as hold:
        status, answer, seconds = await _timed_post(
            harness, view_submission_body(nlp, private_metadata=metadata)
        )
        assert (status, answer) == (200, "") and hold.holding and seconds < 3.0
        hold.release()
    await eventually(lambda: bool(slack.messages_in(CHANNEL)))
    [confirmation] = slack.messages_in(CHANNEL)
    assert confirmation["text"].startswith("Subscribed #1: area:nlp")
    # An outcome meant for the submitter alone (here: the database went away) reaches
    # only them, as an ephemeral message, since the form is closed by then.
    with held(harness.bot.store) as hold:
        status, answer = await harness.post(view_submission_body(nlp, private_metadata=metadata))
        assert (status, answer) == (200, "")
        hold.release(then=lambda store: store.db.conn.close())
    await eventually(lambda: bool(slack.ephemerals))
    [apology] = slack.ephemerals
    assert (apology["channel"], apology["user"], apology["text"]) == (CHANNEL, "U0USER", FAILED)
    assert len(slack.messages_in(CHANNEL)) == 1
    assert slack.violations == []
