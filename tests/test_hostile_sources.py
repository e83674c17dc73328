"""Hostile sources on 127.0.0.1: an XML bomb, a 50 MB body, a redirect to the cloud
metadata address, a slow-drip body. Each is refused with a clear error for its own poll,
and the other sources keep being polled."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp import web

from bot.app import JobBot
from bot.chat.console import ConsoleAdapter
from bot.config import Settings
from bot.errors import FetchError, ParseError
from bot.sources.base import PollState, kind_for
from bot.sources.http import HttpFetcher, address_refusal
from bot.sources.jsonsafe import load_json
from bot.sources.personio import PersonioSource
from bot.sources.rss import RssSource
from bot.store import Store
from tests.conftest import DATA, NOW

pytestmark = pytest.mark.integration

MB = 1024 * 1024


def billion_laughs(levels: int = 9) -> bytes:
    """The classic entity-expansion bomb as an RSS feed: ~1 KB that expands to 10**9 'lol's."""
    entities = ['<!ENTITY lol0 "lol">']
    for level in range(1, levels + 1):
        entities.append(f'<!ENTITY lol{level} "' + f"&lol{level - 1};" * 10 + '">')
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE rss [\n'
        + "\n".join(entities)
        + f'\n]>\n<rss version="2.0"><channel><title>bomb</title><item><title>&lol{levels};'
        "</title><link>http://example.org/1</link></item></channel></rss>"
    ).encode()


XXE = (
    b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b'<rss version="2.0"><channel><item><title>&xxe;</title><link>http://a.example/1</link>'
    b"</item></channel></rss>"
)


@dataclass
class Hostile:
    base_url: str


async def _big(request: web.Request) -> web.StreamResponse:
    # 50 MB, streamed without a Content-Length so only the reader's own count can stop it.
    response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
    await response.prepare(request)
    chunk = b"<rss>" + b"x" * (MB - 5)
    try:
        for _ in range(50):
            await response.write(chunk)
    except (ConnectionError, asyncio.CancelledError):
        pass
    return response


async def _slow(request: web.Request) -> web.StreamResponse:
    # One byte every 50 ms: every read is quick, but the body never ends.
    response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
    await response.prepare(request)
    try:
        await response.write(b"<rss>")
        for _ in range(2000):
            await asyncio.sleep(0.05)
            await response.write(b" ")
    except (ConnectionError, asyncio.CancelledError):
        pass
    return response


@pytest.fixture
async def hostile() -> AsyncIterator[Hostile]:
    """A server on 127.0.0.1 with one hostile answer per path, and one good feed."""
    good = (DATA / "feed_v1.rss").read_bytes()

    async def redirect_loop(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        raise web.HTTPFound(f"/loop/{n + 1}")

    app = web.Application()
    app.router.add_get("/good.rss", _body(good))
    app.router.add_get("/bomb.rss", _body(billion_laughs()))
    app.router.add_get("/xxe.rss", _body(XXE))
    app.router.add_get("/binary.rss", _body(bytes(range(256)) * 100))
    app.router.add_get("/big.rss", _big)
    app.router.add_get("/slow.rss", _slow)
    app.router.add_get("/metadata", _redirect("http://169.254.169.254/latest/meta-data/"))
    app.router.add_get("/to-good", _redirect("/good.rss"))
    app.router.add_get("/to-file", _redirect("file:///etc/passwd"))
    app.router.add_get("/loop/{n}", redirect_loop)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield Hostile(f"http://127.0.0.1:{runner.addresses[0][1]}")
    await runner.cleanup()


def _body(body: bytes):
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/rss+xml")

    return handler


def _redirect(location: str):
    async def handler(request: web.Request) -> web.Response:
        raise web.HTTPFound(location)

    return handler


def _fetcher() -> HttpFetcher:
    # Private addresses are refused, except the test server's own 127.0.0.1.
    return HttpFetcher(
        timeout=0.5, deadline=1.0, allow_private=False, allowed_addresses={"127.0.0.1"}
    )


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "224.0.0.1",
        "240.0.0.1",
        "0.0.0.0",
        "100.64.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
    ],
)
def test_private_and_special_addresses_are_refused(address: str) -> None:
    assert address_refusal(address) is not None


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700::6810:84e5", "8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    assert address_refusal(address) is None


async def test_loopback_is_refused_unless_allowed(hostile: Hostile) -> None:
    strict = HttpFetcher(timeout=1.0, allow_private=False)
    try:
        with pytest.raises(FetchError, match="loopback.*allow_private_sources"):
            await strict.get(f"{hostile.base_url}/good.rss", PollState())
        with pytest.raises(FetchError, match="loopback"):
            await strict.get(hostile.base_url.replace("127.0.0.1", "localhost"), PollState())
    finally:
        await strict.aclose()
    fetcher = _fetcher()
    try:
        status, body, _ = await fetcher.get(f"{hostile.base_url}/to-good", PollState())
        assert status == 200 and b"<rss" in body
    finally:
        await fetcher.aclose()


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/metadata", r"169\.254\.169\.254 is a link-local address"),
        ("/to-file", "only http and https"),
        ("/loop/0", "more than 5 redirects"),
        ("/big.rss", "over the 10485760-byte cap"),
        ("/slow.rss", "deadline"),
    ],
)
async def test_hostile_answers_are_refused_with_a_clear_error(
    hostile: Hostile, path: str, error: str
) -> None:
    fetcher = _fetcher()
    try:
        with pytest.raises(FetchError, match=error):
            await fetcher.get(hostile.base_url + path, PollState())
    finally:
        await fetcher.aclose()


async def test_other_schemes_are_refused() -> None:
    fetcher = _fetcher()
    try:
        for url in ("file:///etc/passwd", "ftp://example.org/feed", "gopher://127.0.0.1:70/"):
            with pytest.raises(FetchError, match="only http and https"):
                await fetcher.get(url, PollState())
    finally:
        await fetcher.aclose()


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (billion_laughs(), "declares XML entities"),
        (XXE, "declares XML entities"),
        (bytes(range(256)) * 100, "not an RSS or Atom feed"),
        (b'<rss version="2.0">\x00\x01\x02</rss>', "NUL bytes"),
    ],
)
def test_hostile_feed_bodies_raise_parse_error(body: bytes, error: str) -> None:
    with pytest.raises(ParseError, match=error):
        RssSource().parse(body, "hostile", "http://example.org/")


def _as_personio(feed: bytes) -> bytes:
    """The same hostile document with a Personio ``<workzag-jobs>`` root."""
    return (
        feed.replace(b"DOCTYPE rss", b"DOCTYPE workzag-jobs")
        .replace(b'<rss version="2.0">', b"<workzag-jobs>")
        .replace(b"</rss>", b"</workzag-jobs>")
    )


@pytest.mark.parametrize("body", [_as_personio(billion_laughs()), _as_personio(XXE)])
def test_hostile_personio_feeds_are_refused_before_parsing(body: bytes) -> None:
    assert body.lstrip().startswith(b"<?xml") and b"<workzag-jobs>" in body
    with pytest.raises(ParseError, match="declares a document type or XML entities"):
        PersonioSource().parse(body, "hostile", "https://acme.jobs.personio.de/xml")


def test_a_feed_in_a_wrong_encoding_does_not_crash() -> None:
    body = (DATA / "feed_v1.rss").read_bytes().replace(b"</title>", b"\xff\xfe</title>", 1)
    try:
        records = RssSource().parse(body, "latin", "http://example.org/")
    except ParseError:
        return
    assert records and all(isinstance(r.title, str) for r in records)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested 100000 levels"),
        (b'{"a":' * 65 + b"1" + b"}" * 65, "nested 65 levels"),
        (b"\xff\xfe{}", "not valid UTF-8"),
        (b'{"a": NaN}', "not valid JSON"),
        (b"\x00\x01binary", "NUL bytes"),
        (b"", "empty"),
        (b"{" + b'"k": 1,' * 10, "not valid JSON"),
        (b" " * 11 * MB, "over the"),
    ],
)
def test_load_json_refuses_hostile_bodies(body: bytes, error: str) -> None:
    with pytest.raises(ParseError, match=error):
        load_json(body, "hostile")


def test_load_json_reads_ordinary_json_with_brackets_in_strings() -> None:
    body = b'{"title": "[[[[{{{{ not nesting", "jobs": [{"id": 1}, {"id": 2}]}'
    assert load_json(body, "ok") == {
        "title": "[[[[{{{{ not nesting",
        "jobs": [{"id": 1}, {"id": 2}],
    }
    assert load_json(b'{"a":' * 64 + b"1" + b"}" * 64, "deep-but-fine") is not None


async def test_hostile_sources_fail_alone_and_the_good_one_keeps_polling(
    settings: Settings, hostile: Hostile
) -> None:
    store = Store.open(settings.database_path)
    out = io.StringIO()
    bot = JobBot(settings, store, _fetcher(), {"console": ConsoleAdapter(out)}, lambda: NOW)
    try:
        for name in ("bomb", "big", "slow", "xxe", "binary"):
            store.upsert_source(name, "rss", f"{hostile.base_url}/{name}.rss", 600, now=NOW)
        store.upsert_source("metadata", "rss", f"{hostile.base_url}/metadata", 600, now=NOW)
        store.upsert_source("good", "rss", f"{hostile.base_url}/good.rss", 600, now=NOW)
        reports = {r.source: r for r in await bot.poll_due()}
        assert reports["good"].ok and reports["good"].seen > 0
        expected = {
            "bomb": "entities",
            "xxe": "entities",
            "binary": "not an RSS",
            "big": "byte cap",
            "slow": "deadline",
            "metadata": "link-local",
        }
        # The first parse and enrich of the good feed can hold the loop long enough for
        # the slow drip's read timeout to fire before its deadline: both are clear.
        if "timed out" in (reports["slow"].error or ""):
            expected["slow"] = "timed out"
        for name, problem in expected.items():
            assert not reports[name].ok and problem in (reports[name].error or ""), name
            state = store.source(name)
            assert state is not None and problem in (state.last_error or "")
    finally:
        await bot.aclose()


@pytest.fixture
def certificate(tmp_path):
    """A self-signed certificate and key for 'localhost' (made with openssl)."""
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: cannot make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
async def tls_server(certificate):
    """An HTTPS server on 127.0.0.1 presenting the 'localhost' certificate."""
    import ssl

    cert, key = certificate

    async def handler(request: web.Request) -> web.Response:
        return web.Response(text=f"host={request.headers.get('Host')}")

    app = web.Application()
    app.router.add_get("/", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(str(cert), str(key))
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context)
    await site.start()
    yield runner.addresses[0][1], ssl.create_default_context(cafile=str(cert))
    await runner.cleanup()


async def test_https_to_the_checked_address_keeps_the_name_for_sni_and_certificate(
    tls_server,
) -> None:
    import httpx

    port, client_context = tls_server
    fetcher = HttpFetcher(
        allow_private=False,
        allowed_addresses={"127.0.0.1"},
        transport=httpx.AsyncHTTPTransport(verify=client_context),
    )
    try:
        status, body, _ = await fetcher.get(f"https://localhost:{port}/", PollState())
        assert status == 200 and body == f"host=localhost:{port}".encode()
        # Certificate checks still apply: the certificate does not name 127.0.0.1.
        with pytest.raises(FetchError, match="request failed"):
            await fetcher.get(f"https://127.0.0.1:{port}/", PollState())
    finally:
        await fetcher.aclose()


def test_json_source_kinds_share_the_safe_loader() -> None:
    from bot.sources.jsonapi import load_json as source_load_json

    with pytest.raises(ParseError, match="nested 100 levels"):
        source_load_json(b"[" * 100 + b"]" * 100, "greenhouse")
    with pytest.raises(ParseError, match="not valid JSON"):
        source_load_json(b'{"jobs": [NaN]}', "greenhouse")


_LIST_HEAD = b"# List\n\n<table><tr><th>Company</th><th>Role</th><th>Application</th></tr><tr><td>"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (_LIST_HEAD + b"x" * 50_000_000 + b"</td></tr></table>", "too large"),
        (_LIST_HEAD + b"<table><tr><td>" * 400_000, "cut short"),
        (_LIST_HEAD + b"<div>" * 1_000_000 + b"</td></tr>", "cut short"),
        (_LIST_HEAD + b"<a href='" * 1_000_000, "cut short"),
        (_LIST_HEAD + b"<a " + b"x=1 " * 500_000, "cut short"),
        (_LIST_HEAD + b"<!--" * 1_000_000, "cut short"),
    ],
    ids=["50MB", "nested-tables", "nested-divs", "unclosed-quotes", "unclosed-tag", "comments"],
)
def test_hostile_html_table_readmes_raise_parse_error_quickly(body: bytes, error: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ParseError, match=error):
        kind_for("mdtable").parse(body, "hostile", "https://example.org/README.md")
    # HTMLParser.close() is quadratic on unterminated tags; the reader must not call it.
    assert time.perf_counter() - started < 20
