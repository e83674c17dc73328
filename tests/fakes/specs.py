"""Locate the shared platform specifications that sit beside the project checkout.

The project lives in ``<root>/main`` and the shared material in ``<root>/shared``; the
shared directory is not part of the repository, so every helper here returns ``None``
when it is absent and tests that need it skip with :data:`SKIP_REASON`.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

# tests/fakes/specs.py -> parents[0]=fakes, [1]=tests, [2]=repo root, [3]=the directory
# holding both the repo and ``shared``.
SHARED = Path(__file__).resolve().parents[3] / "shared"

SKIP_REASON = "../shared is absent: the Slack/Discord API specs are not available in this checkout"

_SLACK_WEB_SPEC = Path("specs", "slack", "slack_web_openapi_v2.json")
_DISCORD_SPEC = Path("specs", "discord", "openapi.json")


def shared_dir() -> Path | None:
    """Return the ``shared`` directory beside the repository root, or ``None`` if absent."""
    return SHARED if SHARED.is_dir() else None


@cache
def _load_json(relative: Path) -> dict[str, Any] | None:
    # Cached because the specs are large (1+ MB) and many tests load them; callers must
    # treat the returned dict as read-only.
    base = shared_dir()
    if base is None:
        return None
    path = base / relative
    if not path.is_file():
        return None
    with path.open(encoding="utf-8") as fh:
        data = json.load(fh)
    return data if isinstance(data, dict) else None


def load_slack_spec() -> dict[str, Any] | None:
    """Return the Slack Web API OpenAPI 2.0 document (read-only), or ``None`` if unavailable."""
    return _load_json(_SLACK_WEB_SPEC)


def load_discord_spec() -> dict[str, Any] | None:
    """Return the Discord HTTP API OpenAPI 3.1 document (read-only), or ``None`` if unavailable."""
    return _load_json(_DISCORD_SPEC)
