"""Decoding bounded by what is decoded: a compression bomb from a source or a webhook
receiver on 127.0.0.1 is cut at the cap (or refused when its encodings are stacked) and
the process never holds more than a few megabytes of it."""

from __future__ import annotations

import asyncio
import gzip
import json
import struct
import sys
import zlib
from collections.abc import AsyncIterator
from functools import cache

import pytest
from aiohttp import web

from bot.errors import FetchError
from bot.sources.base import PollState
from bot.sources.decoding import BodyTooLarge, BoundedDecoder, UnsupportedEncoding
from bot.sources.http import HttpFetcher

MB = 1024 * 1024


@cache
def gzip_of_zeros(megabytes: int) -> bytes:
    """A valid gzip member of ``megabytes`` MiB of zeros, built without compressing them all.

    After a full flush deflate starts afresh, so every further MiB of zeros compresses to
    the same block: the block is computed once and repeated (~1 KB per MiB).
    """
    zeros = bytes(MB)
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    first = packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)
    repeat = packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(megabytes):
        crc = zlib.crc32(zeros, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    final_block = b"\x03\x00"  # an empty final fixed-Huffman block
    trailer = struct.pack("<II", crc, (megabytes * MB) & 0xFFFFFFFF)
    return header + first + repeat * (megabytes - 1) + final_block + trailer


# ------------------------------------------------------------------ the decoder alone


def test_the_bomb_builder_makes_a_valid_gzip() -> None:
    assert gzip.decompress(gzip_of_zeros(3)) == bytes(3 * MB)


@pytest.mark.parametrize(
    ("encoding", "packed"),
    [
        (None, b"hello world"),
        ("identity", b"hello world"),
        ("gzip", gzip.compress(b"hello world")),
        ("x-gzip", gzip.compress(b"hello world")),
        ("deflate", zlib.compress(b"hello world")),
        ("deflate", zlib.compress(b"hello world")[2:-4]),  # raw deflate, as some servers send
        ("GZip ", gzip.compress(b"hello world")),
    ],
)
def test_one_encoding_is_decoded_in_any_chunking(encoding: str | None, packed: bytes) -> None:
    for step in (1, 3, len(packed)):
        decoder = BoundedDecoder(encoding, 100)
        out = b"".join(decoder.feed(packed[i : i + step]) for i in range(0, len(packed), step))
        assert out + decoder.flush() == b"hello world"


@pytest.mark.parametrize("encoding", ["gzip, gzip", "gzip,deflate", "br", "zstd", "compress"])
def test_stacked_and_unknown_encodings_are_refused(encoding: str) -> None:
    with pytest.raises(UnsupportedEncoding, match=r"Content-Encoding"):
        BoundedDecoder(encoding, 100)


def test_the_cap_counts_decoded_bytes_and_stops_decoding_at_it() -> None:
    bomb = gzip_of_zeros(64)
    decoder = BoundedDecoder("gzip", MB)
    with pytest.raises(BodyTooLarge, match="1048576-byte cap"):
        for i in range(0, len(bomb), 1024):
            decoder.feed(bomb[i : i + 1024])
    assert decoder.size <= MB + 1


def test_a_corrupt_stream_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="corrupt gzip"):
        BoundedDecoder("gzip", 100).feed(b"\x1f\x8b not gzip at all")


# ------------------------------------------------------------------ through a real server


@pytest.fixture
async def bomb_server() -> AsyncIterator[str]:
    """127.0.0.1 serving a 1 GiB gzip bomb once (/single) and twice gzipped (/double)."""
    inner = gzip_of_zeros(1024)  # ~1 MB on the wire, 1 GiB decoded
    outer = gzip.compress(inner)  # ~2 KB on the wire, 1 GiB after two decodings

    def answer(body: bytes, encoding: str):
        async def handler(request: web.Request) -> web.Response:
            return web.Response(
                body=body,
                headers={"Content-Encoding": encoding, "Content-Type": "application/json"},
            )

        return handler

    app = web.Application()
    for method in ("GET", "POST"):
        app.router.add_route(method, "/single", answer(inner, "gzip"))
        app.router.add_route(method, "/double", answer(outer, "gzip, gzip"))
        app.router.add_route(method, "/brotli", answer(b"\x00" * 10, "br"))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def test_stacked_and_unknown_encodings_fail_the_poll_clearly(bomb_server: str) -> None:
    fetcher = HttpFetcher(timeout=5, allow_private=True)
    try:
        with pytest.raises(FetchError, match=r"stacked Content-Encoding 'gzip, gzip'"):
            await fetcher.get(f"{bomb_server}/double", PollState())
        with pytest.raises(FetchError, match=r"unsupported Content-Encoding 'br'"):
            await fetcher.get(f"{bomb_server}/brotli", PollState())
        with pytest.raises(FetchError, match=r"over the 10485760-byte cap"):
            await fetcher.get(f"{bomb_server}/single", PollState())
    finally:
        await fetcher.aclose()


# Run in a fresh interpreter so its peak RSS is the fetch's and the webhook's alone.
_CHILD = """
import asyncio, json, sys
from datetime import UTC, datetime
from benchmarks.scale import peak_rss_mb
from bot.chat.webhook import WebhookAdapter
from bot.errors import FetchError
from bot.postings.model import Posting
from bot.sources.base import PollState
from bot.sources.http import HttpFetcher
from bot.store import StoredPosting
from subscriptions.model import Filter, Subscription
from tests.store_readers import unsure

base = sys.argv[1]

async def main():
    errors = {}
    fetcher = HttpFetcher(timeout=30, allow_private=True)
    for path in ("double", "single"):
        try:
            await fetcher.get(f"{base}/{path}", PollState())
            errors[path] = None
        except FetchError as error:
            errors[path] = str(error)
    await fetcher.aclose()
    adapter = WebhookAdapter(timeout=30)
    posting = Posting(source="t", external_id="1", url="https://a.example/1", title="Intern")
    stored = StoredPosting(id=1, posting=posting, first_seen_at=datetime.now(UTC))
    for path in ("double", "single"):
        sub = Subscription(id=1, platform="webhook", workspace="", channel=f"{base}/{path}",
                           filter=Filter())
        errors[f"webhook-{path}"] = await adapter.send_alert(sub, stored, 7)
        errors[f"lookup-{path}"] = await adapter.find_sent(sub, unsure(sub, stored, 7)) or None
    await adapter.aclose()
    # ru_maxrss would carry over the test runner's peak from before exec: VmHWM is ours.
    peak_mb = peak_rss_mb()
    print(json.dumps({"errors": errors, "peak_mb": peak_mb}))

asyncio.run(main())
"""


@pytest.mark.integration
async def test_a_doubly_gzipped_gigabyte_fails_the_poll_in_under_300_mb(bomb_server: str) -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _CHILD,
        bomb_server,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(child.communicate(), timeout=120)
    assert child.returncode == 0, err.decode()
    report = json.loads(out)
    errors = report["errors"]
    assert "stacked Content-Encoding 'gzip, gzip' is refused" in errors["double"]
    assert "over the 10485760-byte cap" in errors["single"]
    # The webhook answers were never decoded: the alerts count as sent, the lookups as
    # "not found", and memory stayed flat.
    assert errors["webhook-double"] == errors["webhook-single"] == "webhook:delivery-7"
    assert errors["lookup-double"] is errors["lookup-single"] is None
    assert report["peak_mb"] < 300, report
