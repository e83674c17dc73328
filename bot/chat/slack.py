"""The Slack delivery adapter: alerts and digests through slack_sdk's AsyncWebClient.

Slack's URLs, retries and 429 handling live here. ``chat.postMessage`` allows about one
message per second per channel, so posts to one channel are paced; a 429 that still
happens is waited out by ``AsyncRateLimitErrorRetryHandler`` (it honours Retry-After),
and one that outlasts its retries becomes a ``TransientChatError`` carrying the hint.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any, TypeVar

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.outcomes import may_have_gone
from bot.chat.pacing import ChannelPacer, interval_pacer, paced
from bot.chat.parts import PartProgress, send_parts
from bot.chat.render import reminder_heading
from bot.chat.slack_render import (
    ALERT_EVENT,
    REMINDER_EVENT,
    SlackMessage,
    alert_message,
    digest_messages,
    notice_message,
)
from bot.errors import (
    ChatError,
    PermanentChatError,
    RejectedMessageError,
    TokenChatError,
    TransientChatError,
)
from bot.sources.http import parse_retry_after
from bot.store import Delivery, StoredPosting
from subscriptions.model import Subscription
from subscriptions.personal import user_of_channel

__all__ = [
    "CHANNEL_ERRORS",
    "MESSAGE_ERRORS",
    "PERMANENT_ERRORS",
    "TOKEN_ERRORS",
    "SlackAdapter",
    "TokenLookup",
    "chat_error",
    "make_client",
]

log = logging.getLogger("jobbot.slack")
T = TypeVar("T")

# Errors by scope (PLATFORMS.md, Slack error codes). The bot can no longer post in this
# channel: pause its subscriptions.
CHANNEL_ERRORS = frozenset(
    {"channel_not_found", "not_in_channel", "is_archived", "restricted_action", "ekm_access_denied"}
    # A personal subscription's user is gone (conversations.open): pause theirs.
    | {"user_not_found", "user_not_visible", "user_disabled"}
)
# The token or the workspace was refused: no channel is at fault, so every row is held
# (none failed or paused) and the token is checked again until it works.
TOKEN_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "account_inactive",
        "missing_scope",
        "team_access_not_granted",
        "no_installation",
        "not_allowed_token_type",
    }
)
# This one message was refused: fail it, saying why, and leave the channel alone.
MESSAGE_ERRORS = frozenset(
    {
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "msg_blocks_too_long",
        "no_text",
        "too_many_attachments",
        "invalid_metadata_format",
        "invalid_metadata_schema",
        "metadata_too_large",
        "metadata_must_be_sent_from_app",
    }
)
#: Every code after which retrying the same call cannot help.
PERMANENT_ERRORS = CHANNEL_ERRORS | MESSAGE_ERRORS
DEFAULT_API_URL = "https://slack.com/api/"
# How many recent messages of a channel are searched for an alert a crash may have sent.
HISTORY_LOOKBACK = 200
HISTORY_CALLS_PER_MINUTE = 40

#: Finds the bot token for a workspace (team id), or None when the app is not installed.
TokenLookup = Callable[[str], Awaitable[str | None]]


def make_client(
    token: str | None = None, *, base_url: str | None = None, max_retries: int = 2
) -> AsyncWebClient:
    """An AsyncWebClient for ``base_url`` that also retries 429s (after Retry-After)."""
    client = AsyncWebClient(token=token, base_url=base_url or DEFAULT_API_URL)
    client.retry_handlers = [
        # Only a connection that was never made is retried at once: after a dropped
        # connection a message may already be posted, and Slack has no idempotency key,
        # so such a row is looked for in the channel's history before it is sent again.
        AsyncConnectionErrorRetryHandler(error_types=[aiohttp.ClientConnectorError]),
        AsyncRateLimitErrorRetryHandler(max_retry_count=max_retries),
    ]
    return client


class SlackAdapter:
    """Posts alerts and digests to Slack channels, one workspace token per team."""

    platform = "slack"

    def __init__(
        self,
        tokens: TokenLookup,
        *,
        base_url: str | None = None,
        per_channel_interval: float = 1.0,
        max_retries: int = 2,
    ) -> None:
        self._tokens = tokens
        self._base_url = base_url
        self._pacer = interval_pacer(per_channel_interval)
        # conversations.history is a Tier 3 method (about 50 calls a minute per workspace;
        # fewer for apps outside the Marketplace): crash recovery keeps well under it.
        self._history_pacer = ChannelPacer(HISTORY_CALLS_PER_MINUTE, 60.0)
        self._max_retries = max_retries
        self._clients: dict[str, AsyncWebClient] = {}
        # Each user's DM channel (team, user) -> D…, from conversations.open; it never changes.
        self._ims: dict[tuple[str, str], str] = {}

    async def _client(self, team: str) -> AsyncWebClient:
        token = await self._tokens(team)
        if not token:
            raise TokenChatError("slack", "no_installation", f"jobbot is not installed in {team}")
        client = self._clients.get(token)
        if client is None:
            client = make_client(token, base_url=self._base_url, max_retries=self._max_retries)
            self._clients[token] = client
        return client

    async def _channel(self, team: str, channel: str) -> str:
        """The channel to post in: a personal target's DM with the app (#19), else itself."""
        user = user_of_channel(channel)
        if user is None:
            return channel
        if (team, user) not in self._ims:
            client = await self._client(team)
            response = await _api(client.conversations_open(users=user))
            im = str((response.get("channel") or {}).get("id") or "")
            if not im:
                raise TransientChatError("slack", "no_im", f"conversations.open gave no id: {user}")
            self._ims[(team, user)] = im
        return self._ims[(team, user)]

    async def _post(self, team: str, channel: str, message: SlackMessage) -> str:
        channel = await self._channel(team, channel)
        key = (team, channel)
        # Pace to Slack's one message per second per channel instead of provoking 429s.
        async with paced(self._pacer, key):
            client = await self._client(team)
            try:
                response = await _api(client.chat_postMessage(channel=channel, **message.payload()))
            except TransientChatError as error:
                if self._pacer is not None and error.retry_after is not None:
                    self._pacer.push_back(key, error.retry_after)
                raise
        return f"{channel}:{response.get('ts')}"

    async def check_auth(self) -> None:
        """Ask Slack (``auth.test``) whether each token in use works; ``ChatError`` if not."""
        for client in list(self._clients.values()):
            await _api(client.auth_test())

    async def check_team(self, team: str) -> dict[str, Any]:
        """``auth.test`` with ``team``'s token: who it is, or ``ChatError`` if refused.

        The client is kept, so ``check_auth`` checks this token again while it is held.
        """
        response = await _api((await self._client(team)).auth_test())
        return response.data if isinstance(response.data, dict) else {}

    async def send_alert(
        self, subscription: Subscription, posting: StoredPosting, delivery_id: int
    ) -> str | None:
        """Post one Block Kit alert; its metadata carries the delivery id."""
        message = alert_message(posting.posting, delivery_id, mention=subscription.schedule.mention)
        return await self._post(subscription.workspace, subscription.channel, message)

    async def edit_alert(
        self, subscription: Subscription, posting: StoredPosting, message_ref: str
    ) -> None:
        """Rewrite a sent alert in place (``chat.update``) to show the posting as it is now."""
        channel, _, ts = message_ref.partition(":")
        if not ts:
            raise PermanentChatError("slack", "bad_message_ref", message_ref)
        message = alert_message(posting.posting, 0, mention=subscription.schedule.mention)
        payload = message.payload()
        # The edit keeps the original message's metadata (the delivery id it carries).
        for key in ("metadata", "unfurl_links", "unfurl_media"):
            payload.pop(key, None)
        client = await self._client(subscription.workspace)
        try:
            await _api(client.chat_update(channel=channel, ts=ts, **payload))
        except ChatError as error:
            if error.code in ("message_not_found", "cant_update_message", "edit_window_closed"):
                raise PermanentChatError("slack", error.code) from error
            raise

    async def send_reminder(
        self,
        subscription: Subscription,
        posting: StoredPosting,
        key: str,
        *,
        days_left: int | None = None,
    ) -> str | None:
        """Post the alert again, headed by how many days are left before its deadline."""
        days = subscription.schedule.remind_days if days_left is None else days_left
        message = alert_message(
            posting.posting,
            0,
            mention=subscription.schedule.mention,
            heading=reminder_heading(posting.posting, days),
        )
        # Not an alert: crash recovery must never take it for one.
        reminder = replace(message, metadata={"event_type": REMINDER_EVENT, "event_payload": {}})
        return await self._post(subscription.workspace, subscription.channel, reminder)

    async def send_notice(self, subscription: Subscription, text: str, key: str) -> str | None:
        """Post a notice from jobbot (no mentions)."""
        return await self._post(subscription.workspace, subscription.channel, notice_message(text))

    async def find_sent(
        self, subscription: Subscription, deliveries: Sequence[Delivery]
    ) -> dict[int, str]:
        """The alerts among these deliveries already posted, found by their metadata in
        the channel's history since the first was queued (one page, one call).

        Asked for rows whose last try may have gone out (a crash, a timeout). Digests and
        grouped messages carry no delivery ids, so they are never found and need no call;
        a row not found, or any row when the history cannot be read (missing
        ``channels:history`` scope, network trouble), is sent again (at least once).
        The calls are paced under Slack's Tier 3 limit for the method, per workspace.
        """
        wanted = {str(d.id): d.id for d in deliveries if d.kind == "instant"}
        if not wanted:
            return {}
        queued = [d.queued_at for d in deliveries if d.queued_at is not None]
        # A minute's margin for clocks that disagree; no message for a row predates it.
        oldest = f"{(min(queued) - timedelta(minutes=1)).timestamp():.6f}" if queued else "0"
        client = await self._client(subscription.workspace)
        try:
            channel = await self._channel(subscription.workspace, subscription.channel)
            async with paced(self._history_pacer, subscription.workspace):
                response = await _api(
                    client.conversations_history(
                        channel=channel,
                        oldest=oldest,
                        limit=HISTORY_LOOKBACK,
                        include_all_metadata=True,
                    )
                )
        except TokenChatError as error:
            if error.code != "missing_scope":
                raise  # the token, not the channel: the rows are held until it works again
            log.warning("cannot read #%s history: %s", subscription.channel, error)
            return {}
        except ChatError as error:
            log.warning("cannot check #%s history: %s", subscription.channel, error)
            return {}
        found = {}
        for message in response.get("messages") or []:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            delivery_id = wanted.get(str(payload.get("delivery_id")))
            if metadata.get("event_type") == ALERT_EVENT and delivery_id is not None:
                found[delivery_id] = f"{channel}:{message.get('ts')}"
        return found

    async def send_digest(
        self,
        subscription: Subscription,
        postings: Sequence[StoredPosting],
        title: str,
        digest_key: str,
        *,
        progress: PartProgress | None = None,
    ) -> list[str]:
        """Post a digest in as many messages as Slack's limits need, from the first not sent.

        Slack de-duplicates nothing, so a retry after a failed part relies on
        ``progress`` to not post the earlier parts again.
        """
        messages = digest_messages(
            title,
            [p.posting for p in postings],
            digest_key,
            mention=subscription.schedule.mention,
        )

        async def send(index: int, message: SlackMessage, refs: Sequence[str]) -> str:
            return await self._post(subscription.workspace, subscription.channel, message)

        return await send_parts(messages, progress, send)


