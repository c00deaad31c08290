"""Checkpoint/resume of a microcircuit run through the run context (per-epoch checkpoints)."""

import numpy as np
import pytest

from spikealign.config import validate
from spikealign.microcircuit import experiments as E
from spikealign.microcircuit.config import MicrocircuitConfig
from spikealign.runs import RunContext, execute_run, run_status


class Interrupt(Exception):
    pass


def small_config() -> MicrocircuitConfig:
    cfg = E.paper_config("sal", num_epochs=3)
    cfg["network"].update(learning_lag=200, size_moving_average=200)
    cfg["teacher"]["t_pattern"] = 40
    cfg["student"].update(t_pattern=40, len_epoch=4, len_symmetrization=1, len_validation=2, recorded_sample_length=400)
    cfg.update(figures=False, checkpoint_every=1)
    return validate(MicrocircuitConfig, cfg, "x")


def test_interrupted_run_resumes_bit_identically(tmp_path, monkeypatch):
    config = small_config()
    full = execute_run(E.MICROCIRCUIT, config, tmp_path / "full", show_progress=False)

    original = RunContext.save_checkpoint

    def save_then_die(self, state):
        original(self, state)
        if state["student"]["p"] >= 12:  # after the second epoch (6 patterns per epoch)
            raise Interrupt

    monkeypatch.setattr(RunContext, "save_checkpoint", save_then_die)
    with pytest.raises(Interrupt):
        execute_run(E.MICROCIRCUIT, config, tmp_path / "cut", show_progress=False)
    assert run_status(tmp_path / "cut") == "failed"
    assert (tmp_path / "cut" / "checkpoints" / "latest.pkl").is_file()
    monkeypatch.setattr(RunContext, "save_checkpoint", original)
    from spikealign.microcircuit.protocol import Student

    steps = []
    step = Student.step_pattern
    monkeypatch.setattr(Student, "step_pattern", lambda self: (steps.append(self.p), step(self))[1])
    resumed = execute_run(E.MICROCIRCUIT, config, tmp_path / "cut", resume=True, show_progress=False)
    assert steps == list(range(12, 18))  # continued from the checkpoint, not from scratch
    assert resumed == full
    a, b = np.load(tmp_path / "full" / "student.npz"), np.load(tmp_path / "cut" / "student.npz")
    assert set(a.files) == set(b.files)
    for k in a.files:
        np.testing.assert_array_equal(a[k], b[k])


def test_checkpoint_of_the_earlier_format_resumes_bit_identically(tmp_path, monkeypatch):
    """A checkpoint written before the kind/config stamp (the state alone) is checked against the
    student built for the config, refused in one line when it does not fit, and resumes when it does."""
    import pickle

    from spikealign.errors import UserError
    from spikealign.runs import CHECKPOINT_HEADER

    config = small_config()
    execute_run(E.MICROCIRCUIT, config, tmp_path / "full", show_progress=False)
    original = RunContext.save_checkpoint

    def save_then_die(self, state):
        original(self, state)
        if state["student"]["p"] >= 12:
            raise Interrupt

    monkeypatch.setattr(RunContext, "save_checkpoint", save_then_die)
    with pytest.raises(Interrupt):
        execute_run(E.MICROCIRCUIT, config, tmp_path / "cut", show_progress=False)
    monkeypatch.setattr(RunContext, "save_checkpoint", original)
    path = tmp_path / "cut" / "checkpoints" / "latest.pkl"
    stamped = pickle.loads(path.read_bytes())
    assert CHECKPOINT_HEADER in stamped
    state = stamped["state"]
    st = state["student"]
    arrays = st["net"]["arrays"]
    key = next(k for k, v in arrays.items() if v.ndim == 2)
    out = st["out"]

    def student(**change):
        return {"student": {**st, **change}}

    changes = {
        f"'student.net.arrays.{key}'": student(
            net={**st["net"], "arrays": {**arrays, key: np.vstack([arrays[key]] * 2)}}
        ),
        "'student.out.u_out' is not a sequence of 12": student(out={**out, "u_out": out["u_out"][:-1]}),
        "'student.out.w10[0]'": student(out={**out, "w10": [np.vstack([w, w]) for w in out["w10"]]}),
        "no pattern count in 0..18": student(p=99),
        "no 'student' state": {"p": 12},
    }
    for expected, changed in changes.items():
        path.write_bytes(pickle.dumps(changed))
        with pytest.raises(UserError, match="earlier format") as info:
            execute_run(E.MICROCIRCUIT, config, tmp_path / "cut", resume=True, show_progress=False)
        assert expected in str(info.value), (expected, str(info.value))
    path.write_bytes(pickle.dumps(state))  # the earlier format: the state alone
    execute_run(E.MICROCIRCUIT, config, tmp_path / "cut", resume=True, show_progress=False)
    a, b = np.load(tmp_path / "full" / "student.npz"), np.load(tmp_path / "cut" / "student.npz")
    for k in a.files:
        np.testing.assert_array_equal(a[k], b[k])
