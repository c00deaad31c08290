"""Every config in examples/ (one per experiment kind) runs through the command line in seconds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kinds import every_kind
from spikealign import families
from spikealign.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

pytestmark = pytest.mark.end_to_end


def test_there_is_one_example_per_kind():
    assert sorted(p.stem for p in EXAMPLES.glob("*.yaml")) == sorted(families.EXPERIMENT_KINDS)


@pytest.mark.parametrize("kind", every_kind())
def test_example_runs(kind, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", str(EXAMPLES / f"{kind}.yaml"), "--out", str(out), "--quiet"]) == 0
    meta = json.loads((out / "meta.json").read_text())
    summary = json.loads((out / "metrics.json").read_text())["summary"]
    assert meta["status"] == "completed" and meta["experiment"] == kind
    assert summary and all(isinstance(v, (int, float, str, bool, type(None))) for v in summary.values())
    assert f"run {kind} completed" in capsys.readouterr().out
