"""jobbot on Discord, end to end: the real discord.py client, built by ``bot.app.build``,
against the fake Discord REST API + gateway on 127.0.0.1, and a feed on a loopback server.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord
import pytest

from bot.app import JobBot, build
from bot.chat.answer import FAILED
from bot.chat.discord_adapter import DiscordAdapter, render_options
from bot.chat.discord_answer import POSTED_FOR_ALL
from bot.chat.discord_choices import area_choices, country_choices, timezone_choices
from bot.config import load_settings
from bot.errors import ConfigError
from bot.postings.model import Posting
from bot.store import StoredPosting
from subscriptions.grammar import parse_command
from tests.conftest import FeedServer
from tests.fakes.discord_api import (
    DEFAULT_GUILD_ID,
    DEFAULT_MEMBER_PERMISSIONS,
    DEFAULT_TEXT_CHANNEL_ID,
    FakeDiscord,
)
from tests.fakes.specs import load_discord_spec
from tests.store_holder import held

pytestmark = pytest.mark.integration

MANAGE_CHANNELS = 1 << 4
MANAGER = DEFAULT_MEMBER_PERMISSIONS | MANAGE_CHANNELS
CHANNEL = str(DEFAULT_TEXT_CHANNEL_ID)

ITEM = """<item>
  <title>{title}</title>
  <link>{link}</link>
  <guid isPermaLink="false">{guid}</guid>
  <dc:creator>{company}</dc:creator>
  <pubDate>Fri, 20 Nov 2026 09:00:00 +0000</pubDate>
  <description><![CDATA[<p>Location: Berlin, Germany</p><p>{body}</p>]]></description>
</item>"""
NLP_BODY = (
    "Research internship in natural language processing.</p><p>Apply for this position "
    "before the deadline.</p><p>Currently enrolled in a PhD program."
)
OLD = ITEM.format(
    title="Research Intern, Computer Vision (PhD)",
    link="https://jobs.test.example/old",
    guid="old",
    company="Vision Co",
    body="Computer vision internship.</p><p>Currently enrolled in a PhD program.",
)
NLP = ITEM.format(
    title="Research Intern – Parsing (PhD), Berlin",
    link="https://jobs.test.example/nlp",
    guid="nlp",
    company="Lingua Labs",
    body=NLP_BODY,
)
HOSTILE = ITEM.format(
    title="@everyone [amazon.jobs](https://evil.example) Research Intern",
    link="https://jobs.test.example/hostile",
    guid="hostile",
    company="Lab &lt;@&amp;1&gt; @here",
    body=NLP_BODY,
)


def feed(*items: str) -> bytes:
    """A small RSS feed with these items."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        "<title>Test jobs</title><link>https://jobs.test.example/</link>"
        "<description>test</description>" + "".join(items) + "</channel></rss>"
    ).encode()


@dataclass
class Running:
    """The bot, its Discord adapter and the fake it talks to."""

    bot: JobBot
    adapter: DiscordAdapter
    fake: FakeDiscord

    async def slash(
        self, subcommand: str, options: dict[str, Any] | None = None, *, perms: int = MANAGER
    ) -> dict[str, Any]:
        """Send `/jobs <subcommand>` through the gateway and return the interaction callback."""
        payload = self.fake.slash_interaction(
            "jobs", subcommand, options or {}, member_permissions=perms
        )
        await self.fake.dispatch("INTERACTION_CREATE", payload)
        return await self.fake.wait_for_callback(payload["id"])

    async def send(
        self, subcommand: str, options: dict[str, Any] | None = None, *, perms: int = MANAGER
    ) -> tuple[dict[str, Any], int]:
        """Send `/jobs <subcommand>`; return the payload and the id its callback will carry."""
        payload = self.fake.slash_interaction(
            "jobs", subcommand, options or {}, member_permissions=perms
        )
        await self.fake.dispatch("INTERACTION_CREATE", payload)
        return payload, payload["id"]

    async def poll_and_deliver(self) -> None:
        await self.bot.poll_all()
        await self.bot.worker.run_once()


