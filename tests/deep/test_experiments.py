"""Registration of ``kind: deep``, the reference-format converter, and Fig. 8 (sweeps + draw)."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from spikealign.config import validate
from spikealign.deep import experiments as dx
from spikealign.deep import figures as dfig
from spikealign.deep import methods
from spikealign.deep.config import DeepConfig
from spikealign.deep.methods import Method, register_method
from spikealign.errors import UserError
from spikealign.registry import get_experiment, get_figure
from spikealign.sweep import SerialExecutor, SweepSpec, run_sweep

REFERENCE_YAML = """
bp:
  params: {n_epochs: 100, batch_size: 128, lr: 0.01, momentum: 0.9, weight_decay: 0.0,
           use_backprop: True, use_kp: False, use_fa_conv_layers: False, use_scfa: False}
bp_w_fa:
  params: {n_epochs: 100, batch_size: 128, lr: 0.01, momentum: 0.9, weight_decay: 0.0,
           use_backprop: True, use_kp: False, use_fa_conv_layers: True, use_scfa: False}
akrout:
  params: {n_epochs: 100, batch_size: 128, lr: 0.01, momentum: 0.9, weight_decay: 0.001,
           use_backprop: False, use_kp: True, use_fa_conv_layers: False, use_scfa: False}
scfa:
  params: {n_epochs: 100, batch_size: 128, lr: 0.01, momentum: 0.9, weight_decay: 0.0,
           use_backprop: False, use_kp: False, use_fa_conv_layers: False, use_scfa: True}
fa:
  params: {n_epochs: 100, batch_size: 128, lr: 0.01, momentum: 0.9, weight_decay: 0.0,
           use_backprop: False, use_kp: False, use_fa_conv_layers: False, use_scfa: False}
sal:
  params: {n_epochs: 100, batch_size: 128, lr: 0.01, momentum: 0.9, weight_decay: 0.0,
           use_backprop: False, use_kp: False, use_fa_conv_layers: False, use_scfa: False}
  sal_params: {n_iterations: 5, use_sal: True, t_ref: 10, len_epoch: 200, sal_lr: 0.04, batch_size: 32}
