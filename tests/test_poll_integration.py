"""A feed on a loopback server polled twice, across a restart: each match alerts exactly once."""

from __future__ import annotations

import io
from collections import Counter

import pytest

from bot.app import JobBot, build
from bot.config import Settings
from subscriptions.commands import CommandContext
from tests.conftest import DATA, FeedServer
from tests.store_readers import queued_pairs, sent_pairs

pytestmark = pytest.mark.integration

SUBSCRIPTIONS = {
    "speech": "area:speech degree:phd",
    "germany": "country:DE",
    "recsys-au": "area:recsys country:AU",
    "everything": "internship:any",
}


async def _subscribe(bot: JobBot) -> None:
    for channel, filters in SUBSCRIPTIONS.items():
        ctx = CommandContext(
            platform="console", workspace="test", channel=channel, user="t", now=bot.clock()
        )
        assert (await bot.command(f"subscribe {filters}", ctx)).ok


def _alerts(output: str) -> Counter[tuple[str, str]]:
    """(channel, title) of every alert printed."""
    found: Counter[tuple[str, str]] = Counter()
    channel = ""
    for line in output.splitlines():
        if line.startswith("[#"):
            channel = line[2:].split(" ·")[0]
        elif line.startswith("▶ "):
            found[(channel, line[2:])] += 1
    return found


async def _poll_and_deliver(bot: JobBot) -> None:
    await bot.poll_all()
    await bot.worker.run_once()


async def test_each_subscription_gets_each_new_posting_once_across_restarts(
    settings: Settings, feed_server: FeedServer
) -> None:
    feed_server.serve("/jobs.rss", (DATA / "feed_v1.rss").read_bytes())
    out = io.StringIO()
    bot = build(settings, console=out)
    await _subscribe(bot)
    bot.store.upsert_source("test", "rss", feed_server.url("/jobs.rss"), 600, now=bot.clock())

    await _poll_and_deliver(bot)  # first poll: the backlog is recorded, nobody is alerted
    assert _alerts(out.getvalue()) == Counter()

    feed_server.serve("/jobs.rss", (DATA / "feed_v2.rss").read_bytes())
    await _poll_and_deliver(bot)
    first_run = _alerts(out.getvalue())
    mt = "Research Intern – Machine Translation (PhD or Master's), Berlin"
    # The new NLP posting in Germany reaches the two channels that want it; the repost of
    # the speech internship (new guid, new URL, same company/title/country) alerts nobody.
    assert first_run == Counter({("germany", mt): 1, ("everything", mt): 1})
    await bot.aclose()

    # Restart on the same database: the unchanged feed answers 304, nothing is sent again.
    out_after = io.StringIO()
    bot = build(settings, console=out_after)
    await _poll_and_deliver(bot)
    await _poll_and_deliver(bot)
    assert feed_server.statuses("/jobs.rss") == [200, 200, 304, 304]
    assert _alerts(out_after.getvalue()) == Counter()
    sent = sent_pairs(bot.store)
    assert len(sent) == len(set(sent)) == 2
    await bot.aclose()


async def test_backfill_alerts_the_first_poll_once(settings: Settings, feed_server: FeedServer):
    feed_server.serve("/jobs.rss", (DATA / "feed_v2.rss").read_bytes())
    out = io.StringIO()
    bot = build(settings, console=out)
    await _subscribe(bot)
    bot.store.upsert_source(
        "test", "rss", feed_server.url("/jobs.rss"), 600, backfill=10, now=bot.clock()
    )
    await _poll_and_deliver(bot)
    await _poll_and_deliver(bot)
    alerts = _alerts(out.getvalue())
    assert set(alerts.values()) == {1}
    by_channel = Counter(channel for channel, _ in alerts)
    # 4 distinct postings (the repost merges); the senior full-time role only for "everything".
    assert by_channel == Counter({"everything": 4, "germany": 2, "speech": 1, "recsys-au": 1})
    await bot.aclose()


