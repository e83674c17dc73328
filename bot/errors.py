"""The exceptions jobbot raises, all under one root.

::

    JobbotError
    ├── ConfigError          a setting is missing or has a bad value (stops start-up)
    ├── SourceError          a source could not be polled this time (retry later)
    │   ├── FetchError       the network request failed or the answer was refused
    │   └── ParseError       the body was not the format the source speaks
    ├── ChatError            a chat platform refused or failed a delivery
    │   ├── TransientChatError   try again later (rate limits, 5xx, timeouts)
    │   │   └── TokenChatError   the token or workspace was refused: hold everything
    │   └── PermanentChatError   the target is gone or the bot lost access
    │       └── RejectedMessageError   this one message was refused (payload, AutoMod)
    ├── CommandError         a user typed something wrong; the message goes to the user
    └── StoreError           the database cannot be used as it is
        └── SchemaTooNewError    written by a newer jobbot: refused, never downgraded
"""

from __future__ import annotations

__all__ = [
    "ChatError",
    "CommandError",
    "ConfigError",
    "FetchError",
    "JobbotError",
    "ParseError",
    "PermanentChatError",
    "RejectedMessageError",
    "SchemaTooNewError",
    "SourceError",
    "StoreError",
    "TokenChatError",
    "TransientChatError",
]


class JobbotError(Exception):
    """Root of every error jobbot raises on purpose."""


class ConfigError(JobbotError):
    """A setting has a bad value; the message names the key."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"setting {key!r}: {problem}")


class SourceError(JobbotError):
    """A source failed this poll; it is retried later with backoff."""

    def __init__(self, source: str, problem: str, *, retry_after: float | None = None) -> None:
        self.source = source
        self.problem = problem
        self.retry_after = retry_after
        super().__init__(f"source {source!r}: {problem}")


class FetchError(SourceError):
    """The request for a source failed, or its answer was refused (status, size, address)."""


class ParseError(SourceError):
    """A source's body could not be read as the format it should be in."""


class ChatError(JobbotError):
    """A chat platform refused or failed a delivery."""

    def __init__(self, platform: str, code: str, detail: str = "") -> None:
        self.platform = platform
        self.code = code
        self.detail = detail
        super().__init__(f"{platform}: {code}" + (f" ({detail})" if detail else ""))


class TransientChatError(ChatError):
    """Worth retrying later; ``retry_after`` is the platform's hint in seconds, if any.

    ``maybe_sent``: the request may have been carried out though no answer said so (a
    timeout or a connection dropped mid-request), so the message may already be in the
    channel. A platform's own refusal (429, 5xx, an error code) is definite: nothing went.
    """

    def __init__(
        self,
        platform: str,
        code: str,
        detail: str = "",
        *,
        retry_after: float | None = None,
        maybe_sent: bool = False,
    ) -> None:
        super().__init__(platform, code, detail)
        self.retry_after = retry_after
        self.maybe_sent = maybe_sent


class TokenChatError(TransientChatError):
    """The platform refused the bot's token or workspace (Slack ``invalid_auth``, Discord 401).

    No channel is at fault: every row of that platform is held, none is failed or paused,
    and the token is checked again with backoff until it works.
    """


class PermanentChatError(ChatError):
    """The channel is gone or the bot lost access: pause the subscriptions, do not retry."""


class RejectedMessageError(PermanentChatError):
    """The platform refused this one message (a bad payload, an AutoMod block).

    That message fails, saying why; the channel and its other messages are not touched.
    """


class CommandError(JobbotError):
    """The user typed something wrong. The message is shown to them as it is."""

    def __init__(self, problem: str, usage: str | None = None) -> None:
        self.problem = problem
        self.usage = usage
        text = problem if usage is None else f"{problem}\nUsage: {usage}"
        super().__init__(text)


class StoreError(JobbotError):
    """The database cannot be opened or used; the message says which one and why."""

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"database {where}: {problem}")


class SchemaTooNewError(StoreError):
    """The database has migrations this code does not know: a newer release wrote it."""

    def __init__(self, where: str, found: int, supported: int, unknown: list[str]) -> None:
        self.found = found
        self.supported = supported
        self.unknown = unknown
        super().__init__(
            where,
            f"schema version {found} is newer than this jobbot supports ({supported});"
            f" unknown migrations: {', '.join(unknown)}. Upgrade jobbot to open it.",
        )
