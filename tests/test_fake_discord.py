"""A real discord.py client against the fake Discord REST API + gateway.

These tests pin down that the fake speaks Discord well enough for discord.py (login,
READY/GUILD_CREATE, command sync, interactions, 429 handling, error mapping) and that it
enforces the documented limits, so bot tests built on it fail where Discord would.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.app_commands import Choice

from tests.fakes.discord_api import (
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_FORUM_CHANNEL_ID,
    DEFAULT_GUILD_ID,
    DEFAULT_MOD_ROLE_ID,
    DEFAULT_TEXT_CHANNEL_ID,
    VIEW_CHANNEL,
    FakeDiscord,
)
from tests.fakes.specs import SKIP_REASON, load_discord_spec

pytestmark = pytest.mark.integration

GUILD = discord.Object(DEFAULT_GUILD_ID)
DEGREES = [
    Choice(name="PhD only", value="phd-only"),
    Choice(name="Master's or PhD", value="masters-or-phd"),
    Choice(name="Any degree", value="any"),
]
COUNTRIES = ("DE", "DK", "FR", "NL")


@dataclass
class Bot:
    """A connected discord.py client and its command tree."""

    client: discord.Client
    tree: app_commands.CommandTree[discord.Client]
    task: asyncio.Task[None]

    def text_channel(self) -> discord.TextChannel:
        channel = self.client.get_channel(DEFAULT_TEXT_CHANNEL_ID)
        assert isinstance(channel, discord.TextChannel)
        return channel


def build_tree(client: discord.Client) -> app_commands.CommandTree[discord.Client]:
    """A tiny ``/jobs`` command group like the real bot's."""
    tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(client)
    jobs = app_commands.Group(name="jobs", description="Research-internship alerts")

    @jobs.command(name="subscribe", description="Get alerts for matching postings")
    @app_commands.describe(
        areas="Research areas, comma separated",
        countries="ISO country codes, comma separated",
        degree="Which degree the posting may require",
    )
    @app_commands.choices(degree=DEGREES)
    async def subscribe(
        interaction: discord.Interaction,
        areas: str,
        countries: str | None = None,
        degree: Choice[str] | None = None,
    ) -> None:
        where = countries or "anywhere"
        level = degree.value if degree else "any"
        await interaction.response.send_message(
            f"Subscribed to {areas} in {where} ({level}).",
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )

    @subscribe.autocomplete("countries")
    async def countries_autocomplete(
        interaction: discord.Interaction, current: str
    ) -> list[Choice[str]]:
        return [Choice(name=c, value=c) for c in COUNTRIES if c.startswith(current.upper())]

    @jobs.command(name="list", description="List your subscriptions")
    async def list_subscriptions(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.followup.send("You have 1 subscription.", ephemeral=True)

    tree.add_command(jobs, guild=GUILD)
    return tree


@pytest.fixture
async def fake(request: pytest.FixtureRequest) -> AsyncIterator[FakeDiscord]:
    """A started fake with discord.py pointed at it; ``indirect`` params override options."""
    options: dict[str, Any] = {
        "spec": load_discord_spec(),
        "per_channel_limit": 50,
        "per_channel_window": 1.0,
    }
    options.update(getattr(request, "param", {}))
    async with FakeDiscord(**options) as server:
        server.patch_discord_py()
        yield server


@pytest.fixture
async def bot(fake: FakeDiscord) -> AsyncIterator[Bot]:
    """A real discord.py client logged in and connected to the fake gateway."""
    client = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.05)
    tree = build_tree(client)
    await client.login(fake.token)
    task = asyncio.create_task(client.connect(reconnect=False))
    try:
        await asyncio.wait_for(client.wait_until_ready(), 5)
        yield Bot(client, tree, task)
    finally:
        await client.close()
        await asyncio.wait_for(task, 5)


async def raw(
    fake: FakeDiscord, method: str, path: str, body: Any = None, *, token: str | None = None
) -> tuple[int, dict[str, str], Any]:
    """One request to the fake without discord.py: (status, headers, parsed JSON or None)."""
    headers = {"Authorization": f"Bot {token or fake.token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, fake.api_base + path, json=body, headers=headers) as resp,
    ):
        text = await resp.text()
        data = await resp.json(content_type=None) if text else None
        return resp.status, dict(resp.headers), data


async def sync_jobs(bot: Bot) -> list[app_commands.AppCommand]:
    return await bot.tree.sync(guild=GUILD)


# ---------------------------------------------------------------------------- gateway


