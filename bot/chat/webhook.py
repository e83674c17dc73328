"""The webhook adapter: each alert or grouped message is POSTed as JSON to a URL.

A subscription with platform ``webhook`` names its target URL as its channel
(``jobbot subs add --platform webhook --channel https://example.org/hook area:nlp``).
Every request carries an ``Idempotency-Key`` header (the delivery id of an alert, the
digest key of a grouped message), so a receiver can drop a repeat. Receivers that also
answer ``GET <url>?subscription_id=S&posting_id=P`` with ``{"found": true, "ref": ...}``
when that posting reached them for that subscription (anything else means it did not) let
jobbot resolve, after a crash, a delivery that
was in flight without sending it again.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import httpx

from bot.chat.outcomes import may_have_gone
from bot.chat.parts import PartProgress, send_parts
from bot.chat.render import digest_sections, plain_alert, plain_digest
from bot.errors import PermanentChatError, TransientChatError
from bot.postings.model import posting_json
from bot.sources.decoding import ACCEPT_ENCODING, BoundedDecoder
from bot.sources.http import parse_retry_after
from bot.store import Delivery, StoredPosting
from subscriptions.model import Subscription

__all__ = ["WebhookAdapter"]

PLATFORM = "webhook"
# A lookup answer is a small JSON object; nothing past this is read or decoded.
MAX_ANSWER_BYTES = 64 * 1024


async def _read_answer(response: httpx.Response) -> bytes | None:
    """Up to MAX_ANSWER_BYTES of the decoded body, or None when it is longer or unreadable."""
    try:
        decoder = BoundedDecoder(response.headers.get("Content-Encoding"), MAX_ANSWER_BYTES)
        chunks, raw_size = [], 0
        async for raw in response.aiter_raw():
            raw_size += len(raw)
            if raw_size > MAX_ANSWER_BYTES:
                return None
            chunks.append(decoder.feed(raw))
        chunks.append(decoder.flush())
    except ValueError:  # stacked or unknown encoding, over the cap, corrupt stream
        return None
    return b"".join(chunks)


def _item(subscription: Subscription, stored: StoredPosting) -> dict[str, Any]:
    return {
        "subscription_id": subscription.id,
        "posting_id": stored.id,
        **posting_json(stored.posting),
    }


class WebhookAdapter:
    """POSTs alerts and grouped messages as JSON to each subscription's URL."""

    platform = PLATFORM

    def __init__(
        self, *, timeout: float = 10.0, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            headers={"User-Agent": "jobbot-webhook", "Accept-Encoding": ACCEPT_ENCODING},
            transport=transport,
        )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    async def _post(self, url: str, key: str, payload: dict[str, Any]) -> str:
        try:
            # Streamed and closed unread: an answer's body is never decoded, so a receiver
            # answering with a compression bomb costs nothing.
            async with self._client.stream(
                "POST", url, json=payload, headers={"Idempotency-Key": key}
            ) as response:
                status = response.status_code
                headers = response.headers
        except httpx.HTTPError as error:
            raise TransientChatError(
                PLATFORM, type(error).__name__, url, maybe_sent=may_have_gone(error)
            ) from error
        if status == 429 or status >= 500:
            raise TransientChatError(
                PLATFORM,
                f"HTTP {status}",
                url,
                retry_after=parse_retry_after(headers.get("Retry-After")),
            )
        if status in (401, 403, 404, 410):
            raise PermanentChatError(PLATFORM, f"HTTP {status}", url)
        if status >= 400:
            raise TransientChatError(PLATFORM, f"HTTP {status}", url)
        return f"{PLATFORM}:{key}"

    async def send_alert(
        self, subscription: Subscription, posting: StoredPosting, delivery_id: int
    ) -> str | None:
        """POST one alert; its delivery id is the idempotency key."""
        key = f"delivery-{delivery_id}"
        payload = {
            "type": "alert",
            "idempotency_key": key,
            "delivery_id": delivery_id,
            "text": plain_alert(posting.posting),
            "postings": [_item(subscription, posting)],
        }
        return await self._post(subscription.channel, key, payload)

    async def send_digest(
        self,
        subscription: Subscription,
        postings: Sequence[StoredPosting],
        title: str,
        digest_key: str,
        *,
        progress: PartProgress | None = None,
    ) -> list[str]:
        """POST a grouped message (a digest or a burst) in one request.

        Its idempotency key comes from ``digest_key``, the same on every retry; once the
        request is recorded as sent (``progress``) it is not made again.
        """
        key = f"{subscription.id}-{digest_key}"
        ids = {id(p.posting): p.id for p in postings}
        sections = [
            {
                "area": section.area or None,
                "label": section.label,
                "posting_ids": [ids[id(p)] for p in section.postings],
            }
            for section in digest_sections([p.posting for p in postings])
        ]
        payload = {
            "type": "digest",
            "idempotency_key": key,
            "title": title,
            "text": plain_digest(title, [p.posting for p in postings]),
            "postings": [_item(subscription, p) for p in postings],
            "sections": sections,  # by area, each newest first, as the text shows them
        }

        async def send(index: int, body: dict[str, Any], refs: Sequence[str]) -> str:
            return await self._post(subscription.channel, key, body)

        return await send_parts([payload], progress, send)

    async def find_sent(
        self, subscription: Subscription, deliveries: Sequence[Delivery]
    ) -> dict[int, str]:
        """Ask the receiver, posting by posting, which of these reached it for this
        subscription (a receiver has no platform limit to keep a lookup under)."""
        found = {}
        for delivery in deliveries:
            ref = await self._find_one(subscription, delivery.posting, delivery.id)
            if ref is not None:
                found[delivery.id] = ref
        return found

    async def _find_one(
        self, subscription: Subscription, posting: StoredPosting, delivery_id: int
    ) -> str | None:
        """Whether this posting reached the receiver for this subscription.

        Only an explicit ``{"found": true}`` counts: an endpoint that answers every GET
        with 200 must not make jobbot skip an alert.
        """
        params = {"subscription_id": subscription.id, "posting_id": posting.id}
        try:
            async with self._client.stream("GET", subscription.channel, params=params) as response:
                status = response.status_code
                body = await _read_answer(response) if status == 200 else None
        except httpx.HTTPError as error:
            raise TransientChatError(PLATFORM, type(error).__name__, "lookup") from error
        if status == 429 or status >= 500:
            raise TransientChatError(PLATFORM, f"HTTP {status}", "lookup")
        if body is None:
            return None
        try:
            answer = json.loads(body)
        except ValueError:
            return None
        if not isinstance(answer, dict) or answer.get("found") is not True:
            return None
        return str(answer.get("ref") or f"{PLATFORM}:delivery-{delivery_id}")