def _build(
    tmp_path: Path, fake: FakeDiscord, *, global_commands: bool = False
) -> tuple[JobBot, DiscordAdapter]:
    """jobbot from settings whose Discord URLs point at the fake (not started); its
    commands go to the fake's server, or everywhere with ``global_commands``."""
    env = {
        "JOBBOT_DATA_DIR": str(tmp_path / "data"),
        "DISCORD_TOKEN": fake.token,
        "DISCORD_API_URL": fake.api_base,
        "DISCORD_GATEWAY_URL": fake.gateway_url,
    }
    if not global_commands:
        env["DISCORD_GUILD_ID"] = str(DEFAULT_GUILD_ID)
    settings = load_settings(
        env=env,
        cwd=tmp_path,
        overrides={"allow_private_sources": True, "default_sources": False},
    )
    bot = build(settings)
    adapter = bot.adapters["discord"]
    assert isinstance(adapter, DiscordAdapter)
    adapter.guild_ready_timeout = 0.05  # the fake sends every GUILD_CREATE at once
    adapter.channel_pace = 0.0
    return bot, adapter


@asynccontextmanager
async def discord_bot(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    prepare: Callable[[JobBot, FakeDiscord], None] = lambda bot, fake: None,
    *,
    global_commands: bool = False,
) -> AsyncIterator[Running]:
    """jobbot built from settings whose Discord URLs point at the fake, logged in and ready
    (``prepare`` runs before the services start); the fake saw no violation at the end.
    ``global_commands`` syncs `/jobs` globally (as in production) instead of to one server.
    """
    # build() points discord.py at DISCORD_API_URL / DISCORD_GATEWAY_URL; put both back after.
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    gateway = discord.gateway.DiscordWebSocket
    monkeypatch.setattr(gateway, "DEFAULT_GATEWAY", gateway.DEFAULT_GATEWAY)
    async with FakeDiscord(
        spec=load_discord_spec(), per_channel_limit=50, per_channel_window=1.0
    ) as fake:
        bot, adapter = _build(tmp_path, fake, global_commands=global_commands)
        prepare(bot, fake)
        try:
            for service in bot.services:
                await service.start()
            assert adapter.client is not None
            await adapter.client.wait_until_ready()
            yield Running(bot, adapter, fake)
        finally:
            await bot.aclose()
        assert fake.violations == []


@pytest.fixture
async def running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, feed_server: FeedServer
) -> AsyncIterator[Running]:
    """The Discord bot with a feed source (``OLD``) to poll."""

    def with_source(bot: JobBot, _: FakeDiscord) -> None:
        feed_server.serve("/jobs.rss", feed(OLD))
        bot.store.upsert_source("test", "rss", feed_server.url("/jobs.rss"), 600, now=bot.clock())

    async with discord_bot(tmp_path, monkeypatch, with_source) as bot:
        yield bot


async def _subscribe(running: Running) -> None:
    callback = await running.slash(
        "subscribe", {"areas": "nlp", "countries": "DE", "degree": "phd-only"}
    )
    assert callback["type"] == 4
    assert callback["data"]["content"].startswith("Subscribed #1: area:nlp country:DE")
    assert running.fake.pings(callback) == set()


