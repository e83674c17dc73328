"""Imported once by the fork server that starts ingest worker processes (bot/pool.py).

Importing this module builds the taxonomy and the gazetteer, so every worker forked from
that server starts with them (about half a second of work each would otherwise repeat).
"""

from __future__ import annotations

from bot.pool import warm_up

warm_up()
