"""How a benchmark hands over its figures: one JSON object on stdout, and in a file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["emit"]


def emit(result: Any, out: Path | None = None, **dumps: Any) -> None:
    """Print ``result`` as indented JSON and, when ``out`` is given, write it there too."""
    text = json.dumps(result, indent=2, **dumps)
    print(text)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n", encoding="utf-8")
