r"""Regression-discontinuity (RDD) feedback estimation (Guerguiev et al. 2020); see docs/deep.md, 'RDD estimator'.

A network of leaky integrate-and-fire layers ``0..L-1`` mirrors an FC stack.  Layer ``k`` has a
forward matrix ``W_k`` (n_k, n_{k-1}) for ``k >= 1`` and, for ``k <= L-2``, a top-down feedback
matrix ``F_k`` (n_k, n_{k+1}) (= the FA layer's ``.feedback`` transposed) that RDD estimates.
Time step 1 ms.  Synaptic kernel over the last ``mem = 30`` steps:

.. math:: \kappa(m) = \frac{e^{-m/10} - e^{-m/3}}{10 - 3},\quad m = 1..30

(the most recent spike gets :math:`\kappa(1)`).  Per step, layers in order ``0..L-1``; forward
inputs see the lower layer's spikes of the current step, the apical input ``q`` sees the upper
layer's spikes up to the previous step.  For one layer:

1. ``ending = (w == 1)``; where ``w > 0``: ``max_u = max(max_u, u)``;  2. ``r = max(r-1, 0)``;
3. basal input ``Bas = alpha kappa.drive`` if driven, else ``W~ (kappa.lower)`` (forward
   weights rescaled, ``W~ = 0.2 n_in W / std(W)``), else 0;
4. ``q_j = kappa.upper_j``;
5. ``v += dt(-g_L v + g_D (Bas - v))``, the same for ``u`` (not reset by spikes);
6. windows accumulate ``R += q`` (rows with ``w > 0``), ``R_pre = q`` (rows with ``w == 0``);
7. spike where ``v >= 1`` and ``r == 0``: ``v = -1``, ``r = 3``;
8. driven layers only, rows whose window ends with ``|max_u - 1| <= 10``: the outcome
   ``y_j = R_ij/30 - R_pre_ij`` updates the line above threshold (``a1, c1``; the neuron spiked
   in its window) or below it (``a0, c0``) by one SGD step, ``e = a max_u + c - y``,
   ``a -= eta e max_u``, ``c -= eta e``; then ``beta_ij = (a1 + c1) - (a0 + c0)``;
9. ``w = max(w-1, 0)``; ``u = v`` where ``w == 0``;  10. a window of 30 steps opens where
   ``|1 - u| <= 0.1`` and ``w == 0``;  11. window spike count and resets;  12. history.

Cumulative-sum formulation: ``q`` is the same for every neuron of a layer and every
window lasts exactly 30 steps, so ``R_i`` at the end of a window is the sum of the last 30
values of ``q``: a ring of the last 31 ``q`` vectors per layer replaces the (n x n_upper) matrix
``R`` (summed in time order, so ``y`` is bit-identical to the reference's).  ``R_pre_i`` is
overwritten at every step outside a window, so its value when read is ``q`` of the step the
first of a chain of back-to-back windows opened; it is copied once per such window start.  Per
step the cost is O(n_upper) per layer plus O(n_upper) per starting or ending row, plus the
forward products (event-driven: only lower units that spiked within the kernel contribute).
Checked against the reference's layer code on a 3-layer net: identical voltages and ``beta``
to 1e-18.

Update clock: the reference's deep-net phase updates every 10 s of a clock that restarts with
each phase (``update_clock="phase"``, faithful; with ``rdd_time = 90`` this is the same as a
running clock).  Its Fig. 7 notebook runs 1-s "epochs" with that per-phase clock, so the update
never fires and RDD's ``B`` never changes (docs/deep.md, 'RDD estimator'); ``update_clock="cumulative"`` (our default
for single connections) counts steps over all phases so that RDD learns.

Feedback update (every ``update_interval_s``): entries with ``beta != 0`` are REPLACED by
``beta sigma_B / std(beta != 0)`` where ``sigma_B`` is the std of the first feedback matrix ever
loaded.  Regression parameters and ``beta`` persist across phases; the spiking state is reset
at the start of every phase in the deep-net protocol (faithful).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numba as nb
import numpy as np

MEM = 30
QRING = MEM + 1
DT = 0.001
V_RESET = -1.0
THRESHOLD = 1.0
REFRACTORY = 3
U_WINDOW = 10.0
RDD_WINDOW = 30
INIT_WINDOW = 0.1
ALPHA = 4.0
G_L = 0.1 / DT
G_D = 0.6 / DT
ETA = 0.001
TAU_S = 0.003 / DT
TAU_L = 0.01 / DT


def kappas(mem: int = MEM) -> np.ndarray:
    r""":math:`\kappa(m) = (e^{-m/\tau_L} - e^{-m/\tau_s})/(\tau_L - \tau_s)` for ``m = 1..mem`` (steps)."""
    m = np.arange(1, mem + 1, dtype=np.float64)
    return (np.exp(-m / TAU_L) - np.exp(-m / TAU_S)) / (TAU_L - TAU_S)


@nb.njit(cache=True)
def _kdot(ring, j, kap, slots):
    # kappa-weighted sum over a (MEM, N) ring; slots[m-1] is the slot holding lag m
    acc = 0.0
    for m in range(MEM):
        acc += kap[m] * ring[slots[m], j]
    return acc


class RDDLayout(NamedTuple):
    """Where each layer lives in the flat arrays, and the synaptic kernel (fixed for a net)."""

    offs: np.ndarray  # (L + 1,) start of layer k's units; offs[-1] = number of units
    woffs: np.ndarray  # (L + 1,) start of layer k's forward block (n_{k-1} x n_k, transposed) in wflat
    moffs: np.ndarray  # (L,) start of layer k's (n_k x n_{k+1}) regression block
    kap: np.ndarray  # (MEM,) kappa(1..MEM)


class RDDParams(NamedTuple):
    """Rescaled forward weights and the per-synapse regression parameters (persist across phases)."""

    wflat: np.ndarray
    a1: np.ndarray
    c1: np.ndarray
    a0: np.ndarray
    c0: np.ndarray
    beta: np.ndarray


class RDDState(NamedTuple):
    """The spiking state (reset at the start of a deep-net phase)."""

    v: np.ndarray
    u: np.ndarray
    r: np.ndarray
    w: np.ndarray
    max_u: np.ndarray
    n_spk: np.ndarray
    hist: np.ndarray
    dhist: np.ndarray
    qring: np.ndarray
    rpre: np.ndarray
    spike_count: np.ndarray
    last: np.ndarray
    dlast: np.ndarray


class RDDScratch(NamedTuple):
    """Work arrays of the kernel, allocated once per call of :func:`_rdd_steps`."""

    cur: np.ndarray  # (MEM,) ring slots of lags 1..MEM counting the current step as lag 1
    prev: np.ndarray  # (MEM,) ring slots of lags 1..MEM before the current step
    bas: np.ndarray  # (N,) basal input of the layer being updated (its first n entries)
    y: np.ndarray  # (N,) window outcome shared by the ending rows of the driven layer (first n_upper entries)


@nb.njit(cache=True, inline="always")
def _lag_slots(t, cur, prev):
    """Ring slots (``MEM`` rows) of lags ``m = 1..MEM`` at step ``t``, ``p = t mod MEM``.

    ``cur[m-1] = (p - m + 1) mod MEM`` (the current step is lag 1: forward and drive kernels see
    this step's spikes), ``prev[m-1] = (p - m) mod MEM`` (lag 1 is the previous step: the apical input).
    """
    pos = t % MEM
    for m in range(1, MEM + 1):
        cur[m - 1] = (pos - m + 1) % MEM
        prev[m - 1] = (pos - m) % MEM


@nb.njit(cache=True, inline="always")
def _record_drive(drive_row, t, o, state):
    """Drive history of the driven layer (before the network update).

    ``dhist[t mod MEM, o + i] = d_i``; ``dlast[o + i] = t`` where ``d_i != 0``.
    """
    pos = t % MEM
    for i in range(drive_row.shape[0]):
        state.dhist[pos, o + i] = drive_row[i]
        if drive_row[i] != 0:
            state.dlast[o + i] = t


@nb.njit(cache=True, inline="always")
def _apical_input(t, ou, nu, layout, state, prev):
    r"""Step 4: :math:`q_j = \sum_{m=1}^{MEM} \kappa(m) s_j(t - m)` for upper unit ``j`` (spikes up to ``t - 1``).

    0 when ``j`` has not spiked within ``MEM`` steps; stored in ``qring[t mod QRING, ou + j]``.
    """
    qpos = t % QRING
    for j in range(nu):
        g = ou + j
        state.qring[qpos, g] = _kdot(state.hist, g, layout.kap, prev) if t - state.last[g] <= MEM else 0.0


@nb.njit(cache=True, inline="always")
def _driven_basal(bas, t, o0, n, layout, state, cur):
    r"""Step 3, driven layer: :math:`Bas_i = \alpha \sum_{m=1}^{MEM} \kappa(m) d_i(t - m + 1)`.

    0 for units without drive within the kernel.
    """
    for i in range(n):
        bas[i] = 0.0
        if t - state.dlast[o0 + i] < MEM:
            bas[i] = ALPHA * _kdot(state.dhist, o0 + i, layout.kap, cur)


@nb.njit(cache=True, inline="always")
def _forward_basal(bas, t, k, layout, params, state, cur):
    r"""Step 3, layer ``k >= 1`` not driven: :math:`Bas = \tilde W p`, :math:`p_j = \sum_m \kappa(m) s_j(t - m + 1)`.

    ``p`` runs over the lower layer's units.  Event driven: only lower units that spiked within
    the kernel contribute; ``W~`` is stored transposed (n_{k-1}, n_k), so unit ``j``'s row is
    added times ``p_j`` (in ``j`` order).
    """
    o0 = layout.offs[k]
    n = layout.offs[k + 1] - o0
    ol = layout.offs[k - 1]
    for i in range(n):
        bas[i] = 0.0
    for j in range(o0 - ol):
        if t - state.last[ol + j] >= MEM:
            continue  # no spike within the kernel: p_j = 0
        pj = _kdot(state.hist, ol + j, layout.kap, cur)
        if pj != 0.0:
            base = layout.woffs[k] + j * n
            for i in range(n):
                bas[i] += params.wflat[base + i] * pj


@nb.njit(cache=True, inline="always")
def _track_windows(o0, n, rdd, state):
    """Steps 1-2: ``max_u = max(max_u, u)`` in open windows (``w > 0``), ``r = max(r - 1, 0)``.

    Returns whether a window of the layer ends this step (``w == 1``).
    """
    ending_any = False
    for i in range(n):
        g = o0 + i
        if rdd:
            if state.w[g] > 0 and state.u[g] > state.max_u[g]:
                state.max_u[g] = state.u[g]
            if state.w[g] == 1:
                ending_any = True
        if state.r[g] > 0:
            state.r[g] -= 1
    return ending_any


@nb.njit(cache=True, inline="always")
def _window_outcome(y, t, ou, nu, qring):
    r"""Step 8 (outcome): :math:`y_j = \frac{1}{30} \sum_{b=0}^{29} q_j(t - b)`.

    This is ``R_ij / 30`` of the reference, summed oldest first.
    """
    for j in range(nu):
        acc = 0.0
        for back in range(RDD_WINDOW - 1, -1, -1):
            acc += qring[(t - back) % QRING, ou + j]
        y[j] = acc / RDD_WINDOW


@nb.njit(cache=True, inline="always")
def _membrane(g, bas_i, rdd, state):
    r"""Step 5: :math:`v \mathrel{+}= dt(-g_L v + g_D (Bas - v))`; the same for ``u`` (rows with an upper layer)."""
    v, u = state.v, state.u
    v[g] += DT * (-G_L * v[g] + G_D * (bas_i - v[g]))
    if rdd:
        u[g] += DT * (-G_L * u[g] + G_D * (bas_i - u[g]))


@nb.njit(cache=True, inline="always")
def _spike(g, t, state):
    """Step 7: a spike where ``v >= 1`` and ``r == 0``: ``v = -1``, ``r = 3``; records it in the history; returns it."""
    fire = state.v[g] >= THRESHOLD and state.r[g] == 0
    if fire:
        state.v[g] = V_RESET
        state.r[g] = REFRACTORY
        state.spike_count[g] += 1
        state.last[g] = t
    state.hist[t % MEM, g] = 1 if fire else 0
    return fire


@nb.njit(cache=True, inline="always")
def _sgd_line(a, c, base, y, rpre, mu):
    r"""One SGD step of the line ``a max_u + c`` towards ``y_j - R_{pre,j}``.

    :math:`e = a\,max_u + c - (y_j - R_{pre,j})`, ``a -= eta e max_u``, ``c -= eta e``.
    """
    for j in range(y.shape[0]):
        e = a[base + j] * mu + c[base + j] - (y[j] - rpre[base + j])
        a[base + j] -= ETA * e * mu
        c[base + j] -= ETA * e


@nb.njit(cache=True, inline="always")
def _regression_update(params, base, y, rpre, mu, above):
    r"""Step 8: SGD on the line above threshold (``a1, c1``; the neuron spiked in its window) or below it (``a0, c0``).

    Then :math:`\beta_{ij} = (a_1 \theta + c_1) - (a_0 \theta + c_0)` with :math:`\theta = 1`, for the
    ``y.shape[0]`` synapses starting at ``base``.
    """
    a1, c1, a0, c0, beta = params.a1, params.c1, params.a0, params.c0, params.beta
    if above:
        _sgd_line(a1, c1, base, y, rpre, mu)
    else:
        _sgd_line(a0, c0, base, y, rpre, mu)
    for j in range(y.shape[0]):
        beta[base + j] = a1[base + j] * THRESHOLD + c1[base + j] - (a0[base + j] * THRESHOLD + c0[base + j])


@nb.njit(cache=True, inline="always")
def _advance_window(g, fire, ending, t, base, ou, nu, state):
    """Steps 9-11: ``w = max(w - 1, 0)``; ``u = v`` where ``w == 0``; a window opens where ``|1 - u| <= 0.1``.

    The window lasts 30 steps.  A window opening after a step outside one copies ``R_pre = q(t)``
    (step 6 ran with ``w == 0``); spikes inside a window are counted; an ending window resets the
    count and ``max_u``.
    """
    w, u = state.w, state.u
    w_start = w[g]
    if w[g] > 0:
        w[g] -= 1
    if w[g] == 0:
        u[g] = state.v[g]
    if abs(THRESHOLD - u[g]) <= INIT_WINDOW and w[g] == 0:
        w[g] = RDD_WINDOW
        if w_start == 0:
            qpos = t % QRING
            for j in range(nu):
                state.rpre[base + j] = state.qring[qpos, ou + j]
    if w[g] > 0 and fire:
        state.n_spk[g] += 1
    if ending:
        state.n_spk[g] = 0
        state.max_u[g] = 0.0


@nb.njit(cache=True, inline="always")
def _layer_step(t, k, driven, learn, layout, params, state, scratch):
    """Steps 1-11 of layer ``k`` at step ``t`` (module docstring); ``driven``: this layer gets the drive."""
    offs = layout.offs
    o0 = offs[k]
    n = offs[k + 1] - o0
    rdd = k < offs.shape[0] - 2
    ou = offs[k + 1]
    nu = offs[k + 2] - ou if rdd else 0
    if rdd:
        _apical_input(t, ou, nu, layout, state, scratch.prev)
    bas = scratch.bas
    if driven:
        _driven_basal(bas, t, o0, n, layout, state, scratch.cur)
    elif k >= 1:
        _forward_basal(bas, t, k, layout, params, state, scratch.cur)
    else:
        for i in range(n):
            bas[i] = 0.0
    ending_any = _track_windows(o0, n, rdd, state)
    regress = rdd and driven and learn and ending_any
    y = scratch.y[:nu]
    if regress:
        _window_outcome(y, t, ou, nu, state.qring)
    for i in range(n):
        g = o0 + i
        ending = rdd and state.w[g] == 1
        _membrane(g, bas[i], rdd, state)
        fire = _spike(g, t, state)
        if not rdd:
            continue
        base = layout.moffs[k] + i * nu
        if ending and regress and abs(state.max_u[g] - THRESHOLD) <= U_WINDOW:
            _regression_update(params, base, y, state.rpre, state.max_u[g], state.n_spk[g] >= 1)
        _advance_window(g, fire, ending, t, base, ou, nu, state)


# no allocation inside, so no reference counting (_nrt=False): the named steps pass whole state tuples
# around, which with counting would cost an atomic increment and decrement per array and step
@nb.njit(cache=True, nogil=True, _nrt=False)  # type: ignore[call-overload]  # numba's stubs omit _nrt
def _rdd_loop(n_steps, t0, driven, drive, layout, params, state, learn, scratch):
    """The time loop of :func:`_rdd_steps` over preallocated ``scratch``."""
    n_layers = layout.offs.shape[0] - 1
    for s in range(n_steps):
        t = t0 + s
        _lag_slots(t, scratch.cur, scratch.prev)
        if driven >= 0:
            _record_drive(drive[s], t, layout.offs[driven], state)
        for k in range(n_layers):
            _layer_step(t, k, driven == k, learn, layout, params, state, scratch)


@nb.njit(cache=True)
def _rdd_steps(n_steps, t0, driven, drive, layout, params, state, learn):
    """Advance ``n_steps`` steps from global step ``t0``; layer ``driven`` gets ``drive[s, :]``."""
    n_units = layout.offs[-1]
    scratch = RDDScratch(
        np.empty(MEM, dtype=np.int64), np.empty(MEM, dtype=np.int64), np.zeros(n_units), np.zeros(n_units)
    )
    _rdd_loop(n_steps, t0, driven, drive, layout, params, state, learn, scratch)


class RDDNet:
    """RDD network mirroring an FC stack (docs/deep.md, 'RDD estimator').

    Parameters
    ----------
    sizes : layer sizes ``[n_0, ..., n_{L-1}]``.
    seed : seed of the drive's random stream (unit choice and Poisson counts).
    stim_ratio, input_rate : fraction of driven units and their Poisson count per step.
    resample_steps : the driven subset is redrawn when ``(i + 1) % resample_steps == 0``, with
        ``i`` the step within the phase.
    update_interval_s : the feedback update period (seconds of the update clock).
    update_clock : ``"phase"`` (the reference: the clock restarts with each call to
        :meth:`run_phase`) or ``"cumulative"`` (a clock that runs over all phases).
    """

    # a constructor signature like STDWINet's (rate, ratio and timing keywords), but of a different model
    def __init__(
        self,
        sizes: Sequence[int],
        seed: int = 0,
        stim_ratio: float = 0.2,
        input_rate: float = 0.2,
        resample_steps: int = 100,
        update_interval_s: float = 10.0,
        update_clock: str = "phase",
    ):
        self.sizes = [int(n) for n in sizes]
        if len(self.sizes) < 2:
            raise ValueError("RDDNet needs at least two layers")
        if update_clock not in ("phase", "cumulative"):
            raise ValueError(f"update_clock must be 'phase' or 'cumulative', got {update_clock!r}")
        self.L = len(self.sizes)
        self.offs = np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.int64)
        self.N = int(self.offs[-1])
        woffs = [0, 0]
        for k in range(1, self.L):
            woffs.append(woffs[-1] + self.sizes[k] * self.sizes[k - 1])
        self.woffs = np.array(woffs, dtype=np.int64)  # start of layer k's block (k >= 1); last = total
        moffs = [0]
        for k in range(self.L - 1):
            moffs.append(moffs[-1] + self.sizes[k] * self.sizes[k + 1])
        self.moffs = np.array(moffs, dtype=np.int64)
        self.M = int(moffs[-1])
        self.kap = kappas()
        self.rng = np.random.default_rng(seed)
        self.stim_ratio = float(stim_ratio)
        self.input_rate = float(input_rate)
        self.resample_steps = int(resample_steps)
        self.update_steps = round(update_interval_s / DT)
        self.update_clock = update_clock
        self.wflat = np.zeros(int(self.woffs[-1]), dtype=np.float64)
        self.w_orig: list[np.ndarray | None] = [None] * self.L
        self.fb = np.zeros(self.M)
        self.fb_std: list[float | None] = [None] * (self.L - 1)
        self.a1 = np.zeros(self.M)
        self.c1 = np.zeros(self.M)
        self.a0 = np.zeros(self.M)
        self.c0 = np.zeros(self.M)
        self.beta = np.zeros(self.M)
        self.rpre = np.zeros(self.M)
        self.total_steps = 0
        self.reset()

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        """Reset voltages, windows and histories (not the regression parameters, beta or sigma_B)."""
        N = self.N
        self.v = np.full(N, V_RESET)
        self.u = np.full(N, V_RESET)
        self.r = np.zeros(N, dtype=np.int64)
        self.w = np.zeros(N, dtype=np.int64)
        self.max_u = np.zeros(N)
        self.n_spk = np.zeros(N, dtype=np.int64)
        self.hist = np.zeros((MEM, N), dtype=np.int8)
        self.dhist = np.zeros((MEM, N), dtype=np.int64)
        self.qring = np.zeros((QRING, N))
        self.rpre = np.zeros(self.M)
        self.t = 0
        self.spike_count = np.zeros(N)
        self.last = np.full(N, -(1 << 40), dtype=np.int64)  # step of the last spike
        self.dlast = np.full(N, -(1 << 40), dtype=np.int64)  # step of the last nonzero drive

    def layout(self) -> RDDLayout:
        """The kernel's view of the layer layout."""
        return RDDLayout(self.offs, self.woffs, self.moffs, self.kap)

    def params(self) -> RDDParams:
        """The kernel's view of the weights and regression parameters (the arrays themselves, not copies)."""
        return RDDParams(self.wflat, self.a1, self.c1, self.a0, self.c0, self.beta)

    def spiking_state(self) -> RDDState:
        """The kernel's view of the spiking state (the arrays themselves, not copies)."""
        return RDDState(*(getattr(self, name) for name in RDDState._fields))

    _STATE = ("v", "u", "r", "w", "max_u", "n_spk", "hist", "dhist", "qring", "rpre", "spike_count", "last", "dlast")
    _PARAMS = ("wflat", "fb", "a1", "c1", "a0", "c0", "beta")

    def state_dict(self) -> dict:
        d = {k: getattr(self, k).copy() for k in self._STATE + self._PARAMS}
        d.update(
            sizes=list(self.sizes),
            t=self.t,
            total_steps=self.total_steps,
            fb_std=list(self.fb_std),
            w_orig=[None if x is None else x.copy() for x in self.w_orig],
            rng=self.rng.bit_generator.state,
        )
        return d

    def load_state_dict(self, d: dict) -> None:
        if list(d["sizes"]) != self.sizes:
            raise ValueError(f"RDD state for sizes {d['sizes']} cannot be loaded into a net of sizes {self.sizes}")
        for k in self._STATE + self._PARAMS:
            setattr(self, k, np.array(d[k], copy=True))
        self.t = int(d["t"])
        self.total_steps = int(d["total_steps"])
        self.fb_std = list(d["fb_std"])
        self.w_orig = list(d["w_orig"])
        self.rng.bit_generator.state = d["rng"]

    # ------------------------------------------------------------------ weights
    def set_weight(self, k: int, weight: np.ndarray) -> None:
        """Forward matrix of layer ``k >= 1`` (n_k, n_{k-1}); stored as ``0.2 n_in W / std(W)``."""
        wt = np.asarray(weight, dtype=np.float64)
        if wt.shape != (self.sizes[k], self.sizes[k - 1]):
            raise ValueError(f"weight of layer {k} must have shape {(self.sizes[k], self.sizes[k - 1])}")
        self.w_orig[k] = wt.copy()
        sd = float(np.std(wt))
        scaled = 0.2 * self.sizes[k - 1] * wt / sd if sd > 0 else wt * 0.0
        self.wflat[self.woffs[k] : self.woffs[k] + wt.size] = scaled.T.ravel()  # stored (pre, post)

    def set_feedback(self, k: int, fb: np.ndarray) -> None:
        """Top-down matrix of layer ``k`` (n_k, n_{k+1}); the first call fixes ``sigma_B``."""
        f = np.asarray(fb, dtype=np.float64)
        if f.shape != (self.sizes[k], self.sizes[k + 1]):
            raise ValueError(f"feedback of layer {k} must have shape {(self.sizes[k], self.sizes[k + 1])}")
        self.fb[self.moffs[k] : self.moffs[k + 1]] = f.ravel()
        if self.fb_std[k] is None:
            self.fb_std[k] = float(np.std(f))

    def feedback(self, k: int) -> np.ndarray:
        """Current top-down matrix of layer ``k`` (n_k, n_{k+1})."""
        return self.fb[self.moffs[k] : self.moffs[k + 1]].reshape(self.sizes[k], self.sizes[k + 1]).copy()

    def beta_matrix(self, k: int) -> np.ndarray:
        return self.beta[self.moffs[k] : self.moffs[k + 1]].reshape(self.sizes[k], self.sizes[k + 1]).copy()

    def update_feedback(self) -> None:
        r"""``F_k[beta != 0] = beta sigma_B / std(beta[beta != 0])`` for every RDD layer."""
        for k in range(self.L - 1):
            sl = slice(int(self.moffs[k]), int(self.moffs[k + 1]))
            b = self.beta[sl]
            mask = b != 0
            if mask.any():
                sd = float(np.std(b[mask]))
                if sd > 0 and self.fb_std[k] is not None:
                    f = self.fb[sl]
                    f[mask] = b[mask] * self.fb_std[k] / sd

    # ------------------------------------------------------------------ simulation
    def _draw_subset(self, n: int) -> np.ndarray:
        return self.rng.choice(n, size=int(self.stim_ratio * n), replace=False)

    def run_phase(self, seconds: float, parts: Sequence[int] | None = None, learn: bool = True) -> None:
        """Simulate one phase of ``seconds`` (docs/deep.md, 'RDD estimator').

        The phase is cut into equal parts; part ``p`` drives layer ``parts[p]`` (default: layers
        ``0..L-2`` in order, one third each for the 4-layer net) with Poisson input on a random
        ``stim_ratio`` of its units, redrawn every ``resample_steps`` steps; layers below the
        driven one are silent.  The feedback is updated every ``update_interval_s`` of the
        update clock.  State continues from the previous call (call :meth:`reset` to restart).
        """
        total = round(seconds / DT)
        parts = list(range(self.L - 1)) if parts is None else list(parts)
        n_parts = len(parts)
        R = self.resample_steps
        driven = parts[0]
        idx = self._draw_subset(self.sizes[driven])
        i = 0
        while i < total:
            part = min(n_parts - 1, (i * n_parts) // total)
            if parts[part] != driven:
                driven = parts[part]
                idx = self._draw_subset(self.sizes[driven])
            if (i + 1) % R == 0:
                idx = self._draw_subset(self.sizes[driven])
            end = min(total, ((i + 1) // R + 1) * R - 1)
            if part < n_parts - 1:
                end = min(end, -(-((part + 1) * total) // n_parts))
            clock = i if self.update_clock == "phase" else self.total_steps
            end = min(end, i + self.update_steps - (clock % self.update_steps))
            steps = end - i
            drive = np.zeros((steps, self.sizes[driven]), dtype=np.int64)
            drive[:, idx] = self.rng.poisson(self.input_rate, size=(steps, idx.size))
            _rdd_steps(steps, self.t, driven, drive, self.layout(), self.params(), self.spiking_state(), learn)
            self.t += steps
            self.total_steps += steps
            i = end
            clock = i if self.update_clock == "phase" else self.total_steps
            if clock % self.update_steps == 0:
                self.update_feedback()

    def rates_hz(self) -> list[float]:
        """Mean firing rate (Hz) of each layer since the last reset."""
        if self.t == 0:
            return [0.0] * self.L
        return [float(self.spike_count[self.offs[k] : self.offs[k + 1]].mean() / (self.t * DT)) for k in range(self.L)]
