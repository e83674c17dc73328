"""Which tags a forum post of jobbot's gets, from the posting's research areas.

Pure: the forum's tags and the areas in, tag ids out. The rule, first that gives a tag:

1. tags named (case-insensitively) like one of the areas, by slug (``nlp``) or label
   (``Natural language processing``);
2. tags named like the areas' parent areas, nearest first (``llm`` → ``nlp`` → ``ml``);
3. only in a forum that requires a tag on every post: its catch-all tag, the first
   named like one of ``CATCH_ALL_NAMES`` (in that order of preference), else the first
   tag jobbot may apply, in the forum's order.

Discord has no "default tag" for new posts (``default_reaction_emoji`` is a reaction,
``default_tag_setting`` is how the forum's search combines tags), so step 3 is jobbot's.
A moderated tag can be applied only with Manage Threads: without it such tags are never
chosen. At most 5 tags, Discord's limit per post, in the forum's own order. A forum that
requires a tag gets none only when it has no tag jobbot may apply: then Discord refuses
the post (40067) and the channel is paused, as someone must fix it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from bot.postings.taxonomy import load_taxonomy

__all__ = ["CATCH_ALL_NAMES", "MAX_APPLIED_TAGS", "ForumTag", "forum_tag_ids"]

# Discord applies at most this many tags to a forum post.
MAX_APPLIED_TAGS = 5
#: Tag names taken for a post no area tag fits, best first.
CATCH_ALL_NAMES = (
    "internship",
    "internships",
    "jobs",
    "job",
    "job posting",
    "job postings",
    "postings",
    "other",
    "general",
    "misc",
)


class ForumTag(NamedTuple):
    """One of a forum's available tags."""

    id: int
    name: str
    moderated: bool = False


def _names(areas: Iterable[str]) -> set[str]:
    """The casefolded slugs and labels of these areas."""
    taxonomy = load_taxonomy()
    names = set()
    for area in areas:
        names.add(area.casefold())
        if area in taxonomy.areas:
            names.add(taxonomy.areas[area].label.casefold())
    return names


def _parents(areas: Iterable[str]) -> list[str]:
    """The parent areas of these areas that are not among them."""
    taxonomy = load_taxonomy()
    given = set(areas)
    parents = {
        parent
        for area in given
        if area in taxonomy.areas and (parent := taxonomy.areas[area].parent) is not None
    }
    return sorted(parents - given)


def _named(tags: Sequence[ForumTag], names: set[str]) -> list[int]:
    return [tag.id for tag in tags if tag.name.strip().casefold() in names]


def forum_tag_ids(
    tags: Sequence[ForumTag],
    areas: Sequence[str],
    *,
    required: bool = False,
    can_moderate: bool = False,
) -> list[int]:
    """Ids of the tags a post about ``areas`` gets in a forum with ``tags`` (module rule).

    ``required``: the forum requires a tag on every post (channel flag REQUIRE_TAG).
    ``can_moderate``: the bot has Manage Threads there, so moderated tags are allowed.
    """
    usable = [tag for tag in tags if can_moderate or not tag.moderated]
    seen: set[str] = set()
    level = list(areas)
    while level:
        if found := _named(usable, _names(level)):
            return found[:MAX_APPLIED_TAGS]
        seen.update(level)
        level = [parent for parent in _parents(level) if parent not in seen]
    if not required or not usable:
        return []
    by_name = {tag.name.strip().casefold(): tag.id for tag in reversed(usable)}
    for name in CATCH_ALL_NAMES:
        if name in by_name:
            return [by_name[name]]
    return [usable[0].id]
