"""Whether a request that failed without an answer may still have been carried out."""

from __future__ import annotations

import aiohttp
import httpx

__all__ = ["may_have_gone"]

# Failures before a request left this machine: whatever it asked was not done.
_NEVER_SENT = (
    aiohttp.ClientConnectorError,
    httpx.ConnectError,
    httpx.ConnectTimeout,
    ConnectionRefusedError,
)


def may_have_gone(error: BaseException) -> bool:
    """Whether a request that ended in this network or library error may still have been
    carried out (a timeout, a connection dropped mid-request, a surprise), so that its
    message must be looked for before it is sent again."""
    return not isinstance(error, _NEVER_SENT)
