"""HTTP for sources: one shared httpx client with timeouts, a size cap and conditional GETs."""

from __future__ import annotations

import email.utils
import time
from datetime import UTC, datetime

import httpx

from bot import __version__
from bot.errors import FetchError
from bot.sources.base import PollState

__all__ = ["DEFAULT_MAX_BYTES", "HttpFetcher", "parse_retry_after"]

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
USER_AGENT = f"jobbot/{__version__} (+self-hosted job alert bot)"


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else time.time()
    return max(0.0, when.timestamp() - current)


class HttpFetcher:
    """Fetches source URLs. One instance (and one connection pool) per process."""

    def __init__(
        self,
        *,
        timeout: float = 20.0,
        max_bytes: int = DEFAULT_MAX_BYTES,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.max_bytes = max_bytes
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            follow_redirects=True,
            max_redirects=5,
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"},
            transport=transport,
        )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    async def get(self, url: str, state: PollState) -> tuple[int, bytes, dict[str, str]]:
        """GET with If-None-Match / If-Modified-Since; the body is read up to the size cap.

        Raises FetchError for network failures, error statuses and oversized bodies.
        """
        headers = {}
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
        try:
            async with self._client.stream("GET", url, headers=headers) as response:
                if response.status_code == 304:
                    return 304, b"", dict(response.headers)
                if response.status_code >= 400:
                    retry_after = parse_retry_after(response.headers.get("Retry-After"))
                    raise FetchError(url, f"HTTP {response.status_code}", retry_after=retry_after)
                declared = response.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > self.max_bytes:
                    raise FetchError(
                        url, f"body of {declared} bytes is over the {self.max_bytes}-byte cap"
                    )
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise FetchError(url, f"body is over the {self.max_bytes}-byte cap")
                    chunks.append(chunk)
                return response.status_code, b"".join(chunks), dict(response.headers)
        except httpx.TimeoutException as error:
            raise FetchError(url, f"timed out ({type(error).__name__})") from error
        except httpx.TooManyRedirects as error:
            raise FetchError(url, "too many redirects") from error
        except httpx.HTTPError as error:
            raise FetchError(url, f"request failed: {type(error).__name__}: {error}") from error


def now_utc() -> datetime:
    """The current time in UTC (the edges read the clock; the core takes it as an argument)."""
    return datetime.now(UTC)
