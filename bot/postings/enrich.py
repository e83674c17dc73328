"""Turn a source's RawPosting into a Posting with its facts worked out."""

from __future__ import annotations

import re
from datetime import datetime

from bot.postings.facts import (
    detect_degree,
    detect_duration,
    detect_pay,
    is_internship,
    looks_like_posting,
    parse_posted,
)
from bot.postings.geo import load_gazetteer
from bot.postings.model import Posting, RawPosting
from bot.postings.taxonomy import load_taxonomy
from bot.postings.text import clean_inline, html_to_text
from bot.postings.urls import canonical_url

__all__ = ["enrich"]

MAX_TITLE = 300
MAX_DESCRIPTION = 20_000
# "Location: Paris", "**Location:** Saskatoon SK", "### Available Locations: Austin, London",
# and the globe-marked location chip of saved aggregator pages ("`🌎 Remote,US`").
_LOCATION_LINE = re.compile(
    r"^[\s#*>`_-]*(?:job |available |office |work )?(?:locations?|ort|lieu|standort)"
    r"[\s*_`]*:[\s*_`]*(.+?)[\s*_`]*$",
    re.I | re.M,
)
_GLOBE = re.compile(r"🌎\s*([^`\n]+)")
# Phrases that make a role fully remote even where no location field says so.
_REMOTE_TEXT = re.compile(
    r"\b(fully remote|100% remote|remote[- ]first|remote by design|fully home[- ]based|"
    r"work[- ]from[- ]home arrangement|open to remote (?:hires|candidates|applicants)|"
    r"remote (?:position|role|internship|internships|job)s?\b|"
    r"(?:this|the) (?:role|position|internship) (?:is|can be) (?:fully )?remote|"
    r"work remotely from anywhere|remote research internships?)",
    re.I,
)
_TEXT_SCAN = 12_000
# Qualification sentences name degree fields ("PhD in Operations Research or related"),
# which are not the posting's research areas.
_QUALIFICATION_LINE = re.compile(
    r"^.*\b(degree|ph\.?d|master'?s|bachelor'?s|major|field of study|related field|"
    r"python|java|c\+\+|pytorch|tensorflow)\b.*$",
    re.I | re.M,
)


def _areas(title: str, text: str) -> tuple[str, ...]:
    taxonomy = load_taxonomy()
    body = _QUALIFICATION_LINE.sub(" ", text)
    return tuple(sorted(taxonomy.find(title) | taxonomy.find(body)))


def enrich(raw: RawPosting, now: datetime) -> Posting:
    """Work out areas, countries, degree, internship, dates and pay for one raw record."""
    title = clean_inline(raw.title)[:MAX_TITLE] or "(untitled)"
    description = html_to_text(raw.description)[:MAX_DESCRIPTION]
    locations = tuple(clean_inline(loc) for loc in raw.locations if loc and loc.strip())
    if not locations:
        written = _GLOBE.findall(description) + _LOCATION_LINE.findall(description)
        locations = tuple(dict.fromkeys(m.strip() for m in written if m.strip()))[:5]
    gazetteer = load_gazetteer()
    countries: set[str] = set()
    remote = False
    for location in locations:
        found, says_remote = gazetteer.countries_in(location)
        countries |= found
        remote = remote or says_remote
    # A title that names a country ("… Intern - Colombia") adds it; where no location
    # says where the job is, the text is read for places.
    countries |= gazetteer.countries_in_text(title)
    if not countries:
        countries |= gazetteer.countries_in_text(description[:_TEXT_SCAN])
    if not remote and _REMOTE_TEXT.search(f"{title}\n{description}"):
        remote = True
    hinted = raw.hints.get("countries")
    if isinstance(hinted, list | tuple):
        countries |= {str(c) for c in hinted}
    hinted_remote = raw.hints.get("remote")
    if isinstance(hinted_remote, bool):
        remote = remote or hinted_remote
    intern_hint = raw.hints.get("is_internship")
    pay_text = raw.hints.get("pay_text")
    active = raw.hints.get("active")
    posting_hint = raw.hints.get("is_posting")
    is_posting = looks_like_posting(
        title, description, posting_hint if isinstance(posting_hint, bool) else None
    )
    # A guide, news item or landing page asks for no degree of its own: only its title can
    # say one ("… for PhD students").
    degree = detect_degree(title, description if is_posting else "")
    return Posting(
        source=raw.source,
        external_id=raw.external_id,
        url=canonical_url(raw.url),
        title=title,
        company=clean_inline(raw.company),
        locations=locations,
        countries=tuple(sorted(countries)),
        remote=remote,
        areas=_areas(title, description),
        degree=degree,
        is_posting=is_posting,
        is_internship=is_posting
        and is_internship(
            title, description, intern_hint if isinstance(intern_hint, bool) else None
        ),
        posted_at=parse_posted(raw.posted, now),
        pay=detect_pay(pay_text if isinstance(pay_text, str) else f"{title}\n{description}"),
        duration=detect_duration(f"{title}\n{description}"),
        description=description,
        active=active if isinstance(active, bool) else True,
    )