async def test_subscribe_then_one_embed_alert(running: Running, feed_server: FeedServer) -> None:
    fake = running.fake
    assert "discord" in running.bot.describe()
    [sync] = fake.command_syncs
    assert sync["guild_id"] == str(DEFAULT_GUILD_ID)
    jobs = fake.commands(DEFAULT_GUILD_ID)[0]
    # Every member sees /jobs (for alerts of their own, #19); the handlers check who may
    # change a channel's.
    assert jobs["default_member_permissions"] is None
    assert {o["name"] for o in jobs["options"]} >= {
        "subscribe", "list", "unsubscribe", "pause", "resume", "preview", "digest", "areas",
        "sources", "help",
    }  # fmt: skip
    await _subscribe(running)
    [sub] = running.bot.store.subscriptions(platform="discord")
    assert (sub.workspace, sub.channel) == (str(DEFAULT_GUILD_ID), CHANNEL)

    await running.poll_and_deliver()  # the first poll records the backlog, alerts nobody
    feed_server.serve("/jobs.rss", feed(OLD, NLP))
    await running.poll_and_deliver()

    [message] = fake.messages_in(DEFAULT_TEXT_CHANNEL_ID)
    [embed] = message["embeds"]
    assert embed["title"] == r"Research Intern – Parsing \(PhD\), Berlin"
    assert embed["url"] == "https://jobs.test.example/nlp"
    assert {f["name"] for f in embed["fields"]} >= {"Company", "Countries", "Areas", "Degree"}
    [row] = message["components"]
    [button] = row["components"]
    assert (button["style"], button["label"], button["url"]) == (
        5,
        "Apply",
        "https://jobs.test.example/nlp",
    )
    assert message["allowed_mentions"] == {"parse": []}
    assert message["nonce"].startswith("jb") and message["enforce_nonce"] is True
    assert running.bot.store.delivery_statuses().get("sent") == 1


async def test_member_without_manage_channels_is_refused(running: Running) -> None:
    callback = await running.slash("subscribe", {"areas": "nlp"}, perms=DEFAULT_MEMBER_PERMISSIONS)
    assert callback["data"]["flags"] & 64  # ephemeral
    assert "Manage Channels" in callback["data"]["content"]
    assert running.bot.store.subscriptions() == []
    # Reading is for everyone.
    listing = await running.slash("list", perms=DEFAULT_MEMBER_PERMISSIONS)
    assert "no subscriptions" in listing["data"]["content"]


async def test_bad_input_gets_an_ephemeral_usage(running: Running) -> None:
    callback = await running.slash("subscribe", {"areas": "nlpp"})
    assert callback["data"]["flags"] & 64
    assert "Usage: /jobs subscribe" in callback["data"]["content"]
    assert running.bot.store.subscriptions() == []


async def test_429_is_waited_out_and_nothing_is_sent_twice(
    running: Running, feed_server: FeedServer
) -> None:
    await _subscribe(running)
    await running.poll_and_deliver()
    running.fake.force_429(DEFAULT_TEXT_CHANNEL_ID, retry_after=0.2)
    feed_server.serve("/jobs.rss", feed(OLD, NLP))
    await running.poll_and_deliver()
    assert running.fake.rate_limited_count == 1
    assert len(running.fake.messages_in(DEFAULT_TEXT_CHANNEL_ID)) == 1
    # A retried send (say, the answer was lost) reuses the nonce: Discord returns the
    # first message instead of posting again.
    [sub] = running.bot.store.subscriptions()
    posting = running.bot.store.recent_postings(1)[0]
    first = await running.adapter.send_alert(sub, posting, 999)
    again = await running.adapter.send_alert(sub, posting, 999)
    assert first == again
    assert running.fake.deduplicated_count == 1
    assert len(running.fake.messages_in(DEFAULT_TEXT_CHANNEL_ID)) == 2


async def test_missing_permissions_pause_the_subscription(
    running: Running, feed_server: FeedServer
) -> None:
    await _subscribe(running)
    await running.poll_and_deliver()
    running.fake.fail_channel(DEFAULT_TEXT_CHANNEL_ID, status=403, code=50013)
    feed_server.serve("/jobs.rss", feed(OLD, NLP))
    await running.poll_and_deliver()
    [sub] = running.bot.store.subscriptions()
    assert sub.paused and sub.paused_reason is not None and "50013" in sub.paused_reason
    assert running.fake.messages_in(DEFAULT_TEXT_CHANNEL_ID) == []
    running.fake.clear_failure(DEFAULT_TEXT_CHANNEL_ID)
    listing = await running.slash("list")
    assert "paused: 50013" in listing["data"]["content"]


