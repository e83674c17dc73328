"""Tests of the fake Slack Web API (tests/fakes/slack_api.py) driven by the real slack_sdk.

These pin down the fake's behaviour so that jobbot's integration tests can trust it: the
same AsyncWebClient code paths (JSON bodies, query params, form bodies, 429 retries) that
production uses must work against it.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import AsyncIterator, Sequence
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import builtin_async_handlers
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack_api import (
    APP_TOKEN,
    BOT_TOKEN,
    BOT_USER_ID,
    CLIENT_ID,
    CLIENT_SECRET,
    DEFAULT_CHANNEL_ID,
    TEAM_ID,
    FakeSlack,
    Link,
    block_actions_body,
    check_blocks,
    check_view,
    find_mentions,
    sign_request,
    slash_command_body,
    view_submission_body,
)
from tests.fakes.specs import SKIP_REASON, load_slack_spec

pytestmark = pytest.mark.integration

CHANNEL = DEFAULT_CHANNEL_ID
# Scaled down from Slack's 1 s so that the rate-limit tests stay fast.
FAST_INTERVAL = 0.05
SIGNING_SECRET = "fake-signing-secret"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    """A fake with the spec (when available), a fast rate limit and Retry-After 0."""
    async with FakeSlack(
        spec=load_slack_spec(), per_channel_interval=FAST_INTERVAL, retry_after_seconds=0
    ) as fake:
        yield fake


@pytest.fixture
def client(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)


@pytest.fixture
def fixed_retry_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make AsyncRateLimitErrorRetryHandler sleep exactly Retry-After + 0.2 s.

    The handler adds random.random() (0–1 s) to Retry-After; pinning it keeps the retry
    both fast and reliably later than FAST_INTERVAL, so exactly one 429 happens.
    """
    monkeypatch.setattr(builtin_async_handlers, "random", SimpleNamespace(random=lambda: 0.2))


# --- basics -------------------------------------------------------------------------------


async def test_api_url_points_at_loopback(slack: FakeSlack) -> None:
    assert slack.api_url.startswith("http://127.0.0.1:")
    assert slack.api_url.endswith("/api/")


async def test_auth_test_ok(slack: FakeSlack, client: AsyncWebClient) -> None:
    response = await client.auth_test()
    assert response["ok"] is True
    assert response["team_id"] == TEAM_ID
    assert response["user_id"] == BOT_USER_ID
    assert {"url", "team", "user", "bot_id"} <= set(response.data)
    assert slack.calls[-1].method == "auth.test"
    assert slack.calls[-1].token == BOT_TOKEN


async def test_unknown_token_is_invalid_auth(slack: FakeSlack) -> None:
    stranger = AsyncWebClient(token="xoxb-unknown", base_url=slack.api_url)
    with pytest.raises(SlackApiError) as excinfo:
        await stranger.auth_test()
    assert excinfo.value.response["error"] == "invalid_auth"


async def test_revoked_token(slack: FakeSlack, client: AsyncWebClient) -> None:
    await client.auth_test()
    slack.revoke_token(BOT_TOKEN)
    with pytest.raises(SlackApiError) as excinfo:
        await client.chat_postMessage(channel=CHANNEL, text="after revoke")
    assert excinfo.value.response["error"] == "token_revoked"
    assert slack.messages == []


