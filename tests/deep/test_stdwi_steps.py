"""The named steps of the STDWI kernel (deep.estimators.stdwi) against their equations."""

from __future__ import annotations

import math

import numpy as np

from spikealign.deep.estimators import stdwi as S

DT, TAU_S, TAU_F = 0.25, 10.0, 3.0
M = int(7 * TAU_S / DT)


def _constants(**change):
    a_s, a_f = math.exp(-DT / TAU_S), math.exp(-DT / TAU_F)
    values = dict(psp_decay_slow=a_s, psp_decay_fast=a_f, psp_tail_slow=a_s**M, psp_tail_fast=a_f**M,
                  dt_over_tau=DT / 20.0, stim_scale=10.0, psp_norm=1.0 / (TAU_S - TAU_F), lr=0.02,
                  decay_weighting=0.1, trace_decay_fast=math.exp(-DT / 10.0), trace_decay_slow=math.exp(-DT / 200.0),
                  slow_trace_amplitude=10.0 / 200.0)  # fmt: skip
    values.update(change)
    return S.Constants(**values)


def test_the_recursive_stimulus_psp_is_the_truncated_difference_of_exponentials():
    rng = np.random.default_rng(0)
    n, steps = 3, 2 * M + 17
    spikes = (rng.random((steps, n)) < 0.05).astype(float)
    ring, ps_slow, ps_fast, current = np.zeros((M, n)), np.zeros(n), np.zeros(n), np.zeros(n)
    c = _constants()
    for t in range(steps):
        S._stimulus_psp(spikes[t], t % M, ring, ps_slow, ps_fast, current, c)
    m = np.arange(M)
    kernel = (np.exp(-m * DT / TAU_S) - np.exp(-m * DT / TAU_F)) / (TAU_S - TAU_F)
    explicit = 10.0 * (kernel[:, None] * spikes[::-1][:M]).sum(0)  # psp(t) = sum_m k(m) s(t - m)
    np.testing.assert_allclose(current, explicit, atol=1e-12)


def test_input_psp_adds_the_weights_of_spiking_inputs_and_removes_those_leaving_the_window():
    c = _constants()
    wt = np.array([[1.0, 2.0], [3.0, 4.0]])  # (n_in, n_out)
    ring = np.zeros((M, 2), dtype=np.bool_)
    ring[5, 1] = True  # input 1 spiked M steps ago: it leaves the window now
    y_slow, y_fast, count = np.array([0.5, 0.5]), np.array([0.2, 0.2]), np.zeros(2)
    S._input_psp(np.array([True, False]), 5, ring, wt, y_slow, y_fast, count, c)
    np.testing.assert_allclose(y_slow, 0.5 * c.psp_decay_slow + wt[0] - c.psp_tail_slow * wt[1])
    np.testing.assert_allclose(y_fast, 0.2 * c.psp_decay_fast + wt[0] - c.psp_tail_fast * wt[1])
    np.testing.assert_array_equal(count, [1, 0])
    np.testing.assert_array_equal(ring[5], [True, False])


def test_traces_and_the_stdwi_update():
    c = _constants()
    xf, xs = np.array([1.0, 2.0]), np.array([0.5, 0.25])
    S._stdwi_traces(np.array([True, False]), xf, xs, c)
    np.testing.assert_allclose(xf, [c.trace_decay_fast + 1.0, 2.0 * c.trace_decay_fast])
    np.testing.assert_allclose(xs, [0.5 * c.trace_decay_slow + 0.05, 0.25 * c.trace_decay_slow])
    B = np.array([[0.1, -0.2], [0.3, 0.4]])
    before = B.copy()
    S._stdwi_update(B, np.array([False, True]), xf, xs, c)
    np.testing.assert_array_equal(B[0], before[0])  # output 0 silent
    np.testing.assert_allclose(B[1], before[1] + 0.02 * ((xf - xs) - 0.1 * before[1]))