async def test_hostile_posting_pings_nobody_and_links_nowhere_else(
    running: Running, feed_server: FeedServer
) -> None:
    await _subscribe(running)
    await running.poll_and_deliver()
    feed_server.serve("/jobs.rss", feed(OLD, HOSTILE))
    await running.poll_and_deliver()
    [message] = running.fake.messages_in(DEFAULT_TEXT_CHANNEL_ID)
    assert running.fake.pings(message) == set()
    assert running.fake.markdown_links(message) == []
    assert running.fake.link_hosts(message) == {"jobs.test.example"}
    # Shown as inert text: the scheme is dropped and the dots become one-dot leaders
    # (bot.chat.render.safe_text), so no client turns it into a link.
    assert "evil\u2024example" in message["embeds"][0]["title"]


async def test_autocomplete_and_subscription_choices(running: Running) -> None:
    fake = running.fake
    payload = fake.autocomplete_interaction(
        "jobs", "subscribe", {}, focused="countries", value="DE,fra"
    )
    await fake.dispatch("INTERACTION_CREATE", payload)
    callback = await fake.wait_for_callback(payload["id"])
    assert callback["type"] == 8
    values = [c["value"] for c in callback["data"]["choices"]]
    assert values[0] == "DE,FR" and len(values) <= 25
    await _subscribe(running)
    payload = fake.autocomplete_interaction("jobs", "pause", {}, focused="subscription")
    await fake.dispatch("INTERACTION_CREATE", payload)
    callback = await fake.wait_for_callback(payload["id"])
    assert [c["value"] for c in callback["data"]["choices"]] == ["1"]
    paused = await running.slash("pause", {"subscription": "1"})
    assert paused["data"]["content"].startswith("Paused #1")


async def test_removal_from_the_server_pauses_its_subscriptions(running: Running) -> None:
    await _subscribe(running)
    await running.fake.remove_guild(DEFAULT_GUILD_ID)
    # The handler runs after GUILD_DELETE, and the fake records nothing then: poll the store.
    async with asyncio.timeout(5):
        while not all(s.paused for s in running.bot.store.subscriptions()):  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    [sub] = running.bot.store.subscriptions()
    assert sub.paused_reason == "jobbot was removed from this server"


async def test_commands_are_synced_only_when_they_change(running: Running) -> None:
    assert len(running.fake.command_syncs) == 1
    assert await running.adapter.sync_commands() is False
    assert len(running.fake.command_syncs) == 1
    (running.adapter.state_dir / "discord_commands.sha256").write_text("stale\n")
    assert await running.adapter.sync_commands() is True
    assert len(running.fake.command_syncs) == 2


async def test_preview_is_deferred_then_answered(running: Running, feed_server: FeedServer) -> None:
    feed_server.serve("/jobs.rss", feed(OLD, NLP))
    await running.bot.poll_all()
    callback = await running.slash("preview", {"areas": "nlp"}, perms=DEFAULT_MEMBER_PERMISSIONS)
    assert (callback["type"], callback["ephemeral"]) == (5, True)  # deferred within 3 s
    await running.fake.wait_for(lambda: len(running.fake.followups) == 1, what="followup")
    [followup] = running.fake.followups
    assert "Parsing" in followup["content"] and followup["flags"] & 64
    assert running.fake.pings(followup) == set()


async def test_resume_with_catch_up_and_help_choices(running: Running) -> None:
    await _subscribe(running)
    await running.slash("pause", {"subscription": "1"})
    resumed = await running.slash("resume", {"subscription": "1", "catch_up": True})
    assert "Sending what matched meanwhile" in resumed["data"]["content"]
    usage = await running.slash("help", {"command": "subscribe"})
    assert usage["data"]["content"].startswith("Usage: /jobs subscribe")


