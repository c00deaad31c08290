"""Test-only experiment kind ``toy-faults``: the ``toy`` random walk with faults injected on request.

It exists to test failure handling and is not part of the package.  Beyond ``toy``'s keys:

- ``fail: true`` raises an error inside the run (``RuntimeError: toy run asked to fail``);
- ``crash: true`` ends the process at once (exit 9), as an out-of-memory kill would;
- the environment variable ``TOY_FAULTS_CRASH_AFTER=N`` kills the process abruptly (exit 17, as a
  cluster pre-emption would) once N steps are done.  It is not part of the config, so the killed run
  can be resumed with the same config.

``tests/conftest.py`` imports this module, which registers the kind in the pytest process; sweep
workers import it by name (``tests/`` is on their ``sys.path``).  A fresh command-line process gets
it through ``tests/toy_faults_cli.py`` (the ``spikealign`` command with this kind registered).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from spikealign.experiments import toy
from spikealign.registry import Experiment, register_experiment
from spikealign.runs import RunContext

KIND = "toy-faults"
CRASH_AFTER_ENV = "TOY_FAULTS_CRASH_AFTER"
CLI = Path(__file__).with_name("toy_faults_cli.py")
"""The ``spikealign`` command line with this kind registered: ``[sys.executable, str(CLI), "run", ...]``."""


class ToyFaultsConfig(toy.ToyConfig):
    kind: Literal["toy-faults"] = "toy-faults"  # type: ignore[assignment]
    fail: bool = Field(False, description="raise an error inside the run")
    crash: bool = Field(False, description="kill the process at once, as an out-of-memory kill would")


class _CrashAfter:
    """``ctx`` whose progress loop ends the process once ``after`` steps are done (after that step's checkpoint)."""

    def __init__(self, ctx: RunContext, after: int):
        self._ctx, self._after = ctx, after

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx, name)

    def progress(self, iterable: Any = None, **kw: Any) -> Iterator[int]:
        for step in self._ctx.progress(iterable, **kw):
            yield step
            if step + 1 >= self._after:
                os._exit(17)


def run(config: ToyFaultsConfig, ctx: RunContext) -> dict[str, float]:
    if config.fail:
        raise RuntimeError("toy run asked to fail")
    if config.crash:
        os._exit(9)
    crash_after = int(os.environ.get(CRASH_AFTER_ENV, "0"))
    return toy.run(config, _CrashAfter(ctx, crash_after) if crash_after else ctx)  # type: ignore[arg-type]


EXPERIMENT = register_experiment(
    Experiment(
        kind=KIND,
        config_model=ToyFaultsConfig,
        run=run,
        summary="toy random walks with injected faults (tests only)",
        draw_run=toy.EXPERIMENT.draw_run,
    )
)
