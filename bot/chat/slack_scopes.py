"""The Slack bot scopes jobbot asks for, and what each one is for.

The OAuth install asks for these, the app manifest declares them, and `jobbot doctor`
names what stops working when one is missing. Kept apart from the bolt app so that the
doctor can read it without loading Slack's SDK.
"""

from __future__ import annotations

__all__ = ["BOT_SCOPES", "REQUIRED_SCOPES", "SCOPE_PURPOSES"]

SCOPE_PURPOSES = {
    "commands": "the /jobs command",
    "chat:write": "posting alerts",
    "chat:write.public": "posting in public channels jobbot was not invited to",
    "channels:history": "finding, after a crash, an alert already posted in a public channel",
    "groups:history": "finding, after a crash, an alert already posted in a private channel",
    "channels:read": "checking at subscribe time that jobbot can post in a public channel",
    "groups:read": "checking at subscribe time that jobbot can post in a private channel",
    "im:write": "personal alerts: opening a user's direct messages with the app",
    "im:history": "finding, after a crash, a personal alert already sent",
}
BOT_SCOPES = tuple(SCOPE_PURPOSES)
# Without these jobbot does nothing useful; the others cost one feature each.
REQUIRED_SCOPES = ("chat:write", "commands")
