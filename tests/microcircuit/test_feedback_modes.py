"""Feedback modes (docs/microcircuits.md, "Feedback modes"): BP keeps B = W21^T, FA keeps B fixed, SAL moves B only in
symmetrisation patterns.  Run on a [3, 4, 2] network (input and output sizes differ, which the
reference's STDP buffer cannot handle) with short patterns."""

import numpy as np
import pytest

from spikealign.microcircuit.model import NetworkParams
from spikealign.microcircuit.protocol import Student, StudentSettings, draw_student_weights, make_schedule

DIMS = (3, 4, 2)
PARAMS = NetworkParams(dims=DIMS, learning_lag=300, size_moving_average=300, lr_up=(0.2, 0.003), lr_down=0.01)
SETTINGS = StudentSettings(
    len_epoch=5, len_symmetrization=2, len_validation=2, num_epochs=3, t_pattern=100, record_len=1000
)


def make_student(feedback: str, seed: int = 3, set_sps: bool = True) -> Student:
    rng = np.random.default_rng(seed)
    x_tr, x_va = rng.uniform(-3, 3, (4, DIMS[0])), rng.uniform(-3, 3, (2, DIMS[0]))
    y_tr, y_va = rng.uniform(-0.5, 0.5, (4, DIMS[2])), rng.uniform(-0.5, 0.5, (2, DIMS[2]))
    x, y = make_schedule(x_tr, x_va, y_tr, y_va, seed, SETTINGS.len_epoch, SETTINGS.len_validation, 3)
    settings = StudentSettings(**{**SETTINGS.__dict__, "set_sps": set_sps})
    w = draw_student_weights(seed + 1, DIMS)
    return Student(PARAMS, settings, feedback, w, (-1.0, -1.0), x, y, seed + 2)


@pytest.fixture(scope="module")
def runs():
    return {fb: make_student(fb).run() for fb in ("sal", "fa", "bp")}


def test_bp_keeps_b_equal_to_w21_transpose(runs):
    r = runs["bp"]
    b, w21 = r.weights_end["b"], r.weights_end["w21"]
    np.testing.assert_array_equal(b, np.transpose(w21, (0, 2, 1)))
    np.testing.assert_array_equal(r.records["b"], np.transpose(r.records["w21"], (0, 2, 1)))
    assert not np.array_equal(w21[0], w21[-1])  # W21 did learn, and B followed


def test_fa_keeps_b_fixed(runs):
    r = runs["fa"]
    assert np.all(r.weights_end["b"] == r.init_weights["b"])
    assert not np.array_equal(r.weights_end["w10"][0], r.weights_end["w10"][-1])


def test_sal_moves_b_only_in_symmetrisation_patterns(runs):
    r = runs["sal"]
    b = np.concatenate([r.init_weights["b"][None], r.weights_end["b"]])
    changed = np.array([not np.array_equal(b[p + 1], b[p]) for p in range(len(b) - 1)])
    assert changed.any()
    assert not changed[~r.symmetrization].any()
    assert changed[r.symmetrization].all()
    # and forward weights do not move in symmetrisation or validation patterns
    w = np.concatenate([r.init_weights["w21"][None], r.weights_end["w21"]])
    moved = np.array([not np.array_equal(w[p + 1], w[p]) for p in range(len(w) - 1)])
    assert not moved[r.symmetrization | r.validation].any()
    assert moved[~(r.symmetrization | r.validation)].all()


def test_interneurons_copy_the_output_after_each_pattern(runs):
    for r in runs.values():
        # W_ip = W21 and W_pi = -B hold at the end of every pattern (self-predicting state)
        np.testing.assert_array_equal(r.records["w_ip"][-1], r.records["w21"][-1])


def test_modes_share_schedule_and_first_pattern():
    """Before any plasticity the three modes differ only in B (BP: W21^T)."""
    s = {fb: make_student(fb) for fb in ("sal", "fa", "bp")}
    np.testing.assert_array_equal(s["sal"].u_in, s["bp"].u_in)
    np.testing.assert_array_equal(s["sal"].net.s["b"], s["fa"].net.s["b"])
    np.testing.assert_array_equal(s["bp"].net.s["b"], s["bp"].net.s["w21"].T)
    np.testing.assert_array_equal(s["sal"].net.s["w_pi"], -s["sal"].net.s["b"])


def test_checkpoint_round_trip_is_bit_identical():
    import pickle

    full = make_student("sal").run()
    part = make_student("sal")
    for _ in range(9):  # one epoch (5 training + 2 validation) and two more patterns
        part.step_pattern()
    state = pickle.loads(pickle.dumps(part.state()))
    resumed = make_student("sal")
    resumed.load_state(state)
    res = resumed.run()
    np.testing.assert_array_equal(res.u_out, full.u_out)
    np.testing.assert_array_equal(res.weights_end["b"], full.weights_end["b"])
    for k in full.records:
        np.testing.assert_array_equal(res.records[k], full.records[k])
    assert res.validation_loss == full.validation_loss