"""


def test_registered():
    exp = get_experiment("deep")
    assert exp.config_model is DeepConfig
    assert get_figure("fig8").sweeps is dfig.fig8_sweeps


def test_reference_format_conversion(tmp_path):
    raw = yaml.safe_load(REFERENCE_YAML)
    assert dx.detect_reference(raw)
    assert not dx.detect_reference({"kind": "deep", "method": "fa"})
    assert not dx.detect_reference({"name": "x", "grid": {"a": [1]}})
    path = tmp_path / "exp_settings.yaml"
    # the reference's default dataset is MNIST: give it a tiny IDX set (configs check the files exist)
    from spikealign.deep import data as dm

    rng = np.random.default_rng(0)
    for split, n in (("train", 8), ("t10k", 4)):
        dm.write_idx(tmp_path / f"{split}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        dm.write_idx(tmp_path / f"{split}-labels-idx1-ubyte", rng.integers(0, 10, n, dtype=np.uint8))
    expected = {"bp": "bp", "bp_w_fa": "bp_w_fa", "akrout": "kp", "scfa": "scfa", "fa": "fa"}
    for section, method in expected.items():
        out = dx.from_reference(raw, path, {"section": section})
        cfg = validate(DeepConfig, {**out, "data_dir": str(tmp_path)})
        assert (cfg.method, cfg.dataset, cfg.n_epochs, cfg.mode) == (method, "mnist", 100, "faithful")
        assert (cfg.batch_size, cfg.lr, cfg.momentum) == (128, 0.01, 0.9)
    kp = dx.from_reference(raw, path, {"section": "akrout", "dataset": "mnist5k", "n_epochs": 3})
    assert (kp["kp_weight_decay"], kp["dataset"], kp["n_epochs"]) == (0.001, "mnist5k", 3)
    # the default section is the first mapping, as in the reference
    assert dx.from_reference(raw, path, {})["method"] == "bp"
    sal = dx.from_reference(raw, path, {"section": "sal"})
    assert sal["method"] == "sal" and sal["estimator"] == {
        "n_iterations": 5,
        "t_ref": 10,
        "len_epoch": 200,
        "sal_lr": 0.04,
        "batch_size": 32,
    }
    with pytest.raises(UserError, match="section 'nope' not found"):
        dx.from_reference(raw, path, {"section": "nope"})
    bad = {"x": {"params": {"use_kp": True, "use_scfa": True}}}
    with pytest.raises(UserError, match="use_kp and use_scfa"):
        dx.from_reference(bad, path, {})


def test_fig8_sweeps_take_methods_from_the_table_at_call_time():
    register_method(Method("late_method", "fa", "fa"))
    try:
        (spec,) = dfig.fig8_sweeps("quick")
        assert "late_method" in spec.zip["method"]
        assert set(methods.method_names()) - {"brsf"} == set(spec.zip["method"])  # brsf: in_fig8=False
        sal = spec.zip["estimator"][spec.zip["method"].index("sal")]
        assert (sal["n_iterations"], sal["batch_size"]) == (2, 8)  # SALEstimator.quick_settings
        assert spec.base["dataset"] == "mnist5k"
    finally:
        methods._METHODS.pop("late_method")
    paper = dfig.fig8_sweeps("paper")
    assert [s.base["dataset"] for s in paper] == ["mnist", "fmnist", "cifar10", "svhn"]
    assert all(s.base["n_epochs"] == 100 for s in paper)
    with pytest.raises(UserError, match="profile"):
        dfig.fig8_sweeps("huge")


def test_fig8_tiny_sweep_and_draw(tmp_path):
    # the quick sweep's shape with a tiny base, three baseline methods
    (quick,) = dfig.fig8_sweeps("quick")
    base = {**quick.base, "n_epochs": 2, "max_train": 128, "max_test": 64, "batch_size": 64, "mode": "corrected"}
    spec = SweepSpec(name=quick.name, experiment="deep", base=base, zip={"method": ["bp", "fa", "kp"]}, seeds=[0])
    result = run_sweep(spec, tmp_path / "fig8" / spec.name, executor=SerialExecutor(), show_progress=False)
    assert len(result.completed()) == 3
    out = dfig.fig8_draw({spec.name: result}, tmp_path / "fig8" / "figures")
    assert {p.suffix for p in out.files} == {".png"} and all(p.is_file() for p in out.files)
    assert set(out.numbers) >= {f"mnist5k/{m}/final_test_accuracy" for m in ("bp", "fa", "kp")}
    assert out.numbers["mnist5k/bp/final_fc_angle_mean"] == 0.0
    descriptions = [c.description for c in out.checks]
    assert any("BP reaches the highest" in d for d in descriptions)
    fa_check = next(c for c in out.checks if "FA's FC angles stay far from 0" in c.description)
    assert fa_check.met  # 2 short epochs cannot align random feedback
    assert not any("go to ~0" in d for d in descriptions)  # only judged for long runs


def test_fig8_checks_of_the_new_methods():
    def series(acc, fc_angle):
        s = {"test_accuracy": np.array([acc])}
        s.update({layer: np.array([90.0, fc_angle]) for layer in dfig.FC_LAYERS})
        return s

    nan = float("nan")
    data = {"bp": series(96.0, 0.0), "fa": series(88.0, 80.0), "dfa": series(12.0, nan), "usf": series(95.0, 30.0)}
    checks = {c.description: c.met for c in dfig._checks("mnist5k", data)}
    assert checks["mnist5k: dfa learns (final test accuracy above 50 %, chance 10 %)"] is False  # 12 % is near chance
    assert checks["mnist5k: usf learns (final test accuracy above 50 %, chance 10 %)"] is True
    assert checks["mnist5k: usf's FC angles are below FA's"] is True
    assert not any("dfa's FC angles" in d for d in checks)  # dfa's hidden layers have no W-B angle


def test_every_method_has_its_own_plot_style():
    """The deep family styles its methods (the core palette knows no method); each style is distinct."""
    from spikealign.figures.style import COLORS

    assert set(methods.PLOT_STYLES) == {m.name for m in methods.METHODS}
    assert all(color in COLORS for color, _ in methods.PLOT_STYLES.values())
    assert len(set(methods.PLOT_STYLES.values())) == len(methods.PLOT_STYLES)
    assert methods.method_style("STDWI") == {"color": COLORS["dark_yellow"], "linestyle": "-"}
    assert methods.method_style("nonsense") == {"color": COLORS["neutral"], "linestyle": "-."}
