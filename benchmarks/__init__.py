"""Reproducible measurements of jobbot (JSON output): ``python -m benchmarks``."""
