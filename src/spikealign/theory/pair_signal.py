r"""The all-pairs SAL drift of the two-neuron chain: the theory's escape-noise pair under the package's rule.

The STDD of :mod:`.distribution` pairs spikes by a scan (each spike with the partner's next spike,
each half normalised to 1/2), so :func:`~spikealign.theory.sal_signal` is a mean per pair. The rule
of :mod:`spikealign.plasticity` sums the window over **all** pairs; its drift per time step in the
stationary chain is an integral of the window against the cross-correlation of the two spike trains:

.. math::

    \frac{\mathrm{E}[\Delta W_{12}]}{\text{step}} = \eta \sum_{L \ne 0} K(L)\, C(L), \qquad
    \frac{\mathrm{E}[\Delta W_{21}]}{\text{step}} = \eta \sum_{L \ne 0} K(-L)\, C(L), \qquad
    C(L) = P\big(s_1(t) = 1,\ s_2(t - L) = 1\big),

with ``L = t_1 - t_2`` (post minus pre for ``W_12``, post 1, pre 2). The chain of
:mod:`.chain` is an exact Markov chain on its saturated counters, so ``C`` follows from its
transition matrix ``T`` and stationary distribution ``pi`` (states ``(a, c)``, ``a`` the steps since
neuron 1's last spike):

- ``L > 0``: ``C(L) = sum_c [T^L (pi * [c = 0])](0, c)`` (neuron 2 fired ``L`` steps ago, 1 fires now);
- ``L < 0``: ``C(L) = sum_a [T^|L| (pi * [a = 0])](a, 0)``.

``C(L)`` tends to the product of the rates for large ``|L|``; the sums are cut at ``|L| <= 50 tau``
(the window is below ``e^{-50}`` there). Over a stationary window of ``n`` steps the expected total
is ``eta sum_{0 < |L| < n} K(L) C(L) (n - |L|)`` (pairs whose partner falls outside the window are
missing), which is what :func:`simulate_pair_spike_trains` plus
:func:`spikealign.plasticity.sal_from_spike_trains` measure (tests/theory/test_pair_signal.py).

Relation to the STDD: a pair at lag ``|L| < t_ref`` can have no spike of either neuron between its
two spikes (both are refractory for ``t_ref`` steps), so every such pair is also a scan pair and
``C(L)`` is proportional to the STDD ``p(L)`` on ``1 <= L < t_ref`` (and on ``-t_ref < L <= -1``).
Beyond ``t_ref`` the all-pairs correlation also counts the pairs the scan skips.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from ..plasticity import SALParams, sal_window
from ..seeding import replica_seeds
from ..spiking.neuron import EscapeNoise, fires
from .chain import stationary_distribution, transition_matrix
from .kernels import SalSetup, check_finite, check_psp, check_times, kernel_table, with_setup

# the window is cut where it is below exp(-WINDOW_CUT) of its peak
WINDOW_CUT = 50.0


def spike_cross_correlation(
    w_12: float,
    w_21: float,
    b_1: float,
    b_2: float,
    *,
    t_ref: int,
    t_max: int,
    max_lag: int,
    psp: str = "rect",
    t_syn: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(lags, C)``: ``C(L) = P(s_1(t) = 1, s_2(t - L) = 1)`` of the stationary chain, ``L = -max_lag .. max_lag``.

    Arguments as in :func:`spikealign.theory.stdd` (``w_12`` onto neuron 1 from neuron 2). ``C(0)``
    is the probability that both fire in the same step; ``C(L) -> r_1 r_2`` (the product of the
    firing probabilities per step) for large ``|L|``.
    """
    t_ref, t_max = check_times(t_ref, t_max)
    check_psp(psp, t_syn, t_ref)
    if isinstance(max_lag, bool) or not isinstance(max_lag, int | np.integer) or max_lag < 0:
        raise ValueError(f"max_lag must be an integer >= 0, got {max_lag!r}")
    transition = transition_matrix(w_12, w_21, b_1, b_2, t_ref=t_ref, t_max=t_max, psp=psp, t_syn=t_syn)
    pi = stationary_distribution(transition).reshape(t_max, t_max)  # pi[a, c]
    c = np.zeros(2 * max_lag + 1)
    c[max_lag] = pi[0, 0]
    after_2 = np.where(np.arange(t_max)[None, :] == 0, pi, 0.0).ravel()  # neuron 2 fired (c = 0)
    after_1 = np.where(np.arange(t_max)[:, None] == 0, pi, 0.0).ravel()  # neuron 1 fired (a = 0)
    for lag in range(1, max_lag + 1):
        after_2 = transition @ after_2
        after_1 = transition @ after_1
        c[max_lag + lag] = after_2.reshape(t_max, t_max)[0, :].sum()  # neuron 1 fires L after 2
        c[max_lag - lag] = after_1.reshape(t_max, t_max)[:, 0].sum()  # neuron 2 fires L after 1
    return np.arange(-max_lag, max_lag + 1), c


