"""Registered theory experiments, their configs and the five figures (quick profile)."""

import json

import numpy as np
import pytest

from spikealign.config import validate
from spikealign.errors import UserError
from spikealign.registry import get_experiment, get_figure
from spikealign.reproduce import reproduce_figure
from spikealign.sweep import SerialExecutor, SweepSpec, run_sweep
from spikealign.theory import figures, sal_signal, stdd


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"kind": "theory-stdd", "t_ref": 30, "t_max": 30}, "t_max.: .*t_ref must be smaller than t_max"),
        ({"kind": "theory-stdd", "psp": "gauss"}, "invalid value for 'psp'"),
        ({"kind": "theory-stdd", "w_12": float("nan")}, "invalid value for 'w_12'"),
        ({"kind": "theory-stdd", "b_2": float("inf")}, "invalid value for 'b_2'"),
        ({"kind": "theory-stdd", "weight": 1.0}, "unknown key 'weight'"),
        ({"kind": "theory-stdd", "window": {"tau": -1}}, "invalid value for 'window.tau'"),
        ({"kind": "theory-phase-plane", "w_min": 1.0, "w_max": -1.0}, "w_max.: .*w_min must be smaller"),
        ({"kind": "theory-spiking-sal", "frozen": "both"}, "invalid value for 'frozen'"),
    ],
)
def test_config_validation_names_the_key(data, match):
    model = get_experiment(data["kind"]).config_model
    with pytest.raises(UserError, match=match):
        validate(model, data, source="cfg.yaml")


def test_stdd_and_phase_plane_runs_through_a_sweep(tmp_path):
    spec = SweepSpec(name="pp", experiment="theory-phase-plane",
                     base={"t_ref": 5, "t_max": 10, "n_w": 6, "w_min": -1.0, "w_max": 1.0, "upscale": 30},
                     grid={"b_1": [-0.5, 0.5], "b_2": [0.0, 0.5]})  # fmt: skip
    res = run_sweep(spec, tmp_path / "pp", executor=SerialExecutor(), show_progress=False)
    table = res.completed()
    assert len(table) == 4
    assert (table["sign_agreement"] == 1.0).all()
    assert (table["antisymmetry"] < 1e-15).all()
    row = table.iloc[0]
    arr = res.arrays(row["run_id"], "phase_plane")
    cfg = res.config(row["run_id"])
    # the batched run gives the same numbers as a direct call
    direct = sal_signal(stdd(arr["w"][1], arr["w"][4], cfg["b_1"], cfg["b_2"], t_ref=5, t_max=10))
    assert arr["sal"][1, 4, 0] == pytest.approx(direct[0], rel=1e-12)

    spec = SweepSpec(
        name="s", experiment="theory-stdd", base={"t_ref": 10, "t_max": 30}, zip={"w_12": [0.5], "w_21": [1.0]}
    )
    res = run_sweep(spec, tmp_path / "s", executor=SerialExecutor(), show_progress=False)
    assert res.completed()["dw_12"].iloc[0] == pytest.approx(0.0342446096, rel=1e-9)


def _reproduce(fid, tmp_path):
    rec = reproduce_figure(fid, "quick", tmp_path, SerialExecutor(), show_progress=False)
    assert rec.ok, rec.error + rec.notes
    for f in rec.files:
        assert (tmp_path / f).stat().st_size > 0
    assert {p.split(".")[-1] for p in rec.files} == {"png"}
    failed = [c for c in rec.checks if not c["met"]]
    assert not failed, failed
    return rec


@pytest.mark.parametrize("fid", ["fig2c", "fig2e", "proof"])
def test_analytic_figures_quick_profile_meet_their_checks(fid, tmp_path):
    rec = _reproduce(fid, tmp_path)
    saved = json.loads((tmp_path / fid / "figure.json").read_text())
    assert saved["checks"] and saved["numbers"]
    if fid == "fig2c":
        assert rec.numbers["exc_asym_dw_12"] < 0 < rec.numbers["inh_asym_dw_12"]


def test_fig2d_quick_profile(tmp_path):
    rec = _reproduce("fig2d", tmp_path)
    assert rec.numbers["sum_drift"] < 1e-9


def test_psp_shapes_on_a_reduced_bias_grid(tmp_path, monkeypatch):
    monkeypatch.setattr(figures.psp_shapes, "bias_range", lambda profile: [-1.0, 0.0, 1.0])
    rec = _reproduce("psp-shapes", tmp_path)
    assert rec.numbers["alpha_long_max_deviation"] > 3 * rec.numbers["alpha_short_max_deviation"] > 0


@pytest.mark.slow
def test_psp_shapes_quick_profile(tmp_path):
    _reproduce("psp-shapes", tmp_path)


def test_profiles_and_sweep_sizes():
    assert [s.name for s in get_figure("fig2e").sweeps("quick")] == ["phase_plane", "trajectories"]
    paper = get_figure("psp-shapes").sweeps("paper")
    planes = [s for s in paper if s.name.startswith("planes-")]
    n_stdds = sum(len(s.grid["b_1"]) * len(s.grid["b_2"]) * s.base["n_w"] ** 2 for s in planes)
    assert n_stdds == 24_300
    with pytest.raises(UserError, match="unknown profile"):
        get_figure("proof").sweeps("huge")
    assert np.isclose(paper[0].base["t_syn"], 30.0)
