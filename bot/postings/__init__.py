"""The pure posting domain: model, text cleanup, enrichment and dedup keys (no I/O)."""

from __future__ import annotations

from bot.postings.dedup import (
    company_key,
    continued_listing,
    is_near_duplicate,
    names_one_job,
    title_key,
)
from bot.postings.enrich import enrich
from bot.postings.model import DEGREES, Degree, Pay, Posting, RawPosting
from bot.postings.taxonomy import Taxonomy, load_taxonomy
from bot.postings.urls import canonical_url

__all__ = [
    "DEGREES",
    "Degree",
    "Pay",
    "Posting",
    "RawPosting",
    "Taxonomy",
    "canonical_url",
    "company_key",
    "continued_listing",
    "enrich",
    "is_near_duplicate",
    "load_taxonomy",
    "names_one_job",
    "title_key",
]
