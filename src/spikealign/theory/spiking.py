"""Spiking two-neuron simulation with pair-based STDP: the SAL weight evolution of Fig. 2d.

This is the reference's neural-sampling *spiking simulator*, whose semantics differ from the
chain of :mod:`spikealign.theory.chain`:

- at step ``t`` the potentials use spikes strictly before ``t``:
  ``u_i = b_i + sum_j W[i, j] sum_m kappa(t - t_j^m)`` over the last ``n_last`` spikes of ``j``,
  with the rect kernel ``kappa(x) = 1`` for ``0 < x < t_syn`` (lags ``1..t_syn-1``);
- neuron ``i`` fires with probability ``logistic(u_i - ln R)`` if ``t - t_last > R`` (minimal
  inter-spike interval ``R + 1``, one step longer than in the chain); both neurons draw one uniform
  each step, neuron 0 is processed before neuron 1;
- ``W[i, j]`` is the weight onto ``i`` from ``j`` (post, pre); neuron 1 of the paper is index 0,
  so ``W[0, 1] = W_12`` and ``W[1, 0] = W_21``.

STDP pairing (all pairs in practice): at each spike of ``i`` at ``t``, for the other neuron ``j``,
``stdp[i, j] += sum_m K(t - t_j^m)`` and ``stdp[j, i] += sum_m K(-(t - t_j^m))`` over ``j``'s last
``n_last`` spikes, with the exponential window ``K`` (``a_plus = -1, a_minus = 1, tau = R`` for
SAL).  With an antisymmetric ``K`` the two entries are exact negatives, so ``W_12 + W_21`` is
conserved.

Protocol (one epoch): a fresh simulation of ``epoch_steps`` steps from silence, then
``W <- W + lr * stdp / epoch_steps * t_ref`` on the plastic entries.

The reference draws from numba's global RNG without seeding it (its runs are not reproducible);
here every run is seeded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numba
import numpy as np

from ..errors import UserError
from ..pieces import pieces
from ..spiking.neuron import spike_probability
from ..spiking.stdp import StdpWindow, window_value
from .kernels import SalSetup, check_finite, with_setup


class Protocol(NamedTuple):
    """The settings of the spiking SAL protocol shared by every epoch (times in steps)."""

    t_ref: float  # refractory period R (also the rate scale of the escape noise)
    t_syn: float  # length of the rectangular PSP
    epoch_steps: int  # steps of one fresh simulation
    lr: float  # learning rate of ``W <- W + lr * stdp / epoch_steps * t_ref``
    n_last: int  # remembered spikes per neuron (PSPs and STDP pairing)
    window: StdpWindow  # the STDP window K


@numba.njit(cache=True, inline="always")
def _sal_pairs(i, t, last, window, stdp):
    r"""SAL pairing at a spike of neuron ``i`` at ``t`` with the remembered spikes ``t_j^m`` of the other one, ``j``.

    :math:`stdp_{ij} \mathrel{+}= \sum_m K(t - t_j^m)`, :math:`stdp_{ji} \mathrel{+}= \sum_m K(-(t - t_j^m))`
    (``K`` the exponential window; never-seen spikes at ``-inf`` give 0).
    """
    j = 1 - i
    res_ij = 0.0
    res_ji = 0.0
    for m in range(last.shape[1]):
        dt = t - last[j, m]
        res_ij += window_value(dt, window)
        res_ji += window_value(-dt, window)
    stdp[i, j] += res_ij
    stdp[j, i] += res_ji


@numba.njit(cache=True, inline="always")
def _sal_update(w, plastic, stdp, protocol):
    r"""The SAL weight update of one epoch: :math:`W_{ij} \leftarrow W_{ij} + \eta\,(stdp_{ij} / T \cdot R)`.

    Plastic entries only; ``T = epoch_steps``, ``R = t_ref``, ``eta = lr``.
    """
    for i in range(2):
        for j in range(2):
            if plastic[i, j]:
                w[i, j] = w[i, j] + protocol.lr * (stdp[i, j] / protocol.epoch_steps * protocol.t_ref)


@numba.njit(cache=True)
def _epoch(w, b, protocol, stdp):
    """One fresh simulation of ``protocol.epoch_steps`` steps; accumulates pair-based STDP into ``stdp``.

    Returns the number of spikes.
    """
    t_ref, t_syn, n_steps, n_last, window = (protocol.t_ref, protocol.t_syn, protocol.epoch_steps, protocol.n_last,
                                             protocol.window)  # fmt: skip
    last = np.full((2, n_last), -np.inf)
    log_r = np.log(t_ref)
    psp = np.zeros(2)
    rate = np.zeros(2)
    n_spikes = 0
    for t in range(n_steps):
        for j in range(2):
            s = 0.0
            for m in range(n_last):
                x = t - last[j, m]
                if x > 0.0 and x < t_syn:
                    s += 1.0
            psp[j] = s
        for i in range(2):
            u = b[i] + w[i, 0] * psp[0] + w[i, 1] * psp[1]
            rate[i] = spike_probability(u, log_r)
        r0 = np.random.random()  # noqa: NPY002
        r1 = np.random.random()  # noqa: NPY002
        for i in range(2):
            r = r0 if i == 0 else r1
            if r < rate[i] and last[i, n_last - 1] < t - t_ref:
                _sal_pairs(i, t, last, window, stdp)
                for m in range(n_last - 1):
                    last[i, m] = last[i, m + 1]
                last[i, n_last - 1] = t
                n_spikes += 1
    return n_spikes


@numba.njit(cache=True)
def _seed(seed):  # pragma: no cover - compiled
    np.random.seed(seed)  # noqa: NPY002 (numba's own per-thread generator, shared by all compiled functions)


@numba.njit(cache=True)
def _epochs(w, b, plastic, protocol, e0, e1, traj, rates):  # pragma: no cover - compiled
    """Epochs ``e0 .. e1-1`` of one run, in place on ``w``; fills ``traj[e + 1]`` and ``rates[e]``."""
    stdp = np.zeros((2, 2))
    for e in range(e0, e1):
        stdp[:, :] = 0.0
        n = _epoch(w, b, protocol, stdp)
        rates[e] = n / (2.0 * protocol.epoch_steps)
        _sal_update(w, plastic, stdp, protocol)
        traj[e + 1, 0] = w[0, 1]
        traj[e + 1, 1] = w[1, 0]


@dataclass(frozen=True)
class SpikingSchedule:
    """How long and how fast the spiking SAL protocol learns (``config.SpikingSalConfig.setup()`` builds it)."""

    epoch_steps: int = 1500  # steps of one fresh simulation
    n_epochs: int = 1500
    lr: float = 0.03  # W <- W + lr * stdp / epoch_steps * t_ref
    n_last: int = 10  # remembered spikes per neuron (PSPs and pairing)
    chunk_epochs: int = 50  # epochs per compiled call (progress granularity; results do not depend on it)


SCHEDULE_FIELDS = tuple(f.name for f in dataclasses.fields(SpikingSchedule))


def _checked_arguments(
    setup: SalSetup | None, schedule: SpikingSchedule | None, setting: dict[str, Any]
) -> tuple[SalSetup, SpikingSchedule]:
    """``setup`` and ``schedule`` with the keyword ``setting`` applied (``t_ref`` 25 by default)."""
    schedule_options = {name: setting.pop(name) for name in SCHEDULE_FIELDS if name in setting}
    schedule = dataclasses.replace(schedule or SpikingSchedule(), **schedule_options)
    setup = with_setup(setup, setting if setup is not None or "t_ref" in setting else {"t_ref": 25, **setting})
    if setup.psp != "rect" or setup.window is not None:
        raise UserError("the spiking SAL simulation has the rect PSP and the exponential window only (psp, window)")
    return setup, schedule


def _plastic_entries(frozen: str | list[str], n: int) -> np.ndarray:
    """``(n, 2, 2)`` booleans: the plastic weights of each run (``frozen``: one for all or one per run)."""
    frozen_list = [frozen] * n if isinstance(frozen, str) else list(frozen)
    if len(frozen_list) != n:
        raise UserError(f"frozen needs one entry per run ({n}), got {len(frozen_list)}")
    plastic = np.zeros((n, 2, 2), dtype=np.bool_)
    for k, f in enumerate(frozen_list):
        if f not in ("none", "w_12", "w_21"):
            raise UserError(f"frozen must be one of none, w_12, w_21, got {f!r}")
        plastic[k, 0, 1] = f != "w_12"
        plastic[k, 1, 0] = f != "w_21"
    return plastic


def sal_weight_evolution(
    w_12: float | np.ndarray,
    w_21: float | np.ndarray,
    b_1: float | np.ndarray,
    b_2: float | np.ndarray,
    setup: SalSetup | None = None,
    schedule: SpikingSchedule | None = None,
    *,
    seeds: np.ndarray,
    frozen: str | list[str] = "none",
    progress: Callable[[int], None] | None = None,
    **setting: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """Run the spiking SAL protocol for a batch of runs (one per seed; other arguments broadcast).

    Parameters
    ----------
    w_12, w_21 : initial weights onto neuron 1 from 2 and onto 2 from 1.
    setup : :class:`~spikealign.theory.kernels.SalSetup`: ``t_ref`` (default 25 without a setup),
        ``t_syn`` (the rect PSP covers lags ``1..t_syn-1``) and the exponential window
        (``a_plus``, ``a_minus``, ``tau``); only the rect PSP and the exponential window.
    schedule : :class:`SpikingSchedule` (epochs, learning rate, remembered spikes).
    setting : fields of either as keywords (``t_ref=25, epoch_steps=1500, lr=0.03, ...``),
        replacing those of ``setup`` and ``schedule``.
    frozen : ``"none"``, ``"w_12"`` or ``"w_21"`` (per run or one for all): the weight kept fixed.
    seeds : one integer seed per run (numba's generator is seeded with ``seed % 2**32``).
    progress : called with the number of epochs done after every compiled call of a run.
    chunk_epochs : the most epochs per compiled call; the calls start at one epoch and grow while
        one takes under a second (:func:`spikealign.pieces.pieces`), so that an interrupt is
        answered within seconds however long the epochs are.  The cut changes no number.

    Returns
    -------
    traj : ``(n_runs, n_epochs + 1, 2)`` weights ``(W_12, W_21)`` after each epoch (row 0: initial).
    rates : ``(n_runs, n_epochs)`` mean firing probability per neuron and step in each epoch.
    """
    setup, schedule = _checked_arguments(setup, schedule, setting)
    t_ref, epoch_steps, n_epochs, n_last = setup.t_ref, schedule.epoch_steps, schedule.n_epochs, schedule.n_last
    seeds = (np.atleast_1d(np.asarray(seeds, dtype=np.uint64)) % np.uint64(2**32)).astype(np.int64)
    n = seeds.size
    for name, v in (("w_12", w_12), ("w_21", w_21), ("b_1", b_1), ("b_2", b_2), ("lr", schedule.lr)):
        check_finite(name, v)
    if int(t_ref) < 1 or int(epoch_steps) < 1 or int(n_epochs) < 0 or int(n_last) < 1:
        raise UserError("t_ref, epoch_steps and n_last must be >= 1 and n_epochs >= 0")
    plastic = _plastic_entries(frozen, n)
    w12, w21, b1, b2 = (np.broadcast_to(np.asarray(x, dtype=float), (n,)) for x in (w_12, w_21, b_1, b_2))
    w0 = np.zeros((n, 2, 2))
    w0[:, 0, 1] = w12
    w0[:, 1, 0] = w21
    b = np.stack([b1, b2], axis=1).copy()
    n_epochs = int(n_epochs)
    traj = np.zeros((n, n_epochs + 1, 2))
    rates = np.zeros((n, n_epochs))
    step = max(1, int(schedule.chunk_epochs))
    protocol = Protocol(float(t_ref), setup.t_syn_steps, int(epoch_steps), float(schedule.lr), int(n_last),
                        setup.stdp_window())  # fmt: skip
    for k in range(n):
        _seed(seeds[k])
        w = w0[k].copy()
        traj[k, 0] = w[0, 1], w[1, 0]
        for e0, e1 in pieces(0, n_epochs, most=step):
            _epochs(w, b[k], plastic[k], protocol, e0, e1, traj[k], rates[k])
            if progress is not None:
                progress(e1 - e0)
    return traj, rates
