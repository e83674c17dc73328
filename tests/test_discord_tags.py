"""Forum tags for jobbot's posts: the posting's areas, else their parents, else (where the
forum requires a tag) its catch-all tag; moderated tags only with Manage Threads (#17)."""

from __future__ import annotations

from bot.chat.discord_tags import ForumTag, forum_tag_ids

TAGS = [
    ForumTag(1, "NLP"),
    ForumTag(2, "vision"),
    ForumTag(3, "Robotics"),
    ForumTag(4, "Computer vision"),
    ForumTag(5, "ml"),
]


def test_forum_tags_match_slug_or_label_at_most_five() -> None:
    assert forum_tag_ids(TAGS, ["nlp"]) == [1]
    assert forum_tag_ids(TAGS, ["cv", "robotics"]) == [3, 4]  # forum order, label "Computer vision"
    many = [ForumTag(i, f"t{i}") for i in range(10)]
    assert forum_tag_ids(many, [f"t{i}" for i in range(10)]) == [0, 1, 2, 3, 4]


def test_an_area_without_a_tag_gets_its_nearest_parent_areas_tag() -> None:
    assert forum_tag_ids(TAGS, ["speech"]) == [5]  # speech → ml
    assert forum_tag_ids(TAGS, ["llm"]) == [1]  # llm → nlp, not further up to ml
    assert forum_tag_ids(TAGS[4:], ["llm"]) == [5]  # llm → nlp (no tag) → ml
    assert forum_tag_ids(TAGS, ["llm", "speech"]) == [1, 5]  # both parents, forum order
    assert forum_tag_ids(TAGS, ["ir"]) == []  # no parent, no tag required


def test_a_forum_requiring_a_tag_gets_its_catch_all_tag() -> None:
    tags = [ForumTag(1, "Robotics"), ForumTag(2, " Other "), ForumTag(3, "Internship")]
    assert forum_tag_ids(tags, ["ir"], required=True) == [3]  # "internship" before "other"
    assert forum_tag_ids(tags[:2], ["ir"], required=True) == [2]
    assert forum_tag_ids(tags, [], required=True) == [3]  # a notice: no areas at all
    # No tag named like a catch-all: the forum's first one, rather than no post at all.
    assert forum_tag_ids(tags[:1], ["ir"], required=True) == [1]
    assert forum_tag_ids(tags, ["robotics"], required=True) == [1]  # an area's tag first
    assert forum_tag_ids([], ["ir"], required=True) == []


def test_moderated_tags_need_manage_threads() -> None:
    tags = [ForumTag(1, "NLP", moderated=True), ForumTag(2, "ml"), ForumTag(3, "Other", True)]
    assert forum_tag_ids(tags, ["nlp"]) == [2]  # its parent's tag, as NLP is moderated
    assert forum_tag_ids(tags, ["nlp"], can_moderate=True) == [1]
    assert forum_tag_ids(tags, ["ir"], required=True) == [2]  # "Other" is moderated
    only_moderated = [ForumTag(1, "NLP", moderated=True)]
    assert forum_tag_ids(only_moderated, ["nlp"], required=True) == []  # a channel problem