def all_pairs_sal_drift(
    w_12: float,
    w_21: float,
    b_1: float,
    b_2: float,
    *,
    t_ref: int,
    t_max: int,
    params: SALParams,
    psp: str = "rect",
    t_syn: float | None = None,
    n_steps: int | None = None,
) -> tuple[float, float]:
    """Expected all-pairs SAL change ``(dW_12, dW_21)`` of the stationary chain (module docstring).

    ``params`` is the window of :mod:`spikealign.plasticity` with its times in chain steps (the
    theory's choice is ``tau_plus = tau_minus = t_ref``). With ``n_steps=None``: the drift per
    step; with ``n_steps = n``: the expected total over a stationary window of ``n`` steps (every
    pair with both spikes inside it).
    """
    params.checked()
    max_lag = math.ceil(WINDOW_CUT * max(params.tau_plus, params.tau_minus))
    if n_steps is not None:
        if isinstance(n_steps, bool) or not isinstance(n_steps, int | np.integer) or n_steps < 1:
            raise ValueError(f"n_steps must be an integer >= 1, got {n_steps!r}")
        max_lag = min(max_lag, int(n_steps) - 1)
    lags, c = spike_cross_correlation(
        w_12, w_21, b_1, b_2, t_ref=t_ref, t_max=t_max, max_lag=max_lag, psp=psp, t_syn=t_syn
    )
    weight = np.ones(lags.size) if n_steps is None else n_steps - np.abs(lags)
    dw_12 = float(np.sum(sal_window(lags.astype(float), params) * c * weight))
    dw_21 = float(np.sum(sal_window(-lags.astype(float), params) * c * weight))
    return dw_12, dw_21


@numba.njit(cache=True)
def _simulate_spikes(seeds, burn_in, kappa, t_ref, t_max, w_12, w_21, b_1, b_2, out):  # pragma: no cover - compiled
    """The chain of :mod:`.chain` (as :mod:`.montecarlo` steps it), one run per seed; spikes after burn-in."""
    neuron = EscapeNoise(t_ref, np.log(t_ref))
    m = t_max
    n_steps = out.shape[1]
    for k in range(seeds.shape[0]):
        np.random.seed(seeds[k])  # noqa: NPY002 (numba's own per-thread generator)
        a1 = m - 1
        a2 = m - 1
        for t in range(burn_in + n_steps):
            ap1 = min(a1 + 1, m - 1)
            ap2 = min(a2 + 1, m - 1)
            u1 = b_1 + w_12 * kappa[ap2]
            u2 = b_2 + w_21 * kappa[ap1]
            f1 = fires(np.random.random(), u1, ap1, neuron)  # noqa: NPY002
            f2 = fires(np.random.random(), u2, ap2, neuron)  # noqa: NPY002
            a1 = 0 if f1 else ap1
            a2 = 0 if f2 else ap2
            if t >= burn_in:
                out[k, t - burn_in, 0] = f1
                out[k, t - burn_in, 1] = f2


def simulate_pair_spike_trains(
    w_12: float,
    w_21: float,
    b_1: float,
    b_2: float,
    setup: SalSetup | None = None,
    *,
    n_chains: int = 64,
    n_steps: int = 10_000,
    burn_in: int = 500,
    seed: int = 0,
    **setting: Any,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Spike trains of ``n_chains`` independent two-neuron chains: ``[(steps_1, steps_2), ...]``.

    The chain is ``setup`` (:class:`~spikealign.theory.kernels.SalSetup`: ``t_ref``, ``t_max``,
    ``psp``, ``t_syn``; its window is not used) or its fields as keywords
    (``simulate_pair_spike_trains(..., t_ref=10, t_max=30)``, as :func:`~spikealign.theory.sal_batch`).
    Each chain starts silent, runs ``burn_in`` steps unrecorded, then ``n_steps`` steps whose spikes
    are returned as step indices ``0 .. n_steps-1`` (the chain's update rule of :mod:`.chain`, the
    escape-noise neuron of :mod:`spikealign.spiking.neuron`). Seeds per chain derive from ``seed``.
    """
    setup = with_setup(setup, setting)
    t_ref, t_max = setup.times()
    ts = check_psp(setup.psp, setup.t_syn, t_ref)
    for name, v in (("w_12", w_12), ("w_21", w_21), ("b_1", b_1), ("b_2", b_2)):
        check_finite(name, v)
    kappa = kernel_table(setup.psp, t_ref, t_max, ts)
    seeds = (replica_seeds(seed, n_chains, "theory-pair-spikes") % np.uint64(2**32)).astype(np.int64)
    out = np.zeros((n_chains, int(n_steps), 2), dtype=np.bool_)
    _simulate_spikes(seeds, int(burn_in), kappa, t_ref, t_max, float(w_12), float(w_21), float(b_1), float(b_2), out)
    return [(np.flatnonzero(o[:, 0]).astype(float), np.flatnonzero(o[:, 1]).astype(float)) for o in out]