async def test_long_digest_goes_as_several_valid_messages(running: Running) -> None:
    await _subscribe(running)
    [sub] = running.bot.store.subscriptions()
    postings = [
        StoredPosting(
            i,
            Posting(
                source="test",
                external_id=f"d{i}",
                url=f"https://jobs.test.example/d{i}",
                title=f"Research Intern {i} @everyone " + "x" * 150,
                areas=("nlp",) if i % 2 else ("cv",),
                is_internship=True,
            ),
            running.bot.clock(),
        )
        for i in range(120)
    ]
    refs = await running.adapter.send_digest(sub, postings, "Daily digest for #1", "d-1")
    messages = running.fake.messages_in(DEFAULT_TEXT_CHANNEL_ID)
    assert len(refs) == len(messages) > 1
    assert messages[0]["content"].startswith("Daily digest for #1 — 120 posting")
    assert all(running.fake.pings(m) == set() for m in messages)
    hosts = set().union(*(running.fake.link_hosts(m) for m in messages))
    assert hosts == {"jobs.test.example"}
    # Sending the same digest again (a retry) posts nothing new: the nonces repeat.
    await running.adapter.send_digest(sub, postings, "Daily digest for #1", "d-1")
    assert len(running.fake.messages_in(DEFAULT_TEXT_CHANNEL_ID)) == len(messages)


async def test_a_refused_token_stops_start_up_with_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    async with FakeDiscord() as fake:
        env = {
            "JOBBOT_DATA_DIR": str(tmp_path),
            "DISCORD_TOKEN": "not-the-token",
            "DISCORD_API_URL": fake.api_base,
        }
        bot = build(load_settings(env=env, cwd=tmp_path, overrides={"default_sources": False}))
        try:
            with pytest.raises(ConfigError, match="DISCORD_TOKEN"):
                await bot.services[0].start()
        finally:
            await bot.aclose()


async def test_preview_of_a_hostile_posting_links_only_to_postings(
    running: Running, feed_server: FeedServer
) -> None:
    feed_server.serve("/jobs.rss", feed(OLD, HOSTILE))
    await running.bot.poll_all()
    await running.slash("preview", {"countries": "DE"}, perms=DEFAULT_MEMBER_PERMISSIONS)
    await running.fake.wait_for(lambda: len(running.fake.followups) == 1, what="followup")
    [followup] = running.fake.followups
    assert "evil\u2024example" in followup["content"]  # defanged by safe_text: inert
    assert running.fake.markdown_links(followup) == []
    assert running.fake.link_hosts(followup) == {"jobs.test.example"}
    assert running.fake.pings(followup) == set()


@pytest.mark.parametrize(
    ("status", "code", "paused", "outcome"),
    [
        (404, 10003, True, "failed"),
        (403, 50001, True, "failed"),
        (400, 50035, False, "failed"),  # invalid form body: that message fails alone
        (400, 200000, False, "failed"),  # blocked by AutoMod: that message fails alone
        (400, 20028, False, "retry"),  # write rate limit: try again later
    ],
)
async def test_errors_pause_only_when_the_channel_is_lost(
    running: Running,
    feed_server: FeedServer,
    status: int,
    code: int,
    paused: bool,
    outcome: str,
) -> None:
    await _subscribe(running)
    await running.poll_and_deliver()
    running.fake.fail_channel(DEFAULT_TEXT_CHANNEL_ID, status=status, code=code, times=1)
    feed_server.serve("/jobs.rss", feed(OLD, NLP))
    await running.poll_and_deliver()
    [sub] = running.bot.store.subscriptions()
    assert sub.paused is paused
    assert running.bot.store.delivery_statuses() == {outcome: 1}
    assert running.bot.health().chat == {}


async def test_a_token_reset_holds_alerts_shows_in_healthz_and_retries_no_loop(
    running: Running, feed_server: FeedServer
) -> None:
    await _subscribe(running)
    await running.poll_and_deliver()
    token = running.fake.token
    running.fake.reset_token("a-new-token")
    feed_server.serve("/jobs.rss", feed(OLD, NLP))
    await running.poll_and_deliver()
    [sub] = running.bot.store.subscriptions()
    assert not sub.paused
    assert running.bot.store.delivery_statuses() == {"retry": 1}
    verdict = running.bot.health()
    assert not verdict.ok and "discord token refused" in verdict.reason
    posts = len(running.fake.requests)
    await running.bot.worker.run_once()  # held: no request until the token check is due
    assert len(running.fake.requests) == posts
    running.fake.reset_token(token)
    held = running.bot.worker.health.held("discord")
    assert held is not None
    held.next_check = running.bot.clock()
    await running.bot.worker.run_once()
    assert running.bot.store.delivery_statuses() == {"sent": 1}
    assert len(running.fake.messages_in(DEFAULT_TEXT_CHANNEL_ID)) == 1
    assert running.bot.health().chat == {}


