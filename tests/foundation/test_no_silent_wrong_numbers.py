"""No silent wrong numbers: the non-finite guard, metrics of NaN matrices, strict types, lower bounds.

Organised by category: the guard itself, runs that diverge (one line, status failed, exit 1),
metrics, strict config types, lower bounds of time constants, steps and intervals.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import yaml
from pydantic import Field

from spikealign.cli import main
from spikealign.config import StrictModel, parse_override, validate
from spikealign.errors import UserError
from spikealign.guards import NonFiniteError, check_finite, non_finite_kind


def _write(tmp_path, data: dict, name: str = "c.yaml"):
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data))
    return p


def _diverges(capsys, tmp_path, cfg: dict, overrides: list[str], expected: tuple[str, ...]):
    """The run stops with one line naming what diverged, status failed, exit 1, no traceback."""
    path = _write(tmp_path, cfg)
    out = tmp_path / "out"
    argv = ["run", str(path), "--out", str(out), "--quiet"]
    for item in overrides:
        argv += ["--set", item]
    code = main(argv)
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert code == 1, (code, captured.out, err)
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in captured.err + captured.out
    assert "diverged" in err
    for e in expected:
        assert e in err, err
    meta = json.loads((out / "meta.json").read_text())
    assert meta["status"] == "failed"
    assert "NonFiniteError" in meta["error"]
    summary = json.loads((out / "metrics.json").read_text()).get("summary") if (out / "metrics.json").exists() else None
    assert summary is None  # no results presented
    return err


# --------------------------------------------------------------------------- the guard
@pytest.mark.parametrize(
    "value, kind",
    [(1.0, None), (np.array([1.0, 2.0]), None), (np.array([1, 2]), None), (math.inf, "infinite"),
     (np.array([1.0, -np.inf]), "infinite"), (np.array([np.inf, np.nan]), "NaN"), (float("nan"), "NaN")],
)  # fmt: skip
def test_non_finite_kind(value, kind):
    assert non_finite_kind(value) == kind


def test_check_finite_names_what_where_and_keys():
    check_finite({"W": np.ones(3), "b": 0.5}, "cycle 3", ("lr.weight",))  # finite: nothing happens
    with pytest.raises(NonFiniteError) as info:
        check_finite({"W": np.ones(3), "b": np.array([0.0, np.nan])}, "cycle 7", ("lr.weight", "lr.bias"))
    msg = str(info.value)
    assert msg == "the run diverged: b became NaN at cycle 7 (driven by lr.weight, lr.bias; try smaller values)"
    assert info.value.exit_code == 1 and isinstance(info.value, UserError)
    assert (info.value.what, info.value.where, info.value.keys) == ("b", "cycle 7", ("lr.weight", "lr.bias"))


def test_check_finite_on_torch_tensors():
    torch = pytest.importorskip("torch")
    check_finite({"t": torch.ones(2, 2)}, "epoch 0")
    check_finite({"i": torch.arange(3)}, "epoch 0")  # integers are always finite
    with pytest.raises(NonFiniteError, match="t became infinite at epoch 2"):
        check_finite({"t": torch.tensor([1.0, float("inf")])}, "epoch 2")


# --------------------------------------------------------------------------- runs that diverge
SSN_SMALL = {"kind": "ssn", "schedule": {"num_epochs": 21, "val_step": 10, "val_factor": 10, "dur": 200},
             "diagnostic_figure": False}  # fmt: skip


def test_ssn_rates_beyond_the_clip_range_are_refused(tmp_path, capsys):
    # lr 1e10 used to saturate every weight at the clip bounds and report final_dkl = inf
    path = _write(tmp_path, SSN_SMALL)
    code = main(["run", str(path), "--out", str(tmp_path / "o"), "--set", "lr.weight=1e10", "--set", "lr.bias=1e10"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "lr.weight = 1e+10 exceeds max_w = 2" in err, err
    assert not (tmp_path / "o").exists()


def test_ssn_guard_stops_at_a_non_finite_weight():
    from spikealign.sampling.experiments import check_diverged
    from spikealign.sampling.trainer import TrainState

    state = TrainState(np.zeros((2, 3, 3)), np.zeros((2, 3)), np.zeros((2, 4), dtype=np.uint64), 41, {})
    check_diverged(state, 0)
    state.W[1, 0, 2] = np.inf
    check_diverged(state, 0)  # run 0 is fine
    with pytest.raises(NonFiniteError, match=r"W became infinite at cycle 40 \(driven by lr.weight"):
        check_diverged(state, 1)


def test_ssn_with_usual_rates_is_not_stopped(tmp_path, capsys):
    assert main(["run", str(_write(tmp_path, SSN_SMALL)), "--out", str(tmp_path / "o"), "--quiet"]) == 0
    summary = json.loads((tmp_path / "o" / "metrics.json").read_text())["summary"]
    assert math.isfinite(summary["final_dkl"])


def test_sal_evolution_divergence_stops_the_run(tmp_path, capsys):
    pytest.importorskip("torch")
    _diverges(capsys, tmp_path, {"kind": "sal-evolution", "n_epochs": 2}, ["sal_lr=1e300"], ("epoch 0", "sal_lr"))


def test_deep_sal_estimator_divergence_stops_the_run(tmp_path, capsys):
    pytest.importorskip("torch")
    cfg = {"kind": "deep", "method": "sal", "n_epochs": 1, "max_train": 64, "max_test": 64,
           "estimator": {"n_iterations": 1, "len_epoch": 5, "batch_size": 2}}  # fmt: skip
    _diverges(capsys, tmp_path, cfg, ["estimator.sal_lr=1e30"], ("epoch 0", "estimator.sal_lr"))


def test_nan_in_a_converted_models_weight_stops_the_sal_phase():
    torch = pytest.importorskip("torch")
    from spikealign.deep import convert, make_estimator

    model = convert(torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3)), "sal")
    est = make_estimator("sal", model, {"n_iterations": 1, "len_epoch": 5, "batch_size": 2}, seed=1)
    est.before_epoch(0)  # finite: fine
    with torch.no_grad():
        model[0].weight[0, 0] = float("nan")
    with pytest.raises(NonFiniteError, match="the forward weight of layer 0 became NaN at the sal estimation phase"):
        est.before_epoch(1)


# --------------------------------------------------------------------------- metrics
def test_alignment_of_a_nan_matrix_is_nan_not_90():
    pytest.importorskip("torch")
    from spikealign.deep import alignment_metrics

    w = np.ones((3, 4))
    b = w.copy()
    b[1, 2] = np.nan
    for m in (alignment_metrics(w, b), alignment_metrics(b, w), alignment_metrics(w * np.inf, w)):
        assert all(math.isnan(v) for v in m.values()), m
    assert alignment_metrics(w, w)["angle"] == pytest.approx(0.0, abs=1e-6)
    assert alignment_metrics(w, np.zeros_like(w))["angle"] == 90.0  # a zero matrix keeps its documented 90


# --------------------------------------------------------------------------- strict types
class _Model(StrictModel):
    n: int = 1
    x: float = 0.5
    flag: bool = True
    names: list[str] = Field(default_factory=list)


@pytest.mark.parametrize(
    "data, key",
    [({"n": True}, "n"), ({"n": "5"}, "n"), ({"n": 5.0}, "n"), ({"x": True}, "x"), ({"x": "0.5"}, "x"),
     ({"flag": "no"}, "flag"), ({"flag": 0}, "flag"), ({"names": "02"}, "names"), ({"names": [1]}, "names[0]")],
)  # fmt: skip
def test_strict_types(data, key):
    with pytest.raises(UserError, match=f"invalid value for '{key.split('[')[0]}"):
        validate(_Model, data)


def test_int_is_still_a_float_and_exponents_are_floats():
    assert validate(_Model, {"x": 2}).x == 2.0
    assert parse_override("lr=1e-3") == (["lr"], 0.001)
    assert parse_override("lr=-2E5") == (["lr"], -200000.0)
    assert parse_override("n=10") == (["n"], 10)
    assert parse_override("name=1e") == (["name"], "1e")


def test_boolean_for_an_integer_via_cli(tmp_path, capsys):
    path = _write(tmp_path, {"kind": "toy", "n_steps": 5})
    code = main(["run", str(path), "--out", str(tmp_path / "o"), "--set", "n_steps=true"])
    err = capsys.readouterr().err
    assert code == 2 and "'n_steps'" in err and "integer" in err and "True" in err
    assert not (tmp_path / "o").exists()


def test_yaml_exponent_notation_is_a_float(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text("kind: toy\nn_steps: 5\ndrift: 1e-3\n")
    assert main(["run", str(path), "--out", str(tmp_path / "o"), "--quiet"]) == 0
    assert yaml.safe_load((tmp_path / "o" / "config.yaml").read_text())["drift"] == 0.001


def test_convert_arguments_are_checked():
    torch = pytest.importorskip("torch")
    from spikealign.deep import convert

    model = torch.nn.Sequential(torch.nn.Linear(3, 2))
    with pytest.raises(UserError, match="copy_weights must be True or False"):
        convert(model, "fa", copy_weights="no")
    with pytest.raises(UserError, match="layers must be a list of layer names"):
        convert(model, "fa", layers="02")
    with pytest.raises(UserError, match=r"convert: model must be a torch nn\.Module"):
        convert("hello", "fa")


# --------------------------------------------------------------------------- lower bounds
@pytest.mark.parametrize(
    "kind, overrides, key",
    [
        ("theory-stdd", ["b_1=1e300", "b_2=-1e300"], "b_1"),
        ("theory-stdd", ["b_2=-31"], "b_2"),
        pytest.param(
            "estimator-connection",
            ["method=rdd", "rdd.update_interval_s=1e-300"],
            "rdd.update_interval_s",
            marks=pytest.mark.torch,
        ),
        pytest.param("estimator-connection", ["record_every_s=1e-300"], "record_every_s", marks=pytest.mark.torch),
    ],
)
def test_lower_bounds_name_the_key(tmp_path, capsys, kind, overrides, key):
    path = _write(tmp_path, {"kind": kind})
    argv = ["run", str(path), "--out", str(tmp_path / "o")]
    for item in overrides:
        argv += ["--set", item]
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and f"'{key}'" in err, err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "estimator, settings, key",
    [("stdwi", {"dt_ms": 1e-300}, "dt_ms"), ("rdd", {"update_interval_s": 1e-300}, "update_interval_s"),
     ("stdwi", {"tau_fast": 1e-300}, "tau_fast"), ("rdd", {"rdd_time": 1e-300}, "rdd_time")],
)  # fmt: skip
def test_estimator_settings_lower_bounds(estimator, settings, key):
    pytest.importorskip("torch")
    from spikealign.deep.estimators import validate_settings

    with pytest.raises((UserError, ValueError), match=key):
        validate_settings(estimator, settings)
