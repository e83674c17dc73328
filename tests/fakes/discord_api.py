"""A fake Discord REST API and gateway for integration tests.

One ``aiohttp.web`` application on 127.0.0.1 (free port) serves both the REST API
(``http://127.0.0.1:P/api/v10``) and the gateway websocket (``ws://127.0.0.1:P/gateway``).
Use it as an async context manager on the test's event loop and point discord.py at it::

    async with FakeDiscord(spec=load_discord_spec()) as fake:
        fake.patch_discord_py()
        client = discord.Client(intents=discord.Intents.default())
        await client.login(fake.token)
        task = asyncio.create_task(client.connect())

What it checks (so that tests fail where real Discord would reject a request):

* every message create/edit (channel messages, forum posts, interaction responses,
  followups) against the request schema in the OpenAPI spec (when a spec is given and
  ``jsonschema`` is importable) and against the documented limits (content 2000, embeds,
  components, nonce, allowed_mentions, flags); a violation answers 400/50035 (or 50006 for
  an empty message) and is appended to :attr:`FakeDiscord.violations`;
* application-command bulk overwrites against the spec and the app-command rules;
* per-channel message-create rate limits with Discord's headers and 429 body (including
  the ``Via`` header discord.py needs to treat a 429 as a rate limit rather than a ban);
* ``nonce`` + ``enforce_nonce`` de-duplication, interaction acknowledgement rules.

Ids in records are strings (as in Discord's JSON); the convenience id attributes
(:attr:`FakeDiscord.guild_id`, ...) are ints, as discord.py uses them.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import re
import secrets
import time
import unicodedata
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import BodyPartReader, WSMsgType, web

__all__ = [
    "ADMINISTRATOR",
    "DEFAULT_APPLICATION_ID",
    "DEFAULT_BOT_PERMISSIONS",
    "DEFAULT_FORUM_CHANNEL_ID",
    "DEFAULT_GUILD_ID",
    "DEFAULT_MEMBER_PERMISSIONS",
    "DEFAULT_MOD_ROLE_ID",
    "DEFAULT_TEXT_CHANNEL_ID",
    "DEFAULT_USER_ID",
    "MANAGE_GUILD",
    "MENTION_EVERYONE",
    "FakeDiscord",
    "FormErrors",
    "check_commands",
    "check_message_limits",
    "load_discord_spec",
]

JSON = dict[str, Any]
Path_ = Sequence[str | int]

API_VERSIONS = ("9", "10")
DISCORD_EPOCH_MS = 1_420_070_400_000

DEFAULT_APPLICATION_ID = 1_310_000_000_000_000_001
DEFAULT_GUILD_ID = 1_310_000_000_000_000_100
DEFAULT_TEXT_CHANNEL_ID = 1_310_000_000_000_000_200
DEFAULT_FORUM_CHANNEL_ID = 1_310_000_000_000_000_300
DEFAULT_MOD_ROLE_ID = 1_310_000_000_000_000_400
DEFAULT_BOT_ROLE_ID = 1_310_000_000_000_000_401
DEFAULT_USER_ID = 1_310_000_000_000_000_500
DEFAULT_OWNER_ID = 1_310_000_000_000_000_501

# Permission bits (developers/topics/permissions).
ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_APPLICATION_COMMANDS = 1 << 31
CREATE_PUBLIC_THREADS = 1 << 35
SEND_MESSAGES_IN_THREADS = 1 << 38
DEFAULT_MEMBER_PERMISSIONS = (
    ADD_REACTIONS
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_APPLICATION_COMMANDS
    | CREATE_PUBLIC_THREADS
    | SEND_MESSAGES_IN_THREADS
)
DEFAULT_BOT_PERMISSIONS = DEFAULT_MEMBER_PERMISSIONS

# Message flags.
FLAG_SUPPRESS_EMBEDS = 1 << 2
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7
FLAG_SUPPRESS_NOTIFICATIONS = 1 << 12
FLAG_IS_COMPONENTS_V2 = 1 << 15
CHANNEL_CREATE_FLAGS = FLAG_SUPPRESS_EMBEDS | FLAG_SUPPRESS_NOTIFICATIONS | FLAG_IS_COMPONENTS_V2
INTERACTION_CREATE_FLAGS = CHANNEL_CREATE_FLAGS | FLAG_EPHEMERAL

# Channel types.
GUILD_TEXT = 0
DM = 1
GROUP_DM = 3
GUILD_ANNOUNCEMENT = 5
ANNOUNCEMENT_THREAD = 10
PUBLIC_THREAD = 11
PRIVATE_THREAD = 12
GUILD_FORUM = 15
GUILD_MEDIA = 16
MESSAGEABLE_CHANNEL_TYPES = {
    GUILD_TEXT,
    DM,
    GUILD_ANNOUNCEMENT,
    ANNOUNCEMENT_THREAD,
    PUBLIC_THREAD,
    PRIVATE_THREAD,
}
FORUM_REQUIRE_TAG = 1 << 4

# Where a command was typed (interaction ``context``) and who installed the app
# (``integration_types``, keys of ``authorizing_integration_owners``).
GUILD_CONTEXT, BOT_DM_CONTEXT, PRIVATE_CHANNEL_CONTEXT = 0, 1, 2
GUILD_INSTALL, USER_INSTALL = 0, 1
# The bot's permissions in its DM with a user: view, send, embed, attach, history.
DM_APP_PERMISSIONS = (1 << 10) | (1 << 11) | (1 << 14) | (1 << 15) | (1 << 16)
# An app installed only to the user, where the bot is not a member: it answers the
# interaction (embeds, files) but cannot view or post in the channel.
USER_INSTALL_APP_PERMISSIONS = (1 << 14) | (1 << 15)

PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | (1 << 15)
SELECT_COMPONENT_TYPES = {3, 5, 6, 7, 8}

# Documented limits (the OpenAPI spec is looser in places, e.g. content 4000).
MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TITLE = 256
MAX_EMBED_DESCRIPTION = 4096
MAX_EMBED_FIELDS = 25
MAX_FIELD_NAME = 256
MAX_FIELD_VALUE = 1024
MAX_FOOTER_TEXT = 2048
MAX_AUTHOR_NAME = 256
MAX_EMBED_TOTAL = 6000
MAX_EMBED_URL = 2048
MAX_COLOUR = 0xFFFFFF
MAX_ACTION_ROWS = 5
MAX_ROW_COMPONENTS = 5
MAX_BUTTON_LABEL = 80
MAX_LINK_BUTTON_URL = 512
MAX_CUSTOM_ID = 100
MAX_NONCE = 25
MAX_V2_COMPONENTS = 40
MAX_COMMAND_NAME = 32
MAX_COMMAND_DESCRIPTION = 100
MAX_OPTIONS = 25
MAX_CHOICES = 25
MAX_CHOICE_NAME = 100
MAX_CHOICE_STRING_VALUE = 100
MAX_COMMAND_TOTAL = 8000
MAX_AUTOCOMPLETE_CHOICES = 25

_ERROR_MESSAGES: dict[int, str] = {
    0: "Unknown error",
    10003: "Unknown Channel",
    10004: "Unknown Guild",
    10008: "Unknown Message",
    10015: "Unknown Webhook",
    10062: "Unknown interaction",
    40060: "Interaction has already been acknowledged.",
    40067: "A tag is required to create a forum post in this channel",
    50001: "Missing Access",
    50006: "Cannot send an empty message",
    50007: "Cannot send messages to this user",
    50008: "Cannot send messages in a non-text channel",
    50013: "Missing Permissions",
    50014: "Invalid authentication token",
    50027: "Invalid Webhook Token",
    50035: "Invalid Form Body",
    50083: "Thread is archived",
    50109: "The request body contains invalid JSON.",
}

_SPEC_URI = "urn:discord-openapi"
_MESSAGE_CREATE_SCHEMA = "#/components/schemas/MessageCreateRequest"
_MESSAGE_EDIT_SCHEMA = "#/components/schemas/MessageEditRequestPartial"
_FORUM_THREAD_SCHEMA = "#/components/schemas/CreateForumThreadRequest"
_TEXT_THREAD_SCHEMA = "#/components/schemas/CreateTextThreadWithoutMessageRequest"
_THREAD_UPDATE_SCHEMA = "#/components/schemas/UpdateThreadRequestPartial"
_WEBHOOK_EXECUTE_SCHEMA = "#/components/schemas/IncomingWebhookRequestPartial"
_WEBHOOK_EDIT_SCHEMA = "#/components/schemas/IncomingWebhookUpdateRequestPartial"
_GLOBAL_COMMANDS_SCHEMA = (
    "#/paths/~1applications~1{application_id}~1commands"
    "/put/requestBody/content/application~1json/schema"
)
_GUILD_COMMANDS_SCHEMA = (
    "#/paths/~1applications~1{application_id}~1guilds~1{guild_id}~1commands"
    "/put/requestBody/content/application~1json/schema"
)
_CALLBACK_SCHEMAS: dict[int, str] = {
    1: "#/components/schemas/PongInteractionCallbackRequest",
    4: "#/components/schemas/CreateMessageInteractionCallbackRequest",
    5: "#/components/schemas/CreateMessageInteractionCallbackRequest",
    6: "#/components/schemas/UpdateMessageInteractionCallbackRequest",
    7: "#/components/schemas/UpdateMessageInteractionCallbackRequest",
    8: "#/components/schemas/ApplicationCommandAutocompleteCallbackRequest",
    9: "#/components/schemas/ModalInteractionCallbackRequest",
}
# Which callback types Discord accepts for each interaction type.
_ALLOWED_CALLBACKS: dict[int, set[int]] = {
    2: {4, 5, 9},  # APPLICATION_COMMAND
    3: {4, 5, 6, 7, 9},  # MESSAGE_COMPONENT
    4: {8},  # APPLICATION_COMMAND_AUTOCOMPLETE
    5: {4, 5, 6, 7},  # MODAL_SUBMIT
}

_MENTION_RE = re.compile(r"<@!?(?P<user>\d+)>|<@&(?P<role>\d+)>|@(?P<everyone>everyone|here)\b")
_MARKDOWN_LINK_RE = re.compile(
    r"\[(?P<label>[^\[\]]*)\]\(\s*<?(?P<url>[^()\s<>]+)>?(?:\s+\"[^\"]*\")?\s*\)"
)
_BARE_URL_RE = re.compile(r"(?:https?|discord)://[^\s<>()\[\]\"']+")


# --------------------------------------------------------------------------------------
# spec loading


def _load_spec_from_disk() -> dict[str, Any] | None:
    """Read ``<repo>/../shared/specs/discord/openapi.json``; ``None`` when absent."""
    path = Path(__file__).resolve().parents[3] / "shared" / "specs" / "discord" / "openapi.json"
    try:
        with path.open(encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def load_discord_spec() -> dict[str, Any] | None:
    """Return the Discord OpenAPI spec, or ``None`` when ``../shared`` is absent.

    Prefers the shared helper ``tests.fakes.specs.load_discord_spec`` and falls back to
    reading the file directly when that module is not available.
    """
    try:
        from .specs import load_discord_spec as shared_loader
    except ImportError:
        return _load_spec_from_disk()
    return shared_loader()


# --------------------------------------------------------------------------------------
# small helpers


def _import_discord() -> Any:
    """Import discord.py, hiding its stdlib ``audioop`` DeprecationWarning (Python 3.11+).

    discord.py's voice player imports ``audioop`` (deprecated by PEP 594); with pytest's
    ``filterwarnings = error`` that first import would otherwise fail.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="'audioop' is deprecated", category=DeprecationWarning
        )
        import discord
        import discord.gateway
        import discord.http
    return discord


def _sid(value: int | str) -> str:
    """Normalise a snowflake to Discord's JSON form (a decimal string)."""
    return str(int(value))


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


def _json_response(
    status: int, data: Any, headers: Mapping[str, str] | None = None
) -> web.Response:
    """JSON response with ``Content-Type`` exactly ``application/json``.

    discord.py only parses a body as JSON when the header has no charset parameter.
    """
    all_headers = {"Content-Type": "application/json"}
    if headers:
        all_headers.update(headers)
    return web.Response(status=status, body=json.dumps(data).encode(), headers=all_headers)


