"""The ``spikealign`` command line with the test-only kind ``toy-faults`` registered (see toy_faults.py).

python tests/toy_faults_cli.py run c.yaml --out o     # as `spikealign run c.yaml --out o`
"""

import toy_faults  # noqa: F401  (registers the kind under its importable name; tests/ is sys.path[0] here)
from spikealign.cli import entry_point

if __name__ == "__main__":
    entry_point()
