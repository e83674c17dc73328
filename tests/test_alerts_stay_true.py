"""Issue #10 through the real Slack app and FakeSlack: mentions, /jobs why, closed-posting
edits, deadline reminders and source notices.

The bot runs with a clock the tests move, against a Greenhouse-format board served from
127.0.0.1 (a board that lists every open posting, so one that drops out has closed).
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import JobBot, build
from bot.chat.slack_app import SlackService
from tests import store_readers
from tests.conftest import FeedServer
from tests.fakes.slack_api import (
    FakeSlack,
    check_blocks,
    find_mentions,
    sign_request,
    slash_command_body,
)
from tests.fakes.specs import load_slack_spec
from tests.test_slack import CHANNEL, SIGNING_SECRET, http_settings

pytestmark = pytest.mark.integration

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class Clock:
    """The bot's clock: starts at START and moves only when a test says so."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Job:
    """One job of the test Greenhouse board."""

    id: int
    title: str
    location: str = "Berlin, Germany"
    content: str = "<p>Natural language processing research internship.</p>"
    deadline: str | None = None
    link: str = ""

    def json(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "absolute_url": self.link or f"https://boards.greenhouse.io/acme/jobs/{self.id}",
            "location": {"name": self.location},
            "content": self.content.replace("<", "&lt;").replace(">", "&gt;"),
            "updated_at": "2026-11-20T09:00:00Z",
            "company_name": "Acme AI",
        }
        if self.deadline:
            item["application_deadline"] = self.deadline
        return item


NLP = Job(101, "Research Intern, Natural Language Processing")
CV = Job(102, "Computer Vision Research Intern", content="<p>Computer vision research.</p>")


@dataclass
class Bot:
    """The bot (Slack app in HTTP mode) with its fake Slack, board server and clock."""

    bot: JobBot
    service: SlackService
    slack: FakeSlack
    feed: FeedServer
    http: aiohttp.ClientSession
    clock: Clock
    board: list[Job] = field(default_factory=list)

    async def jobs(self, text: str) -> str:
        name, reply_url = self.slack.fresh_response_url()
        body = slash_command_body(text, channel_id=CHANNEL, response_url=reply_url)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            **sign_request(SIGNING_SECRET, body),
        }
        url = f"http://127.0.0.1:{self.service.port}/slack/events"
        async with self.http.post(url, data=body, headers=headers) as response:
            assert response.status == 200
            text = await response.text()
        # bolt answers a plain-text ack as text/plain, a richer one as JSON.
        acked = json.loads(text) if text.startswith("{") else text
        return str((await self.slack.command_reply(name, acked))["text"])

    async def poll(self, *jobs: Job, source: str = "acme") -> None:
        """Serve these jobs as the whole board, poll it, deliver and follow up."""
        path = f"/{source}.json"
        self.feed.serve(path, json.dumps({"jobs": [j.json() for j in jobs]}).encode())
        if self.bot.store.source(source) is None:
            self.bot.store.upsert_source(
                source, "greenhouse", self.feed.url(path), 600, now=self.clock()
            )
        await self.repoll()

    async def repoll(self) -> None:
        """Poll what the board serves now (perhaps an error), deliver and follow up."""
        await self.bot.poll_all()
        await self.bot.worker.run_once()
        await self.bot.follow_up()

    def alerts(self) -> list[dict[str, Any]]:
        return self.slack.messages_in(CHANNEL)


@pytest.fixture
async def app(tmp_path: Path, feed_server: FeedServer) -> AsyncIterator[Bot]:
    clock = Clock()
    async with FakeSlack(spec=load_slack_spec(), per_channel_interval=0.0) as slack:
        bot = build(http_settings(tmp_path, slack), console=io.StringIO(), clock=clock)
        [service] = bot.services
        await service.start()
        async with aiohttp.ClientSession() as http:
            yield Bot(bot, service, slack, feed_server, http, clock)
        await service.close()
        await bot.aclose()