async def test_fail_auth_refuses_every_token_until_cleared(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    slack.fail_auth("account_inactive")
    with pytest.raises(SlackApiError) as excinfo:
        await client.auth_test()
    assert excinfo.value.response["error"] == "account_inactive"
    slack.fail_auth(None)
    assert (await client.auth_test())["ok"]


async def test_an_outage_answers_503_with_a_plain_text_body(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    slack.start_outage()
    with pytest.raises(SlackApiError) as excinfo:
        await client.chat_postMessage(channel=CHANNEL, text="down")
    assert excinfo.value.response.status_code == 503
    assert slack.messages == [] and slack.calls_to("chat.postMessage")[0].status == 503
    slack.end_outage()
    await client.chat_postMessage(channel=CHANNEL, text="up")
    assert len(slack.messages) == 1


async def test_a_method_tier_answers_429_past_its_calls_per_minute(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    slack.limit_method("conversations.history", 2)
    await client.conversations_history(channel=CHANNEL)
    await client.conversations_history(channel=CHANNEL)
    with pytest.raises(SlackApiError) as excinfo:
        await client.conversations_history(channel=CHANNEL)
    assert excinfo.value.response.status_code == 429
    assert 1 <= int(excinfo.value.response.headers["Retry-After"]) <= 60


async def test_unknown_method(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        await client.api_call("chat.doesNotExist", json={"channel": CHANNEL})
    assert excinfo.value.response["error"] == "unknown_method"


# --- chat.postMessage ---------------------------------------------------------------------


async def test_post_message_is_recorded(slack: FakeSlack, client: AsyncWebClient) -> None:
    blocks = [_section("*Research intern* at Example Lab")]
    metadata = {"event_type": "job_alert_posted", "event_payload": {"alert_id": "a1"}}
    response = await client.chat_postMessage(
        channel=CHANNEL,
        text="Research intern at Example Lab",
        blocks=blocks,
        metadata=metadata,
        unfurl_links=False,
        unfurl_media=False,
    )
    assert response["ok"] is True
    [message] = slack.messages_in(CHANNEL)
    assert message["ts"] == response["ts"]
    assert message["text"] == "Research intern at Example Lab"
    assert message["blocks"] == blocks
    assert message["metadata"] == metadata
    assert message["unfurl_links"] is False and message["unfurl_media"] is False
    # slack_sdk sends chat.postMessage as a JSON body with the token in the header.
    call = slack.calls_to("chat.postMessage")[-1]
    assert call.content_type == "application/json"
    assert "token" not in call.args
    assert slack.violations == []


async def test_ts_values_are_unique_and_increasing(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    for channel in ("C1", "C2", "C3"):
        await client.chat_postMessage(channel=channel, text="x")
    stamps = [m["ts"] for m in slack.messages]
    assert len(set(stamps)) == 3
    assert stamps == sorted(stamps, key=float)
    assert all(len(ts.split(".")[1]) == 6 for ts in stamps)


async def test_form_encoded_post_with_token_field(slack: FakeSlack) -> None:
    # Not what slack_sdk does for chat.postMessage, but other clients (and curl) do.
    form = {
        "token": BOT_TOKEN,
        "channel": CHANNEL,
        "text": "form post",
        "blocks": json.dumps([_section("hello")]),
        "unfurl_links": "false",
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{slack.api_url}chat.postMessage", data=form) as resp,
    ):
        body = await resp.json()
    assert body["ok"] is True, body
    [message] = slack.messages
    assert message["blocks"] == [_section("hello")]
    assert message["unfurl_links"] is False
    assert slack.calls[-1].content_type == "application/x-www-form-urlencoded"


async def test_missing_channel(slack: FakeSlack, client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        await client.api_call("chat.postMessage", json={"text": "no channel"})
    assert excinfo.value.response["error"] == "channel_not_found"
    assert slack.errors


async def test_header_over_150_chars_rejected(slack: FakeSlack, client: AsyncWebClient) -> None:
    header = {"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}
    with pytest.raises(SlackApiError) as excinfo:
        await client.chat_postMessage(channel=CHANNEL, text="t", blocks=[header])
    response = excinfo.value.response
    assert response["error"] == "invalid_blocks"
    assert any("/blocks/0/text/text" in m for m in response["response_metadata"]["messages"])
    assert slack.messages == []
    assert [v.code for v in slack.violations] == ["invalid_blocks"]


async def test_51_blocks_rejected(slack: FakeSlack, client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        await client.chat_postMessage(channel=CHANNEL, text="t", blocks=[{"type": "divider"}] * 51)
    assert excinfo.value.response["error"] == "invalid_blocks"
    await client.chat_postMessage(channel=CHANNEL, text="t", blocks=[{"type": "divider"}] * 50)
    assert len(slack.messages) == 1


async def test_blocks_without_text_is_a_warning(slack: FakeSlack, client: AsyncWebClient) -> None:
    # slack_sdk itself warns too; filterwarnings=error would otherwise turn it into a failure.
    with pytest.warns(UserWarning, match="top-level `text`"):
        await client.chat_postMessage(channel=CHANNEL, blocks=[_section("no fallback")])
    assert len(slack.messages) == 1
    assert [v.code for v in slack.warnings] == ["missing_text_fallback"]
    assert slack.errors == []


@pytest.mark.parametrize(
    ("blocks", "pointer"),
    [
        ([{"type": "carousel"}], "/blocks/0/type"),
        (
            [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}],
            "/blocks/0/fields",
        ),
        (
            [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}],
            "/blocks/0/text/text",
        ),
        (
            [
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "text": {"type": "plain_text", "text": "b" * 76},
                            "url": "https://example.org/",
                        }
                    ],
                }
            ],
            "/blocks/0/elements/0/text/text",
        ),
        (
            [{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}],
            "/blocks/0/elements",
        ),
        (
            [
                {
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": "pick"},
                    "accessory": {
                        "type": "static_select",
                        "action_id": "a",
                        "options": [
                            {"text": {"type": "plain_text", "text": "o"}, "value": "v" * 151}
                        ],
                    },
                }
            ],
            "/blocks/0/accessory/options/0/value",
        ),
        ([{"type": "divider", "block_id": "b" * 256}], "/blocks/0/block_id"),
        (
            [{"type": "divider", "block_id": "same"}, {"type": "divider", "block_id": "same"}],
            "/blocks/1/block_id",
        ),
    ],
    ids=[
        "unknown-type",
        "11-fields",
        "section-3001",
        "button-76",
        "context-11",
        "option-151",
        "block-id-256",
        "dup-block-id",
    ],
)
def test_block_checks(blocks: list[dict[str, Any]], pointer: str) -> None:
    problems = check_blocks(blocks)
    assert any(f"[json-pointer:{pointer}]" in p for p in problems), problems


def test_valid_job_alert_blocks_pass() -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "ML research intern"}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "*Example Lab* · Remote"},
            "fields": [{"type": "mrkdwn", "text": f"field {i}"} for i in range(10)],
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "via RSS"}]},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Apply"},
                    "url": "https://example.org/jobs/1",
                    "action_id": "apply",
                }
            ],
        },
    ]
    assert check_blocks(blocks) == []