async def test_a_broken_feed_is_an_error_for_that_poll_and_loses_nothing(
    settings: Settings, feed_server: FeedServer
) -> None:
    feed_server.serve("/jobs.rss", (DATA / "feed_v1.rss").read_bytes())
    bot = build(settings, console=io.StringIO())
    bot.store.upsert_source("test", "rss", feed_server.url("/jobs.rss"), 600, now=bot.clock())
    await bot.poll_all()
    before = bot.store.counts()["postings"]
    for body in (
        b"",
        b"<html><body>Maintenance</body></html>",
        b"<rss><channel><item>",
        b"\x00\xff\xfe binary",
    ):
        feed_server.serve("/jobs.rss", body, content_type="text/html")
        [report] = await bot.poll_all()
        assert not report.ok and report.error
    feed_server.fail("/jobs.rss", 503, {"Retry-After": "120"})
    [report] = await bot.poll_all()
    assert report.error == "HTTP 503"
    state = bot.store.source("test")
    assert state.consecutive_failures == 5 and not state.healthy
    assert (state.next_poll_at - state.last_polled_at).total_seconds() == pytest.approx(120)
    assert bot.store.counts()["postings"] == before
    feed_server.serve("/jobs.rss", (DATA / "feed_v2.rss").read_bytes())
    [report] = await bot.poll_all()
    assert report.ok and bot.store.source("test").healthy
    await bot.aclose()


def _rotating_feed(request: int) -> bytes:
    """Three postings with no author whose GUIDs change on every request (issue #18)."""
    jobs = [
        ("Research Intern – Speech Recognition (PhD)", "Aachen, Germany", "speech recognition"),
        ("Research Intern – Machine Translation (PhD)", "Berlin, Germany", "machine translation"),
        ("Applied Scientist Intern – Recommender Systems", "Sydney, Australia", "recommenders"),
    ]
    items = "".join(
        "<item>"
        f"<title>{title}</title>"
        f"<link>https://jobs.test.example/jobs/{n}?utm_source=rss</link>"
        f'<guid isPermaLink="false">{request}-{n}-{uuid}</guid>'
        "<pubDate>Mon, 16 Nov 2026 09:00:00 +0000</pubDate>"
        f"<description><![CDATA[<p>Location: {place}</p><p>Work on {topic}."
        " Currently enrolled in a PhD program.</p>]]></description>"
        "</item>"
        for n, (title, place, topic) in enumerate(jobs, start=101)
        for uuid in [f"{request * 7919 + n:08x}"]
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        "<title>Rotating</title><link>https://jobs.test.example/</link>"
        f"<description>GUIDs change on every request</description>{items}</channel></rss>"
    ).encode()


async def test_a_feed_whose_guids_change_on_every_request_alerts_each_posting_once(
    settings: Settings, feed_server: FeedServer
) -> None:
    # Issue #18: no author, so no company for near-duplicates, and a new GUID each time.
    feed_server.serve_each("/rotating.rss", _rotating_feed)
    out = io.StringIO()
    bot = build(settings, console=out)
    ctx = CommandContext(
        platform="console", workspace="test", channel="all", user="t", now=bot.clock()
    )
    assert (await bot.command("subscribe internship:any", ctx)).ok
    bot.store.upsert_source(
        "rotating", "rss", feed_server.url("/rotating.rss"), 600, backfill=10, now=bot.clock()
    )
    reports = []
    for _ in range(3):
        reports += await bot.poll_all()
        await bot.worker.run_once()
    assert feed_server.statuses("/rotating.rss") == [200, 200, 200]  # a new body each time
    assert [(r.seen, r.new, r.duplicates) for r in reports] == [(3, 3, 0), (3, 0, 0), (3, 0, 0)]
    assert bot.store.counts()["postings"] == 3
    assert len(queued_pairs(bot.store)) == 3
    assert sum(_alerts(out.getvalue()).values()) == 3
    # Each posting carries the GUID it was last listed under.
    guids = {s.posting.external_id.split("-")[0] for s in bot.store.source_postings("rotating")}
    assert guids == {"2"}
    await bot.aclose()