async def test_a_user_group_mention_is_the_only_ping_even_for_a_hostile_title(app: Bot) -> None:
    # Slack escapes a picked user group in slash-command text like this.
    reply = await app.jobs("subscribe country:DE mention:<!subteam^S0MLINTERN|@ml-interns>")
    assert "mention:group:S0MLINTERN" in reply
    await app.poll()  # the board's first poll records, alerts nobody
    hostile = Job(
        103,
        "<!channel> @everyone <!subteam^S0EVIL|@admins> Intern <https://evil.example|apply>",
    )
    await app.poll(NLP, hostile)
    messages = app.alerts()
    assert len(messages) == 2
    for message in messages:
        assert check_blocks(message["blocks"]) == []
        # The fallback text and the first block both carry it; nothing else pings.
        assert set(find_mentions(message).pings) == {"<!subteam^S0MLINTERN>"}
        assert "evil.example" not in find_mentions(message).link_urls
    assert app.slack.errors == []


async def test_a_discord_role_is_refused_on_slack_and_everyone_anywhere(app: Bot) -> None:
    assert "user group" in await app.jobs("subscribe mention:role:123456789")
    assert "ping everyone" in await app.jobs("subscribe mention:<!channel>")
    assert app.bot.store.subscriptions() == []


async def test_why_names_the_stage_for_each_subscription(app: Bot) -> None:
    await app.jobs("subscribe area:nlp country:DE")
    await app.jobs("subscribe area:cv")
    early = Job(100, "Speech Research Intern", content="<p>Speech recognition research.</p>")
    await app.poll(early)  # first poll: recorded without alerts
    app.clock.advance(hours=1)
    relisted = Job(201, NLP.title, link="https://boards.greenhouse.io/acme/jobs/201")
    await app.poll(early, NLP, CV)
    app.clock.advance(hours=1)
    await app.poll(early, NLP, CV, relisted)  # the same job again under a new id
    [sent] = [m for m in app.alerts() if "Natural Language" in m["text"]]

    answer = await app.jobs(f"why <{NLP.json()['absolute_url']}?utm_source=newsletter>")
    assert "Seen: posting #" in answer and "on source `acme`" in answer
    ts = sent["ts"].replace(".", "")
    assert "#1 (area:nlp country:DE): sent as an alert at 23 Nov 2026 10:00 UTC\n" in answer
    assert f"\n    https://slack.com/archives/{CHANNEL}/p{ts}\n" in answer
    assert "#2 (area:cv): did not match — area: the posting's areas are" in answer
    assert "Also listed on `acme` (#" in answer

    duplicate = await app.jobs("why https://boards.greenhouse.io/acme/jobs/201")
    assert "merged as a duplicate of posting #" in duplicate

    first = await app.jobs("why https://boards.greenhouse.io/acme/jobs/100")
    assert "Recorded at its source's first poll" in first
    assert "#2 (area:cv): did not match — area" in first
    assert "#1 (area:nlp country:DE): did not match — area" in first

    unseen = await app.jobs("why https://jobs.example.org/never-listed")
    assert unseen.startswith("Never seen: none of the 1 source(s)")

    by_id = await app.jobs("why #2")
    assert "posting #2" in by_id and "Seen:" in by_id
    assert "takes a posting's link" in await app.jobs("why not-a-link")


async def test_a_posting_that_closes_edits_its_alert_exactly_once(app: Bot) -> None:
    await app.jobs("subscribe area:nlp")
    await app.poll()
    await app.poll(NLP, CV)
    [alert] = app.alerts()
    original = json.dumps(alert["blocks"])
    await app.poll(CV)  # missing once: may be a glitch of the board
    assert app.slack.calls_to("chat.update") == []
    await app.poll(CV)  # missing twice in a row: closed
    await app.poll(CV)
    await app.poll(CV)
    [update] = app.slack.calls_to("chat.update")
    assert update.status == 200
    [edited] = app.alerts()
    assert edited["ts"] == alert["ts"] and "edited" in edited
    assert check_blocks(edited["blocks"]) == []
    text = json.dumps(edited["blocks"])
    assert "Closed" in text and NLP.title in text
    assert "Germany" in text and "Acme AI" in text and "Natural" in original
    assert find_mentions(edited).pings == []
    why = await app.jobs("why https://boards.greenhouse.io/acme/jobs/101")
    assert "Closed: its source no longer lists it as open." in why


