"""Source kinds (one module each) and the HTTP fetcher they share.

Importing this package registers the built-in kinds.
"""

from __future__ import annotations

from bot.sources import (
    amazon,
    ashby,
    greenhouse,
    jsonfeed,
    jsonlist,
    lever,
    mdtable,
    personio,
    recruitee,
    rss,
    simplify,
    smartrecruiters,
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
    "jsonfeed",
    "jsonlist",
    "lever",
    "mdtable",
    "personio",
    "recruitee",
    "register",
    "registered_kinds",
    "rss",
    "simplify",
    "smartrecruiters",
    "sniff_kind",
    "workday",
]
