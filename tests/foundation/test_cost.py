"""``reproduce --profile paper --dry-run``: projected CPU hours from the benchmark results."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from spikealign.cli import main
from spikealign.cost import project

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"


def _write(folder: Path, name: str, details: dict, value: float = 1.0) -> None:
    (folder / f"{name}.json").write_text(json.dumps({"value": value, "details": details}))


def test_projections_are_size_over_rate(tmp_path):
    _write(tmp_path, "sampling", {"fig4_full_sweep_network_steps": 7.2e9, "fig5_full_sweep_network_steps": 3.6e9,
                                  "train_batch120_steps_per_cpu_s": 1e6})  # fmt: skip
    _write(tmp_path, "microcircuit", {"fig6_paper_sweep_steps": 3.6e9, "us_per_step_cpu": 0.5})
    _write(tmp_path, "dale", {}, value=900.0)
    got = {p.figure: p.cpu_hours for p in project(["fig4", "fig5", "fig6", "dale", "fig2c", "fig8"], tmp_path)}
    assert got["fig4"] == pytest.approx(2.0) and got["fig5"] == pytest.approx(1.0)
    assert got["fig6"] == pytest.approx(0.5) and got["dale"] == pytest.approx(0.5)
    assert got["fig2c"] is None and got["fig8"] is None  # no rate for them here


@pytest.mark.skipif(not (RESULTS / "deep.json").is_file(), reason="no benchmark results in this checkout")
def test_fig8_is_training_plus_estimator_phases(tmp_path):
    pytest.importorskip("torch")
    for name in ("deep", "estimators"):
        shutil.copy(RESULTS / f"{name}.json", tmp_path)
    base = project(["fig8"], tmp_path)[0].cpu_hours
    d = json.loads((tmp_path / "deep.json").read_text())
    d["details"]["images_per_cpu_s_1_thread"] = {k: 2 * v for k, v in d["details"]["images_per_cpu_s_1_thread"].items()}
    (tmp_path / "deep.json").write_text(json.dumps(d))
    faster = project(["fig8"], tmp_path)[0].cpu_hours
    e = json.loads((tmp_path / "estimators.json").read_text())
    e["details"]["sal_cpu_ms_per_tick_32_replicas"] *= 2
    (tmp_path / "estimators.json").write_text(json.dumps(e))
    slower_sal = project(["fig8"], tmp_path)[0].cpu_hours
    # training halves; the SAL phases (5 x 2000 ticks per epoch, 100 epochs, 4 datasets) add up again
    sal_s = 4 * 100 * 10000 * e["details"]["sal_cpu_ms_per_tick_32_replicas"] / 2 / 1e3
    assert 0.3 * base < faster < 0.7 * base
    assert slower_sal - faster == pytest.approx(sal_s / 3600, rel=1e-9)
    _write(tmp_path, "estimators", {})
    assert "lacks" in project(["fig8"], tmp_path)[0].basis


def test_dry_run_prints_every_figure_and_runs_nothing(tmp_path, capsys):
    out = tmp_path / "results"
    assert main(["reproduce", "--profile", "paper", "--dry-run", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "projected CPU hours" in text and "fig8" in text and "total" in text
    assert not out.exists()