async def _api(call: Awaitable[T]) -> T:
    """Await one Web API call, turning whatever it raises into a ``ChatError``.

    Slack's own refusals are sorted by scope (``chat_error``); dropped connections,
    closed sessions, non-JSON bodies and anything else from slack_sdk or aiohttp are a
    transient error of this row, never an exception that ends a delivery pass.
    """
    try:
        return await call
    except SlackApiError as error:
        raise chat_error(error) from error
    except (TimeoutError, OSError, aiohttp.ClientError) as error:
        raise TransientChatError(
            "slack",
            "network",
            f"{type(error).__name__}: {error}",
            maybe_sent=may_have_gone(error),
        ) from error
    except ChatError:
        raise
    except Exception as error:  # the edge: a client library surprise must not end a pass
        log.warning("unexpected error from slack_sdk: %r", error)
        raise TransientChatError(
            "slack", "unexpected", repr(error)[:300], maybe_sent=True
        ) from error


def chat_error(error: SlackApiError) -> ChatError:
    """The ``ChatError`` for a refused Web API call, by scope: message, channel or token.

    ``error.response`` is a ``SlackResponse`` for a JSON answer, but slack_sdk hands over
    the raw aiohttp response when the body is not JSON (a 503 page from a proxy), so
    nothing here assumes the body is a mapping.
    """
    response: Any = error.response
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    data = getattr(response, "data", None)
    code = str(data.get("error") or "") if isinstance(data, dict) else ""
    code = code or f"http_{status or 'error'}"
    if code in TOKEN_ERRORS:
        return TokenChatError("slack", code, _needed(data))
    if code in CHANNEL_ERRORS:
        return PermanentChatError("slack", code)
    if code in MESSAGE_ERRORS:
        return RejectedMessageError("slack", code, _problems(data))
    retry_after: float | None = None
    if status == 429:
        headers = getattr(response, "headers", None) or {}
        retry_after = parse_retry_after(headers.get("Retry-After") or headers.get("retry-after"))
    return TransientChatError("slack", code, retry_after=retry_after)


def _needed(data: Any) -> str:
    """For ``missing_scope``: the scopes the token lacks, as Slack names them."""
    if isinstance(data, dict) and data.get("needed"):
        return f"needs scope {data['needed']}"
    return ""


def _problems(data: Any) -> str:
    """What Slack said was wrong with a refused message (``response_metadata.messages``)."""
    if not isinstance(data, dict):
        return ""
    meta = data.get("response_metadata")
    messages = meta.get("messages") if isinstance(meta, dict) else None
    return "; ".join(str(m) for m in messages)[:300] if isinstance(messages, list) else ""