def test_view_checks() -> None:
    modal = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "t" * 25},
        "blocks": [{"type": "divider"}] * 101,
    }
    problems = check_view(modal)
    assert any("/view/title/text" in p for p in problems)
    assert any("[json-pointer:/view/blocks]" in p for p in problems)


async def test_views_open_rejects_long_title(slack: FakeSlack, client: AsyncWebClient) -> None:
    view = {"type": "modal", "title": {"type": "plain_text", "text": "x" * 25}, "blocks": []}
    with pytest.raises(SlackApiError) as excinfo:
        await client.views_open(trigger_id="1.2.abc", view=view)
    assert excinfo.value.response["error"] == "invalid_arguments"
    ok = await client.views_open(
        trigger_id="1.2.abc",
        view={"type": "modal", "title": {"type": "plain_text", "text": "Jobs"}, "blocks": []},
    )
    assert ok["view"]["id"] in slack.views


# --- spec checks --------------------------------------------------------------------------


@pytest.mark.shared
@pytest.mark.skipif(load_slack_spec() is None, reason=SKIP_REASON)
async def test_unknown_arg_rejected_with_spec(slack: FakeSlack, client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        await client.chat_postMessage(channel=CHANNEL, text="t", colour="red")
    assert excinfo.value.response["error"] == "invalid_arg_name"
    assert [v.code for v in slack.violations] == ["invalid_arg_name"]
    assert slack.messages == []


@pytest.mark.shared
@pytest.mark.skipif(load_slack_spec() is None, reason=SKIP_REASON)
async def test_newer_args_are_allowed_and_metadata_round_trips(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    metadata = {"event_type": "job_alert_posted", "event_payload": {"alert_id": "a7"}}
    await client.chat_postMessage(channel=CHANNEL, text="job", metadata=metadata)
    plain = await client.conversations_history(channel=CHANNEL)
    assert "metadata" not in plain["messages"][0]
    full = await client.conversations_history(channel=CHANNEL, include_all_metadata=True)
    assert full["messages"][0]["metadata"] == metadata
    assert slack.violations == []


async def test_without_spec_arg_names_are_not_checked() -> None:
    async with FakeSlack(spec=None) as fake:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url)
        await client.chat_postMessage(channel=CHANNEL, text="t", colour="red")
        assert len(fake.messages) == 1


# --- rate limiting ------------------------------------------------------------------------


@pytest.mark.usefixtures("fixed_retry_jitter")
async def test_rate_limit_retried_by_handler(slack: FakeSlack) -> None:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
    await client.chat_postMessage(channel=CHANNEL, text="first")
    await client.chat_postMessage(channel=CHANNEL, text="second")
    assert slack.rate_limited_count == 1
    assert [m["text"] for m in slack.messages_in(CHANNEL)] == ["first", "second"]
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [200, 429, 200]


async def test_rate_limit_without_handler_surfaces_429() -> None:
    async with FakeSlack(per_channel_interval=FAST_INTERVAL) as fake:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url)
        await client.chat_postMessage(channel=CHANNEL, text="first")
        with pytest.raises(SlackApiError) as excinfo:
            await client.chat_postMessage(channel=CHANNEL, text="second")
        # Other channels have their own budget.
        await client.chat_postMessage(channel="C0OTHER", text="elsewhere")
    response = excinfo.value.response
    assert response.status_code == 429
    assert response["error"] == "ratelimited"
    # Default Retry-After: ceil of the remaining wait, never below 1, always an integer.
    assert response.headers["Retry-After"] == "1"
    assert fake.rate_limited_count == 1
    assert [m["text"] for m in fake.messages] == ["first", "elsewhere"]