async def test_a_changed_deadline_edits_the_alert_and_a_reminder_goes_once(app: Bot) -> None:
    await app.jobs("subscribe area:nlp remind:3d")
    await app.poll()
    open_job = Job(110, "NLP Research Intern", deadline="2026-12-10T00:00:00Z")
    closing = Job(111, "LLM Research Intern", deadline="2026-12-09T00:00:00Z")
    await app.poll(open_job, closing)
    assert len(app.alerts()) == 2
    assert "Apply by*\\n10 Dec 2026" in json.dumps(app.alerts()[0]["blocks"])

    later = Job(110, "NLP Research Intern", deadline="2026-12-12T00:00:00Z")
    await app.poll(later, closing)
    [update] = app.slack.calls_to("chat.update")
    assert "12 Dec 2026" in json.dumps(update.args["blocks"])

    # The second posting closes (two polls without it) before its reminder is due.
    await app.poll(later)
    await app.poll(later)
    # A pass a day late (the bot was down) says what is true: two days are left.
    app.clock.now = datetime(2026, 12, 10, 8, 0, tzinfo=UTC)
    await app.poll(later)
    await app.poll(later)
    reminders = [m for m in app.alerts() if "Deadline in 2 days" in m["text"]]
    assert len(reminders) == 1
    assert "NLP Research Intern" in reminders[0]["text"]
    assert "apply by 12 Dec 2026" in reminders[0]["text"]
    rows = {r["posting_id"]: r["status"] for r in store_readers.reminders(app.bot.store)}
    assert sorted(rows.values()) == ["sent"]


async def test_a_source_down_too_long_gives_one_notice_and_one_recovery(app: Bot) -> None:
    await app.jobs("subscribe area:nlp")
    await app.poll()
    await app.poll(NLP)
    assert len(app.alerts()) == 1
    app.feed.fail("/acme.json", status=500)
    for _ in range(8):  # 8 failed polls over 7 hours
        await app.repoll()
        app.clock.advance(hours=1)
    notices = [m for m in app.alerts() if "has failed every poll" in m["text"]]
    assert len(notices) == 1
    assert "`acme`" in notices[0]["text"] and "500" in notices[0]["text"]
    assert find_mentions(notices[0]).pings == []
    app.feed.serve("/acme.json", json.dumps({"jobs": [NLP.json()]}).encode())
    await app.poll(NLP)
    await app.poll(NLP)
    recovered = [m for m in app.alerts() if "is working again" in m["text"]]
    assert len(recovered) == 1
    assert len(app.alerts()) == 3


async def test_a_channel_that_does_not_rely_on_a_failing_source_hears_nothing(app: Bot) -> None:
    await app.jobs("subscribe area:cv")  # nothing of this source matches it
    await app.poll()
    await app.poll(NLP)
    app.feed.fail("/acme.json", status=500)
    for _ in range(8):
        await app.repoll()
        app.clock.advance(hours=1)
    assert app.alerts() == []


async def test_a_board_that_answers_empty_closes_nothing(app: Bot) -> None:
    await app.jobs("subscribe area:nlp")
    await app.poll()
    await app.poll(NLP)
    for _ in range(3):
        await app.poll()  # a valid but empty board: a glitch more likely than mass closing
    assert app.slack.calls_to("chat.update") == []
    await app.poll(CV)
    await app.poll(CV)  # missing from two listings in a row: now it has closed
    assert len(app.slack.calls_to("chat.update")) == 1
