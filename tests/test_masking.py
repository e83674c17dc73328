"""Credentials in URLs are masked wherever a URL is printed or logged (#18)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.cli import main
from bot.logs import REDACTED, mask_urls, redact

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("url", "hidden"),
    [
        ("http://TOKEN123@feeds.example/rss", "TOKEN123"),
        ("https://user:p@ss w0rd@feeds.example/rss", "p@ss w0rd"),
        ("https://user:hunter22@feeds.example:8443/", "hunter22"),
        ("https://api.example/jobs?access_token=abc123&page=2", "abc123"),
        ("https://api.example/jobs?page=2&api_key=abc123", "abc123"),
        ("https://api.example/jobs?TOKEN=abc123", "abc123"),
        ("https://api.example/jobs?X-Amz-Signature=abc123#top", "abc123"),
        ("https://api.example/jobs?sig=abc123;secret=def456", "abc123"),
        ("https://api.example/jobs?password=abc123", "abc123"),
        ("https://api.example/jobs?client_secret=abc123", "abc123"),
    ],
)
def test_each_credential_shape_is_masked(url: str, hidden: str) -> None:
    masked = mask_urls(url)
    assert hidden not in masked and REDACTED in masked
    assert "example" in masked  # the host stays readable


def test_plain_urls_and_harmless_query_values_are_kept() -> None:
    url = "https://boards.example/jobs/rss?page=2&q=nlp+intern"
    assert mask_urls(url) == url
    assert mask_urls(f"fetched {url} in 2s") == f"fetched {url} in 2s"


_SECRET = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/?#\n&;="),
    min_size=8,
    max_size=40,
).filter(lambda s: s.strip() and "example" not in s and REDACTED not in s)


# In running text a URL ends at white space or a quote, so a query value holds neither.
_QUERY_SECRET = _SECRET.filter(lambda s: not any(c.isspace() or c in "<>\"'`" for c in s))


@given(user=_SECRET, password=_SECRET, token=_QUERY_SECRET)
def test_no_credential_survives_masking(user: str, password: str, token: str) -> None:
    text = f"source a: https://{user}:{password}@feeds.example/rss?access_token={token}&p=1"
    masked = mask_urls(text)
    for secret in (user, password, token):
        assert secret not in masked


@given(st.text())
def test_masking_never_fails_and_is_idempotent(text: str) -> None:
    once = redact(text)
    assert redact(once) == once


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "jobbot.toml"
    config.write_text("default_sources = false\nallow_private_sources = true\n")
    monkeypatch.setenv("JOBBOT_CONFIG", str(config))
    monkeypatch.setenv("JOBBOT_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def test_sources_list_and_doctor_mask_url_credentials(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "https://SEKRETUSER@feeds.example/rss?access_token=SEKRETQUERY"
    (cli_env / "jobbot.toml").write_text(
        "default_sources = false\nallow_private_sources = true\n"
        f'[[sources]]\nname = "masked"\nkind = "rss"\nurl = "{url}"\n'
    )
    assert main(["sources", "list"]) == 0
    assert main(["doctor"]) in (0, 1, 2)
    out, err = capsys.readouterr()
    assert "feeds.example" in out
    assert "SEKRET" not in out + err


@pytest.mark.integration
async def test_jobbot_run_start_up_summary_and_logs_mask_url_credentials(tmp_path: Path) -> None:
    import asyncio
    import os
    import signal
    import sys

    url = "http://SEKRETUSER:p@ss%20SEKRET@127.0.0.1:9/rss?api_key=SEKRETKEY&page=1"
    (tmp_path / "jobbot.toml").write_text(
        "default_sources = false\nallow_private_sources = true\nmetrics_port = 0\n"
        f'[[sources]]\nname = "masked"\nkind = "rss"\nurl = "{url}"\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    env |= {"JOBBOT_CONFIG": str(tmp_path / "jobbot.toml"), "JOBBOT_DATA_DIR": str(tmp_path)}
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "--verbose",
        "run",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await asyncio.sleep(4)  # the summary, then the first poll (refused port) and its log
        child.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(child.communicate(), timeout=30)
    finally:
        if child.returncode is None:
            child.kill()
    text = out.decode() + err.decode()
    assert "127.0.0.1:9" in text
    assert "SEKRET" not in text, text
