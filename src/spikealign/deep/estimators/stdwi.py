r"""Spike-timing-dependent weight inference (STDWI; Ahmad et al.); see docs/deep.md, 'STDWI estimator'.

One connection, input population (n_in) -> output population (n_out), forward matrix ``W``
(n_out, n_in) (post, pre); the estimate ``B`` has the same (out, in) orientation.  Units: ms,
step ``dt = 0.25`` ms.

1. Stimulus: Bernoulli spikes with ``p = rate dt`` per step; the time axis is cut into periods of
   ``stim_duration`` (steps ``(s P, (s+1) P]``); in each period only a random ``stim_ratio`` of
   the neurons keep their spikes.
2. PSP filter (difference of exponentials, causal, 0 at lag 0, truncated at ``7 tau_slow``):

   .. math:: \mathrm{psp}(t) = \frac{1}{\tau_s - \tau_f}\sum_{m=0}^{M-1}
             \big(e^{-m\,dt/\tau_s} - e^{-m\,dt/\tau_f}\big)\, s(t-m),\qquad M = 7\tau_s/dt

   computed exactly by two recursive traces that also remove the spike leaving the window.
3. LIF neurons (tau 20 ms, threshold 1, rest 0, reset -1, no refractoriness):
   ``v += dt/tau ((0 - v) + (I(t-1) - v))``; input neurons get ``I = 10 psp(stimulus)``, output
   neurons ``I = (weight_scale W) psp(input spikes)`` (event-driven: only spiking inputs add a
   column of ``W``).
4. Traces of the input spikes, the current step included:
   ``x_f = e^{-dt/10} x_f + s``, ``x_s = e^{-dt/200} x_s + (10/200) s``.
5. For every output neuron ``i`` spiking at step ``t``:

   .. math:: B_{i,:} \leftarrow B_{i,:} + \eta\,\big(x_f(t) - x_s(t) - d\,B_{i,:}\big),
             \quad \eta = 0.02,\ d = 0.1

The reference applies step 5 in 100-ms chunks after simulating the whole run; the rule is a
sequence of per-spike row updates, so the event-driven form here is the same computation.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numba as nb
import numpy as np


class Constants(NamedTuple):
    """The fixed numbers of one STDWI connection (per step of ``dt``)."""

    psp_decay_slow: float  # a_s = e^{-dt / tau_psp_slow}
    psp_decay_fast: float  # a_f = e^{-dt / tau_psp_fast}
    psp_tail_slow: float  # a_s^M: weight of the spike leaving the M-step window
    psp_tail_fast: float  # a_f^M
    dt_over_tau: float  # dt / tau_lif
    stim_scale: float  # input current per unit of stimulus PSP
    psp_norm: float  # 1 / (tau_psp_slow - tau_psp_fast)
    lr: float  # eta of the STDWI rule
    decay_weighting: float  # d of the STDWI rule
    trace_decay_fast: float  # e^{-dt / tau_fast}
    trace_decay_slow: float  # e^{-dt / tau_slow}
    slow_trace_amplitude: float  # tau_fast / tau_slow


class State(NamedTuple):
    """The simulated quantities of one connection, updated in place (``n_in`` / ``n_out`` long; rings (M, n_in))."""

    stim_ring: np.ndarray  # stimulus spikes of the last M steps
    in_ring: np.ndarray  # input spikes of the last M steps
    ps_slow: np.ndarray  # slow and fast stimulus PSP traces
    ps_fast: np.ndarray
    v_in: np.ndarray  # input membrane potentials
    i_in_prev: np.ndarray  # input current of the next step
    y_slow: np.ndarray  # slow and fast weighted input PSP traces, per output neuron
    y_fast: np.ndarray
    v_out: np.ndarray
    i_out_prev: np.ndarray
    xf: np.ndarray  # fast and slow STDWI traces of the input spikes
    xs: np.ndarray
    in_count: np.ndarray
    out_count: np.ndarray


@nb.njit(cache=True, inline="always")
def _lif_step(v, i_prev, dt_tau, t, spk):
    """One LIF step of a population driven by ``i_prev`` (threshold 1, reset -1; none at t = 0); spikes into ``spk``."""
    for j in range(v.shape[0]):
        fire = False
        if t >= 1:
            u = v[j] + dt_tau * ((0.0 - v[j]) + (i_prev[j] - v[j]))
            if u >= 1.0:
                u = -1.0
                fire = True
            v[j] = u
        spk[j] = fire


@nb.njit(cache=True, inline="always")
def _stdwi_row(B, i, xf, xs, lr, decay_weighting):
    """The STDWI update of row ``i`` for one spike of output neuron ``i``."""
    for j in range(B.shape[1]):
        B[i, j] += lr * ((xf[j] - xs[j]) - decay_weighting * B[i, j])


@nb.njit(cache=True, inline="always")
def _stimulus_psp(stim_now, slot, stim_ring, ps_slow, ps_fast, i_in_prev, c):
    r"""Step 2 on the stimulus: ``ps <- a ps + s(t) - a^M s(t - M)`` (slow and fast), then the input current.

    ``I_in(t+1) = stim_scale (ps_slow - ps_fast) / (tau_s - tau_f)``, this step's stimulus included.
    """
    for j in range(stim_ring.shape[1]):
        old = stim_ring[slot, j]
        new = stim_now[j]
        ps_slow[j] = c.psp_decay_slow * ps_slow[j] + new - c.psp_tail_slow * old
        ps_fast[j] = c.psp_decay_fast * ps_fast[j] + new - c.psp_tail_fast * old
        stim_ring[slot, j] = new
        i_in_prev[j] = c.stim_scale * c.psp_norm * (ps_slow[j] - ps_fast[j])


@nb.njit(cache=True, inline="always")
def _input_psp(spk_in, slot, in_ring, wt, y_slow, y_fast, in_count, c):
    """Steps 2-3 on the input spikes: the weighted PSP traces of each output neuron, event-driven.

    ``y <- a y``, then ``y += W^T[j]`` for each input ``j`` spiking now and ``y -= a^M W^T[j]`` for
    each spike leaving the window (slow and fast).
    """
    for i in range(y_slow.shape[0]):
        y_slow[i] *= c.psp_decay_slow
        y_fast[i] *= c.psp_decay_fast
    for j in range(spk_in.shape[0]):
        old = in_ring[slot, j]
        new = spk_in[j]
        if new:
            in_count[j] += 1
            for i in range(y_slow.shape[0]):
                y_slow[i] += wt[j, i]
                y_fast[i] += wt[j, i]
        if old:
            for i in range(y_slow.shape[0]):
                y_slow[i] -= c.psp_tail_slow * wt[j, i]
                y_fast[i] -= c.psp_tail_fast * wt[j, i]
        in_ring[slot, j] = new


@nb.njit(cache=True, inline="always")
def _stdwi_traces(spk_in, xf, xs, c):
    """Step 4: ``x_f <- e^{-dt/tau_f} x_f + s``, ``x_s <- e^{-dt/tau_s} x_s + (tau_f/tau_s) s``, this step included."""
    for j in range(spk_in.shape[0]):
        new = spk_in[j]
        xf[j] = c.trace_decay_fast * xf[j] + (1.0 if new else 0.0)
        xs[j] = c.trace_decay_slow * xs[j] + (c.slow_trace_amplitude if new else 0.0)


@nb.njit(cache=True, inline="always")
def _stdwi_update(B, spk_out, xf, xs, c):
    """Step 5: ``B[i] += eta (x_f - x_s - d B[i])`` for every output neuron ``i`` spiking now."""
    for i in range(spk_out.shape[0]):
        if spk_out[i]:
            _stdwi_row(B, i, xf, xs, c.lr, c.decay_weighting)


@nb.njit(cache=True)
def _stdwi_steps(stim, t0, learn, c, wt, B, state):
    """Advance ``stim.shape[0]`` steps from global step ``t0`` (see the module docstring).

    ``c``: :class:`Constants`; ``wt`` = (scaled W)^T, (n_in, n_out); ``state``: :class:`State`.
    """
    (stim_ring, in_ring, ps_slow, ps_fast, v_in, i_in_prev, y_slow, y_fast, v_out, i_out_prev, xf, xs,
     in_count, out_count) = state  # fmt: skip
    n_in = v_in.shape[0]
    n_out = v_out.shape[0]
    M = stim_ring.shape[0]
    spk_in = np.zeros(n_in, dtype=np.bool_)
    spk_out = np.zeros(n_out, dtype=np.bool_)
    for s in range(stim.shape[0]):
        t = t0 + s
        slot = t % M
        # input LIF driven by the stimulus PSP of step t-1, output LIF by the input PSP of step t-1
        _lif_step(v_in, i_in_prev, c.dt_over_tau, t, spk_in)
        _lif_step(v_out, i_out_prev, c.dt_over_tau, t, spk_out)
        for i in range(n_out):
            if spk_out[i]:
                out_count[i] += 1
        _stimulus_psp(stim[s], slot, stim_ring, ps_slow, ps_fast, i_in_prev, c)
        _input_psp(spk_in, slot, in_ring, wt, y_slow, y_fast, in_count, c)
        _stdwi_traces(spk_in, xf, xs, c)
        for i in range(n_out):
            i_out_prev[i] = c.psp_norm * (y_slow[i] - y_fast[i])
        if learn:
            _stdwi_update(B, spk_out, xf, xs, c)


@nb.njit(cache=True)
def stdwi_from_spikes(
    B, input_spikes, output_spikes, dt=0.25, tau_fast=10.0, tau_slow=200.0, lr=0.02, decay_weighting=0.1
):
    r"""Apply the STDWI rule to recorded spikes; return the updated copy of ``B`` (n_out, n_in).

    ``input_spikes`` (T, n_in) and ``output_spikes`` (T, n_out) are binary (0/1) arrays.  With
    ``x_f(t) = e^{-dt/tau_f} x_f(t-1) + s(t)`` and ``x_s(t) = e^{-dt/tau_s} x_s(t-1) +
    (tau_f/tau_s) s(t)``, every output spike of neuron ``i`` at step ``t`` does
    ``B[i] += lr (x_f(t) - x_s(t) - decay_weighting B[i])``.
    """
    out = B.copy()
    n_in = input_spikes.shape[1]
    xf = np.zeros(n_in)
    xs = np.zeros(n_in)
    dec_f = math.exp(-dt / tau_fast)
    dec_s = math.exp(-dt / tau_slow)
    amp_s = tau_fast / tau_slow
    for t in range(input_spikes.shape[0]):
        for j in range(n_in):
            sj = input_spikes[t, j]
            xf[j] = dec_f * xf[j] + sj
            xs[j] = dec_s * xs[j] + amp_s * sj
        for i in range(output_spikes.shape[1]):
            if output_spikes[t, i] != 0:
                _stdwi_row(out, i, xf, xs, lr, decay_weighting)
    return out


@dataclass(frozen=True)
class STDWIParams:
    """The parameters of one STDWI connection (times in ms; the reference notebook's values by default)."""

    dt: float = 0.25
    stim_rate: float = 0.2  # stimulus spikes per ms of an active input
    stim_ratio: float = 0.2  # fraction of active inputs
    stim_duration: float = 100.0  # ms per stimulus segment
    stim_weight_scale: float = 10.0
    weight_scale: float = 75.0
    tau_fast: float = 10.0
    tau_slow: float = 200.0
    lr: float = 0.02
    decay_weighting: float = 0.1
    tau_lif: float = 20.0
    psp_tau_slow: float = 10.0
    psp_tau_fast: float = 3.0
    weight_normalization: str = "none"

    @classmethod
    def from_settings(cls, s: Mapping[str, Any]) -> STDWIParams:
        """From validated STDWI estimator settings (``*_ms`` and ``*_hz`` names of the settings)."""
        return cls(dt=s["dt_ms"], stim_rate=s["stim_rate_hz"] * 1e-3, stim_ratio=s["stim_ratio"],
                   stim_duration=s["stim_duration_ms"], stim_weight_scale=s["stim_weight_scale"],
                   weight_scale=s["weight_scale"], tau_fast=s["tau_fast"], tau_slow=s["tau_slow"], lr=s["lr"],
                   decay_weighting=s["decay_weighting"], weight_normalization=s["weight_normalization"])  # fmt: skip

    def constants(self, m: int) -> Constants:
        """The kernel's :class:`Constants` for a PSP window of ``m`` steps."""
        dt = float(self.dt)
        a_s, a_f = math.exp(-dt / self.psp_tau_slow), math.exp(-dt / self.psp_tau_fast)
        return Constants(
            a_s, a_f, a_s**m, a_f**m, dt / self.tau_lif, float(self.stim_weight_scale),
            1.0 / (self.psp_tau_slow - self.psp_tau_fast), float(self.lr), float(self.decay_weighting),
            math.exp(-dt / self.tau_fast), math.exp(-dt / self.tau_slow), self.tau_fast / self.tau_slow,
        )  # fmt: skip


class STDWINet:
    """One STDWI connection: stimulus -> input LIF population -> output LIF population.

    Parameters
    ----------
    W : forward matrix (n_out, n_in), (post, pre).
    B : initial estimate (n_out, n_in).
    seed : seed of the stimulus stream.
    weight_normalization (in ``params``) : ``"none"`` (the reference: output current ``weight_scale W psp``) or
        ``"fan_in"`` (``weight_scale W / (std(W) sqrt(n_in))``, which equals the reference's
        scale for its 50x50 U(+-sqrt(3/50)) matrix and keeps the output drive comparable for
        any layer size; used for deep networks).
    params : :class:`STDWIParams`, the reference notebook's values by default (docs/deep.md,
        'STDWI estimator'); its fields may also be given as keywords, replacing those of ``params``.
    """

    def __init__(
        self, W: np.ndarray, B: np.ndarray, seed: int = 0, params: STDWIParams | None = None, **param_options: Any
    ):
        p = dataclasses.replace(params or STDWIParams(), **param_options)
        W = np.asarray(W, dtype=np.float64)
        B = np.asarray(B, dtype=np.float64)
        if W.shape != B.shape or W.ndim != 2:
            raise ValueError(f"W and B must be 2-D of the same shape, got {W.shape} and {B.shape}")
        if p.weight_normalization not in ("none", "fan_in"):
            raise ValueError(f"weight_normalization must be 'none' or 'fan_in', got {p.weight_normalization!r}")
        self.n_out, self.n_in = W.shape
        self.dt = float(p.dt)
        scale = p.weight_scale * math.sqrt(0.2 / p.stim_ratio)
        if p.weight_normalization == "fan_in":
            sd = float(W.std())
            scale = scale / (sd * math.sqrt(self.n_in)) if sd > 0 else 0.0
        self.wt = np.ascontiguousarray((scale * W).T)
        self.B = B.copy()
        self.M = int(7 * p.psp_tau_slow / self.dt)
        self.constants = p.constants(self.M)
        self.p_stim = p.stim_rate * self.dt
        self.n_active = int(p.stim_ratio * self.n_in)
        self.period = int(p.stim_duration / self.dt)
        self.rng = np.random.default_rng(seed)
        self.reset()

    # one zeroed state array per simulated quantity (declarations, not repeated logic)
    def reset(self) -> None:
        n_in, n_out, M = self.n_in, self.n_out, self.M
        self.stim_ring = np.zeros((M, n_in))
        self.in_ring = np.zeros((M, n_in), dtype=np.bool_)
        self.ps_slow = np.zeros(n_in)
        self.ps_fast = np.zeros(n_in)
        self.v_in = np.zeros(n_in)
        self.i_in_prev = np.zeros(n_in)
        self.y_slow = np.zeros(n_out)
        self.y_fast = np.zeros(n_out)
        self.v_out = np.zeros(n_out)
        self.i_out_prev = np.zeros(n_out)
        self.xf = np.zeros(n_in)
        self.xs = np.zeros(n_in)
        self.in_count = np.zeros(n_in)
        self.out_count = np.zeros(n_out)
        self.t = 0
        self.segment = -1
        self.active = np.zeros(0, dtype=np.int64)
        self.period_spikes = np.zeros((self.period, self.n_active), dtype=np.bool_)

    _ARRAYS = (
        "stim_ring", "in_ring", "ps_slow", "ps_fast", "v_in", "i_in_prev", "y_slow", "y_fast",
        "v_out", "i_out_prev", "xf", "xs", "in_count", "out_count", "active", "period_spikes", "B", "wt",
    )  # fmt: skip

    def state_dict(self) -> dict:
        d = {k: getattr(self, k).copy() for k in self._ARRAYS}
        d.update(t=self.t, segment=self.segment, rng=self.rng.bit_generator.state)
        return d

    def load_state_dict(self, d: dict) -> None:
        for k in self._ARRAYS:
            setattr(self, k, np.array(d[k], copy=True))
        self.t, self.segment = int(d["t"]), int(d["segment"])
        self.rng.bit_generator.state = d["rng"]

    def set_weight(self, W: np.ndarray, weight_normalization: str, weight_scale: float, stim_ratio: float) -> None:
        """Replace the forward matrix (e.g. after a training epoch), keeping the spiking state."""
        W = np.asarray(W, dtype=np.float64)
        scale = weight_scale * math.sqrt(0.2 / stim_ratio)
        if weight_normalization == "fan_in":
            sd = float(W.std())
            scale = scale / (sd * math.sqrt(self.n_in)) if sd > 0 else 0.0
        new_wt = np.ascontiguousarray((scale * W).T)
        # keep the weighted PSP sums consistent with the new weights
        self.y_slow = new_wt.T @ self.ps_in_slow()
        self.y_fast = new_wt.T @ self.ps_in_fast()
        self.wt = new_wt

    def ps_in_slow(self) -> np.ndarray:
        return self._ring_trace(self.constants.psp_decay_slow)

    def ps_in_fast(self) -> np.ndarray:
        return self._ring_trace(self.constants.psp_decay_fast)

    def _ring_trace(self, a: float) -> np.ndarray:
        M = self.M
        out = np.zeros(self.n_in)
        for m in range(M):
            slot = (self.t - 1 - m) % M
            out += (a**m) * self.in_ring[slot]
        return out

    def _stimulus(self, steps: int) -> np.ndarray:
        """Stimulus spikes for the next ``steps`` steps (periods ``(sP, (s+1)P]``)."""
        out = np.zeros((steps, self.n_in))
        t = self.t
        for s in range(steps):
            step = t + s
            if step == 0:
                continue
            seg = (step - 1) // self.period
            if seg != self.segment:
                self.segment = seg
                self.active = np.sort(self.rng.choice(self.n_in, size=self.n_active, replace=False))
                # draw the whole period at once
                self.period_spikes = self.rng.random((self.period, self.n_active)) < self.p_stim
            out[s, self.active] = self.period_spikes[(step - 1) % self.period]
        return out

    def run(self, ms: float, learn: bool = True, block_steps: int = 4000) -> None:
        """Simulate ``ms`` milliseconds, updating ``B`` on every output spike when ``learn``."""
        total = round(ms / self.dt)
        done = 0
        while done < total:
            steps = min(block_steps, total - done)
            stim = self._stimulus(steps)
            state = State(*(getattr(self, name) for name in State._fields))
            _stdwi_steps(stim, self.t, learn, self.constants, self.wt, self.B, state)
            self.t += steps
            done += steps

    def rates_hz(self) -> tuple[float, float]:
        """Mean firing rates (Hz) of the input and output populations since the last reset."""
        secs = self.t * self.dt / 1000.0
        if secs == 0:
            return 0.0, 0.0
        return float(self.in_count.mean() / secs), float(self.out_count.mean() / secs)
