"""Generated RSS feeds of many distinct internship postings, for load and crash tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from xml.sax.saxutils import escape

_AREAS = [
    ("Natural Language Processing", "natural language processing"),
    ("Speech Recognition", "automatic speech recognition"),
    ("Computer Vision", "computer vision"),
    ("Recommender Systems", "recommender systems"),
]
_PLACES = ["Berlin, Germany", "Seattle, WA, United States", "Aachen, Germany", "Sydney, Australia"]
_START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def posting_item(n: int, *, prefix: str = "g") -> str:
    """One RSS item: a distinct research internship (own company, title and URL)."""
    label, topic = _AREAS[n % len(_AREAS)]
    place = _PLACES[(n // len(_AREAS)) % len(_PLACES)]
    posted = (_START + timedelta(minutes=n)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    return (
        "<item>"
        f"<title>Research Intern {prefix}{n} – {escape(label)} (PhD)</title>"
        f"<link>https://jobs.test.example/{prefix}/{n}</link>"
        f'<guid isPermaLink="false">{prefix}-{n}</guid>'
        f"<dc:creator>Lab {prefix.upper()}{n}</dc:creator>"
        f"<pubDate>{posted}</pubDate>"
        f"<description><![CDATA[<p>Location: {place}</p><p>Research internship in {topic}."
        " Currently enrolled in a PhD program.</p>]]></description>"
        "</item>"
    )


def feed(numbers: range, *, prefix: str = "g") -> bytes:
    """An RSS 2.0 feed holding the postings numbered ``numbers``."""
    items = "".join(posting_item(n, prefix=prefix) for n in numbers)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>Generated {prefix}</title><link>https://jobs.test.example/</link>"
        f"<description>generated</description>{items}</channel></rss>"
    ).encode()
