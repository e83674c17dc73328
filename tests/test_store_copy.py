"""`jobbot db copy`: an SQLite database moves to PostgreSQL with equal counts, and the
bot goes on from where it was (no re-alerting, nothing sent twice) (#16)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.postings.correction import Correction
from bot.postings.model import Posting
from bot.store import Store, shown_state
from bot.store.postgres import PostgresStore
from subscriptions.model import Filter, Schedule
from tests.conftest import empty_postgres
from tests.store_readers import reminders, sent_pairs


def _posting(n: int, **changes: object) -> Posting:
    base = Posting(
        source="feed",
        external_id=str(n),
        url=f"https://jobs.example/{n}",
        title=f"Research Intern {n} - Speech",
        company=f"Lab {n}",
        countries=("DE",),
        areas=("speech",),
        deadline=datetime(2026, 12, 20, tzinfo=UTC),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _fill(path: Path, now: datetime) -> list[Posting]:
    store = Store.open(path)
    store.upsert_source("feed", "rss", "https://x.example/f", 600, now=now)
    store.upsert_source("other", "rss", "https://y.example/f", 600, now=now)
    store.record_poll_success(
        "feed", now, etag='"v1"', last_modified="lm", next_poll_at=now + timedelta(minutes=10)
    )
    store.record_poll_failure("other", now, "503", next_poll_at=now + timedelta(hours=1))
    postings = [_posting(n) for n in range(30)]
    new = store.ingest(postings, now, alert=True).new
    store.ingest([_posting(0, source="other")], now, alert=True)  # a duplicate
    sub = store.add_subscription(
        platform="slack",
        workspace="w",
        channel="c",
        filter=Filter(),
        schedule=Schedule(remind_days=3),
        created_by="u",
        now=now,
    )
    store.enqueue([(sub, p.id) for p in new], now)
    sent = store.claim(now, limit=10, lease=timedelta(minutes=5), owner="me")
    for delivery in sent:
        store.mark_sent([delivery.id], now, "ts", shown=shown_state(delivery.posting.posting))
    # A burst that went out in part: its retry must resume after the copy (#17).
    rest = store.claim(now, limit=10, lease=timedelta(minutes=5), owner="me")
    store.group_rows([d.id for d in rest], "burst-x")
    store.record_part("burst-x", 0, "ts-part-0", now)
    store.mark_retry([d.id for d in rest], now, "part 1 failed")
    store.correct(new[1].id, Correction(degree="phd-or-masters"), "u", now)
    store.claim_reminder(sub.id, new[0].id, now)
    store.add_notice("other", ("slack", "w", "c"), now, now)
    store.close()
    return postings


def test_db_copy_moves_everything_and_the_bot_goes_on_where_it_was(
    tmp_path: Path,
    postgres_url: str,
    now: datetime,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    empty_postgres(postgres_url)
    postings = _fill(tmp_path / "data" / "jobbot.db", now)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JOBBOT_DATABASE_URL", raising=False)
    monkeypatch.delenv("JOBBOT_CONFIG", raising=False)
    monkeypatch.setenv("JOBBOT_DATA_DIR", str(tmp_path / "data"))
    assert main(["db", "copy", "--to", postgres_url]) == 0
    out = capsys.readouterr().out
    assert "postings                31 → 31" in out and "deliveries              30 → 30" in out
    assert "Copied." in out

    old, new = Store.open(tmp_path / "data" / "jobbot.db"), PostgresStore.open(postgres_url)
    try:
        assert new.sources() == old.sources()
        assert new.subscriptions() == old.subscriptions()
        assert sent_pairs(new) == sent_pairs(old) and len(sent_pairs(new)) == 10
        assert new.delivery_statuses() == old.delivery_statuses()
        assert [r["status"] for r in reminders(new)] == ["sending"]
        assert new.notices("other") == [("slack", "w", "c")]
        assert new.parts_sent("burst-x") == ["ts-part-0"]
        assert [(p.id, c, by) for p, c, by, _ in new.corrections()] == [
            (p.id, c, by) for p, c, by, _ in old.corrections()
        ]
        assert len(new.corrections()) == 1
        resumed = new.claim(now, limit=10, lease=timedelta(minutes=5), owner="me")
        assert {d.group_key for d in resumed} == {"burst-x"} and len(resumed) == 10
        # No re-alerting: every posting is known, every pair already queued.
        again = new.ingest(postings, now + timedelta(hours=1), alert=True)
        assert again.new == [] and again.updated == 30
        [sub] = new.subscriptions()
        ids = [s.id for s in new.recent_postings(100)]
        assert new.enqueue([(sub, i) for i in ids], now) == 0
        # New rows are numbered after the copied ones.
        fresh = new.ingest([_posting(99)], now, alert=True).new
        assert fresh[0].id == max(ids) + 2  # after the 30 postings and the duplicate
    finally:
        old.close()
        new.close()
    # Copying again would mix two bots' rows: refused, nothing changed.
    assert main(["db", "copy", "--to", postgres_url]) == 2
    assert "is not empty" in capsys.readouterr().err
