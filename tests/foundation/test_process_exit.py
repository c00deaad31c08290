"""The `spikealign` program's fast exit, and figures drawn without pyplot (both shorten a run's process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.end_to_end

SRC = Path(__file__).resolve().parents[2] / "src"


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def _program(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    code = f"import sys\nsys.argv = ['spikealign', *{args!r}]\nfrom spikealign.cli import entry_point\nentry_point()"
    return _python(code, cwd)


def test_entry_point_keeps_exit_code_output_and_exit_handlers(tmp_path):
    (tmp_path / "toy.yaml").write_text("kind: toy\nn_steps: 5\n")
    res = _program(["run", "toy.yaml", "--out", "r"], tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("run toy completed") and res.stdout.endswith("\n")  # flushed into the pipe
    assert json.loads((tmp_path / "r" / "meta.json").read_text())["status"] == "completed"

    res = _program(["run", "missing.yaml"], tmp_path)
    assert res.returncode == 2 and "missing.yaml" in res.stderr

    code = (
        "import atexit, sys\natexit.register(lambda: print('exit handler ran'))\n"
        "sys.argv = ['spikealign', 'info']\nfrom spikealign.cli import entry_point\nentry_point()"
    )
    res = _python(code, tmp_path)
    assert res.returncode == 0 and res.stdout.rstrip().endswith("exit handler ran")


def test_style_figure_draws_and_saves_without_pyplot(tmp_path):
    code = (
        "import sys\nfrom spikealign.figures.style import figure, log_axis, save_figure\n"
        "fig, axes = figure(2, 1, sharex=True, gridspec_kw={'hspace': 0.1})\n"
        "axes[0].plot([1, 2, 3], [0.01, 0.1, 2.0]); log_axis(axes[0])\n"
        "print(axes[0].get_shared_x_axes().joined(axes[0], axes[1]))\n"
        "print([p.name for p in save_figure(fig, 'figs', 'two', formats=('png', 'svg'))])\n"
        "print('matplotlib.pyplot' in sys.modules)"
    )
    res = _python(code, tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split("\n")[:3] == ["True", "['two.png', 'two.svg']", "False"]
    assert (tmp_path / "figs" / "two.png").read_bytes().startswith(b"\x89PNG")
