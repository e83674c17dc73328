"""Run in its own process by the memory benchmark: prints the probe's figures as JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from benchmarks.scale import memory_probe

if __name__ == "__main__":
    print(json.dumps(memory_probe(Path(sys.argv[1]))))
