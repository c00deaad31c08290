"""Where the tests find the reference-format parameter sets (kept in the repo under ``tests/fixtures/reference``)."""

from pathlib import Path

REFERENCE_CONFIGS = Path(__file__).resolve().parent / "fixtures" / "reference"
