"""Where the tests find the project's shared data (the reference configs, kept outside the repo).

CI clones the repository with ``shared/`` beside it; ``SPIKEALIGN_SHARED`` overrides the location.
Tests that need these files are skipped where they are absent, except under CI, where they fail.
"""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SPIKEALIGN_SHARED") or ROOT.parent / "shared")
REFERENCE_CONFIGS = SHARED / "reference-configs"
AVAILABLE = REFERENCE_CONFIGS.is_dir()

needs_reference_configs = pytest.mark.skipif(
    not AVAILABLE and not os.environ.get("CI"), reason=f"reference configs not found at {REFERENCE_CONFIGS}"
)