# --- failure injection --------------------------------------------------------------------


async def test_fail_channel(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.fail_channel("C0GONE", "channel_not_found")
    slack.fail_channel("C0KICKED", "not_in_channel")
    for channel, error in (("C0GONE", "channel_not_found"), ("C0KICKED", "not_in_channel")):
        with pytest.raises(SlackApiError) as excinfo:
            await client.chat_postMessage(channel=channel, text="t")
        assert excinfo.value.response["error"] == error
    slack.fail_channel("C0GONE", None)
    await client.chat_postMessage(channel="C0GONE", text="back")
    assert [m["channel"] for m in slack.messages] == ["C0GONE"]


async def test_fail_next(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.fail_next("chat.postMessage", status=500)
    slack.fail_next("chat.postMessage", error="fatal_error")
    with pytest.raises(SlackApiError) as first:
        await client.chat_postMessage(channel=CHANNEL, text="t")
    assert first.value.response.status_code == 500
    with pytest.raises(SlackApiError) as second:
        await client.chat_postMessage(channel=CHANNEL, text="t")
    assert second.value.response["error"] == "fatal_error"
    await client.chat_postMessage(channel=CHANNEL, text="t")
    assert len(slack.messages) == 1


async def test_fail_next_after_lets_calls_through_first(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    slack.fail_next("chat.postMessage", status=503, after=1)
    # Two channels: the fake holds each to one message a second.
    await client.chat_postMessage(channel=CHANNEL, text="part 1")
    with pytest.raises(SlackApiError) as failed:
        await client.chat_postMessage(channel="C0OTHER", text="part 2")
    assert failed.value.response.status_code == 503
    await client.chat_postMessage(channel="C0OTHER", text="part 2")
    assert [m["text"] for m in slack.messages] == ["part 1", "part 2"]


async def test_strict_channels() -> None:
    async with FakeSlack(channels={"C0JOBS": "jobs"}) as fake:
        fake.add_channel("C0OLD", "old", is_archived=True)
        client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url)
        for channel, error in (("C0NOPE", "channel_not_found"), ("C0OLD", "is_archived")):
            with pytest.raises(SlackApiError) as excinfo:
                await client.chat_postMessage(channel=channel, text="t")
            assert excinfo.value.response["error"] == error
        info = await client.conversations_info(channel="C0JOBS")
        assert info["channel"]["name"] == "jobs"


# --- other methods ------------------------------------------------------------------------


async def test_chat_update_and_history(slack: FakeSlack, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel=CHANNEL, text="v1")
    await client.chat_update(channel=CHANNEL, ts=posted["ts"], text="v2")
    assert slack.messages[0]["text"] == "v2"
    history = await client.conversations_history(channel=CHANNEL)
    assert [m["text"] for m in history["messages"]] == ["v2"]
    with pytest.raises(SlackApiError) as excinfo:
        await client.chat_update(channel=CHANNEL, ts="1.000000", text="nope")
    assert excinfo.value.response["error"] == "message_not_found"


async def test_users_members_ephemeral(slack: FakeSlack, client: AsyncWebClient) -> None:
    user = (await client.users_info(user="U0USER"))["user"]
    assert user["id"] == "U0USER"
    members = await client.conversations_members(channel=CHANNEL)
    assert "U0USER" in members["members"]
    await client.chat_postEphemeral(channel=CHANNEL, user="U0USER", text="only you")
    assert slack.ephemerals[0]["user"] == "U0USER"


async def test_apps_connections_open_needs_app_token(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    response = await client.apps_connections_open(app_token=APP_TOKEN)
    assert response["url"].startswith("ws://127.0.0.1:")
    with pytest.raises(SlackApiError) as excinfo:
        await client.apps_connections_open(app_token=BOT_TOKEN)
    assert excinfo.value.response["error"] == "not_allowed_token_type"


# slack_sdk 3.47 builds aiohttp.BasicAuth for oauth.v2.access, which aiohttp 3.14 deprecates;
# the warning comes from the SDK, not from the code under test.
@pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")
async def test_oauth_v2_access(slack: FakeSlack) -> None:
    token = slack.add_oauth_code("code-1", team_id="T0NEW")
    anonymous = AsyncWebClient(base_url=slack.api_url)
    response = await anonymous.oauth_v2_access(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code="code-1"
    )
    assert response["access_token"] == token
    assert response["team"]["id"] == "T0NEW"
    installed = AsyncWebClient(token=token, base_url=slack.api_url)
    assert (await installed.auth_test())["team_id"] == "T0NEW"
    with pytest.raises(SlackApiError) as excinfo:  # codes are single-use
        await anonymous.oauth_v2_access(
            client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code="code-1"
        )
    assert excinfo.value.response["error"] == "invalid_code"


@pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")
async def test_oauth_v2_access_for_an_org_wide_install(slack: FakeSlack) -> None:
    token = slack.add_oauth_code(
        "code-org", team_id="T0ORG1", enterprise_id="E0ORG", is_enterprise_install=True
    )
    anonymous = AsyncWebClient(base_url=slack.api_url)
    response = await anonymous.oauth_v2_access(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code="code-org"
    )
    assert response["team"] is None and response["is_enterprise_install"] is True
    assert response["enterprise"]["id"] == "E0ORG"
    identity = await AsyncWebClient(token=token, base_url=slack.api_url).auth_test()
    assert identity["enterprise_id"] == "E0ORG" and identity["is_enterprise_install"] is True
    # A workspace install in an org keeps its team and names the org.
    token = slack.add_oauth_code("code-ws", team_id="T0ORG2", enterprise_id="E0ORG")
    response = await anonymous.oauth_v2_access(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code="code-ws"
    )
    assert response["team"]["id"] == "T0ORG2" and response["is_enterprise_install"] is False
    identity = await AsyncWebClient(token=token, base_url=slack.api_url).auth_test()
    assert (identity["team_id"], identity["enterprise_id"]) == ("T0ORG2", "E0ORG")


async def test_response_url_records_posts(slack: FakeSlack) -> None:
    url = slack.response_url("cmd1")
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json={"text": "done", "response_type": "ephemeral"}) as resp:
            assert resp.status == 200
    assert slack.responses["cmd1"] == [{"text": "done", "response_type": "ephemeral"}]


# --- mentions -----------------------------------------------------------------------------


async def test_mentions_in_raw_vs_escaped(slack: FakeSlack, client: AsyncWebClient) -> None:
    await client.chat_postMessage(channel="C0RAW", text="Hiring <!channel> now")
    await client.chat_postMessage(
        channel="C0ESCAPED",
        text="Hiring &lt;!channel&gt; now",
        blocks=[_section("&lt;!here&gt; &lt;@U123&gt; <https://example.org/job|Apply>")],
    )
    raw, escaped = slack.messages
    assert slack.mentions_in(raw).broadcasts == ["channel"]
    audit = slack.mentions_in(escaped)
    assert not audit.notifies_anyone
    assert audit.links == [Link("https://example.org/job", "Apply")]


def test_find_mentions_kinds() -> None:
    found = find_mentions(
        {
            "text": "<@U1> <!subteam^S1|@team> <#C1> <!here> <!date^1|x> <mailto:a@b.org>",
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": "<!everyone>"}},
                {
                    "type": "rich_text",
                    "elements": [
                        {
                            "type": "rich_text_section",
                            "elements": [{"type": "broadcast", "range": "everyone"}],
                        }
                    ],
                },
            ],
        }
    )
    assert found.users == ["U1"]
    assert found.subteams == ["S1"]
    assert found.channels == ["C1"]
    assert found.broadcasts == ["here", "everyone"]  # plain_text header is not parsed by Slack
    assert found.link_urls == ["mailto:a@b.org"]
    assert find_mentions({"text": "@here look", "link_names": True}).broadcasts == ["here"]
    assert not find_mentions("@here look")


# --- signed requests for bolt -------------------------------------------------------------


def test_sign_request_matches_slack_sdk_verifier() -> None:
    body = slash_command_body("subscribe ml")
    headers = sign_request(SIGNING_SECRET, body)
    assert SignatureVerifier(SIGNING_SECRET).is_valid_request(body, headers)
    stale = sign_request(SIGNING_SECRET, body, timestamp=1_000_000_000)
    assert not SignatureVerifier(SIGNING_SECRET).is_valid_request(body, stale)
    fields = urllib.parse.parse_qs(body)
    assert fields["command"] == ["/jobs"]
    assert fields["text"] == ["subscribe ml"]


def _bolt_app(slack: FakeSlack) -> AsyncApp:
    return AsyncApp(
        client=AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url),
        signing_secret=SIGNING_SECRET,
        # Run listeners inside dispatch, so their effects are visible when dispatch returns.
        process_before_response=True,
    )


