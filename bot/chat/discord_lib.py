"""discord.py, imported in one place without the warning of its voice support.

discord.py imports the stdlib ``audioop`` for voice, deprecated since Python 3.11 (PEP
594); jobbot sends no voice. Python warns once, at the first import, so every jobbot
module takes discord.py from here, whichever of them is imported first.
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore", message="'audioop' is deprecated", category=DeprecationWarning
    )
    import discord
    from discord import app_commands
    from discord.app_commands import Choice

__all__ = ["Choice", "app_commands", "discord"]
