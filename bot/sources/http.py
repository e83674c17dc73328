"""HTTP for sources: one shared httpx client with timeouts, a size cap and conditional GETs.

Source URLs come from configuration and from chat admins, so the fetcher treats them as
untrusted: only http and https; the host is resolved and private, loopback, link-local,
multicast and reserved addresses are refused unless the operator allows them
(``allow_private_sources``). Redirects are followed here, not by httpx, so that every
hop is checked. To defeat DNS rebinding the request goes to the address that was
checked (the URL's host is kept for the Host header and TLS SNI), and the peer address
of the connection is checked again before the body is read.
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import socket
import time
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

import httpx

from bot import __version__
from bot.errors import FetchError
from bot.sources.base import PollState
from bot.sources.decoding import (
    ACCEPT_ENCODING,
    BodyTooLarge,
    BoundedDecoder,
    UnsupportedEncoding,
)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MAX_REDIRECTS",
    "HttpFetcher",
    "address_refusal",
    "parse_retry_after",
]

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
MAX_REDIRECTS = 5
USER_AGENT = f"jobbot/{__version__} (+self-hosted job alert bot)"
_REDIRECTS = {301, 302, 303, 307, 308}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def address_refusal(address: str) -> str | None:
    """Why a source may not be fetched from this IP address, or None when it may.

    Refuses loopback, private, link-local (cloud metadata at 169.254.169.254), multicast,
    reserved, unspecified and every other non-global address, also when written as an
    IPv4-mapped IPv6 address.
    """
    try:
        ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"{address!r} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for kind, flag in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("unspecified", ip.is_unspecified),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
    ):
        if flag:
            return f"{ip} is a {kind} address"
    if not ip.is_global:
        return f"{ip} is not a public address"
    return None


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
        allow_private: bool = False,
        deadline: float | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        allowed_addresses: Collection[str] = (),
    ) -> None:
        """``timeout`` bounds connect and each read; ``deadline`` (default 3 × timeout) the
        whole request with its redirects, so a slow-drip body cannot hold a poll forever.

        ``allowed_addresses`` lets exact IPs through the address check; it exists for tests
        that serve hostile answers from 127.0.0.1 with ``allow_private`` off.
        """
        self.max_bytes = max_bytes
        self.allow_private = allow_private
        self.deadline = deadline if deadline is not None else 3 * timeout
        self._allowed = frozenset(allowed_addresses)
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": ACCEPT_ENCODING},
            transport=transport,
            # A proxy from the environment would hide the peer address that is checked.
            trust_env=allow_private,
        )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    def _refusal(self, address: str) -> str | None:
        if self.allow_private or address in self._allowed:
            return None
        return address_refusal(address)

    async def _resolve(self, url: httpx.URL, original: str) -> str | None:
        """The checked address to connect to (None when private addresses are allowed)."""
        if url.scheme not in ("http", "https"):
            raise FetchError(original, f"only http and https URLs are fetched, not {url!s:.200}")
        host = url.host
        if not host:
            raise FetchError(original, f"URL has no host: {url!s:.200}")
        if self.allow_private:
            return None
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except OSError as error:
            raise FetchError(original, f"cannot resolve host {host!r}: {error}") from error
        addresses = [str(info[4][0]) for info in infos]
        for address in addresses:
            refusal = self._refusal(address)
            if refusal:
                raise FetchError(
                    original,
                    f"refused to fetch {host} ({refusal}); set allow_private_sources = true "
                    "to allow sources on private networks",
                )
        if not addresses:
            raise FetchError(original, f"host {host!r} has no address")
        return addresses[0]

    async def get(self, url: str, state: PollState) -> tuple[int, bytes, dict[str, str]]:
        """GET with If-None-Match / If-Modified-Since; the body is read up to the size cap.

        Raises FetchError for refused addresses, network failures, error statuses,
        oversized bodies, too many redirects and answers slower than the deadline.
        """
        try:
            async with asyncio.timeout(self.deadline):
                return await self._get(url, state)
        except TimeoutError as error:
            raise FetchError(
                url, f"no complete answer within the {self.deadline:g}-second deadline"
            ) from error

    async def _get(self, url: str, state: PollState) -> tuple[int, bytes, dict[str, str]]:
        headers = {}
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
        try:
            target = httpx.URL(url)
        except httpx.InvalidURL as error:
            raise FetchError(url, f"not a valid URL: {error}") from error
        for _hop in range(MAX_REDIRECTS + 1):
            address = await self._resolve(target, url)
            request_url, extensions = target, {}
            hop_headers = dict(headers)
            if address is not None:
                # Connect to the checked address, not to a second DNS answer (rebinding).
                request_url = target.copy_with(host=address)
                hop_headers["Host"] = target.netloc.decode("ascii")
                if target.scheme == "https":
                    extensions["sni_hostname"] = target.host
                    # The pool keys connections by address, not name: a TLS connection
                    # made for one host name must not carry a request for another.
                    hop_headers["Connection"] = "close"
            try:
                request = self._client.build_request(
                    "GET", request_url, headers=hop_headers, extensions=extensions
                )
                response = await self._client.send(request, stream=True)
            except httpx.TimeoutException as error:
                raise FetchError(url, f"timed out ({type(error).__name__})") from error
            except httpx.HTTPError as error:
                raise FetchError(url, f"request failed: {type(error).__name__}: {error}") from error
            try:
                self._check_peer(response, url)
                if response.status_code in _REDIRECTS and "location" in response.headers:
                    try:
                        target = target.join(response.headers["location"])
                    except httpx.InvalidURL as error:
                        raise FetchError(url, f"bad redirect location: {error}") from error
                    continue
                return await self._read(response, url)
            finally:
                await response.aclose()
        raise FetchError(url, f"more than {MAX_REDIRECTS} redirects")

    def _check_peer(self, response: httpx.Response, url: str) -> None:
        if self.allow_private:
            return
        stream: Any = response.extensions.get("network_stream")
        peer = stream.get_extra_info("server_addr") if stream is not None else None
        if peer:
            refusal = self._refusal(str(peer[0]))
            if refusal:
                raise FetchError(url, f"refused: connected to {refusal}")

    async def _read(self, response: httpx.Response, url: str) -> tuple[int, bytes, dict[str, str]]:
        if response.status_code == 304:
            return 304, b"", dict(response.headers)
        if response.status_code >= 400:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            raise FetchError(url, f"HTTP {response.status_code}", retry_after=retry_after)
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchError(url, f"body of {declared} bytes is over the {self.max_bytes}-byte cap")
        try:
            decoder = BoundedDecoder(response.headers.get("Content-Encoding"), self.max_bytes)
        except UnsupportedEncoding as error:
            raise FetchError(url, str(error)) from error
        chunks: list[bytes] = []
        raw_size = 0
        try:
            # Raw bytes are decoded here, not by httpx, so the cap counts decoded bytes as
            # they stream and a gzip bomb is cut at the cap without ever being inflated.
            async for raw in response.aiter_raw():
                raw_size += len(raw)
                if raw_size > self.max_bytes:
                    raise FetchError(url, f"body is over the {self.max_bytes}-byte cap")
                chunks.append(decoder.feed(raw))
            chunks.append(decoder.flush())
        except BodyTooLarge as error:
            raise FetchError(
                url, f"body is over the {self.max_bytes}-byte cap ({error})"
            ) from error
        except ValueError as error:
            raise FetchError(url, str(error)) from error
        except httpx.TimeoutException as error:
            raise FetchError(url, f"timed out ({type(error).__name__})") from error
        except httpx.HTTPError as error:
            raise FetchError(url, f"request failed: {type(error).__name__}: {error}") from error
        return response.status_code, b"".join(chunks), dict(response.headers)


def now_utc() -> datetime:
    """The current time in UTC (the edges read the clock; the core takes it as an argument)."""
    return datetime.now(UTC)
