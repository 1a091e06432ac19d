"""Benchmarks, run from the repo root (`python3 -m benchmarks.<name>`); their results are in
docs/benchmarks.md."""

from pathlib import Path

# The checkout the benchmarks measure: they read its dist/ and data/ and write under its build/.
REPO = Path(__file__).resolve().parents[1]
