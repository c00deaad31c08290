"""The sal-network experiment kind: runs, metrics and arrays, errors, and the sal-engines checks."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from spikealign._optional import MissingExtraError
from spikealign.config import validate
from spikealign.errors import UserError
from spikealign.registry import get_experiment
from spikealign.runs import execute_run
from spikealign.salnet.config import SALNetworkConfig
from spikealign.salnet.experiments import engine_function
from spikealign.salnet.figures import engine_checks

SHORT = {"kind": "sal-network", "n_neurons": 20, "p_connect": 0.3, "duration_ms": 2000.0, "record_interval_ms": 500.0}


def test_run_saves_asymmetry_and_angle_over_time_and_reduces_the_asymmetry(tmp_path):
    exp = get_experiment("sal-network")
    cfg = validate(exp.config_model, SHORT)
    summary = execute_run(exp, cfg, tmp_path / "run", show_progress=False)
    arrays = np.load(tmp_path / "run" / "asymmetry.npz")
    assert arrays["weights"].shape == (5, 20, 20)
    np.testing.assert_array_equal(arrays["times_ms"], [0, 500, 1000, 1500, 2000])
    assert summary["initial_asymmetry"] == pytest.approx(arrays["asymmetry"][0])
    assert summary["final_asymmetry"] < 0.8 * summary["initial_asymmetry"]
    assert summary["asymmetry_reduction"] == pytest.approx(summary["initial_asymmetry"] / summary["final_asymmetry"])
    assert summary["final_angle_deg"] < summary["initial_angle_deg"] - 5
    assert (tmp_path / "run" / "figures" / "asymmetry.png").is_file()


def test_config_seed_seeds_the_network():
    a = validate(SALNetworkConfig, {**SHORT, "seed": 1}).spec()
    assert a.seed == 1 and a.n_neurons == 20 and a.sal.eta == SALNetworkConfig().sal.eta


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"engine": "neuron"}, "'engine'.*'spikealign', 'nest', 'brian2' or 'torch'"),
        ({"lif": {"tau_m_ms": -1.0}}, r"'lif\.tau_m_ms'"),
        ({"sal": {"tau_minus": float("nan")}}, r"'sal\.tau_minus'"),
    ],
)
def test_bad_config_is_one_line_naming_the_key(change, message):
    with pytest.raises(UserError, match=message) as info:
        validate(SALNetworkConfig, {**SHORT, **change})
    assert "\n" not in str(info.value)


def test_engine_without_its_extra_names_the_extra(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "nest" else real(name, *a))
    with pytest.raises(MissingExtraError, match=r"\[nest\]"):
        engine_function("nest")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    with pytest.raises(MissingExtraError, match=r"\[deep\]"):
        engine_function("torch")
    with pytest.raises(UserError, match=r"unknown engine 'neuron' \(allowed: spikealign, nest, brian2, torch\)"):
        engine_function("neuron")


def test_cli_reports_a_missing_engine_extra_in_one_line(tmp_path):
    if engine_unavailable_reason("nest") is None:
        pytest.skip("the nest engine is installed here")
    example = str(Path(__file__).parents[2] / "examples" / "sal-network.yaml")
    cli = "from spikealign.cli import entry_point; entry_point()"
    command = [sys.executable, "-c", cli, "run", example, "--out", str(tmp_path / "r"), "--set", "engine=nest"]
    out = subprocess.run(command, capture_output=True, text=True)
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "[nest]" in lines[0] and "Traceback" not in out.stderr


def engine_unavailable_reason(engine: str) -> str | None:
    from spikealign.salnet.experiments import engine_unavailable

    return engine_unavailable(engine)


def _curve(start: float, end: float) -> tuple[np.ndarray, np.ndarray]:
    return np.arange(5.0), np.geomspace(start, end, 5)


def test_engine_checks_pass_for_agreeing_engines_and_fail_otherwise():
    agreeing = {
        "a": [_curve(2.0, 0.15), _curve(2.0, 0.18), _curve(2.0, 0.12)],
        "b": [_curve(2.0, 0.16), _curve(2.0, 0.14), _curve(2.0, 0.17)],
    }
    numbers, checks = engine_checks(agreeing)
    assert all(c.met for c in checks) and len(checks) == 3
    assert numbers["a_min_reduction"] == pytest.approx(2.0 / 0.18)
    slow = {**agreeing, "c": [_curve(2.0, 0.5), _curve(2.0, 0.6), _curve(2.0, 0.55)]}
    _, checks = engine_checks(slow)
    failed = [c.description for c in checks if not c.met]
    assert failed == [
        "c: asymmetry reduced at least 10x in every seed",
        "engines agree: final asymmetries within the seed-to-seed spread",
    ]
    assert math.isfinite(numbers["seed_to_seed_sd"])


def test_sal_engines_figure_draws_installed_engines_and_notes_the_missing(tmp_path):
    from spikealign.registry import get_figure
    from spikealign.salnet.config import ENGINES
    from spikealign.salnet.experiments import engine_unavailable
    from spikealign.sweep import SerialExecutor, run_sweep

    figure = get_figure("sal-engines")
    (spec,) = figure.sweeps("quick")
    installed = spec.grid["engine"]
    assert installed == [e for e in ENGINES if engine_unavailable(e) is None] and "spikealign" in installed
    tiny = spec.model_copy(update={"base": {**spec.base, **{k: v for k, v in SHORT.items() if k != "kind"}},
                                   "grid": {"engine": ["spikealign"]}, "seeds": [0, 1]})  # fmt: skip
    result = run_sweep(tiny, tmp_path / "engines", executor=SerialExecutor(), show_progress=False)
    out = figure.draw({"engines": result}, tmp_path / "figures")
    assert any(p.suffix == ".png" and p.is_file() for p in out.files)
    assert out.numbers["spikealign_min_reduction"] > 1.0
    assert [c.met for c in out.checks] == [False]  # 2 s are not enough for a 10x reduction
    for engine in set(ENGINES) - {"spikealign"}:
        assert f"engine {engine} skipped" in out.notes
