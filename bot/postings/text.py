"""Text cleanup: HTML to plain text, invisible characters, whitespace."""

from __future__ import annotations

import html
import re
import unicodedata
from html.parser import HTMLParser

__all__ = ["clean_inline", "html_to_text", "normalise_key"]

_BLOCK_TAGS = frozenset(
    {
        "p",
        "div",
        "br",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "tr",
        "table",
        "section",
        "article",
        "header",
        "footer",
        "blockquote",
        "pre",
        "hr",
        "dd",
        "dt",
    }
)
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "head", "svg"})
# Zero-width and bidirectional control characters can hide or reorder text in an alert.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u00ad]")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u2000-\u200a\u3000]+")
_BLANK_LINES = re.compile(r"\n\s*\n\s*(\n\s*)+")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(data)


# Markup whose every "<" opens a bare tag (``<p>``, ``</li>``, ``<br/>``: no attributes,
# comments or declarations) is common in feeds and read here without HTMLParser, with
# the same result (tests/test_fast_paths.py compares the two); anything else goes to it.
_BARE_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)( ?/)?>")
# Tags whose content HTMLParser reads as raw text (in some Python version) or we skip.
_NOT_BARE = _SKIP_TAGS | {"title", "textarea", "xmp", "iframe", "noembed", "noframes", "plaintext"}


def _bare_markup_text(markup: str) -> str | None:
    """What _TextExtractor makes of markup with only bare tags; None for other markup."""
    tags = list(_BARE_TAG.finditer(markup))
    if len(tags) != markup.count("<"):
        return None
    parts: list[str] = []
    position = 0
    for tag in tags:
        if tag.start() > position:
            parts.append(html.unescape(markup[position : tag.start()]))
        position = tag.end()
        closing, name, self_closing = tag.groups()
        name = name.lower()
        if name in _NOT_BARE or (closing and self_closing):
            return None
        block = name in _BLOCK_TAGS
        if block:
            parts.append("\n")  # the start tag (or the end tag, for "</p>")
        if not closing and name == "li":
            parts.append("- ")
        if self_closing and block:
            parts.append("\n")  # "<br/>" is a start and an end tag
    if position < len(markup):
        parts.append(html.unescape(markup[position:]))
    return "".join(parts)


def html_to_text(markup: str) -> str:
    """Turn HTML (possibly entity-escaped twice, as some ATS APIs send it) into plain text.

    Block elements become line breaks; scripts and styles are dropped; invisible
    characters are removed. Plain text passes through with whitespace tidied.
    """
    if "<" not in markup and "&lt;" in markup:
        markup = html.unescape(markup)
    if "<" in markup:
        bare = _bare_markup_text(markup)
        if bare is not None:
            text = bare
        else:
            extractor = _TextExtractor()
            extractor.feed(markup)
            extractor.close()
            text = "".join(extractor.parts)
    else:
        text = html.unescape(markup)
    text = _INVISIBLE.sub("", unicodedata.normalize("NFC", text))
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def clean_inline(value: str) -> str:
    """One line of text: no markup, no invisible characters, single spaces."""
    if value.isascii() and "<" not in value and "&" not in value:
        # No markup, entity, invisible or non-ASCII space: html_to_text would only tidy
        # whitespace, which the split below does anyway (the common case; issue #8).
        return " ".join(value.split())
    return " ".join(html_to_text(value).split())


_NON_WORD = re.compile(r"[^\w]+")
# In ASCII a word character is a letter, a digit or "_" (which becomes a space as well):
# a translation table does what the pattern and the replace do, several times faster.
_ASCII_NON_WORD = str.maketrans({chr(c): " " for c in range(128) if not chr(c).isalnum()})


def normalise_key(value: str) -> str:
    """A comparison key: case-folded, accents removed, punctuation collapsed to spaces."""
    if value.isascii():
        # The common case, and the same answer: ASCII has nothing to decompose or strip.
        return " ".join(value.lower().translate(_ASCII_NON_WORD).split())
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_NON_WORD.sub(" ", stripped).replace("_", " ").split())
