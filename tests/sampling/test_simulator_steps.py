"""The named steps of the event-driven sampler (sampling.simulator) against their definitions."""

from __future__ import annotations

import math

import numpy as np

from spikealign.sampling import simulator as sim
from spikealign.sampling.stdp import KERNELS
from spikealign.spiking.neuron import escape_rate
from spikealign.spiking.stdp import exp_window_at


def test_state_index_marks_the_neurons_that_spiked_in_the_last_t_ref_steps():
    last = np.array([10, 2, 7, 11], dtype=np.int64)
    # s = 12, t_ref = 3: window [9, 11] -> z = (1, 0, 0, 1), neuron 0 the most significant bit
    assert sim._state_index(last, np.int64(12), np.int64(3)) == 0b1001
    assert sim._state_index(np.full(3, -sim.NEVER, dtype=np.int64), np.int64(5), np.int64(3)) == 0


def test_sample_states_counts_every_sample_step_up_to_the_limit():
    last = np.array([4, -sim.NEVER], dtype=np.int64)
    hist = np.zeros(4, dtype=np.int64)
    # samples at 6 and 9 (<= 10), t_ref 3: neuron 0 (spike at 4) is on at 6 (window [3, 5]), off at 9
    nxt = sim._sample_states(hist, last, np.int64(6), np.int64(10), np.int64(100), np.int64(3), np.int64(3))
    assert nxt == 12
    np.testing.assert_array_equal(hist, [1, 0, 1, 0])
    assert sim._sample_states(hist, last, np.int64(12), np.int64(50), np.int64(13), np.int64(3), np.int64(3)) == 15
    assert hist.sum() == 3  # only the sample at 12 is < T = 13


def test_stdp_pairs_add_the_window_of_every_pair_with_the_last_spikes():
    n = 3
    rng = np.random.default_rng(0)
    rulers = np.stack([rng.uniform(-1, 1, (n, n)), rng.uniform(-1, 1, (n, n)), rng.uniform(2, 9, (n, n)),
                       rng.uniform(2, 9, (n, n))])[None]  # fmt: skip
    kinds = np.array([KERNELS["exponential"]], dtype=np.int64)
    last = np.array([-sim.NEVER, 17, 12], dtype=np.int64)
    S = np.zeros((1, n, n))
    sim._stdp_pairs(S, kinds, rulers, last, 0, np.int64(20))
    expected = np.zeros((n, n))
    for j in (1, 2):
        d = 20.0 - last[j]
        a = rulers[0]
        expected[0, j] = exp_window_at(d, a[0, 0, j], a[1, 0, j], a[2, 0, j], a[3, 0, j])
        expected[j, 0] = exp_window_at(-d, a[0, j, 0], a[1, j, 0], a[2, j, 0], a[3, j, 0])
    np.testing.assert_array_equal(S[0], expected)
    assert expected[0, 1] == rulers[0, 0, 0, 1] * math.exp(-3.0 / rulers[0, 2, 0, 1])


def test_psp_switch_moves_the_potentials_or_the_table_mask():
    W = np.arange(9.0).reshape(3, 3)
    u = np.zeros(3)
    mask = sim._psp_switch(W, u, np.int64(0), 1, True, False)
    np.testing.assert_array_equal(u, W[:, 1])
    assert mask == 0
    sim._psp_switch(W, u, mask, 1, False, False)
    np.testing.assert_array_equal(u, 0.0)
    assert sim._psp_switch(W, u, np.int64(0b001), 2, True, True) == 0b101
    assert sim._psp_switch(W, u, np.int64(0b101), 0, False, True) == 0b100
    np.testing.assert_array_equal(u, 0.0)


def test_hazard_from_the_table_equals_the_escape_rate_of_the_summed_potential():
    rng = np.random.default_rng(1)
    W, b = rng.normal(size=(3, 3)), rng.normal(size=3)
    t_ref = np.int64(10)
    tab = sim._lam_table(W, b, t_ref)
    mask = np.int64(0b110)  # PSPs of neurons 1 and 2 on
    u = b + W[:, 1] + W[:, 2]
    for i in range(3):
        from_table = sim._hazard(i, u, tab, mask, True, t_ref)
        assert math.isclose(from_table, escape_rate(u[i], t_ref), rel_tol=1e-13)  # same sum, another order
        assert sim._hazard(i, u, tab, mask, False, t_ref) == escape_rate(u[i], t_ref)
