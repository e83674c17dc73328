"""A fake Slack Web API server for jobbot's integration tests.

The fake is a real HTTP server (``aiohttp.web``) on ``127.0.0.1`` so that the real
``slack_sdk`` clients and ``slack_bolt`` apps can be pointed at it with ``base_url``::

    async with FakeSlack(spec=load_slack_spec()) as slack:
        client = AsyncWebClient(token="xoxb-test", base_url=slack.api_url)
        await client.chat_postMessage(channel="C0GENERAL", text="hi")
        assert slack.messages_in("C0GENERAL")[0]["text"] == "hi"

Besides answering the methods jobbot uses, it acts as a strict reviewer: argument names
are checked against the published Web API spec, Block Kit payloads against the documented
limits, and ``chat.postMessage`` is rate limited per channel like the real service.
Problems found in what the bot sent are recorded in :attr:`FakeSlack.violations`.

The module also builds signed slash-command / interaction requests for bolt's HTTP mode
(:func:`sign_request`, :func:`slash_command_body`, :func:`view_submission_body`,
:func:`block_actions_body`) and audits messages for mentions (:func:`find_mentions`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import itertools
import json
import math
import re
import secrets
import time
import urllib.parse
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal

from aiohttp import web

__all__ = [
    "APP_ID",
    "APP_TOKEN",
    "BOT_ID",
    "BOT_TOKEN",
    "BOT_USER_ID",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "COMMON_NEWER_ARGS",
    "DEFAULT_CHANNEL_ID",
    "NEWER_ARGS",
    "TEAM_ID",
    "USER_ID",
    "FakeSlack",
    "Link",
    "Mentions",
    "RecordedCall",
    "Violation",
    "block_actions_body",
    "check_blocks",
    "check_view",
    "event_body",
    "find_mentions",
    "sign_request",
    "slash_command_body",
    "view_submission_body",
]

# --- identities of the default fake workspace --------------------------------------------

TEAM_ID = "T0FAKE"
TEAM_NAME = "Fake Workspace"
TEAM_DOMAIN = "fake-workspace"
BOT_TOKEN = "xoxb-test"
APP_TOKEN = "xapp-test"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
APP_ID = "A0FAKE"
USER_ID = "U0USER"
DEFAULT_CHANNEL_ID = "C0GENERAL"
CLIENT_ID = "1111.2222"
CLIENT_SECRET = "fake-client-secret"

# Port 9 (discard) refuses connections at once, so a helper body built without an explicit
# response_url can never make a test talk to the real hooks.slack.com.
_UNROUTABLE_RESPONSE_URL = "http://127.0.0.1:9/response/unset"

# --- method tables ------------------------------------------------------------------------

# The 2021 spec (slackapi/slack-api-specs, last commit 2021-09) predates these arguments,
# which current slack_sdk sends and the live API accepts. Each entry is deliberate: add an
# argument here only after checking it in the current method docs on docs.slack.dev.
NEWER_ARGS: dict[str, frozenset[str]] = {
    "chat.postMessage": frozenset({"metadata", "markdown_text"}),
    "chat.update": frozenset({"metadata", "markdown_text", "reply_broadcast", "file_ids"}),
    "chat.postEphemeral": frozenset({"markdown_text"}),
    "views.open": frozenset({"interactivity_pointer"}),
    "conversations.history": frozenset({"include_all_metadata"}),
    # Token rotation; client_id/client_secret normally travel in the Basic auth header.
    "oauth.v2.access": frozenset({"grant_type", "refresh_token"}),
}

# Accepted on every method: slack_sdk clients built with ``team_id=`` (bolt builds one per
# request) add it to every call for org-wide installs, and the live API accepts it.
COMMON_NEWER_ARGS = frozenset({"team_id"})

# Posting methods affected by fail_channel(): they are where a removed/archived channel or a
# bot kicked out of a channel shows up for jobbot.
POSTING_METHODS = frozenset({"chat.postMessage", "chat.postEphemeral", "chat.update"})

# Methods that must be called with an app-level (xapp-) token rather than a bot token.
_APP_TOKEN_METHODS = frozenset({"apps.connections.open"})
# Methods authenticated by client credentials instead of a token.
_CLIENT_AUTH_METHODS = frozenset({"oauth.v2.access"})

# --- Block Kit limits (docs.slack.dev/reference/block-kit, mirrored by slack_sdk models) --

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_ID_LENGTH = 255  # block_id, action_id, callback_id, external_id
MAX_HEADER_TEXT = 150
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_MARKDOWN_BLOCK_TEXT = 12000  # cumulative across markdown blocks of one payload
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTIONS_ELEMENTS = 25
MAX_BUTTON_TEXT = 75
MAX_URL = 3000
MAX_BUTTON_VALUE = 2000
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_SELECT_OPTIONS = 100
MAX_OVERFLOW_OPTIONS = 5
MAX_CHOICE_OPTIONS = 10  # checkboxes, radio_buttons
MAX_PLACEHOLDER = 150
MAX_LABEL = 2000
MAX_ALT_TEXT = 2000
MAX_VIEW_TITLE = 24  # title, submit and close of a modal
MAX_PRIVATE_METADATA = 3000
MAX_TEXT = 40000  # chat.postMessage `text` (longer is truncated by Slack; we reject it)
MAX_MARKDOWN_TEXT = 12000
MAX_ATTACHMENTS = 100
MAX_RESPONSE_URL_USES = 5

KNOWN_BLOCK_TYPES = frozenset(
    {
        "actions",
        "context",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "video",
    }
)
KNOWN_ELEMENT_TYPES = frozenset(
    {
        "button",
        "checkboxes",
        "channels_select",
        "conversations_select",
        "datepicker",
        "datetimepicker",
        "email_text_input",
        "external_select",
        "file_input",
        "image",
        "multi_channels_select",
        "multi_conversations_select",
        "multi_external_select",
        "multi_static_select",
        "multi_users_select",
        "number_input",
        "overflow",
        "plain_text_input",
        "radio_buttons",
        "rich_text_input",
        "static_select",
        "timepicker",
        "url_text_input",
        "users_select",
        "workflow_button",
    }
)
_STATIC_SELECTS = frozenset({"static_select", "multi_static_select"})
_TEXT_TYPES = frozenset({"plain_text", "mrkdwn"})


# --- records ------------------------------------------------------------------------------


@dataclass
class Violation:
    """Something the bot sent that the real Slack would reject or that breaks a guideline.

    ``level`` is ``"error"`` when the fake answered with an error, ``"warning"`` when the
    call succeeded but the payload is poor practice (e.g. blocks without fallback text).
    """

    method: str
    level: Literal["error", "warning"]
    code: str
    message: str


@dataclass
class RecordedCall:
    """One request to ``/api/<method>`` as the fake understood it (token removed from args)."""

    method: str
    args: dict[str, Any]
    token: str | None
    http_method: str
    content_type: str
    status: int = 200
    ok: bool | None = None
    error: str | None = None


@dataclass(frozen=True)
class Link:
    """A ``<url>`` or ``<url|label>`` link found in message text."""

    url: str
    label: str | None = None


@dataclass
class Mentions:
    """Mentions and links found in a message (see :func:`find_mentions`)."""

    broadcasts: list[str] = field(default_factory=list)  # "channel", "here", "everyone"
    users: list[str] = field(default_factory=list)  # U…/W… ids from <@U…>
    subteams: list[str] = field(default_factory=list)  # S… ids from <!subteam^S…>
    channels: list[str] = field(default_factory=list)  # C… ids from <#C…> (no notification)
    links: list[Link] = field(default_factory=list)

    @property
    def pings(self) -> list[str]:
        """Everything that notifies somebody, rendered like Slack's syntax."""
        return (
            [f"<!{b}>" for b in self.broadcasts]
            + [f"<@{u}>" for u in self.users]
            + [f"<!subteam^{s}>" for s in self.subteams]
        )

    @property
    def notifies_anyone(self) -> bool:
        """True when the message would notify a user, a user group or a whole channel."""
        return bool(self.broadcasts or self.users or self.subteams)

    @property
    def link_urls(self) -> list[str]:
        """URLs of all links, in order of appearance."""
        return [link.url for link in self.links]

    def __bool__(self) -> bool:
        return bool(self.notifies_anyone or self.channels or self.links)


@dataclass
class _Identity:
    token: str
    kind: Literal["bot", "app", "user"]
    team_id: str
    team_name: str
    user_id: str
    bot_id: str | None
    app_id: str
    enterprise_id: str | None = None
    is_enterprise_install: bool = False


@dataclass
class _Channel:
    id: str
    name: str
    is_private: bool = False
    is_archived: bool = False
    bot_is_member: bool = True
    members: list[str] = field(default_factory=lambda: [BOT_USER_ID, USER_ID])
    #: A direct message between the bot and ``user`` (made by ``conversations.open``).
    user: str | None = None


@dataclass
class _Failure:
    status: int
    error: str
    retry_after: int | None


@dataclass
class _OAuthGrant:
    team_id: str
    team_name: str
    bot_token: str
    bot_user_id: str
    bot_id: str
    scope: str
    authed_user_id: str
    enterprise_id: str | None
    is_enterprise_install: bool = False


@dataclass
class _Reply:
    body: dict[str, Any]
    status: int = 200
    headers: dict[str, str] | None = None


@dataclass
class _Ctx:
    method: str
    args: dict[str, Any]
    identity: _Identity | None
    basic_auth: tuple[str, str] | None


class _BadRequest(Exception):
    """The request body could not be read the way Slack would (bad JSON, not an object)."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


# --- small helpers ------------------------------------------------------------------------


def _as_bool(value: Any) -> bool | None:
    """Interpret a Slack boolean argument: JSON bools, or "true"/"1" strings from forms."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    return str(value).strip().lower() in {"1", "true", "yes"}


