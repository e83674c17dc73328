"""`jobbot export-labels`: people's corrections as evaluation labels.

Each correction becomes one line in the format of ``benchmarks/eval/labels.jsonl``, with
the posting's source as ``file`` (``jobbot:<source>``) and its id at that source, so that
real use grows the evaluation set (issue #15). The values are what jobbot holds after the
correction: the corrected facts and, for the rest, what it read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from bot.postings.correction import Correction
from bot.store.records import StoredPosting

__all__ = ["correction_labels"]


class _Corrections(Protocol):
    def corrections(self) -> list[tuple[StoredPosting, Correction, str, Any]]: ...


def correction_labels(store: _Corrections) -> Iterator[dict[str, Any]]:
    """One label per corrected posting, oldest correction first."""
    for stored, correction, by, at in store.corrections():
        posting = stored.posting
        yield {
            "file": f"jobbot:{posting.source}",
            "id": posting.external_id,
            "countries": sorted(posting.countries),
            "remote": posting.remote,
            "areas": sorted(posting.areas),
            "degree": posting.degree,
            "is_posting": posting.is_posting,
            "is_internship": posting.is_internship,
            "corrected": correction.describe(),
            "corrected_by": by,
            "corrected_at": at.isoformat(),
        }