async def test_login_ready_and_guild_create(bot: Bot, fake: FakeDiscord) -> None:
    client = bot.client
    assert client.user is not None and client.user.id == fake.bot_user_id and client.user.bot
    assert client.application_id == fake.application_id
    assert fake.identifies[0]["intents"] == discord.Intents.default().value
    guild = client.get_guild(DEFAULT_GUILD_ID)
    assert guild is not None and guild.me is not None
    assert guild.default_role.permissions.send_messages
    channel = bot.text_channel()
    assert channel.permissions_for(guild.me).embed_links
    forum = client.get_channel(DEFAULT_FORUM_CHANNEL_ID)
    assert isinstance(forum, discord.ForumChannel)
    assert [t.name for t in forum.available_tags] == ["nlp", "vision", "robotics"]
    assert guild.get_role(DEFAULT_MOD_ROLE_ID) is not None


async def test_resume_after_reconnect_request(bot: Bot, fake: FakeDiscord) -> None:
    resumed = asyncio.ensure_future(bot.client.wait_for("resumed", timeout=5))
    await fake.request_reconnect()
    await resumed
    assert fake.resumes == 1
    assert len(fake.identifies) == 1  # resumed, not re-identified


async def test_guild_delete_removes_guild(bot: Bot, fake: FakeDiscord) -> None:
    removed = asyncio.ensure_future(bot.client.wait_for("guild_remove", timeout=5))
    await fake.remove_guild(DEFAULT_GUILD_ID)
    guild = await removed
    assert guild.id == DEFAULT_GUILD_ID
    assert bot.client.get_channel(DEFAULT_TEXT_CHANNEL_ID) is None
    with pytest.raises(discord.Forbidden) as info:
        await bot.client.http.send_message(DEFAULT_TEXT_CHANNEL_ID, params=_params("hi"))
    assert info.value.code == 50001


def _params(content: str) -> Any:
    return discord.http.MultipartParameters(
        payload={"content": content}, multipart=None, files=None
    )


# ---------------------------------------------------------------------------- commands


async def test_tree_sync_reaches_fake_and_is_validated(bot: Bot, fake: FakeDiscord) -> None:
    synced = await sync_jobs(bot)
    assert [c.name for c in synced] == ["jobs"]
    assert len(fake.command_syncs) == 1
    assert fake.command_syncs[0]["guild_id"] == str(DEFAULT_GUILD_ID)
    stored = fake.commands(DEFAULT_GUILD_ID)[0]
    subcommands = {o["name"]: o for o in stored["options"]}
    assert set(subcommands) == {"subscribe", "list"}
    degree = next(o for o in subcommands["subscribe"]["options"] if o["name"] == "degree")
    assert [c["value"] for c in degree["choices"]] == ["phd-only", "masters-or-phd", "any"]
    # Re-syncing keeps the command id, as Discord does.
    again = await sync_jobs(bot)
    assert again[0].id == synced[0].id
    assert fake.violations == []


async def test_command_rules_are_enforced(bot: Bot, fake: FakeDiscord) -> None:
    bad = [
        {"name": "Jobs", "description": "x", "type": 1},
        {
            "name": "alerts",
            "description": "d" * 101,
            "type": 1,
            "options": [
                {
                    "type": 3,
                    "name": "area",
                    "description": "area",
                    "autocomplete": True,
                    "choices": [{"name": "NLP", "value": "nlp"}],
                }
            ],
        },
    ]
    with pytest.raises(discord.HTTPException) as info:
        await bot.client.http.bulk_upsert_guild_commands(
            fake.application_id, DEFAULT_GUILD_ID, payload=bad
        )
    assert info.value.status == 400 and info.value.code == 50035
    paths = set(fake.violations[-1]["paths"])
    assert {"0.name", "1.description", "1.options.0.autocomplete"} <= paths
    assert fake.command_syncs == []


async def test_slash_command_gets_ephemeral_reply(bot: Bot, fake: FakeDiscord) -> None:
    await sync_jobs(bot)
    payload = fake.slash_interaction(
        "jobs", "subscribe", {"areas": "nlp", "countries": "DE", "degree": "phd-only"}
    )
    await fake.dispatch("INTERACTION_CREATE", payload)
    callback = await fake.wait_for_callback(payload["id"])
    assert callback["type"] == 4
    assert callback["data"]["flags"] == 64
    assert callback["data"]["content"] == "Subscribed to nlp in DE (phd-only)."
    assert fake.pings(callback) == set()
    # A second initial response to the same interaction is refused.
    status, _, body = await raw(
        fake,
        "POST",
        f"/interactions/{payload['id']}/{payload['token']}/callback",
        {"type": 4, "data": {"content": "again"}},
    )
    assert (status, body["code"]) == (400, 40060)