def _as_int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _as_float(value: Any, default: float) -> float:
    try:
        return float(value) if value not in (None, "") else default
    except (TypeError, ValueError):
        return default


def _error(code: str, **extra: Any) -> _Reply:
    return _Reply({"ok": False, "error": code, **extra})


def _with_messages(code: str, messages: list[str]) -> _Reply:
    # Slack reports schema problems as JSON-pointer strings in response_metadata.messages.
    return _error(code, response_metadata={"messages": messages})


# --- Block Kit checking -------------------------------------------------------------------


class _BlockChecker:
    """Collects Block Kit problems as Slack-style ``[ERROR] … [json-pointer:/…]`` strings."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self._block_ids: set[str] = set()
        self._markdown_chars = 0
        self._markdown_pointer = ""

    def fail(self, pointer: str, message: str) -> None:
        self.errors.append(f"[ERROR] {message} [json-pointer:{pointer}]")

    def max_len(self, value: Any, limit: int, pointer: str) -> None:
        if isinstance(value, str) and len(value) > limit:
            self.fail(pointer, f"must be at most {limit} characters (got {len(value)})")

    def text_object(
        self,
        obj: Any,
        pointer: str,
        *,
        limit: int,
        plain_only: bool = False,
        required: bool = True,
    ) -> None:
        if obj is None:
            if required:
                self.fail(pointer, "is required")
            return
        if not isinstance(obj, dict):
            self.fail(pointer, "must be a text object")
            return
        kind = obj.get("type")
        allowed = {"plain_text"} if plain_only else _TEXT_TYPES
        if kind not in allowed:
            self.fail(f"{pointer}/type", f"must be one of {sorted(allowed)}")
        text = obj.get("text")
        if not isinstance(text, str) or not text:
            self.fail(f"{pointer}/text", "must be a non-empty string")
            return
        self.max_len(text, limit, f"{pointer}/text")

    def identifier(self, container: Mapping[str, Any], key: str, pointer: str) -> None:
        value = container.get(key)
        if value is None:
            return
        if not isinstance(value, str):
            self.fail(f"{pointer}/{key}", "must be a string")
            return
        self.max_len(value, MAX_ID_LENGTH, f"{pointer}/{key}")

    def blocks(self, blocks: Any, pointer: str, *, max_blocks: int) -> None:
        if not isinstance(blocks, list):
            self.fail(pointer, "must be an array of blocks")
            return
        if len(blocks) > max_blocks:
            self.fail(pointer, f"must contain at most {max_blocks} blocks (got {len(blocks)})")
        for index, block in enumerate(blocks):
            self.block(block, f"{pointer}/{index}")
        if self._markdown_chars > MAX_MARKDOWN_BLOCK_TEXT:
            self.fail(
                self._markdown_pointer,
                f"markdown blocks must total at most {MAX_MARKDOWN_BLOCK_TEXT} characters",
            )

    def block(self, block: Any, pointer: str) -> None:
        if not isinstance(block, dict):
            self.fail(pointer, "must be an object")
            return
        kind = block.get("type")
        if kind not in KNOWN_BLOCK_TYPES:
            self.fail(f"{pointer}/type", f"unknown block type {kind!r}")
            return
        block_id = block.get("block_id")
        self.identifier(block, "block_id", pointer)
        if isinstance(block_id, str):
            # Slack rejects a payload whose blocks share a block_id.
            if block_id in self._block_ids:
                self.fail(f"{pointer}/block_id", f"duplicate block_id {block_id!r}")
            self._block_ids.add(block_id)
        check = getattr(self, f"_block_{kind}", None)
        if check is not None:
            check(block, pointer)

    def _block_header(self, block: dict[str, Any], pointer: str) -> None:
        self.text_object(
            block.get("text"), f"{pointer}/text", limit=MAX_HEADER_TEXT, plain_only=True
        )

    def _block_section(self, block: dict[str, Any], pointer: str) -> None:
        text, fields = block.get("text"), block.get("fields")
        if text is None and fields is None:
            self.fail(pointer, "a section needs `text` or `fields`")
        if text is not None:
            self.text_object(text, f"{pointer}/text", limit=MAX_SECTION_TEXT)
        if fields is not None:
            if not isinstance(fields, list) or not fields:
                self.fail(f"{pointer}/fields", "must be a non-empty array")
            else:
                if len(fields) > MAX_SECTION_FIELDS:
                    self.fail(
                        f"{pointer}/fields",
                        f"must contain at most {MAX_SECTION_FIELDS} items (got {len(fields)})",
                    )
                for index, item in enumerate(fields):
                    self.text_object(item, f"{pointer}/fields/{index}", limit=MAX_FIELD_TEXT)
        accessory = block.get("accessory")
        if accessory is not None:
            self.element(accessory, f"{pointer}/accessory")

    def _block_context(self, block: dict[str, Any], pointer: str) -> None:
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            self.fail(f"{pointer}/elements", "must be a non-empty array")
            return
        if len(elements) > MAX_CONTEXT_ELEMENTS:
            self.fail(
                f"{pointer}/elements",
                f"must contain at most {MAX_CONTEXT_ELEMENTS} items (got {len(elements)})",
            )
        for index, element in enumerate(elements):
            sub = f"{pointer}/elements/{index}"
            if isinstance(element, dict) and element.get("type") == "image":
                self.element(element, sub)
            else:
                self.text_object(element, sub, limit=MAX_SECTION_TEXT)

    def _block_actions(self, block: dict[str, Any], pointer: str) -> None:
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            self.fail(f"{pointer}/elements", "must be a non-empty array")
            return
        if len(elements) > MAX_ACTIONS_ELEMENTS:
            self.fail(
                f"{pointer}/elements",
                f"must contain at most {MAX_ACTIONS_ELEMENTS} items (got {len(elements)})",
            )
        for index, element in enumerate(elements):
            self.element(element, f"{pointer}/elements/{index}")

    def _block_image(self, block: dict[str, Any], pointer: str) -> None:
        if block.get("image_url") is None and block.get("slack_file") is None:
            self.fail(pointer, "an image needs `image_url` or `slack_file`")
        self.max_len(block.get("image_url"), MAX_URL, f"{pointer}/image_url")
        alt = block.get("alt_text")
        if not isinstance(alt, str) or not alt:
            self.fail(f"{pointer}/alt_text", "must be a non-empty string")
        self.max_len(alt, MAX_ALT_TEXT, f"{pointer}/alt_text")
        if block.get("title") is not None:
            self.text_object(
                block["title"], f"{pointer}/title", limit=MAX_ALT_TEXT, plain_only=True
            )

    def _block_input(self, block: dict[str, Any], pointer: str) -> None:
        self.text_object(block.get("label"), f"{pointer}/label", limit=MAX_LABEL, plain_only=True)
        if block.get("hint") is not None:
            self.text_object(block["hint"], f"{pointer}/hint", limit=MAX_LABEL, plain_only=True)
        element = block.get("element")
        if element is None:
            self.fail(f"{pointer}/element", "is required")
        else:
            self.element(element, f"{pointer}/element")

    def _block_markdown(self, block: dict[str, Any], pointer: str) -> None:
        text = block.get("text")
        if not isinstance(text, str) or not text:
            self.fail(f"{pointer}/text", "must be a non-empty string")
            return
        self._markdown_chars += len(text)
        self._markdown_pointer = self._markdown_pointer or f"{pointer}/text"

    # -- elements and composition objects --

    def element(self, element: Any, pointer: str) -> None:
        if not isinstance(element, dict):
            self.fail(pointer, "must be an object")
            return
        kind = element.get("type")
        if kind not in KNOWN_ELEMENT_TYPES:
            self.fail(f"{pointer}/type", f"unknown element type {kind!r}")
            return
        self.identifier(element, "action_id", pointer)
        if element.get("placeholder") is not None:
            self.text_object(
                element["placeholder"],
                f"{pointer}/placeholder",
                limit=MAX_PLACEHOLDER,
                plain_only=True,
            )
        if element.get("confirm") is not None:
            self.confirm(element["confirm"], f"{pointer}/confirm")
        if kind == "button":
            self.text_object(
                element.get("text"), f"{pointer}/text", limit=MAX_BUTTON_TEXT, plain_only=True
            )
            self.max_len(element.get("url"), MAX_URL, f"{pointer}/url")
            self.max_len(element.get("value"), MAX_BUTTON_VALUE, f"{pointer}/value")
            style = element.get("style")
            if style is not None and style not in {"primary", "danger"}:
                self.fail(f"{pointer}/style", "must be 'primary' or 'danger'")
        elif kind == "image":
            self.max_len(element.get("image_url"), MAX_URL, f"{pointer}/image_url")
            alt = element.get("alt_text")
            if not isinstance(alt, str) or not alt:
                self.fail(f"{pointer}/alt_text", "must be a non-empty string")
        elif kind in _STATIC_SELECTS:
            self.options_list(element, pointer, limit=MAX_SELECT_OPTIONS, groups=True)
        elif kind == "overflow":
            self.options_list(element, pointer, limit=MAX_OVERFLOW_OPTIONS)
        elif kind in {"checkboxes", "radio_buttons"}:
            self.options_list(element, pointer, limit=MAX_CHOICE_OPTIONS)
        elif kind == "plain_text_input":
            max_length = element.get("max_length")
            if max_length is not None and (
                not isinstance(max_length, int) or max_length > MAX_SECTION_TEXT
            ):
                self.fail(f"{pointer}/max_length", f"must be an integer ≤ {MAX_SECTION_TEXT}")

    def options_list(
        self, element: dict[str, Any], pointer: str, *, limit: int, groups: bool = False
    ) -> None:
        options = element.get("options")
        option_groups = element.get("option_groups") if groups else None
        if options is None and option_groups is None:
            self.fail(f"{pointer}/options", "is required")
            return
        if options is not None:
            self._options(options, f"{pointer}/options", limit)
        if option_groups is not None:
            if not isinstance(option_groups, list):
                self.fail(f"{pointer}/option_groups", "must be an array")
                return
            if len(option_groups) > limit:
                self.fail(f"{pointer}/option_groups", f"must contain at most {limit} groups")
            for index, group in enumerate(option_groups):
                sub = f"{pointer}/option_groups/{index}"
                if not isinstance(group, dict):
                    self.fail(sub, "must be an object")
                    continue
                self.text_object(
                    group.get("label"), f"{sub}/label", limit=MAX_OPTION_TEXT, plain_only=True
                )
                self._options(group.get("options"), f"{sub}/options", limit)

    def _options(self, options: Any, pointer: str, limit: int) -> None:
        if not isinstance(options, list) or not options:
            self.fail(pointer, "must be a non-empty array")
            return
        if len(options) > limit:
            self.fail(pointer, f"must contain at most {limit} options (got {len(options)})")
        for index, option in enumerate(options):
            self.option(option, f"{pointer}/{index}")

    def option(self, option: Any, pointer: str) -> None:
        if not isinstance(option, dict):
            self.fail(pointer, "must be an option object")
            return
        self.text_object(option.get("text"), f"{pointer}/text", limit=MAX_OPTION_TEXT)
        value = option.get("value")
        if not isinstance(value, str) or not value:
            self.fail(f"{pointer}/value", "must be a non-empty string")
        self.max_len(value, MAX_OPTION_VALUE, f"{pointer}/value")
        if option.get("description") is not None:
            self.text_object(option["description"], f"{pointer}/description", limit=MAX_OPTION_TEXT)
        self.max_len(option.get("url"), MAX_URL, f"{pointer}/url")

    def confirm(self, confirm: Any, pointer: str) -> None:
        if not isinstance(confirm, dict):
            self.fail(pointer, "must be a confirmation object")
            return
        self.text_object(confirm.get("title"), f"{pointer}/title", limit=100, plain_only=True)
        self.text_object(confirm.get("text"), f"{pointer}/text", limit=300)
        self.text_object(confirm.get("confirm"), f"{pointer}/confirm", limit=30, plain_only=True)
        self.text_object(confirm.get("deny"), f"{pointer}/deny", limit=30, plain_only=True)


def check_blocks(
    blocks: Any, *, max_blocks: int = MAX_MESSAGE_BLOCKS, pointer: str = "/blocks"
) -> list[str]:
    """Return Slack-style error strings for a Block Kit ``blocks`` array (empty if valid).

    ``max_blocks`` is 50 for messages and 100 for modals / App Home.
    """
    checker = _BlockChecker()
    checker.blocks(blocks, pointer, max_blocks=max_blocks)
    return checker.errors


def check_view(view: Any, pointer: str = "/view") -> list[str]:
    """Return Slack-style error strings for a modal or Home tab view (empty if valid)."""
    checker = _BlockChecker()
    if not isinstance(view, dict):
        checker.fail(pointer, "must be a view object")
        return checker.errors
    kind = view.get("type")
    if kind not in {"modal", "home"}:
        checker.fail(f"{pointer}/type", "must be 'modal' or 'home'")
    if kind == "modal":
        checker.text_object(
            view.get("title"), f"{pointer}/title", limit=MAX_VIEW_TITLE, plain_only=True
        )
        for key in ("submit", "close"):
            if view.get(key) is not None:
                checker.text_object(
                    view[key], f"{pointer}/{key}", limit=MAX_VIEW_TITLE, plain_only=True
                )
        blocks = view.get("blocks")
        has_input = isinstance(blocks, list) and any(
            isinstance(b, dict) and b.get("type") == "input" for b in blocks
        )
        if has_input and view.get("submit") is None:
            checker.fail(f"{pointer}/submit", "is required when the modal has input blocks")
    checker.max_len(
        view.get("private_metadata"), MAX_PRIVATE_METADATA, f"{pointer}/private_metadata"
    )
    checker.identifier(view, "callback_id", pointer)
    checker.identifier(view, "external_id", pointer)
    checker.blocks(view.get("blocks"), f"{pointer}/blocks", max_blocks=MAX_VIEW_BLOCKS)
    return checker.errors


# --- mentions audit -----------------------------------------------------------------------

# Slack's control sequences: "<" … ">" with no nested angle brackets. Escaped text
# (&lt;!channel&gt;) contains no "<" and therefore never matches.
_CONTROL = re.compile(r"<([^<>]+)>")
# Only with link_names=1 / parse=full does Slack turn bare words into broadcasts.
_BARE_BROADCAST = re.compile(r"(?<![\w<!])@(channel|here|everyone)\b")
_URL_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def _scan_text(text: str, found: Mentions, *, link_names: bool) -> None:
    for match in _CONTROL.finditer(text):
        target, _, label = match.group(1).partition("|")
        label_or_none = label or None
        if target.startswith("!"):
            name = target[1:]
            if name in {"channel", "here", "everyone", "group"}:
                # <!group> is the legacy spelling of <!channel>.
                found.broadcasts.append("channel" if name == "group" else name)
            elif name.startswith("subteam^"):
                found.subteams.append(name.removeprefix("subteam^"))
            # <!date^…> and other "!" commands notify nobody.
        elif target.startswith("@"):
            found.users.append(target[1:])
        elif target.startswith("#"):
            found.channels.append(target[1:])
        elif _URL_SCHEME.match(target):
            found.links.append(Link(target, label_or_none))
    if link_names:
        found.broadcasts.extend(m.group(1) for m in _BARE_BROADCAST.finditer(text))


def _scan_rich_text(node: Any, found: Mentions) -> None:
    # rich_text blocks carry mentions as structured elements rather than <…> syntax.
    if isinstance(node, list):
        for item in node:
            _scan_rich_text(item, found)
        return
    if not isinstance(node, dict):
        return
    kind = node.get("type")
    if kind == "broadcast" and isinstance(node.get("range"), str):
        found.broadcasts.append(node["range"])
    elif kind == "user" and isinstance(node.get("user_id"), str):
        found.users.append(node["user_id"])
    elif kind == "usergroup" and isinstance(node.get("usergroup_id"), str):
        found.subteams.append(node["usergroup_id"])
    elif kind == "channel" and isinstance(node.get("channel_id"), str):
        found.channels.append(node["channel_id"])
    elif kind == "link" and isinstance(node.get("url"), str):
        found.links.append(Link(node["url"], node.get("text")))
    _scan_rich_text(node.get("elements"), found)


def _iter_block_texts(node: Any, *, include_plain_text: bool) -> Iterator[str]:
    """Yield the strings Slack parses for mentions inside a blocks/attachments tree."""
    if isinstance(node, list):
        for item in node:
            yield from _iter_block_texts(item, include_plain_text=include_plain_text)
        return
    if not isinstance(node, dict):
        return
    kind = node.get("type")
    text = node.get("text")
    if isinstance(text, str) and (
        kind in {"mrkdwn", "markdown"} or (kind == "plain_text" and include_plain_text)
    ):
        yield text
    for key, value in node.items():
        if key == "text" and isinstance(value, str):
            continue
        if isinstance(value, dict | list):
            yield from _iter_block_texts(value, include_plain_text=include_plain_text)


def find_mentions(
    message: Mapping[str, Any] | str, *, include_plain_text: bool = False
) -> Mentions:
    """Find mentions and links in a message (a recorded message dict, a payload, or a string).

    Scans the top-level ``text`` (and ``markdown_text``), every ``mrkdwn`` text object and
    ``markdown`` block in ``blocks``, legacy ``attachments`` text, and rich_text mention
    elements. ``plain_text`` objects are skipped by default because Slack never parses
    mentions in them; pass ``include_plain_text=True`` for a paranoid scan. When the message
    was sent with ``link_names`` or ``parse=full``, bare ``@channel``/``@here``/``@everyone``
    also count, because Slack then links them.
    """
    found = Mentions()
    if isinstance(message, str):
        _scan_text(message, found, link_names=False)
        return found
    link_names = bool(_as_bool(message.get("link_names"))) or message.get("parse") == "full"
    for key in ("text", "markdown_text"):
        value = message.get(key)
        if isinstance(value, str):
            _scan_text(value, found, link_names=link_names)
    blocks = message.get("blocks")
    if isinstance(blocks, list):
        for text in _iter_block_texts(blocks, include_plain_text=include_plain_text):
            _scan_text(text, found, link_names=link_names)
        _scan_rich_text(
            [b for b in blocks if isinstance(b, dict) and b.get("type") == "rich_text"], found
        )
    attachments = message.get("attachments")
    if isinstance(attachments, list):
        for attachment in attachments:
            if not isinstance(attachment, dict):
                continue
            for key in ("pretext", "text", "title", "footer"):
                if isinstance(attachment.get(key), str):
                    _scan_text(attachment[key], found, link_names=link_names)
            for fld in attachment.get("fields") or []:
                if isinstance(fld, dict) and isinstance(fld.get("value"), str):
                    _scan_text(fld["value"], found, link_names=link_names)
            for text in _iter_block_texts(
                attachment.get("blocks"), include_plain_text=include_plain_text
            ):
                _scan_text(text, found, link_names=link_names)
    return found


# --- signed requests for bolt's HTTP mode -------------------------------------------------


def sign_request(signing_secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    """Return the ``X-Slack-Request-Timestamp`` / ``X-Slack-Signature`` headers for ``body``.

    The signature is ``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{body}`` keyed with the
    signing secret, as bolt verifies it. Pass an old ``timestamp`` to test replay rejection
    (bolt refuses anything more than 5 minutes off). Send the body with
    ``Content-Type: application/x-www-form-urlencoded``.
    """
    ts = int(time.time()) if timestamp is None else int(timestamp)
    base = f"v0:{ts}:{body}".encode()
    digest = hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={digest}"}


def _trigger_id() -> str:
    return f"{secrets.randbelow(10**10)}.{secrets.randbelow(10**10)}.{secrets.token_hex(16)}"


def slash_command_body(
    text: str,
    *,
    command: str = "/jobs",
    channel_id: str = DEFAULT_CHANNEL_ID,
    channel_name: str = "general",
    user_id: str = USER_ID,
    user_name: str = "tester",
    team_id: str = TEAM_ID,
    team_domain: str = TEAM_DOMAIN,
    response_url: str = _UNROUTABLE_RESPONSE_URL,
    trigger_id: str | None = None,
    api_app_id: str = APP_ID,
    enterprise_id: str | None = None,
    is_enterprise_install: bool = False,
) -> str:
    """Build the form-urlencoded body Slack POSTs for a slash command (default ``/jobs``).

    Use ``FakeSlack.response_url(name)`` as ``response_url`` to capture ``respond()`` calls.
    In an Enterprise Grid org, ``enterprise_id`` is the org and ``team_id`` the workspace
    the command was typed in; ``is_enterprise_install`` says the app is installed org-wide.
    """
    fields: dict[str, str] = {
        "token": "deprecated-verification-token",
        "team_id": team_id,
        "team_domain": team_domain,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": "true" if is_enterprise_install else "false",
        "response_url": response_url,
        "trigger_id": trigger_id or _trigger_id(),
    }
    if enterprise_id is not None:
        fields["enterprise_id"] = enterprise_id
    return urllib.parse.urlencode(fields)


def _payload_body(payload: Mapping[str, Any]) -> str:
    # Interactions arrive as a form with a single `payload` field holding JSON.
    return urllib.parse.urlencode({"payload": json.dumps(payload, separators=(",", ":"))})


def view_submission_body(
    values: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
    *,
    callback_id: str = "jobs_subscribe",
    private_metadata: str = "",
    user_id: str = USER_ID,
    team_id: str = TEAM_ID,
    view_id: str = "V0FAKE",
    api_app_id: str = APP_ID,
    trigger_id: str | None = None,
    blocks: list[dict[str, Any]] | None = None,
    title: str = "Job alerts",
    external_id: str = "",
    response_urls: list[dict[str, str]] | None = None,
) -> str:
    """Build a ``payload=<json>`` body for a ``view_submission`` interaction.

    ``values`` is ``view.state.values``: ``{block_id: {action_id: {"type": …, "value": …}}}``
    (``selected_option`` / ``selected_options`` for selects).
    """
    payload = {
        "type": "view_submission",
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "user": {"id": user_id, "username": "tester", "name": "tester", "team_id": team_id},
        "api_app_id": api_app_id,
        "token": "deprecated-verification-token",
        "trigger_id": trigger_id or _trigger_id(),
        "view": {
            "id": view_id,
            "team_id": team_id,
            "type": "modal",
            "blocks": blocks or [],
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": dict(values or {})},
            "hash": "1700000000.fakehash",
            "title": {"type": "plain_text", "text": title},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": None,
            "submit": {"type": "plain_text", "text": "Save"},
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": api_app_id,
            "external_id": external_id,
            "app_installed_team_id": team_id,
            "bot_id": BOT_ID,
        },
        "response_urls": response_urls or [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return _payload_body(payload)


def event_body(
    event: Mapping[str, Any], *, team_id: str = TEAM_ID, api_app_id: str = APP_ID
) -> str:
    """Build the JSON body Slack POSTs to the Events API URL for one event (``event_callback``)."""
    return json.dumps(
        {
            "token": "deprecated-verification-token",
            "team_id": team_id,
            "api_app_id": api_app_id,
            "event": {"event_ts": f"{time.time():.6f}", **event},
            "type": "event_callback",
            "event_id": f"Ev{secrets.token_hex(5).upper()}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": team_id, "user_id": BOT_USER_ID, "is_bot": True}],
        }
    )


def block_actions_body(
    action_id: str,
    *,
    value: str | None = None,
    block_id: str = "actions",
    action_type: str = "button",
    selected_option: Mapping[str, Any] | None = None,
    user_id: str = USER_ID,
    team_id: str = TEAM_ID,
    channel_id: str = DEFAULT_CHANNEL_ID,
    message_ts: str | None = "1700000000.000100",
    message: Mapping[str, Any] | None = None,
    view: Mapping[str, Any] | None = None,
    response_url: str = _UNROUTABLE_RESPONSE_URL,
    trigger_id: str | None = None,
    api_app_id: str = APP_ID,
) -> str:
    """Build a ``payload=<json>`` body for a ``block_actions`` interaction (a button click…).

    By default the action comes from a message in ``channel_id``; pass ``view`` (with an
    ``id``) for an action inside a modal, in which case no message/response_url is sent.
    """
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id,
        "type": action_type,
        "action_ts": f"{time.time():.6f}",
    }
    if value is not None:
        action["value"] = value
    if action_type == "button":
        action["text"] = {"type": "plain_text", "text": action_id, "emoji": True}
    if selected_option is not None:
        action["selected_option"] = dict(selected_option)
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user_id, "username": "tester", "name": "tester", "team_id": team_id},
        "api_app_id": api_app_id,
        "token": "deprecated-verification-token",
        "trigger_id": trigger_id or _trigger_id(),
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "actions": [action],
        "state": {"values": {}},
    }
    if view is not None:
        payload["container"] = {"type": "view", "view_id": view.get("id", "V0FAKE")}
        payload["view"] = dict(view)
    else:
        msg = (
            dict(message)
            if message is not None
            else {
                "type": "message",
                "ts": message_ts,
                "text": "",
                "user": BOT_USER_ID,
                "bot_id": BOT_ID,
            }
        )
        payload["container"] = {
            "type": "message",
            "message_ts": msg.get("ts", message_ts),
            "channel_id": channel_id,
            "is_ephemeral": False,
        }
        payload["channel"] = {"id": channel_id, "name": "general"}
        payload["message"] = msg
        payload["response_url"] = response_url
    return _payload_body(payload)


# --- the server ---------------------------------------------------------------------------

_Handler = Callable[[_Ctx], Awaitable[_Reply]]


class FakeSlack:
    """Fake Slack Web API on ``127.0.0.1`` for slack_sdk / bolt integration tests.

    Args:
        spec: the Slack Web API OpenAPI document (``tests.fakes.specs.load_slack_spec()``);
            when ``None`` argument names are not checked.
        per_channel_interval: minimum seconds between accepted ``chat.postMessage`` calls to
            one channel (Slack: about 1/s); ``0`` disables rate limiting.
        retry_after_seconds: fixed ``Retry-After`` value for 429s (e.g. ``0`` in fast
            tests); by default ``ceil`` of the remaining wait, at least 1, as Slack does.
        bot_token / app_token: tokens valid from the start (more via :meth:`add_token`).
        channels: when given (ids, or a mapping id → name), only these channels exist and
            others answer ``channel_not_found``; when ``None`` any channel id is accepted and
            created on first use.
        client_id / client_secret: credentials expected by ``oauth.v2.access``.
        response_url_max_uses: posts accepted per response URL (Slack allows 5).
        host / port: where to listen (port 0 picks a free port).

    Attributes recorded for assertions: :attr:`messages`, :attr:`calls`,
    :attr:`violations`, :attr:`rate_limited_count`, :attr:`ephemerals`, :attr:`views`,
    :attr:`responses`.

    Behaviour worth knowing: invalid ``blocks`` answer ``invalid_blocks`` but an invalid
    ``view`` answers ``invalid_arguments`` (as Slack does); ``chat.postEphemeral`` needs the
    user among the channel's members (default: the bot and ``U0USER``), else
    ``user_not_in_channel``; the order of checks is unknown method → injected failure →
    token → argument names → method arguments → rate limit → content.
    """

    def __init__(
        self,
        spec: Mapping[str, Any] | None = None,
        *,
        per_channel_interval: float = 1.0,
        retry_after_seconds: int | None = None,
        bot_token: str = BOT_TOKEN,
        app_token: str = APP_TOKEN,
        team_id: str = TEAM_ID,
        team_name: str = TEAM_NAME,
        channels: Mapping[str, str] | Iterable[str] | None = None,
        client_id: str = CLIENT_ID,
        client_secret: str = CLIENT_SECRET,
        response_url_max_uses: int = MAX_RESPONSE_URL_USES,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.per_channel_interval = per_channel_interval
        self.retry_after_seconds = retry_after_seconds
        self.team_id = team_id
        self.team_name = team_name
        self.client_id = client_id
        self.client_secret = client_secret
        self.response_url_max_uses = response_url_max_uses
        self._host = host
        self._requested_port = port

        #: Accepted chat.postMessage messages in order; chat.update edits them in place.
        self.messages: list[dict[str, Any]] = []
        #: Every /api/ request, including rejected ones.
        self.calls: list[RecordedCall] = []
        #: Problems found in what the bot sent (see :class:`Violation`).
        self.violations: list[Violation] = []
        #: Number of HTTP 429 answers given by the per-channel rate limiter.
        self.rate_limited_count = 0
        #: Accepted chat.postEphemeral messages.
        self.ephemerals: list[dict[str, Any]] = []
        #: Open views by view id (latest version).
        self.views: dict[str, dict[str, Any]] = {}
        #: The Home tab published for each user (latest version), by user id.
        self.home_views: dict[str, dict[str, Any]] = {}
        #: JSON bodies POSTed to each response URL, by name.
        self.responses: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)

        self._spec_params = self._index_spec(spec) if spec is not None else None
        self._tokens: dict[str, _Identity] = {}
        self._revoked: set[str] = set()
        self._channels: dict[str, _Channel] = {}
        self._auto_channels = channels is None
        self._users: dict[str, dict[str, Any]] = {}
        #: The IM channel id of each user's DM with the bot, once ``conversations.open`` made it.
        self.ims: dict[str, str] = {}
        self._channel_failures: dict[str, str] = {}
        # Per method, what its next calls meet: a failure, or None to let one through.
        self._failures: defaultdict[str, deque[_Failure | None]] = defaultdict(deque)
        self._dropped_answers: defaultdict[str, int] = defaultdict(int)
        self._oauth_codes: dict[str, _OAuthGrant] = {}
        self._expired_triggers: set[str] = set()
        self._last_post: dict[tuple[str, str], float] = {}
        self._outage: tuple[int, str, str] | None = None
        self._auth_failure: str | None = None
        self._method_limits: dict[str, int] = {}
        self._method_calls: defaultdict[tuple[str, str | None], deque[float]] = defaultdict(deque)
        self._last_ts_micros = 0
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

        self.add_token(bot_token, kind="bot")
        self.add_token(app_token, kind="app")
        if channels is not None:
            items = (
                channels.items() if isinstance(channels, Mapping) else ((c, c) for c in channels)
            )
            for channel_id, name in items:
                self.add_channel(channel_id, name)
        self.add_user(BOT_USER_ID, name="jobbot", is_bot=True)
        self.add_user(USER_ID, name="tester")

        self._handlers: dict[str, _Handler] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "conversations.history": self._conversations_history,
            "conversations.info": self._conversations_info,
            "conversations.members": self._conversations_members,
            "conversations.open": self._conversations_open,
            "users.info": self._users_info,
            "apps.connections.open": self._apps_connections_open,
            "oauth.v2.access": self._oauth_v2_access,
        }

    # -- lifecycle --

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Start listening; called by ``async with``."""
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/response/{name}", self._handle_response_url)
        # access_log=None keeps pytest output free of one log line per request.
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._requested_port)
        await site.start()
        address = self._runner.addresses[0]
        self._port = int(address[1])

    async def stop(self) -> None:
        """Stop the server; called by ``async with``."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def port(self) -> int:
        """The TCP port the fake listens on (only after :meth:`start`)."""
        if self._port is None:
            raise RuntimeError("FakeSlack is not started; use `async with FakeSlack() as slack`")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` without a trailing slash."""
        return f"http://{self._host}:{self.port}"

    @property
    def api_url(self) -> str:
        """Web API base URL for ``WebClient(base_url=…)``; ends with ``/api/``."""
        return f"{self.base_url}/api/"

    def response_url(self, name: str) -> str:
        """A response_url on the fake; JSON bodies POSTed to it land in ``responses[name]``."""
        return f"{self.base_url}/response/{urllib.parse.quote(name, safe='')}"

    def fresh_response_url(self) -> tuple[str, str]:
        """A response_url no command has used yet, and its name in ``responses``."""
        name = f"command-{next(self._ids)}"
        return name, self.response_url(name)

    async def command_reply(self, name: str, acked: Any, within: float = 30.0) -> dict[str, Any]:
        """A slash command's reply: its acknowledgement's body, or, when the ack was empty
        (the bot acknowledges at once and replies later when its work is slow, as on a
        busy machine), the first message posted to its response_url ``name``."""
        if acked:
            return acked if isinstance(acked, dict) else {"text": acked}
        for _ in range(int(within / 0.02)):
            if self.responses[name]:
                return self.responses[name][0]
            await asyncio.sleep(0.02)
        raise AssertionError(f"no reply to the command, in its ack or at {name}")

    # -- configuration --

    def add_token(
        self,
        token: str,
        *,
        kind: Literal["bot", "app", "user"] = "bot",
        team_id: str | None = None,
        team_name: str | None = None,
        user_id: str = BOT_USER_ID,
        bot_id: str | None = BOT_ID,
        app_id: str = APP_ID,
        enterprise_id: str | None = None,
        is_enterprise_install: bool = False,
    ) -> None:
        """Make ``token`` valid (again), identifying the given team/user.

        An org-wide (Enterprise Grid) token has ``is_enterprise_install`` and answers
        ``auth.test`` with the org's id as its team (mem: as an org-level token does).
        """
        self._revoked.discard(token)
        self._tokens[token] = _Identity(
            token=token,
            kind=kind,
            team_id=team_id or self.team_id,
            team_name=team_name or self.team_name,
            user_id=user_id,
            bot_id=bot_id if kind == "bot" else None,
            app_id=app_id,
            enterprise_id=enterprise_id,
            is_enterprise_install=is_enterprise_install,
        )

    def revoke_token(self, token: str) -> None:
        """Make later calls with ``token`` fail with ``token_revoked``."""
        self._revoked.add(token)

    def add_channel(
        self,
        channel_id: str,
        name: str | None = None,
        *,
        is_private: bool = False,
        is_archived: bool = False,
        bot_is_member: bool = True,
        members: Iterable[str] | None = None,
    ) -> None:
        """Create or replace a channel.

        Posting to an archived channel answers ``is_archived``; with ``bot_is_member=False``
        it answers ``not_in_channel``.
        """
        channel = _Channel(
            id=channel_id,
            name=name or channel_id.lower(),
            is_private=is_private,
            is_archived=is_archived,
            bot_is_member=bot_is_member,
        )
        if members is not None:
            channel.members = list(members)
        self._channels[channel_id] = channel

    def add_user(
        self,
        user_id: str,
        *,
        name: str = "user",
        real_name: str | None = None,
        tz: str = "Europe/London",
        is_admin: bool = False,
        is_bot: bool = False,
        deleted: bool = False,
    ) -> dict[str, Any]:
        """Create or replace a user returned by ``users.info``; returns the user object."""
        user = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "real_name": real_name or name,
            "deleted": deleted,
            "tz": tz,
            "is_admin": is_admin,
            "is_owner": False,
            "is_bot": is_bot,
            "profile": {"display_name": name, "real_name": real_name or name},
        }
        self._users[user_id] = user
        return user

    def add_oauth_code(
        self,
        code: str,
        *,
        team_id: str = "T0NEW",
        team_name: str = "New Workspace",
        bot_token: str | None = None,
        bot_user_id: str = "U0BOTNEW",
        bot_id: str = "B0BOTNEW",
        scope: str = "chat:write,chat:write.public,commands",
        authed_user_id: str = "U0INSTALLER",
        enterprise_id: str | None = None,
        is_enterprise_install: bool = False,
    ) -> str:
        """Let ``oauth.v2.access`` exchange ``code`` (once) for a bot token; returns the token.

        The token becomes valid for API calls once the code has been exchanged. With
        ``enterprise_id`` the workspace belongs to that Enterprise Grid org; with
        ``is_enterprise_install`` as well the app is installed on the whole org, and the
        answer has ``team: null``, as Slack's does for an org-wide install.
        """
        if is_enterprise_install and not enterprise_id:
            raise ValueError("an org-wide install needs the org's enterprise_id")
        token = bot_token or f"xoxb-{team_id.lower()}-{secrets.token_hex(6)}"
        self._oauth_codes[code] = _OAuthGrant(
            team_id=team_id,
            team_name=team_name,
            bot_token=token,
            bot_user_id=bot_user_id,
            bot_id=bot_id,
            scope=scope,
            authed_user_id=authed_user_id,
            enterprise_id=enterprise_id,
            is_enterprise_install=is_enterprise_install,
        )
        return token

    def expire_trigger(self, trigger_id: str) -> None:
        """Make ``views.open`` with ``trigger_id`` fail with ``expired_trigger_id``."""
        self._expired_triggers.add(trigger_id)

    def fail_channel(self, channel_id: str, error: str | None = "channel_not_found") -> None:
        """Make posting methods fail for ``channel_id`` with ``error`` until cleared.

        Affects chat.postMessage, chat.postEphemeral and chat.update. Typical errors:
        ``channel_not_found``, ``not_in_channel``, ``is_archived``. ``error=None`` clears.
        """
        if error is None:
            self._channel_failures.pop(channel_id, None)
        else:
            self._channel_failures[channel_id] = error

    def fail_next(
        self,
        method: str,
        *,
        status: int = 200,
        error: str | None = None,
        times: int = 1,
        retry_after: int | None = None,
        after: int = 0,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail before any other processing.

        ``status=500``/``503`` gives an HTTP error (body ``internal_error`` unless ``error``
        says otherwise); ``status=429`` a rate-limit answer with ``Retry-After``
        (``retry_after``, default 1); ``status=200`` with ``error`` an ``ok: false`` answer
        such as ``internal_error`` or ``fatal_error``. ``after`` lets that many calls of
        ``method`` through first (say, the second part of a digest fails).
        """
        if status == 200 and error is None:
            raise ValueError("fail_next needs an error code or a non-200 status")
        if status == 429:
            code = error or "ratelimited"
        elif status >= 500:
            code = error or "internal_error"
        else:
            code = error or "invalid_request"
        self._failures[method].extend([None] * after)
        for _ in range(times):
            self._failures[method].append(_Failure(status, code, retry_after))

    def drop_answers(self, method: str, times: int = 1) -> None:
        """Carry out the next ``times`` calls of ``method`` (a message is posted) but drop
        the connection instead of answering, as a network failure mid-request does: the
        client cannot tell whether the call happened."""
        self._dropped_answers[method] += times

    def start_outage(
        self,
        *,
        status: int = 503,
        body: str = "upstream connect error or disconnect/reset before headers",
        content_type: str = "text/plain",
    ) -> None:
        """Answer every Web API call with ``status`` and a non-JSON ``body`` until
        :meth:`end_outage`, as Slack (or a proxy in front of it) does in an outage.

        ``content_type="application/json"`` gives a body that claims to be JSON and is not.
        """
        self._outage = (status, body, content_type)

    def end_outage(self) -> None:
        """Undo :meth:`start_outage`."""
        self._outage = None

    def fail_auth(self, error: str | None = "invalid_auth") -> None:
        """Refuse every token-authenticated call with ``error`` until ``fail_auth(None)``.

        Typical errors: ``invalid_auth``, ``account_inactive``, ``team_access_not_granted``,
        ``missing_scope``. (:meth:`revoke_token` refuses one token for good.)
        """
        self._auth_failure = error

    def limit_method(self, method: str, per_minute: int | None) -> None:
        """Allow ``per_minute`` calls of ``method`` per token in any 60 s (Slack's tiers:
        Tier 2 about 20, Tier 3 about 50); more answer 429 with ``Retry-After``.
        ``None`` lifts the limit."""
        if per_minute is None:
            self._method_limits.pop(method, None)
        else:
            self._method_limits[method] = per_minute

    # -- queries --

    def messages_in(self, channel: str) -> list[dict[str, Any]]:
        """Messages accepted for ``channel`` (id), oldest first."""
        return [m for m in self.messages if m["channel"] == channel]

    def calls_to(self, method: str) -> list[RecordedCall]:
        """Recorded calls of one Web API method."""
        return [c for c in self.calls if c.method == method]

    @property
    def errors(self) -> list[Violation]:
        """Error-level violations only."""
        return [v for v in self.violations if v.level == "error"]

    @property
    def warnings(self) -> list[Violation]:
        """Warning-level violations only."""
        return [v for v in self.violations if v.level == "warning"]

    def mentions_in(
        self, message: Mapping[str, Any] | str, *, include_plain_text: bool = False
    ) -> Mentions:
        """Audit a message for mentions and links; see :func:`find_mentions`."""
        return find_mentions(message, include_plain_text=include_plain_text)

    def clear_records(self) -> None:
        """Forget recorded messages, calls, violations and counters (configuration stays)."""
        self.messages.clear()
        self.calls.clear()
        self.violations.clear()
        self.ephemerals.clear()
        self.responses.clear()
        self.rate_limited_count = 0
        self._last_post.clear()

    # -- HTTP plumbing --

    @staticmethod
    def _index_spec(spec: Mapping[str, Any]) -> dict[str, frozenset[str]]:
        params: dict[str, frozenset[str]] = {}
        for path, operations in (spec.get("paths") or {}).items():
            names: set[str] = set()
            for operation in operations.values():
                if isinstance(operation, dict):
                    names.update(p["name"] for p in operation.get("parameters", []) if "name" in p)
            # The token travels in the Authorization header, never as a checked argument.
            params[path.lstrip("/")] = frozenset(names - {"token"})
        return params

    @staticmethod
    async def _read_args(request: web.Request) -> dict[str, Any]:
        # slack_sdk sends `params` in the query string even on POST, and the body as JSON
        # (chat.*, views.*) or as a form (oauth.v2.access, …); Slack merges both.
        args: dict[str, Any] = dict(request.query)
        if not request.body_exists:
            return args
        if request.content_type == "application/json":
            raw = await request.text()
            try:
                body = json.loads(raw) if raw.strip() else {}
            except json.JSONDecodeError as exc:
                raise _BadRequest("invalid_json") from exc
            if not isinstance(body, dict):
                raise _BadRequest("json_not_object")
            args.update(body)
        elif request.content_type in {"application/x-www-form-urlencoded", "multipart/form-data"}:
            form = await request.post()
            for key, value in form.items():
                args[key] = value if isinstance(value, str) else getattr(value, "filename", "")
        else:
            raise _BadRequest("invalid_post_type")
        return args

    @staticmethod
    def _auth_header(request: web.Request) -> tuple[str | None, tuple[str, str] | None]:
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value:
            return value.strip(), None
        if scheme.lower() == "basic" and value:
            try:
                decoded = base64.b64decode(value.strip()).decode()
            except (binascii.Error, UnicodeDecodeError):
                return None, None
            user, _, password = decoded.partition(":")
            return None, (urllib.parse.unquote(user), urllib.parse.unquote(password))
        return None, None

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        bearer, basic = self._auth_header(request)
        call = RecordedCall(
            method=method,
            args={},
            token=bearer,
            http_method=request.method,
            content_type=request.content_type,
        )
        self.calls.append(call)
        try:
            args = await self._read_args(request)
        except _BadRequest as exc:
            reply = _error(exc.error)
            self._violate(method, "error", exc.error, f"request body rejected: {exc.error}")
        else:
            form_token = args.pop("token", None)
            call.token = bearer or (str(form_token) if form_token is not None else None)
            call.args = args
            if self._outage is not None:
                status, text, content_type = self._outage
                call.status, call.ok, call.error = status, False, None
                return web.Response(text=text, status=status, content_type=content_type)
            reply = await self._dispatch(method, args, call.token, basic)
            if self._dropped_answers[method] > 0 and request.transport is not None:
                # Carried out, never answered: the client sees the connection drop.
                self._dropped_answers[method] -= 1
                call.status, call.ok, call.error = 0, bool(reply.body.get("ok")), "dropped"
                request.transport.close()
                return web.Response(status=204)
        call.status = reply.status
        call.ok = bool(reply.body.get("ok"))
        call.error = reply.body.get("error")
        return web.json_response(reply.body, status=reply.status, headers=reply.headers)

    async def _dispatch(
        self,
        method: str,
        args: dict[str, Any],
        token: str | None,
        basic: tuple[str, str] | None,
    ) -> _Reply:
        handler = self._handlers.get(method)
        if handler is None:
            return _error("unknown_method", req_method=method)
        failure = self._failures[method].popleft() if self._failures[method] else None
        if failure is not None:
            headers = None
            if failure.status == 429:
                headers = {
                    "Retry-After": str(
                        failure.retry_after if failure.retry_after is not None else 1
                    )
                }
            return _Reply({"ok": False, "error": failure.error}, failure.status, headers)

        identity: _Identity | None = None
        if method not in _CLIENT_AUTH_METHODS:
            if not token:
                return _error("not_authed")
            if token in self._revoked:
                return _error("token_revoked")
            identity = self._tokens.get(token)
            if identity is None:
                return _error("invalid_auth")
            if self._auth_failure is not None:
                return _error(self._auth_failure)
            limited = self._over_method_limit(method, token)
            if limited is not None:
                return limited
            wants_app = method in _APP_TOKEN_METHODS
            if (identity.kind == "app") != wants_app:
                return _error("not_allowed_token_type")

        unknown = self._unknown_args(method, args)
        if unknown:
            self._violate(
                method, "error", "invalid_arg_name", f"unknown argument(s): {', '.join(unknown)}"
            )
            return _with_messages(
                "invalid_arg_name", [f"[ERROR] unknown argument {name!r}" for name in unknown]
            )
        return await handler(_Ctx(method, args, identity, basic))

    def _over_method_limit(self, method: str, token: str) -> _Reply | None:
        limit = self._method_limits.get(method)
        if limit is None:
            return None
        now = time.monotonic()
        calls = self._method_calls[(method, token)]
        while calls and calls[0] <= now - 60.0:
            calls.popleft()
        if len(calls) >= limit:
            self.rate_limited_count += 1
            wait = max(1, math.ceil(calls[0] + 60.0 - now))
            return _Reply({"ok": False, "error": "ratelimited"}, 429, {"Retry-After": str(wait)})
        calls.append(now)
        return None

    def _unknown_args(self, method: str, args: Mapping[str, Any]) -> list[str]:
        if self._spec_params is None:
            return []
        known = self._spec_params.get(method)
        if known is None:
            # Methods newer than the 2021 spec (apps.connections.open) cannot be checked.
            return []
        allowed = known | NEWER_ARGS.get(method, frozenset()) | COMMON_NEWER_ARGS
        return sorted(name for name in args if name not in allowed)

    def _violate(
        self, method: str, level: Literal["error", "warning"], code: str, message: str
    ) -> None:
        self.violations.append(Violation(method, level, code, message))

    def _require(self, ctx: _Ctx, *names: str) -> _Reply | None:
        missing = [n for n in names if ctx.args.get(n) in (None, "")]
        if not missing:
            return None
        self._violate(
            ctx.method, "error", "invalid_arguments", f"missing required: {', '.join(missing)}"
        )
        return _with_messages(
            "invalid_arguments", [f"[ERROR] missing required field: {name}" for name in missing]
        )

    def _next_ts(self) -> str:
        # As Slack's: the time the message was accepted, unique within the fake, so that
        # `oldest`/`latest` filters agree with the bot's own clock.
        self._last_ts_micros = max(int(time.time() * 1_000_000), self._last_ts_micros + 1)
        seconds, micros = divmod(self._last_ts_micros, 1_000_000)
        return f"{seconds}.{micros:06d}"

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08d}"

    def _lookup_channel(self, channel: str) -> _Channel | None:
        if channel in self._channels:
            return self._channels[channel]
        name = channel.lstrip("#")
        for candidate in self._channels.values():
            if candidate.name == name:
                return candidate
        # "@U123" is no channel id (DMs take a D… id from conversations.open).
        if self._auto_channels and not channel.startswith(("#", "@")):
            self.add_channel(channel)
            return self._channels[channel]
        return None

    def _channel_for_post(self, ctx: _Ctx) -> tuple[_Channel | None, _Reply | None]:
        """Resolve the ``channel`` arg of a posting method or produce Slack's error."""
        raw = ctx.args.get("channel")
        if raw in (None, ""):
            self._violate(ctx.method, "error", "channel_not_found", "missing required: channel")
            return None, _error("channel_not_found")
        channel = self._lookup_channel(str(raw))
        if channel is None:
            return None, _error("channel_not_found")
        injected = self._channel_failures.get(channel.id) or self._channel_failures.get(str(raw))
        if injected is not None:
            return None, _error(injected)
        if channel.is_archived:
            return None, _error("is_archived")
        if not channel.bot_is_member:
            return None, _error("not_in_channel")
        return channel, None

    def _parse_json_arg(self, ctx: _Ctx, name: str, error: str) -> tuple[Any, _Reply | None]:
        # Form-encoded requests carry structured args (blocks, view, metadata) as JSON text.
        value = ctx.args.get(name)
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                self._violate(ctx.method, "error", error, f"`{name}` is not valid JSON")
                return None, _error(error)
            ctx.args[name] = value
        return value, None

    def _check_message_content(self, ctx: _Ctx) -> _Reply | None:
        """Validate text/blocks/attachments/metadata of a message; parse JSON-string args."""
        blocks, reply = self._parse_json_arg(ctx, "blocks", "invalid_blocks_format")
        if reply:
            return reply
        attachments, reply = self._parse_json_arg(ctx, "attachments", "invalid_attachments")
        if reply:
            return reply
        metadata, reply = self._parse_json_arg(ctx, "metadata", "invalid_metadata_format")
        if reply:
            return reply

        text = ctx.args.get("text")
        markdown_text = ctx.args.get("markdown_text")
        has_text = isinstance(text, str) and text.strip() != ""
        has_markdown = isinstance(markdown_text, str) and markdown_text.strip() != ""
        if not (has_text or has_markdown or blocks or attachments):
            self._violate(ctx.method, "error", "no_text", "no text, blocks or attachments")
            return _error("no_text")
        if isinstance(text, str) and len(text) > MAX_TEXT:
            self._violate(ctx.method, "error", "msg_too_long", f"text has {len(text)} characters")
            return _error("msg_too_long")
        if isinstance(markdown_text, str) and len(markdown_text) > MAX_MARKDOWN_TEXT:
            self._violate(ctx.method, "error", "msg_too_long", "markdown_text too long")
            return _error("msg_too_long")
        if blocks is not None:
            problems = check_blocks(blocks)
            if problems:
                for problem in problems:
                    self._violate(ctx.method, "error", "invalid_blocks", problem)
                return _with_messages("invalid_blocks", problems)
            if not (has_text or has_markdown):
                # Slack accepts this, but notifications and screen readers then show nothing.
                self._violate(
                    ctx.method,
                    "warning",
                    "missing_text_fallback",
                    "blocks sent without fallback `text`",
                )
        if attachments is not None and (
            not isinstance(attachments, list) or len(attachments) > MAX_ATTACHMENTS
        ):
            self._violate(
                ctx.method, "error", "too_many_attachments", "attachments invalid or > 100"
            )
            return _error("too_many_attachments")
        if metadata is not None and not (
            isinstance(metadata, dict)
            and isinstance(metadata.get("event_type"), str)
            and isinstance(metadata.get("event_payload"), dict)
        ):
            self._violate(
                ctx.method,
                "error",
                "invalid_metadata_format",
                "metadata needs event_type + event_payload",
            )
            return _error("invalid_metadata_format")
        if _as_bool(ctx.args.get("link_names")) or ctx.args.get("parse") == "full":
            # Makes Slack turn bare @channel/@here in untrusted text into real pings.
            self._violate(ctx.method, "warning", "link_names", "link_names=1 or parse=full used")
        return None

    # -- Web API methods --

    async def _auth_test(self, ctx: _Ctx) -> _Reply:
        ident = ctx.identity
        assert ident is not None  # guaranteed by _dispatch for token-authenticated methods
        return _Reply(
            {
                "ok": True,
                "url": f"https://{ident.team_name.lower().replace(' ', '-')}.slack.com/",
                "team": ident.team_name,
                "user": "jobbot" if ident.kind == "bot" else "tester",
                "team_id": ident.team_id,
                "user_id": ident.user_id,
                "bot_id": ident.bot_id,
                **({"enterprise_id": ident.enterprise_id} if ident.enterprise_id else {}),
                "is_enterprise_install": ident.is_enterprise_install,
            }
        )

    def _message_response(self, record: Mapping[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "ts": record["ts"],
            "text": record.get("text") or "",
            "user": record["user"],
            "bot_id": record["bot_id"],
            "team": record["team_id"],
        }
        for key in ("blocks", "attachments", "metadata", "thread_ts"):
            if record.get(key) is not None:
                message[key] = record[key]
        if record.get("edited"):
            message["edited"] = record["edited"]
        return message

    async def _chat_post_message(self, ctx: _Ctx) -> _Reply:
        ident = ctx.identity
        assert ident is not None
        channel, reply = self._channel_for_post(ctx)
        if reply or channel is None:
            return reply or _error("channel_not_found")
        key = (ident.team_id, channel.id)
        now = time.monotonic()
        last = self._last_post.get(key)
        if self.per_channel_interval > 0 and last is not None:
            wait = last + self.per_channel_interval - now
            if wait > 0:
                self.rate_limited_count += 1
                retry_after = (
                    self.retry_after_seconds
                    if self.retry_after_seconds is not None
                    else max(1, math.ceil(wait))
                )
                # slack_sdk's retry handler does int(Retry-After): it must be an integer.
                return _Reply(
                    {"ok": False, "error": "ratelimited"},
                    status=429,
                    headers={"Retry-After": str(int(retry_after))},
                )
        reply = self._check_message_content(ctx)
        if reply:
            return reply
        args = ctx.args
        record: dict[str, Any] = {
            "channel": channel.id,
            "ts": self._next_ts(),
            "text": args.get("text"),
            "markdown_text": args.get("markdown_text"),
            "blocks": args.get("blocks"),
            "attachments": args.get("attachments"),
            "metadata": args.get("metadata"),
            "thread_ts": args.get("thread_ts"),
            "reply_broadcast": _as_bool(args.get("reply_broadcast")),
            "unfurl_links": _as_bool(args.get("unfurl_links")),
            "unfurl_media": _as_bool(args.get("unfurl_media")),
            "mrkdwn": _as_bool(args.get("mrkdwn")),
            "parse": args.get("parse"),
            "link_names": _as_bool(args.get("link_names")),
            "username": args.get("username"),
            "icon_emoji": args.get("icon_emoji"),
            "icon_url": args.get("icon_url"),
            "team_id": ident.team_id,
            "user": ident.user_id,
            "bot_id": ident.bot_id,
            "token": ident.token,
            "edited": None,
        }
        self.messages.append(record)
        self._last_post[key] = now
        return _Reply(
            {
                "ok": True,
                "channel": channel.id,
                "ts": record["ts"],
                "message": self._message_response(record),
            }
        )

    async def _chat_update(self, ctx: _Ctx) -> _Reply:
        channel, reply = self._channel_for_post(ctx)
        if reply or channel is None:
            return reply or _error("channel_not_found")
        missing = self._require(ctx, "ts")
        if missing:
            return missing
        reply = self._check_message_content(ctx)
        if reply:
            return reply
        ts = str(ctx.args["ts"])
        record = next(
            (m for m in self.messages if m["channel"] == channel.id and m["ts"] == ts), None
        )
        if record is None:
            return _error("message_not_found")
        for key in ("text", "blocks", "attachments", "metadata", "markdown_text"):
            if key in ctx.args:
                record[key] = ctx.args[key]
        record["edited"] = {"user": record["user"], "ts": self._next_ts()}
        return _Reply(
            {
                "ok": True,
                "channel": channel.id,
                "ts": ts,
                "text": record.get("text") or "",
                "message": self._message_response(record),
            }
        )

    async def _chat_post_ephemeral(self, ctx: _Ctx) -> _Reply:
        channel, reply = self._channel_for_post(ctx)
        if reply or channel is None:
            return reply or _error("channel_not_found")
        user = ctx.args.get("user")
        if not user:
            self._violate(ctx.method, "error", "user_not_found", "missing required: user")
            return _error("user_not_found")
        if user not in channel.members:
            return _error("user_not_in_channel")
        reply = self._check_message_content(ctx)
        if reply:
            return reply
        ts = self._next_ts()
        self.ephemerals.append(
            {
                "channel": channel.id,
                "user": user,
                "ts": ts,
                "text": ctx.args.get("text"),
                "blocks": ctx.args.get("blocks"),
                "thread_ts": ctx.args.get("thread_ts"),
            }
        )
        return _Reply({"ok": True, "message_ts": ts})

    def _parse_view(self, ctx: _Ctx) -> tuple[dict[str, Any] | None, _Reply | None]:
        view, reply = self._parse_json_arg(ctx, "view", "invalid_arguments")
        if reply:
            return None, reply
        problems = check_view(view)
        if problems:
            # Slack reports view schema problems as invalid_arguments (not invalid_blocks).
            for problem in problems:
                self._violate(ctx.method, "error", "invalid_arguments", problem)
            return None, _with_messages("invalid_arguments", problems)
        assert isinstance(view, dict)
        return view, None

    def _store_view(
        self, view: Mapping[str, Any], view_id: str, ident: _Identity
    ) -> dict[str, Any]:
        stored = {
            **view,
            "id": view_id,
            "team_id": ident.team_id,
            "app_id": ident.app_id,
            "bot_id": ident.bot_id,
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "state": {"values": {}},
            "root_view_id": view_id,
        }
        self.views[view_id] = stored
        return stored

    async def _views_open(self, ctx: _Ctx) -> _Reply:
        assert ctx.identity is not None
        missing = self._require(ctx, "trigger_id", "view")
        if missing:
            return missing
        if ctx.args["trigger_id"] in self._expired_triggers:
            return _error("expired_trigger_id")
        view, reply = self._parse_view(ctx)
        if reply or view is None:
            return reply or _error("invalid_arguments")
        stored = self._store_view(view, self._next_id("V"), ctx.identity)
        return _Reply({"ok": True, "view": stored})

    async def _views_publish(self, ctx: _Ctx) -> _Reply:
        """Publish a user's Home tab (a ``home`` view); the latest is in :attr:`home_views`."""
        assert ctx.identity is not None
        missing = self._require(ctx, "user_id", "view")
        if missing:
            return missing
        user_id = str(ctx.args["user_id"])
        if user_id not in self._users:
            return _error("user_not_found")
        view, reply = self._parse_view(ctx)
        if reply or view is None:
            return reply or _error("invalid_arguments")
        if view.get("type") != "home":
            self._violate(
                ctx.method, "error", "invalid_arguments", "views.publish takes a home view"
            )
            return _error("invalid_arguments")
        previous = self.home_views.get(user_id)
        view_id = previous["id"] if previous else self._next_id("V")
        stored = self._store_view(view, view_id, ctx.identity)
        self.home_views[user_id] = stored
        return _Reply({"ok": True, "view": stored})

    async def _views_update(self, ctx: _Ctx) -> _Reply:
        assert ctx.identity is not None
        view_id, external_id = ctx.args.get("view_id"), ctx.args.get("external_id")
        if not view_id and not external_id:
            return self._require(ctx, "view_id") or _error("invalid_arguments")
        missing = self._require(ctx, "view")
        if missing:
            return missing
        current = (
            self.views.get(str(view_id))
            if view_id
            else next((v for v in self.views.values() if v.get("external_id") == external_id), None)
        )
        if current is None:
            return _error("not_found")
        expected_hash = ctx.args.get("hash")
        if expected_hash and expected_hash != current["hash"]:
            return _error("hash_conflict")
        view, reply = self._parse_view(ctx)
        if reply or view is None:
            return reply or _error("invalid_arguments")
        stored = self._store_view(view, current["id"], ctx.identity)
        return _Reply({"ok": True, "view": stored})

    async def _conversations_history(self, ctx: _Ctx) -> _Reply:
        raw = ctx.args.get("channel")
        channel = self._lookup_channel(str(raw)) if raw else None
        if channel is None:
            return _error("channel_not_found")
        with_metadata = bool(_as_bool(ctx.args.get("include_all_metadata")))
        oldest = _as_float(ctx.args.get("oldest"), 0.0)
        latest = _as_float(ctx.args.get("latest"), math.inf)
        inclusive = bool(_as_bool(ctx.args.get("inclusive")))
        limit = max(1, min(_as_int(ctx.args.get("limit"), 100), 999))
        offset = _as_int(ctx.args.get("cursor"), 0)

        def in_window(ts: float) -> bool:
            if inclusive:
                return oldest <= ts <= latest
            return oldest < ts < latest

        # History shows top-level messages; thread replies only when broadcast to the channel.
        visible = [
            m
            for m in reversed(self.messages_in(channel.id))
            if in_window(float(m["ts"]))
            and (m.get("thread_ts") in (None, m["ts"]) or m.get("reply_broadcast"))
        ]
        page = visible[offset : offset + limit]
        messages = []
        for record in page:
            message = self._message_response(record)
            if not with_metadata:
                message.pop("metadata", None)
            messages.append(message)
        has_more = offset + limit < len(visible)
        return _Reply(
            {
                "ok": True,
                "messages": messages,
                "has_more": has_more,
                "pin_count": 0,
                "response_metadata": {"next_cursor": str(offset + limit) if has_more else ""},
            }
        )

    def _channel_object(self, channel: _Channel, *, with_count: bool) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "id": channel.id,
            "name": channel.name,
            "is_channel": not channel.is_private and channel.user is None,
            "is_group": False,
            "is_im": channel.user is not None,
            "is_private": channel.is_private,
            "is_archived": channel.is_archived,
            "is_member": channel.bot_is_member,
            "created": 1_600_000_000,
        }
        if channel.user is not None:
            obj["user"] = channel.user
        if with_count:
            obj["num_members"] = len(channel.members)
        return obj

    async def _conversations_info(self, ctx: _Ctx) -> _Reply:
        raw = ctx.args.get("channel")
        channel = self._lookup_channel(str(raw)) if raw else None
        if channel is None:
            return _error("channel_not_found")
        with_count = bool(_as_bool(ctx.args.get("include_num_members")))
        return _Reply({"ok": True, "channel": self._channel_object(channel, with_count=with_count)})

    async def _conversations_members(self, ctx: _Ctx) -> _Reply:
        raw = ctx.args.get("channel")
        channel = self._lookup_channel(str(raw)) if raw else None
        if channel is None:
            return _error("channel_not_found")
        limit = max(1, min(_as_int(ctx.args.get("limit"), 100), 1000))
        offset = _as_int(ctx.args.get("cursor"), 0)
        page = channel.members[offset : offset + limit]
        has_more = offset + limit < len(channel.members)
        return _Reply(
            {
                "ok": True,
                "members": page,
                "response_metadata": {"next_cursor": str(offset + limit) if has_more else ""},
            }
        )

    async def _conversations_open(self, ctx: _Ctx) -> _Reply:
        """Open (or find) the bot's DM with one user: a ``D…`` channel messages can go to.

        Only the one-user form is faked (no multi-person DMs, no ``channel`` to reopen).
        An unknown user answers ``user_not_found``, a deactivated one ``user_disabled``.
        """
        users = [u.strip() for u in str(ctx.args.get("users") or "").split(",") if u.strip()]
        if not users:
            self._violate(ctx.method, "error", "users_list_not_supplied", "missing: users")
            return _error("users_list_not_supplied")
        if len(users) != 1:
            self._violate(ctx.method, "warning", "not_faked", "multi-person DMs are not faked")
            return _error("not_supported")
        [user_id] = users
        user = self._users.get(user_id)
        if user is None:
            return _error("user_not_found")
        if user["deleted"]:
            return _error("user_disabled")
        already = user_id in self.ims
        if not already:
            channel_id = self._next_id("D")
            self.ims[user_id] = channel_id
            self.add_channel(channel_id, user_id, members=[BOT_USER_ID, user_id])
            self._channels[channel_id].user = user_id
        channel = {"id": self.ims[user_id]}
        if _as_bool(ctx.args.get("return_im")):
            channel.update(
                self._channel_object(self._channels[self.ims[user_id]], with_count=False)
            )
        reply: dict[str, Any] = {"ok": True, "channel": channel}
        if already:
            reply.update(no_op=True, already_open=True)
        return _Reply(reply)

    async def _users_info(self, ctx: _Ctx) -> _Reply:
        user = self._users.get(str(ctx.args.get("user") or ""))
        if user is None:
            return _error("user_not_found")
        return _Reply({"ok": True, "user": user})

    async def _apps_connections_open(self, ctx: _Ctx) -> _Reply:
        # Only the URL is faked: tests that need Socket Mode traffic run their own ws server.
        ticket = secrets.token_hex(8)
        return _Reply(
            {"ok": True, "url": f"ws://{self._host}:{self.port}/socket-mode?ticket={ticket}"}
        )

    async def _oauth_v2_access(self, ctx: _Ctx) -> _Reply:
        client_id, client_secret = ctx.basic_auth or (
            str(ctx.args.get("client_id") or ""),
            str(ctx.args.get("client_secret") or ""),
        )
        if client_id != self.client_id:
            return _error("invalid_client_id")
        if client_secret != self.client_secret:
            return _error("bad_client_secret")
        grant = self._oauth_codes.pop(str(ctx.args.get("code") or ""), None)
        if grant is None:
            # Unknown and already-used codes look the same: codes are single-use.
            return _error("invalid_code")
        org_wide = grant.is_enterprise_install and grant.enterprise_id is not None
        self.add_token(
            grant.bot_token,
            kind="bot",
            team_id=grant.enterprise_id if org_wide else grant.team_id,
            team_name="Fake Enterprise" if org_wide else grant.team_name,
            user_id=grant.bot_user_id,
            bot_id=grant.bot_id,
            enterprise_id=grant.enterprise_id,
            is_enterprise_install=org_wide,
        )
        enterprise = (
            {"id": grant.enterprise_id, "name": "Fake Enterprise"} if grant.enterprise_id else None
        )
        return _Reply(
            {
                "ok": True,
                "access_token": grant.bot_token,
                "token_type": "bot",
                "scope": grant.scope,
                "bot_user_id": grant.bot_user_id,
                "app_id": APP_ID,
                "team": None if org_wide else {"id": grant.team_id, "name": grant.team_name},
                "enterprise": enterprise,
                "authed_user": {"id": grant.authed_user_id},
                "is_enterprise_install": org_wide,
            }
        )

    # -- response_url --

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        method = f"response_url:{name}"
        try:
            body = (
                await request.json()
                if request.content_type == "application/json"
                else dict(await request.post())
            )
        except json.JSONDecodeError:
            self._violate(method, "error", "invalid_json", "response_url body is not JSON")
            return web.Response(status=400, text="invalid_payload")
        if not isinstance(body, dict):
            self._violate(method, "error", "invalid_json", "response_url body is not an object")
            return web.Response(status=400, text="invalid_payload")
        if len(self.responses[name]) >= self.response_url_max_uses:
            self._violate(
                method, "error", "used_url", f"more than {self.response_url_max_uses} posts"
            )
            return web.Response(status=404, text="used_url")
        blocks = body.get("blocks")
        if blocks is not None:
            problems = check_blocks(blocks)
            if problems:
                for problem in problems:
                    self._violate(method, "error", "invalid_blocks", problem)
                return web.Response(status=400, text="invalid_blocks")
        if not body.get("text") and not body.get("delete_original"):
            self._violate(method, "warning", "missing_text_fallback", "response without `text`")
        self.responses[name].append(body)
        return web.json_response({"ok": True})
