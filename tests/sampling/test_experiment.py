"""The ``ssn`` experiment: configs (ours and the reference's), runs, checkpoints, sweeps and figures 4-5."""

import copy
import shutil

import numpy as np
import pytest

from reference_configs import REFERENCE_CONFIGS
from spikealign.config import load_yaml, validate
from spikealign.errors import UserError
from spikealign.registry import get_experiment, get_figure
from spikealign.runs import RunContext, execute_run
from spikealign.sampling import presets
from spikealign.sampling.config import SSNConfig
from spikealign.sweep import SerialExecutor, SweepSpec, run_sweep

REF = REFERENCE_CONFIGS
REF_FILES = [*sorted((REF / "ssn").glob("*.yaml")), REF / "test_fixtures" / "ssn_smoke.yaml"]


@pytest.fixture(scope="module")
def exp():
    return get_experiment("ssn")


@pytest.mark.parametrize("path", REF_FILES, ids=lambda p: p.stem)
def test_reference_yaml_is_accepted_unchanged(exp, path):
    raw = load_yaml(path)
    assert exp.detect_reference(raw)
    cfg = validate(SSNConfig, exp.from_reference(raw, path, {}))
    assert cfg.dim == 7 and cfg.neuron.t_ref == 50 and cfg.stdp.tau == 50
    assert cfg.target.seed == raw["seed"]["distr"] and cfg.init.seed == raw["seed"]["init"]
    if path.stem in presets.PRESETS:
        preset = validate(SSNConfig, presets.preset(path.stem))
        assert preset.model_dump(exclude={"seed"}) == cfg.model_dump(exclude={"seed"})


def test_reference_yaml_unknown_or_bad_keys(exp):
    raw = load_yaml(REF / "test_fixtures" / "ssn_smoke.yaml")
    bad = copy.deepcopy(raw)
    bad["stdp"]["ws"]["tau_plsu"] = 3
    with pytest.raises(UserError, match=r"unknown key 'stdp.ws.tau_plsu'"):
        exp.from_reference(bad, "x.yaml", {})
    bad = copy.deepcopy(raw)
    bad["val_step"] = 0
    with pytest.raises(UserError, match="val_step"):
        exp.from_reference(bad, "x.yaml", {})
    bad = copy.deepcopy(raw)
    bad["dim"] = 16
    with pytest.raises(UserError, match="dim"):
        exp.from_reference(bad, "x.yaml", {})


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"dim": 16}, "dim"),
        ({"schedule": {"dur": 0}}, "schedule.dur"),
        ({"schedule": {"val_step": 0}}, "schedule.val_step"),
        ({"neuron": {"t_ref": 50, "tau_syn": 60}}, "tau_syn"),
        ({"lr": {"sym": 0.1}}, "unknown key 'lr.sym'"),
        ({"colour": 1}, "unknown key 'colour'"),
    ],
)
def test_our_config_rejects_bad_values(change, match):
    with pytest.raises(UserError, match=match):
        validate(SSNConfig, {"kind": "ssn", **change})


def _tiny(**over):
    cfg = presets.preset("minimal_working_example")
    cfg["schedule"] = {"num_epochs": 9, "val_step": 4, "val_factor": 5, "dur": 40}
    cfg.update(over)
    return validate(SSNConfig, cfg)


def test_run_writes_records_figure_and_resumes_identically(exp, tmp_path, monkeypatch):
    cfg = _tiny()
    summary = execute_run(exp, cfg, tmp_path / "full", show_progress=False)
    assert summary["n_records"] == 3 and summary["final_iteration"] == 9
    full = np.load(tmp_path / "full" / "records.npz")
    assert full["all_weights"].shape == (3, 7, 7) and full["target_distr"].shape == (128,)
    assert (tmp_path / "full" / "figures" / "ssn_run.png").is_file()

    # interrupt after the second record (checkpoint written), then resume
    calls = {"n": 0}
    original = RunContext.save_checkpoint

    def flaky(self, state):
        original(self, state)
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(RunContext, "save_checkpoint", flaky)
    cfg = _tiny(diagnostic_figure=False)  # the figure does not touch the numbers
    with pytest.raises(KeyboardInterrupt):
        execute_run(exp, cfg, tmp_path / "cut", show_progress=False)
    assert (tmp_path / "cut" / "checkpoints" / "latest.pkl").is_file()
    monkeypatch.setattr(RunContext, "save_checkpoint", original)
    execute_run(exp, cfg, tmp_path / "cut", resume=True, show_progress=False)
    cut = np.load(tmp_path / "cut" / "records.npz")
    for key in full.files:
        np.testing.assert_array_equal(cut[key], full[key])


