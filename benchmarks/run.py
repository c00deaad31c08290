"""Run benchmarks from the command line: ``python benchmarks/run.py [NAME ...] [--quick]``.

Same as ``spikealign bench``; results go to ``benchmarks/results/<name>.json``.
"""

import sys

from spikealign.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
