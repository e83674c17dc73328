"""`/jobs fix` and `jobbot fix`: a person's correction is kept, shown, and matched once."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.errors import CommandError
from bot.labels import correction_labels
from bot.postings.correction import Correction, SetEdit
from bot.postings.model import Posting
from subscriptions.grammar import parse_command
from tests.conftest import FeedServer
from tests.test_alerts_stay_true import Bot, Job, app  # noqa: F401  (the fixture)
from tests.test_discord import (
    NLP,
    OLD,
    Running,
    feed,
    running,  # noqa: F401  (the fixture)
)
from tests.test_discord_alerts import TEXT


def test_fix_reads_every_fact_it_can_correct() -> None:
    command = parse_command(
        "fix #12 degree:phd-only country:DE area:speech,-cv internship:yes posting:no"
    )
    assert command.verb == "fix" and command.target == 12
    assert command.correction == Correction(
        degree="phd-only",
        countries=SetEdit(replace=frozenset({"DE"})),
        areas=SetEdit(add=frozenset({"speech"}), remove=frozenset({"cv"})),
        is_internship=True,
        is_posting=False,
    )
    assert parse_command("fix 3 country:none").correction == Correction(
        countries=SetEdit(replace=frozenset())
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("fix", "needs a posting ID"),
        ("fix abc degree:any", "is not a posting ID"),
        ("fix #1", "Say what to correct"),
        ("fix #1 degree:masters", "choose one of"),
        ("fix #1 area:speach", "not a research area"),
        ("fix #1 country:Atlantis", "not a country"),
        ("fix #1 colour:blue", "not something `fix` can correct"),
        ("fix #1 degree:any degree:phd-only", "given twice"),
        (f"fix #{2**63} degree:any", "is not a posting ID"),
    ],
)
def test_a_wrong_fix_says_what_was_wrong_and_shows_the_form(text: str, says: str) -> None:
    with pytest.raises(CommandError) as raised:
        parse_command(text)
    assert says in str(raised.value) and "/jobs fix #ID" in raised.value.usage


def test_corrections_apply_and_merge() -> None:
    posting = Posting(
        source="s", external_id="1", url="", title="t", areas=("cv", "ml"), countries=("FR",)
    )
    first = Correction(areas=SetEdit(add=frozenset({"speech"}), remove=frozenset({"cv"})))
    later = Correction(countries=SetEdit(replace=frozenset({"DE"})), is_posting=False)
    both = first.then(later)
    fixed = both.apply(posting)
    assert fixed.areas == ("ml", "speech") and fixed.countries == ("DE",)
    assert fixed.is_posting is False and fixed.is_internship is False
    assert ("areas", "corrected") in fixed.evidence
    assert both.apply(fixed) == fixed  # applying again changes nothing
    assert Correction.from_json(both.to_json()) == both


slugs = st.sets(st.sampled_from(["ml", "cv", "nlp", "speech", "rl"]))


@given(slugs, slugs, slugs, slugs)
def test_set_edits_compose_like_applying_one_after_the_other(
    start: set[str], add: set[str], remove: set[str], later_add: set[str]
) -> None:
    first = SetEdit(add=frozenset(add), remove=frozenset(remove))
    second = SetEdit(add=frozenset(later_add), remove=frozenset(remove - later_add))
    values = tuple(sorted(start))
    assert first.then(second).apply(values) == second.apply(first.apply(values))


def _posting_id(answer: str) -> int:
    found = re.search(r"posting #(\d+)", answer)
    assert found, answer
    return int(found.group(1))


async def test_a_fix_through_slack_rematches_once_and_survives_the_next_poll(
    app: Bot,  # noqa: F811
) -> None:
    await app.jobs("subscribe area:speech country:DE")
    await app.poll(Job(100, "Operations Intern"))  # first poll: recorded without alerts
    audio = Job(300, "Research Intern, Sound", content="<p>Work with our audio team.</p>")
    await app.poll(Job(100, "Operations Intern"), audio)
    assert app.alerts() == []  # read without the speech area: no match

    posting_id = _posting_id(await app.jobs(f"why {audio.json()['absolute_url']}"))
    answer = await app.jobs(f"fix #{posting_id} area:+speech degree:phd-only")
    assert "Corrected (degree:phd-only area:+speech)" in answer
    assert "1 subscription(s) that now match it" in answer
    await app.bot.worker.run_once()
    [alert] = app.alerts()
    assert "Research Intern, Sound" in alert["text"]

    # A second correction of the same posting sends nothing more.
    again = await app.jobs(f"fix #{posting_id} internship:yes")
    assert "No subscription that never got it matches it now." in again
    await app.repoll()  # the source still says what it said: the correction stays
    assert len(app.alerts()) == 1
    stored = app.bot.store.posting(posting_id)
    assert stored is not None
    assert "speech" in stored.posting.areas and stored.posting.degree == "phd-only"

    why = await app.jobs(f"why #{posting_id}")
    assert "Degree: phd-only — from corrected" in why
    assert "Areas: speech — from corrected" in why

    [label] = correction_labels(app.bot.store)
    assert label["file"] == "jobbot:acme" and label["id"] == "300"
    assert label["areas"] == ["speech"] and label["degree"] == "phd-only"
    assert label["corrected"] == "degree:phd-only area:+speech internship:yes"


async def test_only_channel_managers_may_fix(app: Bot) -> None:  # noqa: F811
    from dataclasses import replace

    from subscriptions.commands import CommandContext

    ctx = CommandContext("slack", "T1", "C1", "U1", app.clock(), can_manage=False)
    reply = await app.bot.command("fix #1 degree:any", replace(ctx))
    assert not reply.ok and "only members who can manage this channel" in reply.text


async def test_fixing_a_posting_that_does_not_exist_says_so(app: Bot) -> None:  # noqa: F811
    answer = await app.jobs("fix #999 degree:any")
    assert "There is no posting #999" in answer


# ------------------------------------------------------------------ Discord


async def test_a_fix_through_discord_rematches_once(
    running: Running,  # noqa: F811
    feed_server: FeedServer,
) -> None:
    feed_server.serve("/jobs.rss", feed(OLD))
    running.bot.store.upsert_source(
        "test", "rss", feed_server.url("/jobs.rss"), 600, now=running.bot.clock()
    )
    subscribed = await running.slash("subscribe", {"areas": "speech"})
    assert subscribed["data"]["content"].startswith("Subscribed #1")
    await running.poll_and_deliver()  # the first poll records the backlog
    feed_server.serve("/jobs.rss", feed(OLD, NLP))
    await running.poll_and_deliver()
    assert running.fake.messages_in(TEXT) == []  # an NLP posting: no speech subscriber

    stored = running.bot.store.trace(url="https://jobs.test.example/nlp")
    assert stored is not None
    posting_id = stored.posting.id
    answer = await running.slash(
        "fix", {"posting": f"#{posting_id}", "corrections": "area:+speech"}
    )
    assert "Corrected (area:+speech)" in answer["data"]["content"]
    assert "1 subscription(s)" in answer["data"]["content"]
    await running.bot.worker.run_once()
    [alert] = running.fake.messages_in(TEXT)
    assert alert["embeds"][0]["title"].startswith("Research Intern – Parsing")

    again = await running.slash("fix", {"posting": str(posting_id), "corrections": "degree:any"})
    assert "No subscription that never got it" in again["data"]["content"]
    await running.poll_and_deliver()  # the feed again: the correction stays, nothing resent
    assert len(running.fake.messages_in(TEXT)) == 1

    refused = await running.slash(
        "fix", {"posting": str(posting_id), "corrections": "degree:any"}, perms=0
    )
    assert "only" in refused["data"]["content"]
