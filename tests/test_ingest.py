"""A poll that fails while storing is logged, counted, shown and backed off (#18)."""

from __future__ import annotations

import io
import logging
import sqlite3

import pytest

from bot.app import build
from bot.config import Settings
from tests.conftest import DATA, FeedServer

pytestmark = pytest.mark.integration


async def test_a_poll_failing_while_storing_is_counted_shown_and_backed_off(
    settings: Settings, feed_server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    feed_server.serve("/jobs.rss", (DATA / "feed_v1.rss").read_bytes())
    bot = build(settings, console=io.StringIO())
    try:
        bot.store.upsert_source("full", "rss", feed_server.url("/jobs.rss"), 600, now=bot.clock())
        # The real SQLite file refuses every new posting, as a full disk would.
        other = sqlite3.connect(settings.database_path)
        other.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON postings "
            "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
        )
        other.commit()
        other.close()
        with caplog.at_level(logging.WARNING):
            reports = await bot.poll_due()
        assert [r.ok for r in reports] == [False]
        assert "storing failed" in (reports[0].error or "")
        assert "disk is full" in (reports[0].error or "")
        assert any(
            "source full" in r.getMessage() and "storing" in r.getMessage() for r in caplog.records
        )
        state = bot.store.source("full")
        assert state is not None
        assert state.consecutive_failures == 1 and "disk is full" in (state.last_error or "")
        assert state.next_poll_at is not None and state.next_poll_at > bot.clock()
        # A started poll (as `jobbot run` starts them) is counted in the metric.
        bot.store.upsert_source("full2", "rss", feed_server.url("/jobs.rss"), 600, now=bot.clock())
        for task in bot.start_due_polls():
            await task
        metrics = bot.metrics.render().decode()
        assert 'jobbot_poll_errors_total{source="full2"} 1.0' in metrics
        for _ in range(2):  # three in a row: unhealthy in /healthz and `sources list`
            assert not (await bot.poller.poll("full")).ok
        assert "full" in bot.health().failing
    finally:
        await bot.aclose()
