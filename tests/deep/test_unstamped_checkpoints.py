"""sal-evolution resumes from a checkpoint of the earlier format (no kind/config stamp) when its
structure fits the config, and refuses one that does not, in one line."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from spikealign.config import validate
from spikealign.errors import UserError
from spikealign.registry import get_experiment
from spikealign.runs import CHECKPOINT_HEADER, RunContext, execute_run, load_npz

pytestmark = pytest.mark.torch

TINY = {"kind": "sal-evolution", "sizes": [6, 4, 3], "n_epochs": 3, "len_epoch": 20, "batch_size": 2, "chunk": 10}


def test_sal_evolution_resumes_from_a_checkpoint_of_the_earlier_format(tmp_path, monkeypatch):
    exp = get_experiment("sal-evolution")
    cfg = validate(exp.config_model, TINY)
    execute_run(exp, cfg, tmp_path / "full", show_progress=False)
    original = RunContext.save_checkpoint
    saved = {"n": 0}

    def cut_after_two(self, state):
        original(self, state)
        saved["n"] += 1
        if saved["n"] == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(RunContext, "save_checkpoint", cut_after_two)
    with pytest.raises(KeyboardInterrupt):
        execute_run(exp, cfg, tmp_path / "cut", show_progress=False)
    monkeypatch.setattr(RunContext, "save_checkpoint", original)
    path = tmp_path / "cut" / "checkpoints" / "latest.pkl"
    stamped = pickle.loads(path.read_bytes())
    state = stamped["state"]
    assert CHECKPOINT_HEADER in stamped and state["epoch"] == 2
    net = state["net"]
    changes = {
        "'net.B[0]' is Tensor (3, 3)": {**state, "net": {**net, "B": [net["B"][0][:3, :3], net["B"][1]]}},
        "'net.ring'": {**state, "net": {**net, "ring": net["ring"].double()}},
        "'epoch' is 9": {**state, "epoch": 9},
        "'angles' is not a sequence of 3": {**state, "angles": state["angles"][:2]},
        "'corrs[1]' is not a sequence of 2": {**state, "corrs": [state["corrs"][0], [0.0], state["corrs"][2]]},
        "keys angles, epoch, net": {k: v for k, v in state.items() if k != "corrs"},
    }
    for expected, changed in changes.items():
        path.write_bytes(pickle.dumps(changed))
        with pytest.raises(UserError, match="earlier format") as info:
            execute_run(exp, cfg, tmp_path / "cut", resume=True, show_progress=False)
        assert expected in str(info.value), (expected, str(info.value))
    path.write_bytes(pickle.dumps(state))  # the earlier format: the state alone
    execute_run(exp, cfg, tmp_path / "cut", resume=True, show_progress=False)
    full, cut = load_npz(tmp_path / "full" / "evolution.npz"), load_npz(tmp_path / "cut" / "evolution.npz")
    assert sorted(full) == sorted(cut)
    for key in full:
        np.testing.assert_array_equal(cut[key], full[key])


DEEP = {
    "kind": "deep", "method": "sal", "dataset": "mnist5k", "n_epochs": 2, "batch_size": 32, "max_train": 64,
    "max_test": 32, "threads": 1,
    "estimator": {"n_iterations": 1, "t_ref": 5, "len_epoch": 20, "batch_size": 2, "buffer_length": 2, "chunk": 10},
}  # fmt: skip


def test_deep_resumes_from_a_checkpoint_of_the_earlier_format(tmp_path, monkeypatch):
    exp = get_experiment("deep")
    cfg = validate(exp.config_model, DEEP)
    execute_run(exp, cfg, tmp_path / "full", show_progress=False)
    original = RunContext.save_checkpoint

    def cut_after_one(self, state):
        original(self, state)
        raise KeyboardInterrupt

    monkeypatch.setattr(RunContext, "save_checkpoint", cut_after_one)
    with pytest.raises(KeyboardInterrupt):
        execute_run(exp, cfg, tmp_path / "cut", show_progress=False)
    monkeypatch.setattr(RunContext, "save_checkpoint", original)
    path = tmp_path / "cut" / "checkpoints" / "latest.pkl"
    state = pickle.loads(path.read_bytes())["state"]
    assert state["epoch"] == 1
    model, opt = state["model"], state["optimizer"]
    weight = next(k for k, v in model.items() if v.ndim == 2)
    buffers = {i: {**b, "momentum_buffer": b["momentum_buffer"][:1]} for i, b in opt["state"].items() if b}
    changes = {
        f"'model.{weight}'": {**state, "model": {**model, weight: model[weight][:1]}},
        "'optimizer.state.": {**state, "optimizer": {**opt, "state": {**opt["state"], **buffers}}},
        "'epochs' does not hold the records of 1 epochs": {**state, "epochs": []},
        "'estimator' does not match": {**state, "estimator": None},
        "'epoch' is 3": {**state, "epoch": 3},
    }
    for expected, changed in changes.items():
        path.write_bytes(pickle.dumps(changed))
        with pytest.raises(UserError, match="earlier format") as info:
            execute_run(exp, cfg, tmp_path / "cut", resume=True, show_progress=False)
        assert expected in str(info.value), (expected, str(info.value))
    path.write_bytes(pickle.dumps(state))  # the earlier format: the state alone
    execute_run(exp, cfg, tmp_path / "cut", resume=True, show_progress=False)
    import json

    full = json.loads((tmp_path / "full" / "metrics.json").read_text())
    cut = json.loads((tmp_path / "cut" / "metrics.json").read_text())
    timed = ("second", "_s", "time")  # wall-clock fields (train_images_per_s) differ between any two runs

    def numbers(record: dict) -> dict:
        return {k: v for k, v in record.items() if not any(t in k for t in timed)}

    assert [numbers(r) for r in cut["epochs"]] == [numbers(r) for r in full["epochs"]]
    assert numbers(cut["summary"]) == numbers(full["summary"])
