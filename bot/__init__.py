"""jobbot: research-internship alerts for Slack, Discord and the terminal."""

from __future__ import annotations

__version__ = "0.1.0"