async def test_an_outage_answering_plain_text_is_retried(
    running: Running, feed_server: FeedServer
) -> None:
    await _subscribe(running)
    await running.poll_and_deliver()
    running.fake.start_outage()
    feed_server.serve("/jobs.rss", feed(OLD, NLP))
    await running.poll_and_deliver()
    assert running.bot.store.delivery_statuses() == {"retry": 1}
    assert not running.bot.store.subscriptions()[0].paused
    running.fake.end_outage()


async def test_discord_down_at_start_comes_up_when_it_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    gateway = discord.gateway.DiscordWebSocket
    monkeypatch.setattr(gateway, "DEFAULT_GATEWAY", gateway.DEFAULT_GATEWAY)
    async with FakeDiscord(spec=load_discord_spec()) as fake:
        bot, adapter = _build(tmp_path, fake)
        adapter.start_retry = 0.05
        fake.start_outage()
        try:
            starting = asyncio.create_task(adapter.start())
            await fake.wait_for(lambda: len(fake.requests) >= 2, what="two failed logins")
            assert not starting.done()
            fake.end_outage()
            await asyncio.wait_for(starting, 10)
            assert adapter.client is not None
            await asyncio.wait_for(adapter.client.wait_until_ready(), 10)
            assert adapter.client.intents.value == discord.Intents(guilds=True).value
        finally:
            await bot.aclose()


async def test_run_connects_on_the_same_loop_and_stops_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    gateway = discord.gateway.DiscordWebSocket
    monkeypatch.setattr(gateway, "DEFAULT_GATEWAY", gateway.DEFAULT_GATEWAY)
    async with FakeDiscord(spec=load_discord_spec()) as fake:
        bot, adapter = _build(tmp_path, fake)
        stop = asyncio.Event()
        task = asyncio.create_task(bot.run(stop))
        try:
            await fake.wait_until_identified()
            payload = fake.slash_interaction("jobs", "help", member_permissions=MANAGER)
            await fake.dispatch("INTERACTION_CREATE", payload)
            callback = await fake.wait_for_callback(payload["id"])
            assert "jobbot posts research-internship alerts" in callback["data"]["content"]
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
            await bot.aclose()
        assert adapter.client is not None and adapter.client.is_closed()


def test_typed_options_become_grammar_text() -> None:
    text = render_options(
        "subscribe",
        {"areas": "nlp,cv", "countries": "DE", "keywords": "applied science", "exclude": None},
    )
    assert text == "subscribe area:nlp,cv country:DE 'keywords:applied science'"
    command = parse_command(text)
    assert command.filter is not None and command.filter.keywords == ("applied science",)


def test_autocomplete_completes_the_last_segment_within_25() -> None:
    assert [c.value for c in area_choices("cv,nl")][:1] == ["cv,nlp"]
    assert [c.value for c in country_choices("ger")][:1] == ["DE"]
    assert country_choices("")[:1] and len(country_choices("")) == 25
    zones = timezone_choices("europe/ber")
    assert [c.value for c in zones] == ["Europe/Berlin"]
    assert len(timezone_choices("")) == 25


async def test_digest_now_sends_an_embed_digest(running: Running, feed_server: FeedServer) -> None:
    callback = await running.slash(
        "subscribe", {"areas": "nlp", "mode": "daily", "time": "08:00", "timezone": "Europe/Berlin"}
    )
    assert "mode:daily at:08:00 tz:Europe/Berlin" in callback["data"]["content"]
    await running.poll_and_deliver()
    feed_server.serve("/jobs.rss", feed(OLD, NLP))
    await running.poll_and_deliver()
    assert running.fake.messages_in(DEFAULT_TEXT_CHANNEL_ID) == []  # daily: nothing instant
    answer = await running.slash("digest")
    assert answer["data"]["content"] == "Sending the digest for #1 now."
    await running.fake.wait_for(
        lambda: len(running.fake.messages_in(DEFAULT_TEXT_CHANNEL_ID)) == 1, what="digest"
    )
    [message] = running.fake.messages_in(DEFAULT_TEXT_CHANNEL_ID)
    assert "1 new posting" in message["content"]
    [embed] = message["embeds"]
    assert embed["title"] == "Natural language processing"
    assert running.fake.link_hosts(message) == {"jobs.test.example"}
    assert running.fake.pings(message) == set()


