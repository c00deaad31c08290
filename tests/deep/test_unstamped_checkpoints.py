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
