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
