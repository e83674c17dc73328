"""Source kinds (one module each) and the HTTP fetcher they share.

Importing this package registers the built-in kinds.
"""

from __future__ import annotations

from bot.sources import (
    amazon,
    ashby,
    greenhouse,
    jsonlist,
    lever,
    mdtable,
    rss,
    simplify,
    workday,
)
from bot.sources.base import (
    FetchResult,
    PollState,
    SourceKind,
    SourceSpec,
    kind_for,
    register,
    registered_kinds,
    sniff_kind,
)

__all__ = [
    "FetchResult",
    "PollState",
    "SourceKind",
    "SourceSpec",
    "kind_for",
    "amazon",
    "ashby",
    "greenhouse",
    "jsonlist",
    "lever",
    "mdtable",
    "register",
    "registered_kinds",
    "rss",
    "simplify",
    "sniff_kind",
    "workday",
]