def _signed(body: str, *, signed_body: str | None = None) -> AsyncBoltRequest:
    """A bolt request for ``body``, signed over ``signed_body`` (default: the body itself)."""
    headers: dict[str, str | Sequence[str]] = {
        "Content-Type": "application/x-www-form-urlencoded",
        **sign_request(SIGNING_SECRET, body if signed_body is None else signed_body),
    }
    return AsyncBoltRequest(body=body, headers=headers)


async def test_bolt_slash_command_round_trip(slack: FakeSlack) -> None:
    app = _bolt_app(slack)

    @app.command("/jobs")
    async def jobs(ack: Any, respond: Any, command: dict[str, Any]) -> None:
        await ack()
        await respond(f"you said {command['text']}")

    body = slash_command_body("list", response_url=slack.response_url("list"))
    response = await app.async_dispatch(_signed(body))
    assert response.status == 200
    assert slack.responses["list"][0]["text"] == "you said list"
    assert "auth.test" in [c.method for c in slack.calls]  # bolt verified the token


async def test_bolt_accepts_interaction_bodies(slack: FakeSlack) -> None:
    app = _bolt_app(slack)
    seen: dict[str, Any] = {}

    @app.view("jobs_subscribe")
    async def on_submit(ack: Any, view: dict[str, Any]) -> None:
        seen["values"] = view["state"]["values"]
        await ack()

    @app.action("mute")
    async def on_mute(ack: Any, action: dict[str, Any]) -> None:
        seen["value"] = action["value"]
        await ack()

    values = {"kw": {"kw_input": {"type": "plain_text_input", "value": "robotics"}}}
    submitted = await app.async_dispatch(_signed(view_submission_body(values)))
    clicked = await app.async_dispatch(_signed(block_actions_body("mute", value="job-1")))
    assert (submitted.status, clicked.status) == (200, 200)
    assert seen == {"values": values, "value": "job-1"}
    body = slash_command_body("list")
    tampered = _signed(body.replace("list", "list+--all"), signed_body=body)
    assert (await app.async_dispatch(tampered)).status == 401