def test_checkpoint_of_the_earlier_format_resumes_identically(exp, tmp_path, monkeypatch):
    """A checkpoint written before the kind/config stamp (the state mapping itself) is checked
    against the config (keys, shapes, record counts) and then resumes to the same numbers."""
    import pickle

    from spikealign.runs import CHECKPOINT_HEADER
    from spikealign.sampling.experiments import unstamped_problem

    cfg = _tiny(diagnostic_figure=False)
    execute_run(exp, cfg, tmp_path / "full", show_progress=False)
    calls = {"n": 0}
    original = RunContext.save_checkpoint

    def flaky(self, state):
        original(self, state)
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(RunContext, "save_checkpoint", flaky)
    with pytest.raises(KeyboardInterrupt):
        execute_run(exp, cfg, tmp_path / "cut", show_progress=False)
    monkeypatch.setattr(RunContext, "save_checkpoint", original)
    path = tmp_path / "cut" / "checkpoints" / "latest.pkl"
    stamped = pickle.loads(path.read_bytes())
    assert CHECKPOINT_HEADER in stamped
    state = stamped["state"]
    assert unstamped_problem(state, cfg) is None
    n = cfg.dim
    changes = {
        "'W' has shape (6, 6)": {**state, "W": state["W"][:-1, :-1]},
        "'iteration' is 99": {**state, "iteration": 99},
        "'rng' holds float64": {**state, "rng": state["rng"].astype(float)},
        "does not hold the 2 records": {**state, "records": {**state["records"], "dkls": state["records"]["dkls"][:1]}},
        f"this config needs ({2**n},)": {
            **state, "records": {**state["records"], "all_distr": [v[:-1] for v in state["records"]["all_distr"]]}
        },
        "keys records missing": {k: v for k, v in state.items() if k != "records"},
    }  # fmt: skip
    for expected, changed in changes.items():
        assert expected in (unstamped_problem(changed, cfg) or ""), expected
        path.write_bytes(pickle.dumps(changed))
        with pytest.raises(UserError, match="earlier format"):
            execute_run(exp, cfg, tmp_path / "cut", resume=True, show_progress=False)
    path.write_bytes(pickle.dumps(state))  # the earlier format: no header
    execute_run(exp, cfg, tmp_path / "cut", resume=True, show_progress=False)
    full, cut = np.load(tmp_path / "full" / "records.npz"), np.load(tmp_path / "cut" / "records.npz")
    for key in full.files:
        np.testing.assert_array_equal(cut[key], full[key])


def test_batched_runs_equal_single_runs(exp, tmp_path):
    cfgs = [_tiny(diagnostic_figure=False),
            _tiny(diagnostic_figure=False, init={"seed": 9003, "weight": 0.2, "bias": 0.2, "noise": 0.5})]  # fmt: skip
    single = execute_run(exp, cfgs[1], tmp_path / "single", show_progress=False)
    dirs = [tmp_path / "b0", tmp_path / "b1"]
    for d in dirs:
        d.mkdir()
    out = exp.run_batch(cfgs, [RunContext(d, 0, show_progress=False) for d in dirs])
    assert out[1] == single
    np.testing.assert_array_equal(np.load(dirs[1] / "records.npz")["all_weights"],
                                  np.load(tmp_path / "single" / "records.npz")["all_weights"])  # fmt: skip


def test_paper_sweep_grids():
    for name, key, levels in (("syn_noise", "init.noise", presets.SYN_NOISE_LEVELS),
                              ("plast_noise_sal", "stdp.noise", presets.PLAST_NOISE_LEVELS)):  # fmt: skip
        spec = presets.paper_sweep(name)
        assert list(spec.grid) == [key, "target.seed", "init.seed"]  # noise outermost, then distr, then init
        assert spec.grid[key] == levels and spec.grid["target.seed"] == [4321, 4322, 4323, 4324, 4235]
    for fig in ("fig4", "fig5"):
        specs = get_figure(fig).sweeps("paper")
        assert [len(s.grid[next(iter(s.grid))]) * 20 for s in specs] == [120, 120]


@pytest.mark.parametrize("fig", ["fig4", "fig5"])
def test_figure_draws_from_a_tiny_sweep(fig, tmp_path):
    figure = get_figure(fig)
    results = {}
    for spec in figure.sweeps("quick"):
        tiny = spec.model_copy(deep=True)
        tiny.base["schedule"] = {"num_epochs": 41, "val_step": 20, "val_factor": 4, "dur": 100}
        key = next(iter(tiny.grid))
        tiny.grid = {key: tiny.grid[key][:2], "target.seed": [4321], "init.seed": [9002, 9003]}
        results[spec.name] = run_sweep(SweepSpec(**tiny.model_dump()), tmp_path / spec.name,
                                       executor=SerialExecutor(), show_progress=False)  # fmt: skip
        assert (results[spec.name].completed().shape[0]) == 4
    out = figure.draw(results, tmp_path / "figures")
    assert any(p.suffix == ".png" and p.is_file() for p in out.files)
    assert {"sal_final_asym", "nosal_final_asym", "baseline_final_dkl"} <= set(out.numbers)
    assert len(out.checks) >= 3
    if fig == "fig4":
        # exact facts, true even for a tiny run: the baseline stays symmetric, no-SAL asymmetry is frozen
        assert out.checks[3].met and out.checks[4].met
    shutil.rmtree(tmp_path)
