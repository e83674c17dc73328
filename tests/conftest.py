"""Shared fixtures: a fixed clock, an in-memory store, temp settings and a loopback feed server."""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from aiohttp import web

from bot.config import Settings, load_settings
from bot.postings.model import RawPosting
from bot.store import Store
from bot.store.protocols import Store as AnyStore
from subscriptions.grammar import parse_command

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
DATA = Path(__file__).parent / "data"
SHARED = Path(__file__).resolve().parents[2] / "shared"
REAL_FIXTURES = SHARED / "fixtures" / "real"


def needs_shared() -> pytest.MarkDecorator:
    """Skip, saying why, where ../shared (the real fixtures and specs) is absent."""
    return pytest.mark.skipif(
        not REAL_FIXTURES.is_dir(),
        reason=f"../shared is absent ({SHARED} not found): real-data tests need the shared "
        "fixtures beside the project",
    )


@pytest.fixture(scope="session", autouse=True)
def reference_data_loaded() -> None:
    """Load the area taxonomy and country names once, before any test runs.

    The first filter a process reads loads them (about 2 s on a busy machine): a chat
    test's first command would then miss the 2 s a reply may take and be answered
    after the ack, which such a test does not expect.
    """
    parse_command("subscribe area:nlp country:DE")


@pytest.fixture
def now() -> datetime:
    """A fixed 'now' for the pure core."""
    return NOW


@pytest.fixture
def store() -> Iterator[Store]:
    """A fresh in-memory store."""
    db = Store.memory()
    yield db
    db.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with a temp data dir, no default sources, private sources allowed."""
    return load_settings(
        env={"JOBBOT_DATA_DIR": str(tmp_path / "data")},
        cwd=tmp_path,
        overrides={"allow_private_sources": True, "default_sources": False},
    )


@dataclass
class Served:
    """One path's answer: a body, or a status to fail with."""

    body: bytes = b""
    content_type: str = "application/xml"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    truncated: bool = False
    # Builds the body of the n-th request (from 0), for feeds that change on every request.
    each: Callable[[int], bytes] | None = None


@dataclass
class FeedServer:
    """A loopback HTTP server whose answers tests set per path; it honours If-None-Match."""

    base_url: str = ""
    routes: dict[str, Served] = field(default_factory=dict)
    requests: list[tuple[str, int]] = field(default_factory=list)

    def url(self, path: str) -> str:
        """The absolute URL of a path on this server."""
        return f"{self.base_url}{path}"

    def serve(self, path: str, body: bytes, content_type: str = "application/xml") -> None:
        """Answer ``path`` (or an exact ``path?query``) with this body and an ETag from it."""
        self.routes[path] = Served(body, content_type)

    def serve_each(
        self, path: str, body: Callable[[int], bytes], content_type: str = "application/xml"
    ) -> None:
        """Answer the n-th request for ``path`` (from 0) with ``body(n)``."""
        self.routes[path] = Served(content_type=content_type, each=body)

    def fail(self, path: str, status: int, headers: dict[str, str] | None = None) -> None:
        """Answer ``path`` with an error status."""
        self.routes[path] = Served(b"error", "text/plain", status, headers or {})

    def hang(self, path: str, seconds: float) -> None:
        """Answer ``path`` only after ``seconds`` (longer than the fetch timeout: a hang)."""
        self.routes[path] = Served(b"late", "text/plain", delay=seconds)

    def truncate(self, path: str, body: bytes) -> None:
        """Promise ``body`` but send half of it and drop the connection."""
        self.routes[path] = Served(body, truncated=True)

    def statuses(self, path: str) -> list[int]:
        """The statuses answered for one path, in order."""
        return [status for p, status in self.requests if p == path]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        # A route for "path?query" (paged APIs) wins over one for the bare path.
        served = self.routes.get(request.path_qs) or self.routes.get(request.path)
        if served is None:
            self.requests.append((request.path, 404))
            return web.Response(status=404, text="not found")
        if served.each is not None:
            served = replace(served, body=served.each(len(self.statuses(request.path))))
        if served.delay:
            await asyncio.sleep(served.delay)
        if served.truncated:
            self.requests.append((request.path, 200))
            response = web.StreamResponse(headers={"Content-Length": str(len(served.body))})
            await response.prepare(request)
            await response.write(served.body[: len(served.body) // 2])
            assert request.transport is not None
            request.transport.close()  # the rest never comes
            return response
        if served.status != 200:
            self.requests.append((request.path, served.status))
            return web.Response(status=served.status, body=served.body, headers=served.headers)
        etag = '"' + hashlib.sha256(served.body).hexdigest()[:16] + '"'
        if request.headers.get("If-None-Match") == etag:
            self.requests.append((request.path, 304))
            return web.Response(status=304, headers={"ETag": etag})
        self.requests.append((request.path, 200))
        return web.Response(
            body=served.body, content_type=served.content_type, headers={"ETag": etag}
        )


@asynccontextmanager
async def serving_feeds() -> AsyncIterator[FeedServer]:
    """A feed server on 127.0.0.1 (a free port), for as long as the block runs."""
    server = FeedServer()
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", server.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield server
    finally:
        await runner.cleanup()


@pytest.fixture
async def feed_server() -> AsyncIterator[FeedServer]:
    """A feed server on 127.0.0.1 (a free port)."""
    async with serving_feeds() as server:
        yield server


def raw_posting(title: str, description: str = "", locations: tuple[str, ...] = ()) -> RawPosting:
    """A source record with only a title, a text and locations: what enrichment reads."""
    return RawPosting(
        source="test",
        external_id="1",
        url="https://example.org/jobs/1",
        title=title,
        company="Example",
        locations=locations,
        description=description,
    )


# ---------------------------------------------------------------- store backends
# One contract suite runs against every backend (tests/test_store_contract.py). The
# PostgreSQL server comes from JOBBOT_TEST_DATABASE_URL (.ci/run provides one); each test
# session works in a database of its own, emptied before every test.


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The URL of a fresh PostgreSQL database for this session (dropped at the end)."""
    base = os.environ.get("JOBBOT_TEST_DATABASE_URL")
    if not base:
        pytest.skip("JOBBOT_TEST_DATABASE_URL is not set: no PostgreSQL to test against")
    try:
        import psycopg
    except ImportError as error:  # pragma: no cover - psycopg is a dependency
        pytest.skip(f"psycopg is not installed: {error}")
    name = f"jobbot_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg.connect(base, autocommit=True, connect_timeout=5)
    except psycopg.Error as error:
        pytest.skip(f"PostgreSQL at JOBBOT_TEST_DATABASE_URL cannot be reached: {error}")
    with admin:
        admin.execute(f'create database "{name}"')
    parts = urlsplit(base)
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f'drop database if exists "{name}" with (force)')


def empty_postgres(url: str) -> None:
    """Drop every table of the test database."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("drop schema public cascade; create schema public")


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AnyStore]:
    """A fresh store on each backend: a SQLite file, and an empty PostgreSQL database."""
    opened: AnyStore
    if request.param == "sqlite":
        opened = Store.open(tmp_path / "contract.db")
    else:
        url = request.getfixturevalue("postgres_url")
        empty_postgres(url)
        from bot.store.postgres import PostgresStore

        opened = PostgresStore.open(url)
    yield opened
    opened.close()