# --- answering within 3 s while the store is busy (#17) ------------------------------------
# The store is held from another thread, as storing a big poll's batch holds it, for longer
# than Discord's 3 s (which the fake enforces: a later first response gets 10062).


async def test_a_command_while_the_store_is_held_is_deferred_then_followed_up(
    running: Running,
) -> None:
    fake = running.fake
    with held(running.bot.store) as hold:
        _, listing = await running.send("list")
        _, subscribing = await running.send("subscribe", {"areas": "nlp"})
        deferred = [await fake.wait_for_callback(i) for i in (listing, subscribing)]
        assert hold.holding  # deferred before the work could finish
        # Private: the reply is not known yet, and errors and listings stay private.
        assert [(c["type"], c["ephemeral"]) for c in deferred] == [(5, True), (5, True)]
        assert fake.followups == []
        hold.release()
    await fake.wait_for(lambda: len(fake.followups) == 3, what="followups")
    by_interaction: dict[Any, list[dict[str, Any]]] = {}
    for followup in fake.followups:
        by_interaction.setdefault(followup["interaction_id"], []).append(followup)
    [listed] = by_interaction[str(listing)]
    assert listed["replaced_original"] and listed["flags"] & 64 and listed["content"]
    # A reply for the channel completes the private placeholder, then goes to everyone.
    placeholder, announced = by_interaction[str(subscribing)]
    assert (placeholder["kind"], placeholder["content"]) == ("edit_original", POSTED_FOR_ALL)
    assert placeholder["flags"] & 64
    assert announced["kind"] == "create" and not announced["flags"] & 64
    assert announced["content"].startswith("Subscribed #1: area:nlp")
    assert all(fake.pings(f) == set() for f in fake.followups)
    # A quick command is still answered at once.
    again = await running.slash("list")
    assert again["type"] == 4 and "#1" in again["data"]["content"]


async def test_a_command_that_fails_says_so_after_the_defer_and_at_once(
    running: Running, caplog: pytest.LogCaptureFixture
) -> None:
    fake = running.fake
    with held(running.bot.store) as hold:
        _, listing = await running.send("list")
        assert (await fake.wait_for_callback(listing))["type"] == 5
        # The database goes away while the command waits for it.
        hold.release(then=lambda store: store.db.conn.close())
    await fake.wait_for(lambda: len(fake.followups) == 1, what="followup")
    [late] = fake.followups
    assert late["content"] == FAILED and late["flags"] & 64
    inline = await running.slash("list")
    assert (inline["type"], inline["data"]["content"]) == (4, FAILED)
    assert inline["data"]["flags"] & 64
    assert caplog.text.count("/jobs list failed") == 2


async def test_a_late_reply_that_cannot_be_delivered_is_logged_not_raised(
    running: Running, caplog: pytest.LogCaptureFixture
) -> None:
    fake = running.fake
    with held(running.bot.store) as hold:
        _, listing = await running.send("list")
        assert (await fake.wait_for_callback(listing))["type"] == 5
        fake.followup_token_ttl = 0.0  # the token has expired by the time the reply is ready
        hold.release()
    for _ in range(250):  # the fake records nothing to wake on: look every 20 ms
        if "could not deliver the late reply" in caplog.text:
            break
        await asyncio.sleep(0.02)
    assert "could not deliver the late reply: 401" in caplog.text
    assert fake.followups == []
    assert "Traceback" not in caplog.text  # an expected failure: one line, not a crash
    fake.followup_token_ttl = 900.0
    assert "no subscriptions" in (await running.slash("list"))["data"]["content"]
