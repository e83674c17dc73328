"""`jobbot export` / `jobbot import`: round trip, and a wrong file imports nothing."""

from __future__ import annotations

import json

import pytest

from bot.errors import CommandError, SourceError
from bot.store import Store
from bot.transfer import export_subscriptions, import_subscriptions
from subscriptions.grammar import parse_command
from tests.conftest import NOW

FILTERS = [
    (
        "slack",
        "T1",
        "C1",
        'area:nlp country:DE keywords:"applied science" mode:daily at:08:30 tz:Europe/Berlin',
    ),
    ("discord", "G1", "100", "degree:phd-only internship:any mode:weekly day:fri"),
    ("console", "local", "terminal", ""),
]


def _fill(store: Store) -> None:
    for platform, workspace, channel, text in FILTERS:
        command = parse_command(f"subscribe {text}")
        assert command.filter is not None and command.schedule is not None
        store.add_subscription(
            platform=platform,
            workspace=workspace,
            channel=channel,
            filter=command.filter,
            schedule=command.schedule,
            created_by="t",
            now=NOW,
        )
    store.set_paused(1, True, "x", now=NOW)


def test_export_then_import_gives_the_same_subscriptions(store: Store) -> None:
    _fill(store)
    text = export_subscriptions(store)
    other = Store.memory()
    try:
        assert import_subscriptions(other, text, NOW) == 3
        key = lambda s: (s.target, s.filter, s.schedule, s.paused)  # noqa: E731
        assert sorted(map(key, other.subscriptions()), key=str) == sorted(
            map(key, store.subscriptions()), key=str
        )
    finally:
        other.close()


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d["subscriptions"][1].update(filter="area:quantum-basket-weaving"), "quantum"),
        (lambda d: d["subscriptions"][2].update(channel=""), "channel must be"),
        (
            lambda d: d["subscriptions"][0].update(schedule="mode:hourly"),
            r"subscriptions\[0\]: `mode:hourly`",
        ),
        (lambda d: d.update(jobbot_export=99), "not a jobbot export"),
        (lambda d: d["subscriptions"].append("nope"), "is not an object"),
    ],
)
def test_a_wrong_entry_imports_nothing(store: Store, change, problem: str) -> None:
    _fill(store)
    document = json.loads(export_subscriptions(store))
    change(document)
    other = Store.memory()
    try:
        with pytest.raises(CommandError, match=problem):
            import_subscriptions(other, json.dumps(document), NOW)
        assert other.subscriptions() == []
    finally:
        other.close()


def test_a_file_that_is_not_json_is_refused(store: Store) -> None:
    with pytest.raises(SourceError, match="not valid JSON"):
        import_subscriptions(store, "{subscriptions: [", NOW)
    assert store.subscriptions() == []


def test_cli_export_then_import_into_another_installation(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    config = tmp_path / "jobbot.toml"
    config.write_text("default_sources = false\n")
    monkeypatch.setenv("JOBBOT_CONFIG", str(config))
    monkeypatch.setenv("JOBBOT_DATA_DIR", str(tmp_path / "one"))
    assert main(["subs", "add", "area:nlp", "country:DE", "mode:daily"]) == 0
    exported = tmp_path / "subs.json"
    assert main(["export", str(exported)]) == 0
    monkeypatch.setenv("JOBBOT_DATA_DIR", str(tmp_path / "two"))
    assert main(["import", str(exported)]) == 0
    assert "Imported 1 subscription(s)." in capsys.readouterr().out
    broken = tmp_path / "broken.json"
    broken.write_text(exported.read_text().replace("area:nlp", "area:nope"))
    assert main(["import", str(broken)]) == 2
    assert "Nothing was imported" in capsys.readouterr().err
    assert main(["subs", "list"]) == 0
    assert capsys.readouterr().out.count("area:nlp country:DE") == 1


@pytest.mark.slow
def test_100000_subscriptions_round_trip_through_the_cli(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """#18: a 20 MB export (twice the fetch cap) imports whole and exports the same."""
    from bot.cli import main

    config = tmp_path / "jobbot.toml"
    config.write_text("default_sources = false\n")
    monkeypatch.setenv("JOBBOT_CONFIG", str(config))
    monkeypatch.setenv("JOBBOT_DATA_DIR", str(tmp_path / "data"))
    # In the canonical order an export writes.
    filters = ["area:nlp", "area:speech country:DE", "degree:phd-only keywords:intern", ""]
    entries = [
        {
            "platform": ("slack", "discord", "webhook")[i % 3],
            "workspace": "T1" if i % 3 != 2 else "",
            "channel": f"C{i:06d}" if i % 3 != 2 else f"https://hooks.example/{i}",
            "filter": filters[i % len(filters)],
            "schedule": "mode:instant" if i % 5 else "mode:daily at:09:00 tz:UTC",
            "paused": i % 7 == 0,
            "created_by": "import",
        }
        for i in range(100_000)
    ]
    source = tmp_path / "in.json"
    source.write_text(json.dumps({"jobbot_export": 1, "subscriptions": entries}))
    assert source.stat().st_size > 10 * 1024 * 1024
    assert main(["import", str(source)]) == 0
    assert "Imported 100000 subscription(s)." in capsys.readouterr().out
    exported = tmp_path / "out.json"
    assert main(["export", str(exported)]) == 0
    again = json.loads(exported.read_text())["subscriptions"]

    def key(entry: dict[str, object]) -> tuple[str, ...]:
        return tuple(str(entry[k]) for k in ("platform", "workspace", "channel"))

    assert sorted(again, key=key) == sorted(entries, key=key)