def _error_response(
    status: int,
    code: int,
    message: str | None = None,
    errors: JSON | None = None,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    body: JSON = {"message": message or _ERROR_MESSAGES.get(code, "Error"), "code": code}
    if errors:
        body["errors"] = errors
    return _json_response(status, body, headers)


def _text_len(value: Any) -> int:
    """Length Discord measures: leading/trailing whitespace is trimmed first."""
    return len(value.strip()) if isinstance(value, str) else 0


def _is_blank(value: Any) -> bool:
    return not isinstance(value, str) or not value.strip()


class _Snowflakes:
    """Monotonic, unique snowflake generator."""

    def __init__(self) -> None:
        self._last = 0
        self._inc = itertools.count()

    def next(self) -> str:
        """A new snowflake (as a string), strictly greater than the previous one."""
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        value = (ms << 22) | (1 << 17) | (next(self._inc) & 0xFFF)
        self._last = value = max(value, self._last + 1)
        return str(value)


# --------------------------------------------------------------------------------------
# form errors + validation


class FormErrors:
    """Collects errors in Discord's nested ``errors`` format.

    ``add(["embeds", 0, "title"], code, message)`` yields
    ``{"embeds": {"0": {"title": {"_errors": [{"code": ..., "message": ...}]}}}}``.
    """

    def __init__(self) -> None:
        self.tree: JSON = {}
        self.flat: list[tuple[tuple[str | int, ...], str, str]] = []

    def add(self, path: Path_, code: str, message: str) -> None:
        """Record one error at ``path`` (duplicates of the same code are ignored)."""
        node = self.tree
        for part in path:
            node = node.setdefault(str(part), {})
        errs = node.setdefault("_errors", [])
        if any(e["code"] == code for e in errs):
            return
        errs.append({"code": code, "message": message})
        self.flat.append((tuple(path), code, message))

    def __bool__(self) -> bool:
        return bool(self.flat)

    def paths(self) -> list[str]:
        """Dotted paths of all recorded errors, e.g. ``["embeds.0.title"]``."""
        return [".".join(str(part) for part in p) for p, _, _ in self.flat]


def _max_len(errors: FormErrors, path: Path_, value: Any, limit: int) -> None:
    if isinstance(value, str) and _text_len(value) > limit:
        errors.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


def _max_items(errors: FormErrors, path: Path_, value: Any, limit: int) -> None:
    if isinstance(value, list) and len(value) > limit:
        errors.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


def _check_url(
    errors: FormErrors, path: Path_, value: Any, limit: int, schemes: Iterable[str]
) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        errors.add(path, "URL_TYPE_INVALID_URL", "Not a well formed URL.")
        return
    if len(value) > limit:
        errors.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")
    parts = urlsplit(value)
    if parts.scheme not in set(schemes) or not (parts.netloc or parts.scheme == "attachment"):
        errors.add(path, "URL_TYPE_INVALID_URL", "Not a well formed URL.")


def _check_embed(embed: Any, errors: FormErrors, path: list[str | int]) -> int:
    """Check one embed; return its character count towards the 6000 total."""
    if not isinstance(embed, Mapping):
        errors.add(path, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
        return 0
    total = 0
    _max_len(errors, [*path, "title"], embed.get("title"), MAX_EMBED_TITLE)
    _max_len(errors, [*path, "description"], embed.get("description"), MAX_EMBED_DESCRIPTION)
    total += _text_len(embed.get("title")) + _text_len(embed.get("description"))
    web_schemes = ("http", "https")
    _check_url(errors, [*path, "url"], embed.get("url"), MAX_EMBED_URL, web_schemes)
    colour = embed.get("color")
    if colour is not None:
        if not isinstance(colour, int) or isinstance(colour, bool):
            errors.add([*path, "color"], "NUMBER_TYPE_COERCE", f'Value "{colour}" is not int.')
        elif colour < 0:
            errors.add(
                [*path, "color"],
                "NUMBER_TYPE_MIN",
                "int value should be greater than or equal to 0.",
            )
        elif colour > MAX_COLOUR:
            errors.add(
                [*path, "color"],
                "NUMBER_TYPE_MAX",
                f"int value should be less than or equal to {MAX_COLOUR}.",
            )
    timestamp = embed.get("timestamp")
    if timestamp is not None:
        try:
            datetime.fromisoformat(str(timestamp).replace("Z", "+00:00"))
        except ValueError:
            errors.add(
                [*path, "timestamp"], "DATE_TIME_TYPE_PARSE", f"Could not parse {timestamp}."
            )
    fields = embed.get("fields")
    if fields is not None:
        if not isinstance(fields, list):
            errors.add(
                [*path, "fields"], "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType"
            )
        else:
            _max_items(errors, [*path, "fields"], fields, MAX_EMBED_FIELDS)
            for i, fld in enumerate(fields):
                fpath = [*path, "fields", i]
                if not isinstance(fld, Mapping):
                    errors.add(
                        fpath, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType"
                    )
                    continue
                for key, limit in (("name", MAX_FIELD_NAME), ("value", MAX_FIELD_VALUE)):
                    if _is_blank(fld.get(key)):
                        errors.add([*fpath, key], "BASE_TYPE_REQUIRED", "This field is required")
                    else:
                        _max_len(errors, [*fpath, key], fld.get(key), limit)
                total += _text_len(fld.get("name")) + _text_len(fld.get("value"))
    footer = embed.get("footer")
    if isinstance(footer, Mapping):
        if _is_blank(footer.get("text")):
            errors.add([*path, "footer", "text"], "BASE_TYPE_REQUIRED", "This field is required")
        _max_len(errors, [*path, "footer", "text"], footer.get("text"), MAX_FOOTER_TEXT)
        total += _text_len(footer.get("text"))
        _check_url(
            errors,
            [*path, "footer", "icon_url"],
            footer.get("icon_url"),
            MAX_EMBED_URL,
            web_schemes,
        )
    author = embed.get("author")
    if isinstance(author, Mapping):
        if _is_blank(author.get("name")):
            errors.add([*path, "author", "name"], "BASE_TYPE_REQUIRED", "This field is required")
        _max_len(errors, [*path, "author", "name"], author.get("name"), MAX_AUTHOR_NAME)
        total += _text_len(author.get("name"))
        _check_url(errors, [*path, "author", "url"], author.get("url"), MAX_EMBED_URL, web_schemes)
        _check_url(
            errors,
            [*path, "author", "icon_url"],
            author.get("icon_url"),
            MAX_EMBED_URL,
            web_schemes,
        )
    media_schemes = ("http", "https", "attachment")
    for key in ("image", "thumbnail"):
        media = embed.get(key)
        if isinstance(media, Mapping):
            _check_url(errors, [*path, key, "url"], media.get("url"), MAX_EMBED_URL, media_schemes)
    return total


def _check_button(comp: Mapping[str, Any], errors: FormErrors, path: list[str | int]) -> None:
    style = comp.get("style")
    if style not in (1, 2, 3, 4, 5, 6):
        errors.add(
            [*path, "style"], "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3, 4, 5, 6}."
        )
        return
    _max_len(errors, [*path, "label"], comp.get("label"), MAX_BUTTON_LABEL)
    if style == 5:
        if comp.get("custom_id") is not None:
            errors.add(
                [*path, "custom_id"],
                "BUTTON_COMPONENT_CUSTOM_ID_NOT_ALLOWED",
                "A link button cannot have a custom_id",
            )
        if _is_blank(comp.get("url")):
            errors.add([*path, "url"], "BASE_TYPE_REQUIRED", "This field is required")
        else:
            _check_url(
                errors,
                [*path, "url"],
                comp.get("url"),
                MAX_LINK_BUTTON_URL,
                ("http", "https", "discord"),
            )
    elif style == 6:
        if comp.get("sku_id") is None:
            errors.add([*path, "sku_id"], "BASE_TYPE_REQUIRED", "This field is required")
    else:
        custom_id = comp.get("custom_id")
        if _is_blank(custom_id):
            errors.add([*path, "custom_id"], "BASE_TYPE_REQUIRED", "This field is required")
        else:
            _max_len(errors, [*path, "custom_id"], custom_id, MAX_CUSTOM_ID)
        if comp.get("url") is not None:
            errors.add(
                [*path, "url"],
                "BUTTON_COMPONENT_URL_NOT_ALLOWED",
                "Only link buttons can have a url",
            )
    if style != 6 and _is_blank(comp.get("label")) and not comp.get("emoji"):
        errors.add(
            [*path, "label"],
            "BUTTON_COMPONENT_LABEL_REQUIRED",
            "A button needs a label or an emoji",
        )


def _check_select(comp: Mapping[str, Any], errors: FormErrors, path: list[str | int]) -> None:
    if _is_blank(comp.get("custom_id")):
        errors.add([*path, "custom_id"], "BASE_TYPE_REQUIRED", "This field is required")
    else:
        _max_len(errors, [*path, "custom_id"], comp.get("custom_id"), MAX_CUSTOM_ID)
    _max_len(errors, [*path, "placeholder"], comp.get("placeholder"), 150)
    for key, low in (("min_values", 0), ("max_values", 1)):
        value = comp.get(key)
        if value is not None and (not isinstance(value, int) or not low <= value <= 25):
            errors.add(
                [*path, key], "NUMBER_TYPE_MAX", f"int value should be between {low} and 25."
            )
    if comp.get("type") == 3:
        options = comp.get("options")
        if not isinstance(options, list) or not options:
            errors.add([*path, "options"], "BASE_TYPE_REQUIRED", "This field is required")
            return
        _max_items(errors, [*path, "options"], options, 25)
        for i, opt in enumerate(options):
            opath = [*path, "options", i]
            if not isinstance(opt, Mapping):
                errors.add(
                    opath, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType"
                )
                continue
            for key in ("label", "value"):
                if _is_blank(opt.get(key)):
                    errors.add([*opath, key], "BASE_TYPE_REQUIRED", "This field is required")
                _max_len(errors, [*opath, key], opt.get(key), 100)
            _max_len(errors, [*opath, "description"], opt.get("description"), 100)


def _count_components(components: Any) -> int:
    if not isinstance(components, list):
        return 0
    count = 0
    for comp in components:
        if isinstance(comp, Mapping):
            count += 1 + _count_components(comp.get("components"))
            accessory = comp.get("accessory")
            if isinstance(accessory, Mapping):
                count += 1
    return count


def _check_components(
    components: Any, flags: int, errors: FormErrors, path: list[str | int]
) -> None:
    if components is None:
        return
    if not isinstance(components, list):
        errors.add(path, "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        return
    if flags & FLAG_IS_COMPONENTS_V2:
        if _count_components(components) > MAX_V2_COMPONENTS:
            errors.add(
                path, "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_V2_COMPONENTS} or fewer in length."
            )
        return
    _max_items(errors, path, components, MAX_ACTION_ROWS)
    seen_ids: set[str] = set()
    for i, row in enumerate(components):
        rpath = [*path, i]
        if not isinstance(row, Mapping) or row.get("type") != 1:
            errors.add(
                [*rpath, "type"],
                "BASE_TYPE_CHOICES",
                "Top-level components must be action rows (type 1).",
            )
            continue
        children = row.get("components")
        if not isinstance(children, list) or not children:
            errors.add(
                [*rpath, "components"], "BASE_TYPE_MIN_LENGTH", "Must be 1 or more in length."
            )
            continue
        _max_items(errors, [*rpath, "components"], children, MAX_ROW_COMPONENTS)
        if len(children) > 1 and any(
            isinstance(c, Mapping) and c.get("type") in SELECT_COMPONENT_TYPES for c in children
        ):
            errors.add(
                [*rpath, "components"],
                "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                "The specified component exceeds the maximum width",
            )
        for j, comp in enumerate(children):
            cpath = [*rpath, "components", j]
            if not isinstance(comp, Mapping):
                errors.add(
                    cpath, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType"
                )
                continue
            ctype = comp.get("type")
            if ctype == 2:
                _check_button(comp, errors, cpath)
            elif ctype in SELECT_COMPONENT_TYPES:
                _check_select(comp, errors, cpath)
            else:
                errors.add(
                    [*cpath, "type"],
                    "BASE_TYPE_CHOICES",
                    "Value must be one of {2, 3, 5, 6, 7, 8}.",
                )
            custom_id = comp.get("custom_id")
            if isinstance(custom_id, str):
                if custom_id in seen_ids:
                    errors.add(
                        [*cpath, "custom_id"],
                        "COMPONENT_CUSTOM_ID_DUPLICATED",
                        "Component custom id cannot be duplicated",
                    )
                seen_ids.add(custom_id)


def _check_allowed_mentions(value: Any, errors: FormErrors, path: list[str | int]) -> None:
    if value is None:
        return
    if not isinstance(value, Mapping):
        errors.add(path, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
        return
    parse = value.get("parse") or []
    if not isinstance(parse, list):
        errors.add(
            [*path, "parse"], "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType"
        )
        parse = []
    for i, item in enumerate(parse):
        if item not in ("users", "roles", "everyone"):
            errors.add(
                [*path, "parse", i],
                "BASE_TYPE_CHOICES",
                "Value must be one of ('users', 'roles', 'everyone').",
            )
    for kind in ("users", "roles"):
        ids = value.get(kind)
        if ids is None:
            continue
        if not isinstance(ids, list):
            errors.add(
                [*path, kind], "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType"
            )
            continue
        _max_items(errors, [*path, kind], ids, 100)
        if ids and kind in parse:
            errors.add(
                [*path, kind],
                "ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                f'parse:["{kind}"] and {kind}: [ids...] are mutually exclusive.',
            )


def check_message_limits(
    body: Mapping[str, Any],
    errors: FormErrors,
    *,
    prefix: Sequence[str | int] = (),
    allowed_flags: int | None = CHANNEL_CREATE_FLAGS,
) -> None:
    """Check a message payload against Discord's documented limits.

    ``allowed_flags`` is the set of flag bits a sender may set (``None``: do not check
    flag bits, e.g. for edits). Errors are added to ``errors`` under ``prefix``.
    """
    base = list(prefix)
    content = body.get("content")
    if content is not None and not isinstance(content, str):
        errors.add(
            [*base, "content"], "STRING_TYPE_CONVERT", "Could not interpret value as string."
        )
    _max_len(errors, [*base, "content"], content, MAX_CONTENT)

    flags = body.get("flags")
    flag_value = flags if isinstance(flags, int) and not isinstance(flags, bool) else 0
    if flags is not None and (not isinstance(flags, int) or isinstance(flags, bool)):
        errors.add([*base, "flags"], "NUMBER_TYPE_COERCE", f'Value "{flags}" is not int.')
    elif allowed_flags is not None and flag_value & ~allowed_flags:
        errors.add(
            [*base, "flags"],
            "MESSAGE_FLAGS_INVALID",
            f"Flags {flag_value & ~allowed_flags} cannot be set.",
        )

    embeds = body.get("embeds")
    if embeds is not None:
        if not isinstance(embeds, list):
            errors.add(
                [*base, "embeds"], "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType"
            )
        else:
            _max_items(errors, [*base, "embeds"], embeds, MAX_EMBEDS)
            total = sum(_check_embed(e, errors, [*base, "embeds", i]) for i, e in enumerate(embeds))
            if total > MAX_EMBED_TOTAL:
                errors.add(
                    [*base, "embeds"],
                    "MAX_EMBED_SIZE_EXCEEDED",
                    f"Embed size exceeds maximum size of {MAX_EMBED_TOTAL}",
                )
    if flag_value & FLAG_IS_COMPONENTS_V2:
        if content:
            errors.add(
                [*base, "content"],
                "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
                "The 'content' field cannot be used when using MessageFlags.IS_COMPONENTS_V2",
            )
        if embeds:
            errors.add(
                [*base, "embeds"],
                "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
                "The 'embeds' field cannot be used when using MessageFlags.IS_COMPONENTS_V2",
            )
    _check_components(body.get("components"), flag_value, errors, [*base, "components"])
    _check_allowed_mentions(body.get("allowed_mentions"), errors, [*base, "allowed_mentions"])

    if "nonce" in body:
        nonce = body["nonce"]
        if isinstance(nonce, str):
            _max_len(errors, [*base, "nonce"], nonce, MAX_NONCE)
        elif nonce is not None and (not isinstance(nonce, int) or isinstance(nonce, bool)):
            errors.add(
                [*base, "nonce"], "BASE_TYPE_INVALID", "Nonce must be an integer or a string."
            )
    enforce = body.get("enforce_nonce")
    if enforce is not None and not isinstance(enforce, bool):
        errors.add([*base, "enforce_nonce"], "BASE_TYPE_BAD_BOOLEAN", "Must be a boolean.")


def _is_empty_message(body: Mapping[str, Any], files: Sequence[JSON]) -> bool:
    return not (
        (isinstance(body.get("content"), str) and body["content"].strip())
        or body.get("embeds")
        or body.get("components")
        or body.get("sticker_ids")
        or body.get("poll")
        or files
    )


def _command_name_error(name: Any, *, chat_input: bool) -> str | None:
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_COMMAND_NAME:
        return f"Must be between 1 and {MAX_COMMAND_NAME} in length."
    if not chat_input:
        return None
    for ch in name:
        if ch in "-_'":
            continue
        category = unicodedata.category(ch)
        if category[0] in "LN":
            if ch.lower() != ch:
                return "Command name must be lowercase."
            continue
        if category[0] == "M" and ("\u0900" <= ch <= "\u097f" or "\u0e00" <= ch <= "\u0e7f"):
            continue
        return "Command name is invalid"
    return None


def _option_size(option: Mapping[str, Any]) -> int:
    size = len(str(option.get("name") or "")) + len(str(option.get("description") or ""))
    for choice in option.get("choices") or []:
        if isinstance(choice, Mapping):
            size += len(str(choice.get("name") or "")) + len(str(choice.get("value") or ""))
    for sub in option.get("options") or []:
        if isinstance(sub, Mapping):
            size += _option_size(sub)
    return size


def _check_options(options: Any, errors: FormErrors, path: list[str | int], depth: int) -> None:
    """Check a command's option list; ``depth`` 0 = command, 1 = in group/subcommand."""
    if options is None:
        return
    if not isinstance(options, list):
        errors.add(path, "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        return
    _max_items(errors, path, options, MAX_OPTIONS)
    kinds = {isinstance(o, Mapping) and o.get("type") in (1, 2) for o in options}
    if len(kinds) > 1:
        errors.add(
            path,
            "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
            "Sub-command and sub-command group option types are mutually exclusive to all other "
            "types",
        )
    names: set[str] = set()
    seen_optional = False
    for i, opt in enumerate(options):
        opath = [*path, i]
        if not isinstance(opt, Mapping):
            errors.add(opath, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
            continue
        otype = opt.get("type")
        if otype not in range(1, 12):
            errors.add([*opath, "type"], "BASE_TYPE_CHOICES", "Value must be one of {1, ..., 11}.")
            continue
        name_error = _command_name_error(opt.get("name"), chat_input=True)
        if name_error:
            errors.add([*opath, "name"], "APPLICATION_COMMAND_INVALID_NAME", name_error)
        elif opt["name"] in names:
            errors.add(
                [*opath, "name"],
                "APPLICATION_COMMAND_OPTION_NAME_ALREADY_EXISTS",
                "Option names must be unique",
            )
        else:
            names.add(opt["name"])
        desc = opt.get("description")
        if not isinstance(desc, str) or not 1 <= len(desc) <= MAX_COMMAND_DESCRIPTION:
            errors.add(
                [*opath, "description"],
                "BASE_TYPE_BAD_LENGTH",
                f"Must be between 1 and {MAX_COMMAND_DESCRIPTION} in length.",
            )
        if otype == 2:
            if depth > 0:
                errors.add(
                    [*opath, "type"],
                    "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                    "Groups cannot be nested",
                )
            subs = opt.get("options") or []
            if not all(isinstance(s, Mapping) and s.get("type") == 1 for s in subs):
                errors.add(
                    [*opath, "options"],
                    "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                    "Sub-command groups may only contain sub-commands",
                )
            _check_options(subs, errors, [*opath, "options"], depth + 1)
            continue
        if otype == 1:
            if depth > 1:
                errors.add(
                    [*opath, "type"],
                    "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                    "Sub-commands nest too deep",
                )
            subs = opt.get("options") or []
            if any(isinstance(s, Mapping) and s.get("type") in (1, 2) for s in subs):
                errors.add(
                    [*opath, "options"],
                    "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                    "Sub-commands cannot contain sub-commands",
                )
            _check_options(subs, errors, [*opath, "options"], depth + 2)
            continue
        required = bool(opt.get("required"))
        if required and seen_optional:
            errors.add(
                [*opath, "required"],
                "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                "Required options must be placed before non-required options",
            )
        seen_optional = seen_optional or not required
        choices = opt.get("choices")
        if choices:
            if otype not in (3, 4, 10):
                errors.add(
                    [*opath, "choices"],
                    "APPLICATION_COMMAND_OPTION_CHOICES_INVALID",
                    "Choices not allowed",
                )
            if opt.get("autocomplete"):
                errors.add(
                    [*opath, "autocomplete"],
                    "AUTOCOMPLETE_AND_CHOICES_EXCLUSIVE",
                    "Autocomplete cannot be set to true if choices are present",
                )
            if isinstance(choices, list):
                _max_items(errors, [*opath, "choices"], choices, MAX_CHOICES)
                for j, choice in enumerate(choices):
                    cpath = [*opath, "choices", j]
                    if not isinstance(choice, Mapping):
                        errors.add(
                            cpath,
                            "MODEL_TYPE_CONVERT",
                            "Only dictionaries may be used in a ModelType",
                        )
                        continue
                    cname = choice.get("name")
                    if not isinstance(cname, str) or not 1 <= len(cname) <= MAX_CHOICE_NAME:
                        errors.add(
                            [*cpath, "name"],
                            "BASE_TYPE_BAD_LENGTH",
                            f"Must be between 1 and {MAX_CHOICE_NAME} in length.",
                        )
                    value = choice.get("value")
                    if otype == 3 and (
                        not isinstance(value, str) or len(value) > MAX_CHOICE_STRING_VALUE
                    ):
                        errors.add(
                            [*cpath, "value"],
                            "BASE_TYPE_MAX_LENGTH",
                            f"Must be a string of {MAX_CHOICE_STRING_VALUE} or fewer in length.",
                        )
                    elif otype == 4 and (not isinstance(value, int) or isinstance(value, bool)):
                        errors.add(
                            [*cpath, "value"], "NUMBER_TYPE_COERCE", f'Value "{value}" is not int.'
                        )
                    elif otype == 10 and (
                        not isinstance(value, int | float) or isinstance(value, bool)
                    ):
                        errors.add(
                            [*cpath, "value"],
                            "NUMBER_TYPE_COERCE",
                            f'Value "{value}" is not a number.',
                        )
        elif opt.get("autocomplete") and otype not in (3, 4, 10):
            errors.add(
                [*opath, "autocomplete"],
                "APPLICATION_COMMAND_OPTION_AUTOCOMPLETE_INVALID",
                "Not allowed",
            )
        for key in ("min_length", "max_length"):
            value = opt.get(key)
            if value is not None and (
                otype != 3 or not isinstance(value, int) or not 0 <= value <= 6000
            ):
                errors.add(
                    [*opath, key], "NUMBER_TYPE_MAX", "int value should be between 0 and 6000."
                )


def check_commands(commands: Any, errors: FormErrors) -> None:
    """Check a bulk-overwrite command list against the application-command rules."""
    if not isinstance(commands, list):
        errors.add([], "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        return
    seen: set[tuple[int, str]] = set()
    per_type: dict[int, int] = defaultdict(int)
    for i, cmd in enumerate(commands):
        path: list[str | int] = [i]
        if not isinstance(cmd, Mapping):
            errors.add(path, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
            continue
        ctype = cmd.get("type") or 1
        if ctype not in (1, 2, 3, 4):
            errors.add([*path, "type"], "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3, 4}.")
            continue
        per_type[ctype] += 1
        chat_input = ctype == 1
        name_error = _command_name_error(cmd.get("name"), chat_input=chat_input)
        if name_error:
            errors.add([*path, "name"], "APPLICATION_COMMAND_INVALID_NAME", name_error)
        elif (ctype, cmd["name"]) in seen:
            errors.add(
                path,
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                "Application command names must be unique",
            )
        else:
            seen.add((ctype, cmd["name"]))
        if chat_input:
            desc = cmd.get("description")
            if not isinstance(desc, str) or not 1 <= len(desc) <= MAX_COMMAND_DESCRIPTION:
                errors.add(
                    [*path, "description"],
                    "BASE_TYPE_BAD_LENGTH",
                    f"Must be between 1 and {MAX_COMMAND_DESCRIPTION} in length.",
                )
            _check_options(cmd.get("options"), errors, [*path, "options"], 0)
            if _option_size(cmd) > MAX_COMMAND_TOTAL:
                errors.add(
                    path, "APPLICATION_COMMAND_TOO_LARGE", "Command exceeds maximum size (8000)"
                )
        elif cmd.get("options"):
            errors.add(
                [*path, "options"],
                "APPLICATION_COMMAND_OPTIONS_INVALID",
                "Only chat input commands have options",
            )
    for ctype, limit in ((1, 100), (2, 15), (3, 15)):
        if per_type[ctype] > limit:
            errors.add(
                [],
                "APPLICATION_COMMANDS_TOO_MANY",
                f"Maximum number of type {ctype} commands ({limit}) reached",
            )


def _relax_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the spec with two known over-strict spots fixed (the input is not mutated).

    * ``SnowflakeType`` is string-only, but Discord accepts integer snowflakes and
      discord.py sends some as ints (e.g. attachment ids ``{"id": 0}`` in uploads).
    * ``default_member_permissions`` is integer-only, but the documented type is a string
      bitset (older discord.py releases send strings, 2.7 sends ints): accept both.
    """
    relaxed = dict(spec)
    components = dict(relaxed.get("components") or {})
    schemas = dict(components.get("schemas") or {})
    if "SnowflakeType" in schemas:
        snowflake = dict(schemas["SnowflakeType"])
        snowflake["type"] = ["string", "integer"]
        snowflake["minimum"] = 0
        schemas["SnowflakeType"] = snowflake
    for name, schema in list(schemas.items()):
        props = schema.get("properties") if isinstance(schema, Mapping) else None
        perms = props.get("default_member_permissions") if isinstance(props, Mapping) else None
        if isinstance(perms, Mapping) and "integer" in perms.get("type", ()):
            new_perms = {**perms, "type": ["integer", "string", "null"], "pattern": "^[0-9]+$"}
            schemas[name] = {
                **schema,
                "properties": {**props, "default_member_permissions": new_perms},
            }
    components["schemas"] = schemas
    relaxed["components"] = components
    return relaxed


class _SpecValidator:
    """Validates request bodies against schemas of the Discord OpenAPI document."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        import jsonschema
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT202012

        self._spec = _relax_spec(spec)
        self._jsonschema = jsonschema
        self._registry = Registry().with_resource(
            _SPEC_URI, Resource.from_contents(self._spec, default_specification=DRAFT202012)
        )
        self._validators: dict[str, Any] = {}

    def has(self, pointer: str) -> bool:
        """Whether the JSON pointer (``#/...``) exists in the spec."""
        node: Any = self._spec
        for raw in pointer.lstrip("#/").split("/"):
            key = raw.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, Mapping) or key not in node:
                return False
            node = node[key]
        return True

    def validate(
        self, pointer: str, instance: Any, errors: FormErrors, prefix: Sequence[str | int] = ()
    ) -> None:
        """Add schema violations of ``instance`` to ``errors`` (no-op for unknown pointers)."""
        if not self.has(pointer):
            return
        validator = self._validators.get(pointer)
        if validator is None:
            validator = self._jsonschema.Draft202012Validator(
                {"$ref": _SPEC_URI + pointer}, registry=self._registry
            )
            self._validators[pointer] = validator
        for error in validator.iter_errors(instance):
            for leaf in _leaf_errors(error):
                path, code, message = _describe_schema_error(leaf)
                errors.add([*prefix, *path], code, message)


def _is_branch_mismatch(error: Any) -> bool:
    """True when a union branch failed because the instance is of another kind."""
    rel = list(error.relative_path)
    if error.validator == "type" and not rel:
        return True
    return error.validator in ("enum", "const") and rel == ["type"]


def _leaf_errors(error: Any) -> list[Any]:
    """Descend into oneOf/anyOf errors to the branch that matched the instance's kind."""
    if not error.context:
        return [error]
    if all(c.validator in ("const", "enum") and not list(c.relative_path) for c in error.context):
        return [error]
    branches: dict[Any, list[Any]] = defaultdict(list)
    for sub in error.context:
        branches[sub.relative_schema_path[0] if sub.relative_schema_path else None].append(sub)
    matching = [errs for errs in branches.values() if not any(_is_branch_mismatch(e) for e in errs)]
    if not matching:
        return [error]
    best = min(matching, key=len)
    leaves: list[Any] = []
    for sub in best:
        leaves.extend(_leaf_errors(sub))
    return leaves


def _describe_schema_error(error: Any) -> tuple[list[str | int], str, str]:
    path: list[str | int] = list(error.absolute_path)
    kind, value = error.validator, error.validator_value
    if kind in ("maxLength", "maxItems", "maxProperties"):
        return path, "BASE_TYPE_MAX_LENGTH", f"Must be {value} or fewer in length."
    if kind in ("minLength", "minItems", "minProperties"):
        return path, "BASE_TYPE_MIN_LENGTH", f"Must be {value} or more in length."
    if kind == "required":
        match = re.match(r"'([^']+)' is a required property", error.message)
        if match:
            path.append(match.group(1))
        return path, "BASE_TYPE_REQUIRED", "This field is required"
    if kind in ("maximum", "exclusiveMaximum"):
        return path, "NUMBER_TYPE_MAX", f"int value should be less than or equal to {value}."
    if kind in ("minimum", "exclusiveMinimum"):
        return path, "NUMBER_TYPE_MIN", f"int value should be greater than or equal to {value}."
    if kind in ("enum", "const"):
        return path, "BASE_TYPE_CHOICES", f"Value must be one of {value!r}."
    if kind in ("oneOf", "anyOf"):
        consts = [c.validator_value for c in error.context if c.validator == "const"]
        if consts:
            return path, "BASE_TYPE_CHOICES", f"Value must be one of {tuple(consts)!r}."
        return path, "UNION_TYPE_CHOICES", "Value does not match any of the allowed types."
    if kind == "type":
        return path, "BASE_TYPE_INVALID", f"Value must be of type {value}."
    if kind == "uniqueItems":
        return path, "LIST_ITEM_VALUE_DUPLICATE", "List items must be unique."
    return path, "BASE_TYPE_INVALID", error.message[:200]


# --------------------------------------------------------------------------------------
# state containers


@dataclass
class _Bucket:
    """A fixed-window rate-limit bucket."""

    limit: int
    window: float
    count: int = 0
    reset_mono: float = 0.0
    reset_wall: float = 0.0

    def roll(self) -> None:
        """Start a new window if the current one has expired."""
        if time.monotonic() >= self.reset_mono:
            self.count = 0
            self.reset_mono = time.monotonic() + self.window
            self.reset_wall = time.time() + self.window

    def reset_after(self) -> float:
        """Seconds until the current window resets."""
        return max(0.0, self.reset_mono - time.monotonic())

    def headers(self, bucket_hash: str) -> dict[str, str]:
        """Discord's ``X-RateLimit-*`` headers for the bucket's current state."""
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(0, self.limit - self.count)),
            "X-RateLimit-Reset": f"{self.reset_wall:.3f}",
            "X-RateLimit-Reset-After": f"{self.reset_after():.3f}",
            "X-RateLimit-Bucket": bucket_hash,
        }


@dataclass
class _Failure:
    status: int
    code: int
    message: str
    remaining: int | None  # None = until cleared


@dataclass
class _Interaction:
    id: str
    token: str
    type: int
    application_id: str
    guild_id: str | None
    channel_id: str | None
    created: float
    payload: JSON
    responded: bool = False
    response_type: int | None = None
    original: JSON | None = None


@dataclass(eq=False)
class _Session:
    session_id: str
    seq: int = 0
    shard: list[int] | None = None


@dataclass(eq=False)
class _Connection:
    ws: web.WebSocketResponse
    session: _Session | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass
class _Guild:
    id: str
    name: str
    owner_id: str
    roles: list[JSON]
    members: list[JSON]
    channel_ids: list[str]
    member_count: int
    removed: bool = False


# --------------------------------------------------------------------------------------
# the fake


class FakeDiscord:
    """Fake Discord REST API + gateway served by one local aiohttp app.

    Records (all lists of dicts unless noted): :attr:`messages`, :attr:`edits` (of
    messages), :attr:`channel_edits` (of threads),
    :attr:`callbacks`, :attr:`followups`, :attr:`command_syncs`, :attr:`threads`,
    :attr:`violations`, :attr:`rate_limit_events` (+ :attr:`rate_limited_count`),
    :attr:`identifies` (+ :attr:`peak_sessions`, :attr:`live_sessions`),
    :attr:`dispatched`, :attr:`requests`.
    """

    def __init__(
        self,
        *,
        spec: Mapping[str, Any] | None = None,
        token: str = "fake-token",
        application_id: int | str = DEFAULT_APPLICATION_ID,
        bot_username: str = "jobbot",
        guild_id: int | str = DEFAULT_GUILD_ID,
        guild_name: str = "Research Lab",
        text_channel_id: int | str = DEFAULT_TEXT_CHANNEL_ID,
        forum_channel_id: int | str | None = DEFAULT_FORUM_CHANNEL_ID,
        forum_tags: Sequence[str] = ("nlp", "vision", "robotics"),
        user_id: int | str = DEFAULT_USER_ID,
        username: str = "researcher",
        bot_permissions: int = DEFAULT_BOT_PERMISSIONS,
        member_permissions: int = DEFAULT_MEMBER_PERMISSIONS,
        per_channel_limit: int = 5,
        per_channel_window: float = 5.0,
        nonce_window: float = 300.0,
        heartbeat_interval: int = 41250,
        interaction_response_timeout: float | None = 3.0,
        followup_token_ttl: float = 900.0,
        allow_privileged_intents: bool = True,
        host: str = "127.0.0.1",
    ) -> None:
        self.token = token
        self._outage: tuple[int, str, str] | None = None
        self.application_id = int(application_id)
        self.bot_user_id = int(application_id)
        self.bot_username = bot_username
        self.guild_id = int(guild_id)
        self.text_channel_id = int(text_channel_id)
        self.forum_channel_id = None if forum_channel_id is None else int(forum_channel_id)
        self.user_id = int(user_id)
        self.username = username
        self.bot_permissions = bot_permissions
        self.member_permissions = member_permissions
        self.per_channel_limit = per_channel_limit
        self.per_channel_window = per_channel_window
        self.nonce_window = nonce_window
        self.heartbeat_interval = heartbeat_interval
        self.interaction_response_timeout = interaction_response_timeout
        self.followup_token_ttl = followup_token_ttl
        self.allow_privileged_intents = allow_privileged_intents
        self.host = host
        self.port = 0

        self.spec = spec
        self._validator: _SpecValidator | None = None
        if spec is not None:
            try:
                self._validator = _SpecValidator(spec)
            except ImportError:  # jsonschema/referencing missing: limit checks only
                self._validator = None

        # records
        self.messages: list[JSON] = []
        self.edits: list[JSON] = []
        self.channel_edits: list[JSON] = []
        self.callbacks: list[JSON] = []
        self.followups: list[JSON] = []
        self.command_syncs: list[JSON] = []
        self.threads: list[JSON] = []
        self.violations: list[JSON] = []
        self.rate_limit_events: list[JSON] = []
        self.rate_limited_count = 0
        self.deduplicated_count = 0
        self.identifies: list[JSON] = []
        # The most identified gateway connections open at one time (one bot: at most 1).
        self.peak_sessions = 0
        self.resumes = 0
        self.dispatched: list[JSON] = []
        self.requests: list[JSON] = []

        # state
        self._snowflakes = _Snowflakes()
        self._guilds: dict[str, _Guild] = {}
        self._channels: dict[str, JSON] = {}
        self._messages_by_id: dict[str, JSON] = {}
        self._webhook_messages: dict[str, JSON] = {}
        self._global_commands: list[JSON] = []
        self._guild_commands: dict[str, list[JSON]] = {}
        self._command_ids: dict[tuple[str | None, int, str], str] = {}
        self._buckets: dict[str, _Bucket] = {}
        self._bucket_hash = secrets.token_hex(16)
        self._forced_429: dict[str, list[tuple[float, bool]]] = defaultdict(list)
        self._failures: dict[str, _Failure] = {}
        # fail_message(): message creates still to let through, then the failure.
        self._message_failure: tuple[int, _Failure] | None = None
        self._bot_channel_permissions: dict[str, int] = {}
        #: Each user's DM channel with the bot (user id -> channel id), once opened.
        self.dm_channels: dict[str, str] = {}
        # Users who refuse DMs from the bot: sending there answers 403/50007.
        self._dm_refused: set[str] = set()
        self._nonces: dict[tuple[str, str, str], tuple[str, float]] = {}
        self._interactions: dict[str, _Interaction] = {}
        self._sessions: dict[str, _Session] = {}
        self._connections: set[_Connection] = set()
        self._waiters: set[asyncio.Event] = set()
        self._runner: web.AppRunner | None = None
        self._saved_discord_py: tuple[Any, Any] | None = None

        self._bot_user: JSON = {
            "id": _sid(self.bot_user_id),
            "username": bot_username,
            "discriminator": "0",
            "global_name": None,
            "avatar": None,
            "bot": True,
            "system": False,
            "public_flags": 0,
            "flags": 0,
            "verified": True,
            "mfa_enabled": False,
            "email": None,
        }
        self.add_guild(
            guild_id,
            name=guild_name,
            text_channel_ids=(text_channel_id,),
            forum_channel_id=forum_channel_id,
            forum_tags=forum_tags,
        )

    # ---------------------------------------------------------------- lifecycle

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:P``."""
        return f"http://{self.host}:{self.port}"

    @property
    def api_base(self) -> str:
        """REST base for ``discord.http.Route.BASE``: ``http://127.0.0.1:P/api/v10``."""
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        """Gateway websocket URL: ``ws://127.0.0.1:P/gateway``."""
        return f"ws://{self.host}:{self.port}/gateway"

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Start serving on a free port of ``host``."""
        app = web.Application(middlewares=[self._middleware])
        self._add_routes(app)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        """Restore discord.py, close gateway connections and stop the server."""
        self.unpatch_discord_py()
        for conn in list(self._connections):
            if not conn.ws.closed:
                await conn.ws.close(code=1001, message=b"server shutting down")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def patch_discord_py(self) -> None:
        """Point discord.py's REST base and default gateway at this fake (undone on exit)."""
        import yarl

        discord = _import_discord()
        if self._saved_discord_py is None:
            self._saved_discord_py = (
                discord.http.Route.BASE,
                discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY,
            )
        discord.http.Route.BASE = self.api_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)

    def unpatch_discord_py(self) -> None:
        """Undo :meth:`patch_discord_py` (no-op if it was not called)."""
        if self._saved_discord_py is None:
            return
        discord = _import_discord()
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = (
            self._saved_discord_py
        )
        self._saved_discord_py = None

    # ---------------------------------------------------------------- configuration

    def add_guild(
        self,
        guild_id: int | str,
        *,
        name: str = "Guild",
        text_channel_ids: Iterable[int | str] = (),
        forum_channel_id: int | str | None = None,
        forum_tags: Sequence[str] = ("nlp", "vision", "robotics"),
        member_count: int = 42,
    ) -> JSON:
        """Add a guild (with @everyone, bot and moderator roles, bot + one human member).

        Call before the client identifies, or dispatch ``GUILD_CREATE`` with
        :meth:`guild_payload` yourself afterwards.
        """
        gid = _sid(guild_id)
        joined = _now_iso()
        # The first guild gets the well-known role ids; others derive theirs from the guild id.
        is_first = not self._guilds
        bot_role_id = _sid(DEFAULT_BOT_ROLE_ID) if is_first else _sid(int(gid) + 1)
        mod_role_id = _sid(DEFAULT_MOD_ROLE_ID) if is_first else _sid(int(gid) + 2)
        everyone = self._role(gid, "@everyone", self.member_permissions, position=0)
        bot_role = self._role(
            bot_role_id, self.bot_username, self.bot_permissions, position=1, managed=True
        )
        bot_role["tags"] = {"bot_id": _sid(self.bot_user_id)}
        mod_role = self._role(
            mod_role_id,
            "Moderators",
            self.member_permissions | MANAGE_GUILD,
            position=2,
            mentionable=True,
        )
        guild = _Guild(
            id=gid,
            name=name,
            owner_id=_sid(DEFAULT_OWNER_ID),
            roles=[everyone, bot_role, mod_role],
            members=[
                self._member(self._bot_user, [bot_role["id"]], joined),
                self._member(self._user_object(self.user_id, self.username), [], joined),
            ],
            channel_ids=[],
            member_count=member_count,
        )
        self._guilds[gid] = guild
        for position, cid in enumerate(text_channel_ids):
            self.add_channel(
                cid,
                guild_id=gid,
                type=GUILD_TEXT,
                name=f"job-alerts-{position}" if position else "job-alerts",
            )
        if forum_channel_id is not None:
            tags = [
                {
                    "id": _sid(int(forum_channel_id) + 1 + i),
                    "name": tag,
                    "moderated": False,
                    "emoji_id": None,
                    "emoji_name": None,
                }
                for i, tag in enumerate(forum_tags)
            ]
            self.add_channel(
                forum_channel_id,
                guild_id=gid,
                type=GUILD_FORUM,
                name="job-board",
                available_tags=tags,
            )
        return self.guild_payload(gid)

    def add_channel(
        self,
        channel_id: int | str,
        *,
        guild_id: int | str | None = None,
        type: int = GUILD_TEXT,
        name: str | None = None,
        available_tags: list[JSON] | None = None,
        flags: int = 0,
    ) -> JSON:
        """Add a guild channel (type 0 text, 15 forum, ...); returns the channel object."""
        gid = _sid(guild_id if guild_id is not None else self.guild_id)
        guild = self._guilds[gid]
        cid = _sid(channel_id)
        channel: JSON = {
            "id": cid,
            "type": type,
            "guild_id": gid,
            "name": name or f"channel-{cid[-4:]}",
            "position": len(guild.channel_ids),
            "permission_overwrites": [],
            "parent_id": None,
            "nsfw": False,
            "topic": None,
            "rate_limit_per_user": 0,
            "flags": flags,
            "last_message_id": None,
        }
        if type in (GUILD_FORUM, GUILD_MEDIA):
            channel.update(
                available_tags=available_tags or [],
                default_reaction_emoji=None,
                default_sort_order=None,
                default_forum_layout=0,
                default_thread_rate_limit_per_user=0,
                default_auto_archive_duration=1440,
                template="",
            )
        else:
            channel["default_auto_archive_duration"] = 1440
        self._channels[cid] = channel
        guild.channel_ids.append(cid)
        return channel

    def guild_payload(self, guild_id: int | str) -> JSON:
        """The ``GUILD_CREATE`` payload for a configured guild."""
        guild = self._guilds[_sid(guild_id)]
        members = [dict(m) for m in guild.members]
        member_count = guild.member_count
        channels = []
        for cid in guild.channel_ids:
            channel = dict(self._channels[cid])
            channel.pop("guild_id", None)
            channels.append(channel)
        return {
            "id": guild.id,
            "name": guild.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": guild.owner_id,
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 1,
            "default_message_notifications": 1,
            "explicit_content_filter": 2,
            "roles": [dict(r) for r in guild.roles],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": guild.channel_ids[0] if guild.channel_ids else None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "max_presences": None,
            "max_members": 500000,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "preferred_locale": "en-US",
            "nsfw_level": 0,
            "nsfw": False,
            "incidents_data": None,
            "joined_at": members[0]["joined_at"],
            "large": member_count >= 250,
            "unavailable": False,
            "lazy": True,
            "member_count": member_count,
            "voice_states": [],
            "members": members,
            "channels": channels,
            "threads": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    # ---------------------------------------------------------------- failure injection

    def force_429(
        self, channel_id: int | str, retry_after: float = 0.2, *, is_global: bool = False
    ) -> None:
        """Make the next message create in ``channel_id`` answer 429 once."""
        self._forced_429[_sid(channel_id)].append((retry_after, is_global))

    def fail_channel(
        self,
        channel_id: int | str,
        status: int = 403,
        code: int = 50013,
        message: str | None = None,
        *,
        times: int | None = None,
    ) -> None:
        """Make every request touching ``channel_id`` fail (e.g. 403/50013, 404/10003, 403/50001).

        ``times=None`` keeps failing until :meth:`clear_failure`; otherwise fails ``times`` times.
        """
        self._failures[_sid(channel_id)] = _Failure(
            status, code, message or _ERROR_MESSAGES.get(code, "Error"), times
        )

    def fail_message(
        self, *, after: int = 0, status: int = 503, code: int = 0, message: str | None = None
    ) -> None:
        """Make one message create (in any channel or thread) fail, after ``after`` succeed.

        Only ``POST /channels/{id}/messages`` counts (a forum post's opening message is a
        thread create and does not), so ``after=1`` fails the second part of a digest in a
        text channel and ``after=0`` the second part of one in a forum. ``status=503``
        is not retried by discord.py (500/502/504 are).
        """
        self._message_failure = (after, _Failure(status, code, message or "Service Unavailable", 1))

    def refuse_dms(self, user_id: int | str, refuse: bool = True) -> None:
        """Make messages to ``user_id``'s DM answer 403/50007, as when they closed DMs.

        Opening the DM still works (POST /users/@me/channels), as on Discord: only
        sending is refused.
        """
        if refuse:
            self._dm_refused.add(_sid(user_id))
        else:
            self._dm_refused.discard(_sid(user_id))

    def reset_token(self, new_token: str) -> None:
        """The bot's token is reset: the old one gets 401/50014 from now on (the gateway
        closes with 4004 on the next IDENTIFY)."""
        self.token = new_token

    def start_outage(
        self,
        *,
        status: int = 503,
        body: str = "upstream connect error",
        content_type: str = "text/plain",
    ) -> None:
        """Answer every REST request with ``status`` and a non-JSON ``body`` until
        :meth:`end_outage` (the gateway is left alone)."""
        self._outage = (status, body, content_type)

    def end_outage(self) -> None:
        """Undo :meth:`start_outage`."""
        self._outage = None

    def clear_failure(self, channel_id: int | str) -> None:
        """Undo :meth:`fail_channel`."""
        self._failures.pop(_sid(channel_id), None)

    def set_bot_permissions(self, channel_id: int | str, permissions: int) -> None:
        """The bot's permissions in ``channel_id`` once its overwrites apply (by default
        ``bot_permissions`` everywhere).

        Interactions from the channel, or from a thread or post in it, carry them as
        ``app_permissions``, as Discord computes them. Requests are not refused for them:
        :meth:`fail_channel` does that.
        """
        self._bot_channel_permissions[_sid(channel_id)] = permissions

    def add_forum_post(
        self,
        forum_id: int | str | None = None,
        *,
        name: str = "jobbot",
        owner_id: int | str | None = None,
    ) -> JSON:
        """A post (a public thread) a member started in a forum, to type commands in.

        Only the fake knows it (no ``THREAD_CREATE`` is sent): an interaction from it
        carries the whole thread, as Discord's do.
        """
        parent = self._channels[_sid(forum_id if forum_id is not None else self.forum_channel_id)]
        tid = self._snowflakes.next()
        now = _now_iso()
        thread: JSON = {
            "id": tid,
            "type": PUBLIC_THREAD,
            "guild_id": parent["guild_id"],
            "parent_id": parent["id"],
            "owner_id": _sid(owner_id if owner_id is not None else self.user_id),
            "name": name,
            "last_message_id": tid,
            "rate_limit_per_user": 0,
            "message_count": 1,
            "member_count": 1,
            "total_message_sent": 1,
            "flags": 0,
            "applied_tags": [],
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": now,
                "locked": False,
                "create_timestamp": now,
            },
        }
        self._channels[tid] = thread
        return dict(thread)

    def archive_thread(self, thread_id: int | str, *, locked: bool = False) -> None:
        """Archive a thread (as Discord does after its auto-archive time without activity).

        Messages in an archived thread cannot be edited (400/50083) until the
        thread is unarchived (``PATCH /channels/{thread}`` with ``archived: false``, which
        a locked thread refuses without Manage Threads).
        """
        metadata = self._channels[_sid(thread_id)]["thread_metadata"]
        metadata.update(archived=True, locked=locked, archive_timestamp=_now_iso())

    async def remove_guild(self, guild_id: int | str) -> None:
        """Remove the bot from a guild: send ``GUILD_DELETE``; its channels answer 403/50001."""
        gid = _sid(guild_id)
        self._guilds[gid].removed = True
        self._guild_commands.pop(gid, None)
        await self._broadcast("GUILD_DELETE", {"id": gid})

    async def request_reconnect(self) -> None:
        """Send op 7 RECONNECT to every connection (clients should RESUME)."""
        for conn in list(self._connections):
            await self._send(conn, {"op": 7, "d": None, "s": None, "t": None})

    # ---------------------------------------------------------------- queries

    def channel(self, channel_id: int | str) -> JSON:
        """The fake's current record of a channel or thread (tags, thread metadata, ...)."""
        return self._channels[_sid(channel_id)]

    def messages_in(self, channel_id: int | str) -> list[JSON]:
        """Channel (or thread) messages created in ``channel_id``, oldest first."""
        cid = _sid(channel_id)
        return [m for m in self.messages if m["channel_id"] == cid]

    def commands(self, guild_id: int | str | None = None) -> list[JSON]:
        """The stored command set (global when ``guild_id`` is None)."""
        if guild_id is None:
            return list(self._global_commands)
        return list(self._guild_commands.get(_sid(guild_id), []))

    def callback_for(self, interaction_id: int | str) -> JSON | None:
        """The recorded initial response to an interaction, if any."""
        iid = _sid(interaction_id)
        return next((c for c in self.callbacks if c["interaction_id"] == iid), None)

    def _resolve_record(self, message: Any) -> Mapping[str, Any]:
        if isinstance(message, Mapping):
            return message
        mid = getattr(message, "id", None)
        if mid is not None:
            record = self._messages_by_id.get(_sid(mid)) or self._webhook_messages.get(_sid(mid))
            if record is not None:
                return record
        raise TypeError(f"cannot find a recorded message for {message!r}")

    @staticmethod
    def _payload_of(record: Mapping[str, Any]) -> tuple[Mapping[str, Any], str]:
        if "interaction_id" in record and isinstance(record.get("data"), Mapping):
            return record["data"], "interaction"
        return record, str(record.get("source", "channel"))

    def pings(self, message: Any) -> set[str]:
        """What a message would actually ping, given its content and ``allowed_mentions``.

        Accepts a record from :attr:`messages` / :attr:`followups` / :attr:`callbacks`, a
        raw payload dict (treated as a channel message) or a ``discord.Message`` that the
        fake recorded. Returns e.g. ``{"everyone"}``, ``{"here"}``, ``{"role:123"}``,
        ``{"user:5"}``, ``{"reply:<message id>"}``. Embeds never ping. Permissions are not
        considered (worst case: the bot may mention everyone and every role).
        """
        payload, source = self._payload_of(self._resolve_record(message))
        allowed = payload.get("allowed_mentions")
        if allowed is None:
            parse = {"users", "roles", "everyone"} if source == "channel" else {"users"}
            users: set[str] = set()
            roles: set[str] = set()
            replied_user = True
        else:
            parse = set(allowed.get("parse") or [])
            users = {str(u) for u in allowed.get("users") or []}
            roles = {str(r) for r in allowed.get("roles") or []}
            replied_user = bool(allowed.get("replied_user"))
        result: set[str] = set()
        for match in _MENTION_RE.finditer(str(payload.get("content") or "")):
            if match.group("user"):
                uid = match.group("user")
                if "users" in parse or uid in users:
                    result.add(f"user:{uid}")
            elif match.group("role"):
                rid = match.group("role")
                if "roles" in parse or rid in roles:
                    result.add(f"role:{rid}")
            elif "everyone" in parse:
                result.add(match.group("everyone"))
        reference = payload.get("message_reference")
        if isinstance(reference, Mapping) and reference.get("message_id") and replied_user:
            result.add(f"reply:{reference['message_id']}")
        return result

    @staticmethod
    def _texts(payload: Mapping[str, Any]) -> Iterator[str]:
        if isinstance(payload.get("content"), str):
            yield payload["content"]
        for embed in payload.get("embeds") or []:
            if not isinstance(embed, Mapping):
                continue
            for key in ("title", "description"):
                if isinstance(embed.get(key), str):
                    yield embed[key]
            for fld in embed.get("fields") or []:
                if isinstance(fld, Mapping):
                    yield str(fld.get("name") or "")
                    yield str(fld.get("value") or "")
            for key, sub in (("footer", "text"), ("author", "name")):
                if isinstance(embed.get(key), Mapping) and isinstance(embed[key].get(sub), str):
                    yield embed[key][sub]

    def markdown_links(self, message: Any) -> list[tuple[str, str]]:
        """``[label](url)`` links in a message's content and embeds, as ``(label, url)``."""
        payload, _ = self._payload_of(self._resolve_record(message))
        return [
            (m.group("label"), m.group("url"))
            for text in self._texts(payload)
            for m in _MARKDOWN_LINK_RE.finditer(text)
        ]

    def urls(self, message: Any) -> list[str]:
        """Every URL a message shows or makes clients fetch.

        Markdown links, bare URLs in text, embed url/author/footer/image/thumbnail URLs
        and link-button URLs.
        """
        payload, _ = self._payload_of(self._resolve_record(message))
        found: list[str] = []
        for text in self._texts(payload):
            found.extend(m.group("url") for m in _MARKDOWN_LINK_RE.finditer(text))
            found.extend(_BARE_URL_RE.findall(_MARKDOWN_LINK_RE.sub(" ", text)))
        for embed in payload.get("embeds") or []:
            if not isinstance(embed, Mapping):
                continue
            if isinstance(embed.get("url"), str):
                found.append(embed["url"])
            for key, sub in (
                ("author", "url"),
                ("author", "icon_url"),
                ("footer", "icon_url"),
                ("image", "url"),
                ("thumbnail", "url"),
            ):
                if isinstance(embed.get(key), Mapping) and isinstance(embed[key].get(sub), str):
                    found.append(embed[key][sub])
        for row in payload.get("components") or []:
            for comp in (row.get("components") or []) if isinstance(row, Mapping) else []:
                if isinstance(comp, Mapping) and isinstance(comp.get("url"), str):
                    found.append(comp["url"])
        return found

    def link_hosts(self, message: Any) -> set[str]:
        """Host names of :meth:`urls` (lower-case)."""
        return {(urlsplit(u).hostname or "").lower() for u in self.urls(message)} - {""}

    # ---------------------------------------------------------------- waiting

    def _notify(self) -> None:
        for event in list(self._waiters):
            event.set()

    async def wait_for(
        self, predicate: Callable[[], bool], *, within: float = 5.0, what: str = "condition"
    ) -> None:
        """Wait until ``predicate()`` is true; re-checked whenever the fake records something."""
        event = asyncio.Event()
        self._waiters.add(event)
        try:
            async with asyncio.timeout(within):
                while not predicate():
                    await event.wait()
                    event.clear()
        except TimeoutError:
            raise TimeoutError(f"timed out after {within}s waiting for {what}") from None
        finally:
            self._waiters.discard(event)

    @property
    def live_sessions(self) -> int:
        """Gateway connections open now that have IDENTIFYed (or RESUMEd)."""
        return sum(1 for c in self._connections if c.session is not None and not c.ws.closed)

    async def wait_until_identified(self, within: float = 5.0) -> None:
        """Wait until a client has IDENTIFYed (READY and GUILD_CREATEs were sent)."""
        await self.wait_for(
            lambda: any(c.session for c in self._connections), within=within, what="IDENTIFY"
        )

    async def wait_for_callback(self, interaction_id: int | str, within: float = 5.0) -> JSON:
        """Wait for the initial response to an interaction and return its record."""
        await self.wait_for(
            lambda: self.callback_for(interaction_id) is not None,
            within=within,
            what=f"callback {interaction_id}",
        )
        record = self.callback_for(interaction_id)
        assert record is not None
        return record

    # ---------------------------------------------------------------- gateway API

    async def dispatch(self, event: str, payload: JSON) -> None:
        """Send a DISPATCH (op 0) event to every identified gateway connection.

        ``INTERACTION_CREATE`` payloads are registered so that their callback/followup
        endpoints accept them.
        """
        if event == "INTERACTION_CREATE":
            self._register_interaction(payload)
        sent = await self._broadcast(event, payload)
        if not sent:
            raise RuntimeError(f"cannot dispatch {event}: no identified gateway connection")

    async def _broadcast(self, event: str, payload: JSON) -> int:
        self.dispatched.append({"t": event, "d": payload})
        sent = 0
        for conn in list(self._connections):
            if conn.session is not None and await self._dispatch_to(conn, event, payload):
                sent += 1
        return sent

    def _register_interaction(self, payload: Mapping[str, Any]) -> None:
        iid = _sid(payload["id"])
        self._interactions[iid] = _Interaction(
            id=iid,
            token=str(payload["token"]),
            type=int(payload["type"]),
            application_id=_sid(payload.get("application_id", self.application_id)),
            guild_id=payload.get("guild_id"),
            channel_id=payload.get("channel_id"),
            created=time.monotonic(),
            payload=dict(payload),
        )

    def _find_command(self, name: str, guild_id: str) -> tuple[JSON | None, str | None]:
        for cmd in self._guild_commands.get(guild_id, []):
            if cmd["name"] == name and cmd.get("type", 1) == 1:
                return cmd, guild_id
        for cmd in self._global_commands:
            if cmd["name"] == name and cmd.get("type", 1) == 1:
                return cmd, None
        return None, None

    @staticmethod
    def _coerce_option(
        definition: Mapping[str, Any] | None, name: str, value: Any, focused: bool
    ) -> JSON:
        if definition is None:
            if isinstance(value, bool):
                otype = 5
            elif isinstance(value, int):
                otype = 4
            elif isinstance(value, float):
                otype = 10
            else:
                otype, value = 3, str(value)
            return {
                "name": name,
                "type": otype,
                "value": value,
                **({"focused": True} if focused else {}),
            }
        otype = int(definition["type"])
        if not focused:
            if otype == 4:
                value = int(value)
            elif otype == 10:
                value = float(value)
            elif otype == 5:
                value = bool(value)
            elif otype in (3, 6, 7, 8, 9, 11):
                value = str(value)
            choices = definition.get("choices")
            if choices and value not in [c["value"] for c in choices]:
                allowed = [c["value"] for c in choices]
                raise ValueError(
                    f"option {name!r}: {value!r} is not one of the registered choices {allowed}"
                )
        else:
            value = str(value)
        option: JSON = {"name": name, "type": otype, "value": value}
        if focused:
            option["focused"] = True
        return option

    def _build_options(
        self,
        command: JSON | None,
        group: str | None,
        subcommand: str | None,
        options: Mapping[str, Any],
        focused: str | None,
    ) -> list[JSON]:
        label = "/" + " ".join(x for x in ((command or {}).get("name"), group, subcommand) if x)
        definitions: list[JSON] | None = (
            None if command is None else list(command.get("options") or [])
        )

        def pick(defs: list[JSON] | None, name: str, kind: int) -> list[JSON] | None:
            """The options of the group (kind 2) / subcommand (kind 1) called ``name``."""
            if defs is None:
                return None
            for d in defs:
                if d.get("name") == name and d.get("type") == kind:
                    return list(d.get("options") or [])
            raise ValueError(
                f"{label}: no {'group' if kind == 2 else 'subcommand'} named {name!r} is registered"
            )

        if group is not None:
            definitions = pick(definitions, group, 2)
        if subcommand is not None:
            definitions = pick(definitions, subcommand, 1)
        leaf: list[JSON] = []
        by_name = {d["name"]: d for d in definitions or []}
        for name, value in options.items():
            if definitions is not None and name not in by_name:
                raise ValueError(f"{label}: unknown option {name!r}; registered: {sorted(by_name)}")
            leaf.append(self._coerce_option(by_name.get(name), name, value, focused == name))
        if definitions is not None and focused is None:
            missing = [
                d["name"] for d in definitions if d.get("required") and d["name"] not in options
            ]
            if missing:
                raise ValueError(f"{label}: missing required options {missing}")
        if focused is not None and focused not in options:
            leaf.append(self._coerce_option(by_name.get(focused), focused, "", True))
        nested: list[JSON] = leaf
        if subcommand is not None:
            nested = [{"name": subcommand, "type": 1, "options": nested}]
        if group is not None:
            nested = [{"name": group, "type": 2, "options": nested}]
        return nested

    def slash_interaction(
        self,
        name: str = "jobs",
        subcommand: str | None = None,
        options: Mapping[str, Any] | None = None,
        *,
        group: str | None = None,
        channel_id: int | str | None = None,
        guild_id: int | str | None = None,
        user_id: int | str | None = None,
        username: str | None = None,
        member_permissions: int | str | None = None,
        roles: Iterable[int | str] = (),
        locale: str = "en-US",
        require_synced: bool = True,
        user_install_only: bool = False,
    ) -> JSON:
        """Build a realistic ``INTERACTION_CREATE`` payload (type 2) for a slash command.

        If the command was synced to the fake, its id/scope are used and ``options`` are
        checked and typed against the registered definition (unknown options, choice
        values not offered and missing required options raise ``ValueError``). An unsynced
        command raises ``LookupError`` unless ``require_synced=False``; it is then sent as
        a global command with option types inferred from the Python values.

        ``user_install_only``: typed in a server where only the user installed the app
        (the bot is not a member): only a global command that declares user install is
        offered there, and the app may answer but not post in the channel.
        """
        return self._interaction_payload(
            2,
            name,
            subcommand,
            options or {},
            None,
            group=group,
            channel_id=channel_id,
            guild_id=guild_id,
            user_id=user_id,
            username=username,
            member_permissions=member_permissions,
            roles=roles,
            locale=locale,
            require_synced=require_synced,
            user_install_only=user_install_only,
        )

    def private_slash_interaction(
        self,
        name: str = "jobs",
        subcommand: str | None = None,
        options: Mapping[str, Any] | None = None,
        *,
        user_id: int | str | None = None,
        context: int = BOT_DM_CONTEXT,
        user_install: bool = True,
    ) -> JSON:
        """An ``INTERACTION_CREATE`` payload (type 2) for a slash command typed outside a
        server: in the bot's DM (``context`` 1) or in another private chat (2).

        As on Discord, only a global command can be offered there, and only if it
        declared that context in ``contexts`` and, when the app is installed to the user
        (``user_install``), user install in ``integration_types``; otherwise the client
        would not show it, and this raises ``LookupError``. A guild install reaches only
        the bot's DM. The channel of context 1 is the bot's DM channel with the user (the
        one ``POST /users/@me/channels`` returns); context 2 is a group DM the bot is
        not in.
        """
        command = next(
            (c for c in self._global_commands if c["name"] == name and c.get("type", 1) == 1),
            None,
        )
        if command is None:
            raise LookupError(f"/{name} is not a global command: Discord offers only those in DMs")
        # Discord's defaults: every context; install types as the app is set up (a server).
        contexts = command.get("contexts")
        installs = command.get("integration_types") or [GUILD_INSTALL]
        install = USER_INSTALL if user_install else GUILD_INSTALL
        if contexts is not None and context not in contexts:
            raise LookupError(f"/{name} does not declare context {context} (contexts {contexts})")
        if install not in installs:
            raise LookupError(f"/{name} does not declare install type {install} ({installs})")
        if context == PRIVATE_CHANNEL_CONTEXT and not user_install:
            raise LookupError("only a user-installed app is offered in other private chats")
        uid = _sid(user_id if user_id is not None else self.user_id)
        user = self._user_object(uid, self._username_of(uid))
        if context == BOT_DM_CONTEXT:
            cid = self._open_dm(uid)
            channel = dict(self._channels[cid])
        else:
            cid = self._snowflakes.next()
            channel = {"id": cid, "type": GROUP_DM, "name": None, "recipients": [user]}
        return {
            "id": self._snowflakes.next(),
            "application_id": _sid(self.application_id),
            "type": 2,
            "token": "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48),
            "version": 1,
            "data": {
                "id": command["id"],
                "name": name,
                "type": 1,
                "options": self._build_options(command, None, subcommand, options or {}, None),
            },
            "channel_id": cid,
            "channel": channel,
            "user": user,
            # What the bot may do there: in its own DM, post; elsewhere, only answer.
            "app_permissions": str(DM_APP_PERMISSIONS if context == BOT_DM_CONTEXT else 0),
            "locale": "en-US",
            "entitlements": [],
            "entitlement_sku_ids": [],
            "authorizing_integration_owners": {str(install): uid if user_install else "0"},
            "context": context,
            "attachment_size_limit": 10 * 1024 * 1024,
        }

    def autocomplete_interaction(
        self,
        name: str = "jobs",
        subcommand: str | None = None,
        options: Mapping[str, Any] | None = None,
        *,
        focused: str,
        value: str = "",
        group: str | None = None,
        channel_id: int | str | None = None,
        guild_id: int | str | None = None,
        user_id: int | str | None = None,
        username: str | None = None,
        member_permissions: int | str | None = None,
        roles: Iterable[int | str] = (),
        locale: str = "en-US",
        require_synced: bool = True,
    ) -> JSON:
        """Like :meth:`slash_interaction` but type 4 with option ``focused`` typed as ``value``."""
        return self._interaction_payload(
            4,
            name,
            subcommand,
            {**(options or {}), focused: value},
            focused,
            group=group,
            channel_id=channel_id,
            guild_id=guild_id,
            user_id=user_id,
            username=username,
            member_permissions=member_permissions,
            roles=roles,
            locale=locale,
            require_synced=require_synced,
        )

    def _interaction_payload(
        self,
        interaction_type: int,
        name: str,
        subcommand: str | None,
        options: Mapping[str, Any],
        focused: str | None,
        *,
        group: str | None,
        channel_id: int | str | None,
        guild_id: int | str | None,
        user_id: int | str | None,
        username: str | None,
        member_permissions: int | str | None,
        roles: Iterable[int | str],
        locale: str,
        require_synced: bool,
        user_install_only: bool = False,
    ) -> JSON:
        gid = _sid(guild_id if guild_id is not None else self.guild_id)
        cid = _sid(channel_id if channel_id is not None else self.text_channel_id)
        command, scope = self._find_command(name, gid)
        if command is None and require_synced:
            raise LookupError(
                f"/{name} was never synced to the fake (pass require_synced=False to skip)"
            )
        if user_install_only and (
            command is None
            or scope is not None
            or USER_INSTALL not in (command.get("integration_types") or [GUILD_INSTALL])
            or GUILD_CONTEXT not in (command.get("contexts") or [GUILD_CONTEXT])
        ):
            raise LookupError(
                f"/{name} is not a global command that declares user install in servers"
            )
        data: JSON = {
            "id": command["id"] if command else self._snowflakes.next(),
            "name": name,
            "type": 1,
            "options": self._build_options(command, group, subcommand, options, focused),
        }
        if scope is not None:
            data["guild_id"] = scope
        resolved = self._resolved(gid, data["options"])
        if resolved:
            data["resolved"] = resolved
        uid = _sid(user_id if user_id is not None else self.user_id)
        perms = self.member_permissions if member_permissions is None else int(member_permissions)
        default_channel = {
            "id": cid,
            "type": GUILD_TEXT,
            "guild_id": gid,
            "name": "unknown",
            "position": 0,
        }
        channel = dict(self._channels.get(cid) or default_channel)
        channel["permissions"] = str(perms)
        if username is None:
            username = self.username if uid == _sid(self.user_id) else f"user{uid[-4:]}"
        member = self._member(
            self._user_object(uid, username), [_sid(r) for r in roles], _now_iso()
        )
        member["permissions"] = str(perms)
        return {
            "id": self._snowflakes.next(),
            "application_id": _sid(self.application_id),
            "type": interaction_type,
            "token": "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48),
            "version": 1,
            "data": data,
            "guild_id": gid,
            "guild": {"id": gid, "locale": "en-US", "features": []},
            "channel_id": cid,
            "channel": channel,
            "member": member,
            "app_permissions": str(
                USER_INSTALL_APP_PERMISSIONS
                if user_install_only
                else self._app_permissions(cid, channel.get("parent_id"))
            ),
            "locale": locale,
            "guild_locale": "en-US",
            "entitlements": [],
            "entitlement_sku_ids": [],
            "authorizing_integration_owners": (
                {str(USER_INSTALL): uid} if user_install_only else {str(GUILD_INSTALL): gid}
            ),
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
        }

    def _app_permissions(self, channel_id: str, parent_id: str | None) -> int:
        """The bot's permissions in a channel; a thread has its parent's overwrites."""
        for cid in (channel_id, parent_id):
            if cid is not None and cid in self._bot_channel_permissions:
                return self._bot_channel_permissions[cid]
        return self.bot_permissions

    def _resolved(self, guild_id: str, options: list[JSON]) -> JSON:
        """``data.resolved`` for role options (type 8): the guild's role objects by id."""
        guild = self._guilds.get(guild_id)
        roles = {r["id"]: r for r in guild.roles} if guild else {}
        found: JSON = {}
        stack = list(options)
        while stack:
            option = stack.pop()
            stack.extend(option.get("options") or [])
            if option.get("type") == 8 and not option.get("focused"):
                role = roles.get(str(option.get("value")))
                if role is not None:
                    found.setdefault("roles", {})[role["id"]] = role
        return found

    # ---------------------------------------------------------------- object builders

    @staticmethod
    def _role(
        role_id: str,
        name: str,
        permissions: int,
        *,
        position: int,
        managed: bool = False,
        mentionable: bool = False,
    ) -> JSON:
        return {
            "id": role_id,
            "name": name,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": position,
            "permissions": str(permissions),
            "managed": managed,
            "mentionable": mentionable,
            "flags": 0,
        }

    @staticmethod
    def _user_object(user_id: int | str, username: str) -> JSON:
        return {
            "id": _sid(user_id),
            "username": username,
            "discriminator": "0",
            "global_name": username.title(),
            "avatar": None,
            "bot": False,
            "system": False,
            "public_flags": 0,
            "avatar_decoration_data": None,
            "primary_guild": None,
            "collectibles": None,
        }

    @staticmethod
    def _member(user: JSON, roles: list[str], joined_at: str) -> JSON:
        public_user = {
            k: v for k, v in user.items() if k not in ("email", "verified", "mfa_enabled", "flags")
        }
        return {
            "user": public_user,
            "roles": roles,
            "nick": None,
            "avatar": None,
            "banner": None,
            "joined_at": joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
            "unusual_dm_activity_until": None,
        }

    def _application_object(self) -> JSON:
        owner = self._user_object(DEFAULT_OWNER_ID, "owner")
        return {
            "id": _sid(self.application_id),
            "name": self.bot_username,
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "hook": True,
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "flags": 0,
            "owner": owner,
            "team": None,
            "bot": {
                k: v
                for k, v in self._bot_user.items()
                if k not in ("email", "verified", "mfa_enabled")
            },
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "role_connections_verification_url": None,
            "tags": [],
            "approximate_guild_count": len(self._guilds),
            "integration_types_config": {"0": {}},
        }

    def _message_object(self, record: Mapping[str, Any]) -> JSON:
        """The API view of a recorded message (request-only keys stripped)."""
        hidden = {
            "allowed_mentions",
            "enforce_nonce",
            "source",
            "token",
            "kind",
            "sticker_ids",
            "message_reference",
        }
        obj = {k: v for k, v in record.items() if k not in hidden}
        if record.get("message_reference"):
            obj["message_reference"] = record["message_reference"]
        if obj.get("nonce") is None:
            obj.pop("nonce", None)
        return obj

    def _new_message(
        self,
        channel_id: str,
        body: Mapping[str, Any],
        files: Sequence[JSON],
        *,
        source: str,
        message_id: str | None = None,
        flags: int | None = None,
    ) -> JSON:
        channel = self._channels.get(channel_id, {})
        mid = message_id or self._snowflakes.next()
        embeds = []
        for embed in body.get("embeds") or []:
            embeds.append({"type": "rich", **embed} if isinstance(embed, Mapping) else embed)
        record: JSON = {
            "id": mid,
            "channel_id": channel_id,
            "guild_id": channel.get("guild_id"),
            "type": 0,
            "content": body.get("content") or "",
            "embeds": embeds,
            "components": list(body.get("components") or []),
            "attachments": [self._attachment_object(channel_id, f) for f in files],
            "allowed_mentions": body.get("allowed_mentions"),
            "nonce": body.get("nonce"),
            "enforce_nonce": body.get("enforce_nonce"),
            "flags": (body.get("flags") or 0) if flags is None else flags,
            "tts": bool(body.get("tts")),
            "author": {
                k: v
                for k, v in self._bot_user.items()
                if k not in ("email", "verified", "mfa_enabled", "flags")
            },
            "timestamp": _now_iso(),
            "edited_timestamp": None,
            "pinned": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "mention_channels": [],
            "sticker_ids": body.get("sticker_ids"),
            "message_reference": body.get("message_reference"),
            "source": source,
        }
        if source != "channel":
            record["application_id"] = _sid(self.application_id)
            record["webhook_id"] = _sid(self.application_id)
        self._apply_mentions(record)
        return record

    def _attachment_object(self, channel_id: str, upload: Mapping[str, Any]) -> JSON:
        aid = self._snowflakes.next()
        filename = str(upload.get("filename") or "file")
        return {
            "id": aid,
            "filename": filename,
            "size": upload["size"],
            "url": f"https://cdn.discordapp.com/attachments/{channel_id}/{aid}/{filename}",
            "proxy_url": f"https://media.discordapp.net/attachments/{channel_id}/{aid}/{filename}",
            "content_type": "application/octet-stream",
        }

    def _apply_mentions(self, record: JSON) -> None:
        pinged = self.pings(record)
        record["mention_everyone"] = bool(pinged & {"everyone", "here"})
        record["mention_roles"] = sorted(
            p.split(":", 1)[1] for p in pinged if p.startswith("role:")
        )
        guild = self._guilds.get(str(record.get("guild_id")))
        known = {m["user"]["id"]: m["user"] for m in guild.members} if guild else {}
        record["mentions"] = [
            known[uid]
            for uid in sorted(p.split(":", 1)[1] for p in pinged if p.startswith("user:"))
            if uid in known
        ]

    # ---------------------------------------------------------------- HTTP plumbing

    def _add_routes(self, app: web.Application) -> None:
        api = r"/api/v{version:\d+}"
        r = app.router
        r.add_get("/gateway", self._gateway)
        r.add_get("/", self._gateway)
        r.add_get(api + "/users/@me", self._users_me)
        r.add_post(api + "/users/@me/channels", self._create_dm)
        r.add_get(api + "/oauth2/applications/@me", self._application_me)
        r.add_get(api + "/gateway", self._get_gateway)
        r.add_get(api + "/gateway/bot", self._get_gateway_bot)
        r.add_route("*", api + "/applications/{app_id}/commands", self._commands)
        r.add_route("*", api + "/applications/{app_id}/guilds/{guild_id}/commands", self._commands)
        r.add_post(
            api + "/interactions/{interaction_id}/{token}/callback", self._interaction_callback
        )
        r.add_post(api + "/webhooks/{app_id}/{token}", self._webhook_execute)
        r.add_route(
            "*", api + "/webhooks/{app_id}/{token}/messages/{message_id}", self._webhook_message
        )
        r.add_get(api + "/channels/{channel_id}", self._get_channel)
        r.add_patch(api + "/channels/{channel_id}", self._patch_channel)
        r.add_get(api + "/guilds/{guild_id}/threads/active", self._active_threads)
        r.add_route("*", api + "/channels/{channel_id}/messages", self._channel_messages)
        r.add_route(
            "*", api + "/channels/{channel_id}/messages/{message_id}", self._channel_message
        )
        r.add_post(api + "/channels/{channel_id}/threads", self._create_thread)

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        match_info = request.match_info
        response: web.StreamResponse
        if match_info.http_exception is not None:
            status = match_info.http_exception.status
            if status == 405:
                response = _error_response(405, 0, "405: Method Not Allowed")
            else:
                response = _error_response(404, 0, "404: Not Found")
        elif "version" in match_info and match_info["version"] not in API_VERSIONS:
            response = _error_response(400, 50041, "Invalid API version provided.")
        elif self._outage is not None and request.path.startswith("/api/"):
            status, body, content_type = self._outage
            response = web.Response(text=body, status=status, content_type=content_type)
        else:
            response = self._check_auth(request) or await handler(request)
        self.requests.append(
            {"method": request.method, "path": request.path, "status": response.status}
        )
        self._notify()
        return response

    def _check_auth(self, request: web.Request) -> web.Response | None:
        path = request.path
        if not path.startswith("/api/") or re.match(
            r"^/api/v\d+/(interactions|webhooks|gateway$)", path
        ):
            return None
        header = request.headers.get("Authorization")
        if not header:
            return _error_response(401, 0, "401: Unauthorized")
        if header not in (f"Bot {self.token}", self.token):
            return _error_response(401, 50014)
        return None

    async def _read_body(self, request: web.Request) -> tuple[Any, list[JSON]] | web.Response:
        """Parse a JSON or multipart (``payload_json`` + ``files[n]``) body."""
        files: list[JSON] = []
        if request.content_type.startswith("multipart/"):
            payload: Any = {}
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if not isinstance(part, BodyPartReader):
                    continue
                data = await part.read()
                if part.name == "payload_json":
                    try:
                        payload = json.loads(data.decode())
                    except ValueError:
                        return _error_response(400, 50109)
                else:
                    files.append({"field": part.name, "filename": part.filename, "size": len(data)})
            return payload, files
        raw = await request.text()
        if not raw.strip():
            return {}, files
        try:
            return json.loads(raw), files
        except ValueError:
            return _error_response(400, 50109)

    def _violation(
        self, route: str, status: int, code: int, errors: FormErrors | None, body: Any, **extra: Any
    ) -> None:
        self.violations.append(
            {
                "route": route,
                "status": status,
                "code": code,
                "errors": errors.tree if errors else {},
                "paths": errors.paths() if errors else [],
                "body": body,
                **extra,
            }
        )

    def _invalid_form(
        self, route: str, errors: FormErrors, body: Any, **extra: Any
    ) -> web.Response:
        self._violation(route, 400, 50035, errors, body, **extra)
        return _error_response(400, 50035, errors=errors.tree)

    def _validate_message(
        self,
        body: Any,
        files: Sequence[JSON],
        *,
        schema: str | None,
        create: bool,
        allowed_flags: int | None,
        prefix: Sequence[str | int] = (),
        errors: FormErrors | None = None,
    ) -> tuple[FormErrors, bool]:
        """Schema + limit checks; returns (errors, is_empty_message)."""
        errors = FormErrors() if errors is None else errors
        if not isinstance(body, Mapping):
            errors.add(
                list(prefix), "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType"
            )
            return errors, False
        # Documented limits first: where the spec is looser (content 4000 vs 2000) the
        # documented message wins the de-duplication in FormErrors.
        check_message_limits(body, errors, prefix=prefix, allowed_flags=allowed_flags)
        if self._validator is not None and schema is not None:
            self._validator.validate(schema, body, errors, prefix)
        return errors, create and not errors and _is_empty_message(body, files)

    def _channel_gate(self, channel_id: str) -> web.Response | None:
        failure = self._failures.get(channel_id)
        if failure is not None:
            if failure.remaining is not None:
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.pop(channel_id, None)
            return _error_response(failure.status, failure.code, failure.message)
        channel = self._channels.get(channel_id)
        if channel is None:
            return _error_response(404, 10003)
        recipients = channel.get("recipients") or [{}]
        if channel["type"] == DM and recipients[0].get("id") in self._dm_refused:
            return _error_response(403, 50007)
        guild = self._guilds.get(str(channel.get("guild_id")))
        if guild is not None and guild.removed:
            return _error_response(403, 50001)
        return None

    # ---------------------------------------------------------------- REST handlers

    async def _users_me(self, request: web.Request) -> web.Response:
        return _json_response(200, self._bot_user)

    async def _create_dm(self, request: web.Request) -> web.Response:
        """``POST /users/@me/channels {recipient_id}``: the bot's DM channel with a user.

        The same channel every time for one user. Any snowflake is taken as a user id
        (members of the fake's guilds get their names).
        """
        try:
            body = await request.json()
        except ValueError:
            return _error_response(400, 50109)
        recipient = body.get("recipient_id") if isinstance(body, dict) else None
        if not str(recipient or "").isdigit():
            errors = FormErrors()
            errors.add(["recipient_id"], "BASE_TYPE_REQUIRED", "This field is required")
            self._violation("POST /users/@me/channels", 400, 50035, errors, body)
            return _error_response(400, 50035, errors=errors.tree)
        return _json_response(200, self._channels[self._open_dm(_sid(str(recipient)))])

    def _open_dm(self, user_id: str) -> str:
        """The id of the bot's DM channel with ``user_id``, made on first use."""
        cid = self.dm_channels.get(user_id)
        if cid is None:
            cid = self.dm_channels[user_id] = self._snowflakes.next()
            self._channels[cid] = {
                "id": cid,
                "type": DM,
                "last_message_id": None,
                "flags": 0,
                "recipients": [self._user_object(user_id, self._username_of(user_id))],
            }
        return cid

    def _username_of(self, user_id: str) -> str:
        for guild in self._guilds.values():
            for member in guild.members:
                if member["user"]["id"] == user_id:
                    return str(member["user"]["username"])
        return f"user{user_id[-4:]}"

    def dm_channel(self, user_id: int | str) -> str | None:
        """The id of the bot's DM channel with ``user_id``, if one was opened."""
        return self.dm_channels.get(_sid(user_id))

    async def _application_me(self, request: web.Request) -> web.Response:
        return _json_response(200, self._application_object())

    async def _get_gateway(self, request: web.Request) -> web.Response:
        return _json_response(200, {"url": self.gateway_url})

    async def _get_gateway_bot(self, request: web.Request) -> web.Response:
        return _json_response(
            200,
            {
                "url": self.gateway_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 14_400_000,
                    "max_concurrency": 1,
                },
            },
        )

    async def _commands(self, request: web.Request) -> web.Response:
        app_id = request.match_info["app_id"]
        guild_id = request.match_info.get("guild_id")
        if app_id != _sid(self.application_id):
            return _error_response(403, 50001)
        if guild_id is not None:
            guild = self._guilds.get(guild_id)
            if guild is None or guild.removed:
                return _error_response(403, 50001)
        if request.method == "GET":
            return _json_response(200, self.commands(guild_id))
        if request.method != "PUT":
            return _error_response(405, 0, "405: Method Not Allowed")
        parsed = await self._read_body(request)
        if isinstance(parsed, web.Response):
            return parsed
        body, _ = parsed
        route = f"PUT /applications/{{app}}{'/guilds/{guild}' if guild_id else ''}/commands"
        errors = FormErrors()
        if self._validator is not None:
            self._validator.validate(
                _GUILD_COMMANDS_SCHEMA if guild_id else _GLOBAL_COMMANDS_SCHEMA, body, errors
            )
        check_commands(body, errors)
        if errors:
            return self._invalid_form(route, errors, body, guild_id=guild_id)
        stored = [self._store_command(cmd, guild_id) for cmd in body]
        if guild_id is None:
            self._global_commands = stored
        else:
            self._guild_commands[guild_id] = stored
        self.command_syncs.append({"guild_id": guild_id, "commands": stored, "payload": body})
        return _json_response(200, stored)

    def _store_command(self, cmd: Mapping[str, Any], guild_id: str | None) -> JSON:
        ctype = int(cmd.get("type") or 1)
        key = (guild_id, ctype, str(cmd["name"]))
        cid = self._command_ids.setdefault(key, self._snowflakes.next())
        perms = cmd.get("default_member_permissions")
        stored: JSON = {
            "id": cid,
            "application_id": _sid(self.application_id),
            "version": self._snowflakes.next(),
            "type": ctype,
            "name": cmd["name"],
            "name_localizations": cmd.get("name_localizations"),
            "description": cmd.get("description") or "",
            "description_localizations": cmd.get("description_localizations"),
            "options": cmd.get("options") or [],
            "default_member_permissions": None if perms is None else str(perms),
            "dm_permission": cmd.get("dm_permission", True),
            "contexts": cmd.get("contexts"),
            "integration_types": cmd.get("integration_types") or [0],
            "nsfw": bool(cmd.get("nsfw", False)),
        }
        if guild_id is not None:
            stored["guild_id"] = guild_id
        return stored

    async def _get_channel(self, request: web.Request) -> web.Response:
        cid = request.match_info["channel_id"]
        gate = self._channel_gate(cid)
        return gate or _json_response(200, self._channels[cid])

    async def _active_threads(self, request: web.Request) -> web.Response:
        """The guild's threads (forum posts included) that are not archived."""
        gid = request.match_info["guild_id"]
        guild = self._guilds.get(gid)
        if guild is None:
            return _error_response(404, 10004)
        if guild.removed:
            return _error_response(403, 50001)
        threads = [
            {k: v for k, v in c.items() if k != "member"}
            for c in self._channels.values()
            if c.get("guild_id") == gid
            and "thread_metadata" in c
            and not c["thread_metadata"]["archived"]
        ]
        members = [
            self._channels[t["id"]]["member"]
            for t in threads
            if "member" in self._channels[t["id"]]
        ]
        return _json_response(200, {"threads": threads, "members": members})

    def _archived_gate(self, channel_id: str) -> web.Response | None:
        """400/50083 for a message edited in an archived thread."""
        metadata = self._channels.get(channel_id, {}).get("thread_metadata")
        if metadata and metadata.get("archived"):
            return _error_response(400, 50083)
        return None

    async def _patch_channel(self, request: web.Request) -> web.Response:
        """Modify a thread: ``name``, ``archived``, ``locked``, ``applied_tags`` (others: 400)."""
        cid = request.match_info["channel_id"]
        gate = self._channel_gate(cid)
        if gate is not None:
            return gate
        channel = self._channels[cid]
        metadata = channel.get("thread_metadata")
        parsed = await self._read_body(request)
        if isinstance(parsed, web.Response):
            return parsed
        body, _ = parsed
        route = "PATCH /channels/{channel}"
        errors = FormErrors()
        if metadata is None or not isinstance(body, Mapping):
            errors.add([], "MODEL_TYPE_CONVERT", "the fake modifies threads only")
            return self._invalid_form(route, errors, body, channel_id=cid)
        if self._validator is not None:
            self._validator.validate(_THREAD_UPDATE_SCHEMA, body, errors)
        unknown = set(body) - {"name", "archived", "locked", "applied_tags"}
        for key in sorted(unknown):
            errors.add([key], "UNSUPPORTED", "the fake does not modify this field")
        if errors:
            return self._invalid_form(route, errors, body, channel_id=cid)
        # Unarchiving an unlocked thread needs only Send Messages; a locked one needs
        # Manage Threads, which the fake's bot lacks. An archived thread changes nothing
        # else unless the same request unarchives it.
        if metadata["locked"] and ("archived" in body or "locked" in body):
            return _error_response(403, 50013)
        if metadata["archived"] and body.get("archived") is not False:
            return _error_response(400, 50083)
        for key in ("archived", "locked"):
            if key in body:
                metadata[key] = bool(body[key])
        for key in ("name", "applied_tags"):
            if key in body:
                channel[key] = body[key]
        self.channel_edits.append({"channel_id": cid, "body": body})
        return _json_response(200, channel)

    async def _channel_messages(self, request: web.Request) -> web.Response:
        cid = request.match_info["channel_id"]
        if request.method == "GET":
            return await self._list_messages(request, cid)
        if request.method != "POST":
            return _error_response(405, 0, "405: Method Not Allowed")
        gate = self._channel_gate(cid)
        if gate is not None:
            return gate
        if self._channels[cid]["type"] not in MESSAGEABLE_CHANNEL_TYPES:
            self._violation(
                "POST /channels/{channel}/messages", 400, 50008, None, None, channel_id=cid
            )
            return _error_response(400, 50008)
        if self._message_failure is not None:
            after, failure = self._message_failure
            if after > 0:
                self._message_failure = (after - 1, failure)
            else:
                self._message_failure = None
                return _error_response(failure.status, failure.code, failure.message)
        limited = self._take_rate_limit(cid)
        if isinstance(limited, web.Response):
            return limited
        headers = limited
        parsed = await self._read_body(request)
        if isinstance(parsed, web.Response):
            return parsed
        body, files = parsed
        route = "POST /channels/{channel}/messages"
        errors, empty = self._validate_message(
            body,
            files,
            schema=_MESSAGE_CREATE_SCHEMA,
            create=True,
            allowed_flags=CHANNEL_CREATE_FLAGS,
        )
        if errors:
            self._violation(route, 400, 50035, errors, body, channel_id=cid)
            return _error_response(400, 50035, errors=errors.tree, headers=headers)
        if empty:
            self._violation(route, 400, 50006, None, body, channel_id=cid)
            return _error_response(400, 50006, headers=headers)
        nonce = body.get("nonce")
        key = (_sid(self.bot_user_id), cid, str(nonce))
        if nonce is not None and body.get("enforce_nonce") is True:
            previous = self._nonces.get(key)
            if previous is not None and time.monotonic() - previous[1] < self.nonce_window:
                original = self._messages_by_id.get(previous[0])
                if original is not None:
                    self.deduplicated_count += 1
                    return _json_response(200, self._message_object(original), headers)
        record = self._new_message(cid, body, files, source="channel")
        if nonce is not None:
            self._nonces[key] = (record["id"], time.monotonic())
        self.messages.append(record)
        self._messages_by_id[record["id"]] = record
        self._channels[cid]["last_message_id"] = record["id"]
        return _json_response(200, self._message_object(record), headers)

    def _take_rate_limit(self, channel_id: str) -> dict[str, str] | web.Response:
        bucket = self._buckets.get(channel_id)
        if bucket is None:
            bucket = self._buckets[channel_id] = _Bucket(
                self.per_channel_limit, self.per_channel_window
            )
        bucket.roll()
        forced = self._forced_429[channel_id].pop(0) if self._forced_429.get(channel_id) else None
        if forced is not None:
            return self._too_many(channel_id, bucket, forced[0], is_global=forced[1], forced=True)
        if bucket.count >= bucket.limit:
            return self._too_many(
                channel_id, bucket, bucket.reset_after(), is_global=False, forced=False
            )
        bucket.count += 1
        return bucket.headers(self._bucket_hash)

    def _too_many(
        self, channel_id: str, bucket: _Bucket, retry_after: float, *, is_global: bool, forced: bool
    ) -> web.Response:
        self.rate_limited_count += 1
        self.rate_limit_events.append(
            {
                "channel_id": channel_id,
                "retry_after": retry_after,
                "global": is_global,
                "forced": forced,
            }
        )
        headers = bucket.headers(self._bucket_hash)
        headers["X-RateLimit-Remaining"] = "0"
        headers.update(
            {
                "Via": "1.1 google",
                "Retry-After": str(max(1, math.ceil(retry_after))),
                "X-RateLimit-Scope": "global" if is_global else "user",
            }
        )
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        body = {
            "message": "You are being rate limited.",
            "retry_after": round(retry_after, 3),
            "global": is_global,
        }
        return _json_response(429, body, headers)

    async def _list_messages(self, request: web.Request, cid: str) -> web.Response:
        gate = self._channel_gate(cid)
        if gate is not None:
            return gate
        try:
            limit = int(request.query.get("limit", "50"))
        except ValueError:
            limit = -1
        if not 1 <= limit <= 100:
            errors = FormErrors()
            errors.add(["limit"], "NUMBER_TYPE_MAX", "int value should be between 1 and 100.")
            return _error_response(400, 50035, errors=errors.tree)
        found = sorted(self.messages_in(cid), key=lambda m: int(m["id"]), reverse=True)
        if "before" in request.query:
            found = [m for m in found if int(m["id"]) < int(request.query["before"])]
        if "after" in request.query:
            found = [m for m in found if int(m["id"]) > int(request.query["after"])]
        return _json_response(200, [self._message_object(m) for m in found[:limit]])

    async def _channel_message(self, request: web.Request) -> web.Response:
        cid = request.match_info["channel_id"]
        mid = request.match_info["message_id"]
        gate = self._channel_gate(cid)
        if gate is not None:
            return gate
        record = self._messages_by_id.get(mid)
        if record is None or record["channel_id"] != cid:
            return _error_response(404, 10008)
        if request.method == "GET":
            return _json_response(200, self._message_object(record))
        if request.method == "DELETE":
            self.messages.remove(record)
            self._messages_by_id.pop(mid, None)
            return web.Response(status=204)
        if request.method != "PATCH":
            return _error_response(405, 0, "405: Method Not Allowed")
        archived = self._archived_gate(cid)
        if archived is not None:
            return archived
        parsed = await self._read_body(request)
        if isinstance(parsed, web.Response):
            return parsed
        body, files = parsed
        errors, _ = self._validate_message(
            body, files, schema=_MESSAGE_EDIT_SCHEMA, create=False, allowed_flags=None
        )
        if errors:
            return self._invalid_form(
                "PATCH /channels/{channel}/messages/{message}", errors, body, channel_id=cid
            )
        self._apply_edit(record, body)
        self.edits.append({"channel_id": cid, "message_id": mid, "body": body, "source": "channel"})
        return _json_response(200, self._message_object(record))

    def _apply_edit(self, record: JSON, body: Mapping[str, Any]) -> None:
        for key in ("content", "embeds", "components", "flags", "allowed_mentions", "attachments"):
            if key in body:
                value = body[key]
                if key == "embeds":
                    value = [
                        {"type": "rich", **e} if isinstance(e, Mapping) else e for e in value or []
                    ]
                if value is None:
                    value = {"content": "", "flags": 0, "allowed_mentions": None}.get(key, [])
                record[key] = value
        record["edited_timestamp"] = _now_iso()
        self._apply_mentions(record)

    async def _create_thread(self, request: web.Request) -> web.Response:
        cid = request.match_info["channel_id"]
        gate = self._channel_gate(cid)
        if gate is not None:
            return gate
        parent = self._channels[cid]
        parsed = await self._read_body(request)
        if isinstance(parsed, web.Response):
            return parsed
        body, files = parsed
        route = "POST /channels/{channel}/threads"
        errors = FormErrors()
        if not isinstance(body, Mapping):
            errors.add([], "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
            return self._invalid_form(route, errors, body, channel_id=cid)
        is_forum = parent["type"] in (GUILD_FORUM, GUILD_MEDIA)
        if self._validator is not None:
            self._validator.validate(
                _FORUM_THREAD_SCHEMA if is_forum else _TEXT_THREAD_SCHEMA, body, errors
            )
        name = body.get("name")
        if not isinstance(name, str) or not 1 <= len(name.strip()) <= 100:
            errors.add(["name"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        message_body = body.get("message")
        tags = [str(t) for t in body.get("applied_tags") or []]
        if is_forum:
            if not isinstance(message_body, Mapping):
                errors.add(["message"], "BASE_TYPE_REQUIRED", "This field is required")
            else:
                # The schema check of CreateForumThreadRequest already covers "message".
                _, empty = self._validate_message(
                    message_body,
                    files,
                    schema=None,
                    create=True,
                    allowed_flags=CHANNEL_CREATE_FLAGS,
                    prefix=["message"],
                    errors=errors,
                )
                if empty and not errors:
                    self._violation(route, 400, 50006, None, body, channel_id=cid)
                    return _error_response(400, 50006)
            available = {t["id"] for t in parent.get("available_tags") or []}
            if len(tags) > 5:
                errors.add(
                    ["applied_tags"], "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length."
                )
            for i, tag in enumerate(tags):
                if tag not in available:
                    errors.add(["applied_tags", i], "FORUM_TAG_UNKNOWN", f"Unknown tag {tag}")
        if errors:
            return self._invalid_form(route, errors, body, channel_id=cid)
        if is_forum and parent.get("flags", 0) & FORUM_REQUIRE_TAG and not tags:
            self._violation(route, 400, 40067, None, body, channel_id=cid)
            return _error_response(400, 40067)
        tid = self._snowflakes.next()
        now = _now_iso()
        thread: JSON = {
            "id": tid,
            "type": PUBLIC_THREAD if is_forum else int(body.get("type") or PRIVATE_THREAD),
            "guild_id": parent["guild_id"],
            "parent_id": cid,
            "owner_id": _sid(self.bot_user_id),
            "name": name,
            "last_message_id": tid if is_forum else None,
            "rate_limit_per_user": body.get("rate_limit_per_user") or 0,
            "message_count": 1 if is_forum else 0,
            "member_count": 1,
            "total_message_sent": 1 if is_forum else 0,
            "flags": 0,
            "applied_tags": tags,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": body.get("auto_archive_duration") or 1440,
                "archive_timestamp": now,
                "locked": False,
                "create_timestamp": now,
            },
            "member": {
                "id": tid,
                "user_id": _sid(self.bot_user_id),
                "join_timestamp": now,
                "flags": 0,
            },
        }
        self._channels[tid] = thread
        record_view = dict(thread)
        response = dict(thread)
        if is_forum:
            assert isinstance(message_body, Mapping)
            message = self._new_message(tid, message_body, files, source="channel", message_id=tid)
            message["position"] = 0
            self.messages.append(message)
            self._messages_by_id[tid] = message
            record_view["message"] = message
            response["message"] = self._message_object(message)
            parent["last_message_id"] = tid
        self.threads.append(record_view)
        return _json_response(201, response)

    # ---------------------------------------------------------------- interactions

    async def _interaction_callback(self, request: web.Request) -> web.Response:
        iid = request.match_info["interaction_id"]
        token = request.match_info["token"]
        route = "POST /interactions/{id}/{token}/callback"
        state = self._interactions.get(iid)
        if state is None or state.token != token:
            return _error_response(404, 10062)
        if state.responded:
            self._violation(route, 400, 40060, None, None, interaction_id=iid)
            return _error_response(400, 40060)
        if (
            self.interaction_response_timeout is not None
            and time.monotonic() - state.created > self.interaction_response_timeout
        ):
            self._violation(
                route,
                404,
                10062,
                None,
                None,
                interaction_id=iid,
                reason="initial response too late",
            )
            return _error_response(404, 10062)
        parsed = await self._read_body(request)
        if isinstance(parsed, web.Response):
            return parsed
        body, files = parsed
        errors = FormErrors()
        if not isinstance(body, Mapping) or not isinstance(body.get("type"), int):
            errors.add(["type"], "BASE_TYPE_REQUIRED", "This field is required")
            return self._invalid_form(route, errors, body, interaction_id=iid)
        cb_type = int(body["type"])
        data = body.get("data")
        if cb_type not in _ALLOWED_CALLBACKS.get(state.type, set()):
            errors.add(
                ["type"],
                "INTERACTION_RESPONSE_TYPE_INVALID",
                "Interaction response type is not valid here.",
            )
            return self._invalid_form(route, errors, body, interaction_id=iid)
        if self._validator is not None and cb_type in _CALLBACK_SCHEMAS:
            self._validator.validate(_CALLBACK_SCHEMAS[cb_type], body, errors)
        empty = False
        if cb_type in (4, 7) and isinstance(data, Mapping):
            check_message_limits(
                data, errors, prefix=["data"], allowed_flags=INTERACTION_CREATE_FLAGS
            )
            empty = cb_type == 4 and _is_empty_message(data, files)
        elif cb_type == 4:
            empty = True
        elif cb_type == 8:
            choices = data.get("choices") if isinstance(data, Mapping) else None
            if not isinstance(choices, list):
                errors.add(["data", "choices"], "BASE_TYPE_REQUIRED", "This field is required")
            else:
                _max_items(errors, ["data", "choices"], choices, MAX_AUTOCOMPLETE_CHOICES)
                for i, choice in enumerate(choices):
                    if not isinstance(choice, Mapping):
                        continue
                    cname = choice.get("name")
                    if not isinstance(cname, str) or not 1 <= len(cname) <= MAX_CHOICE_NAME:
                        errors.add(
                            ["data", "choices", i, "name"],
                            "BASE_TYPE_BAD_LENGTH",
                            "Must be between 1 and 100 in length.",
                        )
                    value = choice.get("value")
                    if isinstance(value, str) and len(value) > MAX_CHOICE_STRING_VALUE:
                        errors.add(
                            ["data", "choices", i, "value"],
                            "BASE_TYPE_MAX_LENGTH",
                            "Must be 100 or fewer in length.",
                        )
        if errors:
            return self._invalid_form(route, errors, body, interaction_id=iid)
        if empty:
            self._violation(route, 400, 50006, None, body, interaction_id=iid)
            return _error_response(400, 50006)

        state.responded = True
        state.response_type = cb_type
        flags = int(data.get("flags") or 0) if isinstance(data, Mapping) else 0
        record: JSON = {
            "interaction_id": iid,
            "token": token,
            "interaction_type": state.type,
            "type": cb_type,
            "data": data,
            "flags": flags,
            "ephemeral": bool(flags & FLAG_EPHEMERAL),
            "channel_id": state.channel_id,
            "guild_id": state.guild_id,
            "source": "interaction",
        }
        message: JSON | None = None
        if cb_type in (4, 5) and state.channel_id is not None:
            payload = data if isinstance(data, Mapping) else {}
            loading = FLAG_LOADING if cb_type == 5 else 0
            message = self._new_message(
                str(state.channel_id), payload, files, source="interaction", flags=flags | loading
            )
            message["interaction_metadata"] = {
                "id": iid,
                "type": state.type,
                "user": state.payload.get("member", {}).get("user") or state.payload.get("user"),
                "authorizing_integration_owners": state.payload.get(
                    "authorizing_integration_owners", {}
                ),
                "name": (state.payload.get("data") or {}).get("name"),
            }
            state.original = message
            self._webhook_messages[message["id"]] = message
            record["message_id"] = message["id"]
        self.callbacks.append(record)
        if request.query.get("with_response", "").lower() not in ("1", "true"):
            return web.Response(status=204)
        response: JSON = {
            "interaction": {
                "id": iid,
                "type": state.type,
                "activity_instance_id": None,
                "response_message_id": message["id"] if message else None,
                "response_message_loading": cb_type == 5,
                "response_message_ephemeral": bool(flags & FLAG_EPHEMERAL),
            }
        }
        if message is not None:
            response["resource"] = {"type": cb_type, "message": self._message_object(message)}
        elif cb_type in (6, 7, 8, 9):
            response["resource"] = {"type": cb_type}
        return _json_response(200, response)

    def _webhook_state(self, request: web.Request) -> _Interaction | web.Response:
        app_id = request.match_info["app_id"]
        token = request.match_info["token"]
        state = next((s for s in self._interactions.values() if s.token == token), None)
        if state is None or app_id != state.application_id or not state.responded:
            return _error_response(404, 10015)
        if time.monotonic() - state.created > self.followup_token_ttl:
            return _error_response(401, 50027, "Invalid Webhook Token")
        return state

    async def _webhook_execute(self, request: web.Request) -> web.Response:
        state = self._webhook_state(request)
        if isinstance(state, web.Response):
            return state
        parsed = await self._read_body(request)
        if isinstance(parsed, web.Response):
            return parsed
        body, files = parsed
        route = "POST /webhooks/{app}/{token}"
        errors, empty = self._validate_message(
            body,
            files,
            schema=_WEBHOOK_EXECUTE_SCHEMA,
            create=True,
            allowed_flags=INTERACTION_CREATE_FLAGS,
        )
        if errors:
            return self._invalid_form(route, errors, body, interaction_id=state.id)
        if empty:
            self._violation(route, 400, 50006, None, body, interaction_id=state.id)
            return _error_response(400, 50006)
        original = state.original
        replaced = original is not None and bool(int(original.get("flags") or 0) & FLAG_LOADING)
        if replaced:
            assert original is not None
            # The first followup after a "thinking" defer completes the loading message and
            # inherits the defer's ephemeral flag.
            flags = int(body.get("flags") or 0) | (int(original["flags"]) & FLAG_EPHEMERAL)
            self._apply_edit(original, {**body, "flags": flags})
            original["edited_timestamp"] = None
            message = original
        else:
            message = self._new_message(str(state.channel_id), body, files, source="webhook")
            message["token"] = state.token
            self._webhook_messages[message["id"]] = message
        self.followups.append(
            {
                **message,
                "kind": "create",
                "interaction_id": state.id,
                "message_id": message["id"],
                "replaced_original": replaced,
                "body": body,
            }
        )
        if request.query.get("wait", "").lower() in ("1", "true"):
            return _json_response(200, self._message_object(message))
        return web.Response(status=204)

    async def _webhook_message(self, request: web.Request) -> web.Response:
        state = self._webhook_state(request)
        if isinstance(state, web.Response):
            return state
        mid = request.match_info["message_id"]
        message = state.original if mid == "@original" else self._webhook_messages.get(mid)
        if message is None or (mid != "@original" and message.get("token") != state.token):
            return _error_response(404, 10008)
        if request.method == "GET":
            return _json_response(200, self._message_object(message))
        if request.method == "DELETE":
            self._webhook_messages.pop(message["id"], None)
            if mid == "@original":
                state.original = None
            return web.Response(status=204)
        if request.method != "PATCH":
            return _error_response(405, 0, "405: Method Not Allowed")
        parsed = await self._read_body(request)
        if isinstance(parsed, web.Response):
            return parsed
        body, files = parsed
        route = "PATCH /webhooks/{app}/{token}/messages/" + (
            "@original" if mid == "@original" else "{message}"
        )
        errors, _ = self._validate_message(
            body, files, schema=_WEBHOOK_EDIT_SCHEMA, create=False, allowed_flags=None
        )
        if errors:
            return self._invalid_form(route, errors, body, interaction_id=state.id)
        message["flags"] = int(message.get("flags") or 0) & ~FLAG_LOADING
        self._apply_edit(message, body)
        self.followups.append(
            {
                **message,
                "kind": "edit_original" if mid == "@original" else "edit",
                "interaction_id": state.id,
                "message_id": message["id"],
                "body": body,
            }
        )
        return _json_response(200, self._message_object(message))

    # ---------------------------------------------------------------- gateway

    async def _send(self, conn: _Connection, payload: JSON) -> bool:
        async with conn.lock:
            return await self._send_locked(conn, payload)

    @staticmethod
    async def _send_locked(conn: _Connection, payload: JSON) -> bool:
        if conn.ws.closed:
            return False
        try:
            await conn.ws.send_str(json.dumps(payload))
        except (ConnectionError, RuntimeError):
            return False
        return True

    async def _dispatch_to(self, conn: _Connection, event: str, data: Any) -> bool:
        async with conn.lock:
            session = conn.session
            if session is None:
                return False
            session.seq += 1
            return await self._send_locked(conn, {"op": 0, "t": event, "s": session.seq, "d": data})

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(compress=False, max_msg_size=0, autoping=True)
        if not ws.can_prepare(request).ok:
            return _error_response(404, 0, "404: Not Found")
        await ws.prepare(request)
        conn = _Connection(ws)
        if request.query.get("encoding", "json") != "json":
            await ws.close(code=4002, message=b"Error while decoding payload.")
            return ws
        if request.query.get("v", "10") not in API_VERSIONS:
            await ws.close(code=4012, message=b"Invalid API version.")
            return ws
        self._connections.add(conn)
        try:
            await self._send(
                conn,
                {
                    "op": 10,
                    "d": {"heartbeat_interval": self.heartbeat_interval},
                    "s": None,
                    "t": None,
                },
            )
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    await ws.close(code=4002, message=b"Error while decoding payload.")
                    break
                try:
                    payload = json.loads(msg.data)
                except ValueError:
                    await ws.close(code=4002, message=b"Error while decoding payload.")
                    break
                await self._on_gateway_payload(conn, payload)
        finally:
            self._connections.discard(conn)
            self._notify()
        return ws

    async def _on_gateway_payload(self, conn: _Connection, payload: Mapping[str, Any]) -> None:
        op = payload.get("op")
        data = payload.get("d")
        if op == 1:
            await self._send(conn, {"op": 11, "d": None, "s": None, "t": None})
        elif op == 2:
            await self._on_identify(conn, data if isinstance(data, Mapping) else {})
        elif op == 6:
            await self._on_resume(conn, data if isinstance(data, Mapping) else {})
        elif conn.session is None:
            await conn.ws.close(code=4003, message=b"Not authenticated.")
        elif op == 8:
            gid = _sid((data or {}).get("guild_id", self.guild_id))
            guild = self._guilds.get(gid)
            members = [] if guild is None else [dict(m) for m in guild.members]
            await self._dispatch_to(
                conn,
                "GUILD_MEMBERS_CHUNK",
                {
                    "guild_id": gid,
                    "members": members,
                    "chunk_index": 0,
                    "chunk_count": 1,
                    "nonce": (data or {}).get("nonce"),
                },
            )
        elif op in (3, 4):
            pass  # presence / voice state updates: accepted and ignored
        else:
            await conn.ws.close(code=4001, message=b"Unknown opcode.")

    def _token_ok(self, token: Any) -> bool:
        return token in (self.token, f"Bot {self.token}")

    async def _on_identify(self, conn: _Connection, data: Mapping[str, Any]) -> None:
        if conn.session is not None:
            await conn.ws.close(code=4005, message=b"Already authenticated.")
            return
        if not self._token_ok(data.get("token")):
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        intents = data.get("intents")
        if not isinstance(intents, int):
            await conn.ws.close(code=4013, message=b"Invalid intent(s).")
            return
        if intents & PRIVILEGED_INTENTS and not self.allow_privileged_intents:
            await conn.ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        self.identifies.append({k: v for k, v in data.items() if k != "token"})
        shard = data.get("shard")
        session = _Session(
            session_id=secrets.token_hex(16), shard=list(shard) if isinstance(shard, list) else None
        )
        self._sessions[session.session_id] = session
        conn.session = session
        self.peak_sessions = max(self.peak_sessions, self.live_sessions)
        ready: JSON = {
            "v": 10,
            "user": self._bot_user,
            "user_settings": {},
            "relationships": [],
            "private_channels": [],
            "presences": [],
            "guilds": [
                {"id": g.id, "unavailable": True} for g in self._guilds.values() if not g.removed
            ],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["local"],
            "session_type": "normal",
            "session_id": session.session_id,
            "resume_gateway_url": self.gateway_url,
            "application": {"id": _sid(self.application_id), "flags": 0},
            "_trace": ['["fake-gateway",{"micros":0}]'],
        }
        if session.shard is not None:
            ready["shard"] = session.shard
        await self._dispatch_to(conn, "READY", ready)
        for guild in list(self._guilds.values()):
            if not guild.removed:
                await self._dispatch_to(conn, "GUILD_CREATE", self.guild_payload(guild.id))
        self._notify()

    async def _on_resume(self, conn: _Connection, data: Mapping[str, Any]) -> None:
        session = self._sessions.get(str(data.get("session_id")))
        if session is None or not self._token_ok(data.get("token")):
            await self._send(conn, {"op": 9, "d": False, "s": None, "t": None})
            return
        for other in list(self._connections):
            if other is not conn and other.session is session:
                other.session = None
        conn.session = session
        self.resumes += 1
        await self._dispatch_to(conn, "RESUMED", {"_trace": ['["fake-gateway",{"micros":0}]']})
        self._notify()