async def test_interactions_carry_the_bots_permissions_in_their_channel(
    bot: Bot, fake: FakeDiscord
) -> None:
    await sync_jobs(bot)
    default = fake.slash_interaction("jobs", "list")
    assert default["app_permissions"] == str(DEFAULT_BOT_PERMISSIONS)
    fake.set_bot_permissions(DEFAULT_FORUM_CHANNEL_ID, VIEW_CHANNEL)
    post = fake.add_forum_post(name="hello")
    assert post["parent_id"] == str(DEFAULT_FORUM_CHANNEL_ID)
    payload = fake.slash_interaction("jobs", "list", channel_id=post["id"])
    # A forum post has the forum's overwrites; the whole thread comes with it.
    assert payload["app_permissions"] == str(VIEW_CHANNEL)
    assert payload["channel"]["thread_metadata"]["archived"] is False
    await fake.dispatch("INTERACTION_CREATE", payload)
    await fake.wait_for_callback(payload["id"])
    other = fake.slash_interaction("jobs", "list", channel_id=DEFAULT_TEXT_CHANNEL_ID)
    assert other["app_permissions"] == str(DEFAULT_BOT_PERMISSIONS)


async def test_slash_helper_checks_registered_options(bot: Bot, fake: FakeDiscord) -> None:
    with pytest.raises(LookupError):
        fake.slash_interaction("jobs", "subscribe", {"areas": "nlp"})
    await sync_jobs(bot)
    with pytest.raises(ValueError, match="registered choices"):
        fake.slash_interaction("jobs", "subscribe", {"areas": "nlp", "degree": "postdoc"})
    with pytest.raises(ValueError, match="unknown option"):
        fake.slash_interaction("jobs", "subscribe", {"areas": "nlp", "salary": "high"})


async def test_autocomplete_interaction(bot: Bot, fake: FakeDiscord) -> None:
    await sync_jobs(bot)
    payload = fake.autocomplete_interaction(
        "jobs", "subscribe", {"areas": "nlp"}, focused="countries", value="d"
    )
    await fake.dispatch("INTERACTION_CREATE", payload)
    callback = await fake.wait_for_callback(payload["id"])
    assert callback["type"] == 8
    assert [c["value"] for c in callback["data"]["choices"]] == ["DE", "DK"]


async def test_deferred_reply_and_followup(bot: Bot, fake: FakeDiscord) -> None:
    await sync_jobs(bot)
    payload = fake.slash_interaction("jobs", "list")
    await fake.dispatch("INTERACTION_CREATE", payload)
    callback = await fake.wait_for_callback(payload["id"])
    assert (callback["type"], callback["ephemeral"]) == (5, True)
    await fake.wait_for(lambda: len(fake.followups) == 1, what="followup")
    followup = fake.followups[0]
    assert followup["content"] == "You have 1 subscription."
    assert followup["replaced_original"] and followup["message_id"] == callback["message_id"]
    assert followup["flags"] & 64


# ---------------------------------------------------------------------------- messages


async def test_send_embed_with_nonce_is_recorded_once(bot: Bot, fake: FakeDiscord) -> None:
    channel = bot.text_channel()
    embed = discord.Embed(
        title="Research intern, NLP",
        description="[Apply](https://jobs.example.org/42) @everyone",
        url="https://jobs.example.org/42",
        colour=0x2B6CB0,
    )
    embed.add_field(name="Where", value="Berlin, DE")
    first = await channel.send(
        "@everyone new posting",
        embed=embed,
        allowed_mentions=discord.AllowedMentions.none(),
        nonce="x1",
    )
    second = await channel.send(
        "@everyone new posting",
        embed=embed,
        allowed_mentions=discord.AllowedMentions.none(),
        nonce="x1",
    )
    assert first.id == second.id
    assert fake.deduplicated_count == 1
    [record] = fake.messages_in(DEFAULT_TEXT_CHANNEL_ID)
    assert record["nonce"] == "x1" and record["enforce_nonce"] is True
    assert record["allowed_mentions"] == {"parse": []}
    assert record["embeds"][0]["title"] == "Research intern, NLP"
    assert fake.pings(record) == set()
    assert fake.pings(first) == set()
    assert fake.link_hosts(record) == {"jobs.example.org"}
    assert fake.markdown_links(record) == [("Apply", "https://jobs.example.org/42")]


