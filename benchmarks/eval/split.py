"""The frozen dev/test split of the labelled postings (issue #15).

A label belongs to the **test** part when it was added after the split was fixed (its
``batch`` is 2 or more) and a seeded hash of its file and id falls under
``TEST_SHARE``. Labels of batch 1 (the 207 the rules were written on before the split)
are all dev: a score on them says how well the rules fit what they were written for, not
how they read new postings. The test part is never read to write or tune a rule; when a
rule changes, its score on the test part is what the change is judged by.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

__all__ = ["SPLIT_SEED", "TEST_SHARE", "part_of"]

SPLIT_SEED = "jobbot-eval-split-2026-12-05"
# A little over half of the new labels: with the 207 dev labels of batch 1 the test part
# is still at least 30% of the whole set.
TEST_SHARE = 0.55

Part = Literal["dev", "test"]


def part_of(label: dict[str, Any]) -> Part:
    """``"test"`` or ``"dev"`` for one label, from its batch, file and id alone."""
    if int(label.get("batch", 1)) < 2:
        return "dev"
    key = f"{SPLIT_SEED}\0{label['file']}\0{label['id']}".encode()
    draw = int.from_bytes(hashlib.sha256(key).digest()[:8], "big") / 2**64
    return "test" if draw < TEST_SHARE else "dev"