async def test_forced_429_is_waited_out(bot: Bot, fake: FakeDiscord) -> None:
    fake.force_429(DEFAULT_TEXT_CHANNEL_ID, retry_after=0.2)
    started = time.monotonic()
    await bot.text_channel().send("after a rate limit")
    assert time.monotonic() - started >= 0.2
    assert fake.rate_limited_count == 1
    assert [m["content"] for m in fake.messages_in(DEFAULT_TEXT_CHANNEL_ID)] == [
        "after a rate limit"
    ]


@pytest.mark.parametrize(
    "fake", [{"per_channel_limit": 2, "per_channel_window": 0.3}], indirect=True
)
async def test_rate_limit_headers_make_discord_py_wait(bot: Bot, fake: FakeDiscord) -> None:
    channel = bot.text_channel()
    started = time.monotonic()
    for i in range(3):
        await channel.send(f"alert {i}")
    assert time.monotonic() - started >= 0.2  # waited for the bucket to reset
    assert fake.rate_limited_count == 0  # pre-emptively, thanks to X-RateLimit-* headers
    assert len(fake.messages_in(DEFAULT_TEXT_CHANNEL_ID)) == 3


@pytest.mark.parametrize(
    "fake", [{"per_channel_limit": 1, "per_channel_window": 5.0}], indirect=True
)
async def test_429_has_the_shape_discord_py_needs(fake: FakeDiscord) -> None:
    path = f"/channels/{DEFAULT_TEXT_CHANNEL_ID}/messages"
    status, headers, _ = await raw(fake, "POST", path, {"content": "one"})
    assert status == 200 and headers["X-RateLimit-Remaining"] == "0"
    assert headers["Content-Type"] == "application/json"
    status, headers, body = await raw(fake, "POST", path, {"content": "two"})
    assert status == 429
    assert headers["Via"] and float(headers["Retry-After"]) >= 1
    assert body["message"] == "You are being rate limited." and body["global"] is False
    assert 0 < body["retry_after"] <= 5.0
    assert fake.rate_limited_count == 1 and len(fake.messages) == 1


async def test_over_long_embed_title_is_rejected(bot: Bot, fake: FakeDiscord) -> None:
    with pytest.raises(discord.HTTPException) as info:
        await bot.text_channel().send(embed=discord.Embed(title="t" * 257))
    assert info.value.status == 400 and info.value.code == 50035
    assert "embeds.0.title" in fake.violations[-1]["paths"]
    assert fake.messages == []


async def test_limits_without_spec_and_empty_message() -> None:
    async with FakeDiscord(spec=None) as fake:
        path = f"/channels/{DEFAULT_TEXT_CHANNEL_ID}/messages"
        status, _, body = await raw(fake, "POST", path, {"content": "x" * 2001})
        assert (status, body["code"]) == (400, 50035)
        assert body["errors"]["content"]["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH"
        row = {
            "type": 1,
            "components": [{"type": 2, "style": 5, "label": "Apply", "custom_id": "a"}],
        }
        status, _, body = await raw(fake, "POST", path, {"components": [row]})
        assert status == 400 and "url" in body["errors"]["components"]["0"]["components"]["0"]
        status, _, body = await raw(fake, "POST", path, {"content": "   "})
        assert (status, body["code"]) == (400, 50006)


@pytest.mark.skipif(load_discord_spec() is None, reason=SKIP_REASON)
async def test_schema_checks_cover_what_limits_do_not(fake: FakeDiscord) -> None:
    path = f"/channels/{DEFAULT_TEXT_CHANNEL_ID}/messages"
    body = {"content": "hi", "sticker_ids": ["1", "2", "3", "4"]}
    status, _, answer = await raw(fake, "POST", path, body)
    assert (status, answer["code"]) == (400, 50035)
    assert "sticker_ids" in answer["errors"]


async def test_permission_failures_map_to_discord_py_errors(bot: Bot, fake: FakeDiscord) -> None:
    channel = bot.text_channel()
    fake.fail_channel(DEFAULT_TEXT_CHANNEL_ID, status=403, code=50013)
    with pytest.raises(discord.Forbidden) as forbidden:
        await channel.send("hello")
    assert forbidden.value.code == 50013
    fake.fail_channel(DEFAULT_TEXT_CHANNEL_ID, status=404, code=10003, times=1)
    with pytest.raises(discord.NotFound) as missing:
        await channel.send("hello")
    assert missing.value.code == 10003
    await channel.send("hello")  # the one-shot failure is used up
    assert len(fake.messages) == 1


async def test_fail_message_fails_one_message_create_after_some(
    bot: Bot, fake: FakeDiscord
) -> None:
    channel = bot.text_channel()
    fake.fail_message(after=1, status=503)
    await channel.send("part 1")
    with pytest.raises(discord.DiscordServerError) as failed:
        await channel.send("part 2")  # discord.py does not retry a 503
    assert failed.value.status == 503
    await channel.send("part 2")
    assert [m["content"] for m in fake.messages] == ["part 1", "part 2"]


async def test_forum_post_creates_thread_and_message(bot: Bot, fake: FakeDiscord) -> None:
    forum = bot.client.get_channel(DEFAULT_FORUM_CHANNEL_ID)
    assert isinstance(forum, discord.ForumChannel)
    tag = forum.available_tags[0]
    created = await forum.create_thread(
        name="NLP intern @ Example Lab",
        embed=discord.Embed(title="NLP intern", description="Berlin"),
        applied_tags=[tag],
        allowed_mentions=discord.AllowedMentions.none(),
    )
    assert created.thread.parent_id == DEFAULT_FORUM_CHANNEL_ID
    [thread] = fake.threads
    assert thread["name"] == "NLP intern @ Example Lab" and thread["applied_tags"] == [str(tag.id)]
    assert fake.messages_in(created.thread.id)[0]["embeds"][0]["title"] == "NLP intern"
    with pytest.raises(discord.HTTPException):
        await forum.create_thread(name="x" * 101, content="too long a name")


# ---------------------------------------------------------------------------- plumbing


async def test_unknown_route_and_bad_token(fake: FakeDiscord) -> None:
    status, _, body = await raw(fake, "GET", "/no/such/route")
    assert (status, body) == (404, {"message": "404: Not Found", "code": 0})
    status, _, body = await raw(fake, "GET", "/users/@me", token="wrong")
    assert (status, body["code"]) == (401, 50014)
    client = discord.Client(intents=discord.Intents.default())
    try:
        with pytest.raises(discord.LoginFailure):
            await client.login("wrong")
    finally:
        await client.close()


def test_pings_follow_allowed_mentions() -> None:
    fake = FakeDiscord()
    assert fake.pings({"content": "@everyone"}) == {"everyone"}
    assert fake.pings({"content": "@everyone", "allowed_mentions": {"parse": []}}) == set()
    role_only = {"content": "<@&123> and <@5>", "allowed_mentions": {"parse": [], "roles": ["123"]}}
    assert fake.pings(role_only) == {"role:123"}
    assert fake.pings({"content": "<@!5> @here"}) == {"user:5", "here"}
    embed_only = {"content": "", "embeds": [{"description": "@everyone [x](https://evil.test/a)"}]}
    assert fake.pings(embed_only) == set()
    assert fake.link_hosts(embed_only) == {"evil.test"}


async def test_a_command_is_offered_in_dms_only_where_it_declares_it(fake: FakeDiscord) -> None:
    """Like Discord's client: a guild command never, a global one per its ``contexts`` and
    ``integration_types`` (a guild install alone reaches only the bot's DM)."""
    base = {"name": "jobs", "description": "alerts", "type": 1}
    status, _, _ = await raw(
        fake, "PUT", f"/applications/{fake.application_id}/guilds/{DEFAULT_GUILD_ID}/commands",
        [base],
    )  # fmt: skip
    assert status == 200
    with pytest.raises(LookupError, match="not a global command"):
        fake.private_slash_interaction("jobs")
    for declared, context, user_install, offered in (
        ({}, 1, False, True),  # Discord's defaults: every context, server install
        ({}, 1, True, False),  # not user-installable unless declared
        ({"contexts": [0], "integration_types": [0, 1]}, 1, True, False),
        ({"contexts": [0, 1], "integration_types": [0, 1]}, 2, True, False),
        ({"contexts": [0, 1, 2], "integration_types": [0]}, 2, False, False),
        ({"contexts": [0, 1, 2], "integration_types": [0, 1]}, 2, True, True),
    ):
        status, _, _ = await raw(
            fake, "PUT", f"/applications/{fake.application_id}/commands", [{**base, **declared}]
        )
        assert status == 200
        where = {"context": context, "user_install": user_install}
        if not offered:
            with pytest.raises(LookupError):
                fake.private_slash_interaction("jobs", **where)  # type: ignore[arg-type]
            continue
        payload = fake.private_slash_interaction("jobs", **where)  # type: ignore[arg-type]
        assert "guild_id" not in payload and "member" not in payload
        assert payload["context"] == context and payload["user"]["id"] == str(fake.user_id)
