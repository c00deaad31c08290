r"""The SAL plasticity rule, one definition for every engine (numpy, torch, NEST, Brian2).

Spike-based alignment learning changes the weight :math:`W_{ij}` of the synapse from neuron
:math:`j` (pre) to neuron :math:`i` (post) by the sum, over **all** pairs of a pre spike at
:math:`t_j` and a post spike at :math:`t_i`, of a window :math:`K` of their time difference:

.. math::

    \Delta W_{ij} = \eta \sum_{t_j} \sum_{t_i} K(t_i - t_j), \qquad
    K(x) = \begin{cases} a_+ \, e^{-x/\tau_+} & x > 0 \text{ (causal: post after pre)} \\
                         a_- \, e^{x/\tau_-}  & x < 0 \text{ (anti-causal)} \\
                         0 & x = 0. \end{cases}

The package's defaults are :math:`a_+ = -1, a_- = +1`: causal pairs depress, anti-causal pairs
potentiate (the mirror image of classic STDP). For a reciprocal pair :math:`W_{ij}, W_{ji}` the
stronger direction produces more causal pairs and so depresses more, which removes the
asymmetry :math:`W_{ij} - W_{ji}` while the symmetric part drifts alike in both synapses
(docs/theory.md, "The SAL signal").

Online form (:func:`sal_step`). With a pre trace :math:`x_j` (decay :math:`\tau_+`, +1 per pre
spike) and a post trace :math:`y_i` (decay :math:`\tau_-`, +1 per post spike), one step of
length :math:`\Delta t` with spike indicators :math:`s^{pre}_j, s^{post}_i \in \{0, 1\}` is

.. math::

    x_j &\leftarrow x_j \, e^{-\Delta t/\tau_+}, \qquad y_i \leftarrow y_i \, e^{-\Delta t/\tau_-}
    \qquad \text{(traces decayed to this step)} \\
    \Delta W_{ij} &= \eta \, (a_+ \, s^{post}_i \, x_j + a_- \, y_i \, s^{pre}_j) \\
    x_j &\leftarrow x_j + s^{pre}_j, \qquad y_i \leftarrow y_i + s^{post}_i

Spikes in the same step pair with :math:`K(0) = 0`, so the sum of the steps' ``dW`` over a run
equals :func:`sal_from_spike_trains` of the spike times (multiples of ``dt``) to float rounding:
the traces are that sum carried forward. Times are in one unit throughout (ms by default: the
default time constants are 20 ms); ``dt`` and the ``tau`` must use the same unit.

Everything here is plain array arithmetic, so the same functions run on numpy arrays and torch
tensors (any device), with any leading batch shape.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from .errors import UserError


class SALParams(NamedTuple):
    """Parameters of the SAL window and its learning rate.

    Attributes
    ----------
    a_plus : amplitude of causal pairs (post after pre); default -1 (depress).
    a_minus : amplitude of anti-causal pairs (pre after post); default +1 (potentiate).
    tau_plus : decay time of the causal side (> 0; same unit as ``dt``, ms by default).
    tau_minus : decay time of the anti-causal side (> 0).
    eta : learning rate multiplying every pair's contribution.
    """

    a_plus: float = -1.0
    a_minus: float = 1.0
    tau_plus: float = 20.0
    tau_minus: float = 20.0
    eta: float = 1e-3

    def checked(self) -> SALParams:
        """These parameters, or a :class:`~spikealign.errors.UserError` naming the bad one."""
        for name in ("a_plus", "a_minus", "eta"):
            value = getattr(self, name)
            if not math.isfinite(value):
                raise UserError(f"SAL parameter {name} must be a finite number, got {value!r}")
        for name in ("tau_plus", "tau_minus"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise UserError(f"SAL parameter {name} must be a finite time constant > 0, got {value!r}")
        return self


class SALState(NamedTuple):
    """Traces of one SAL step: ``pre_trace`` (..., n_pre), ``post_trace`` (..., n_post)."""

    pre_trace: Any
    post_trace: Any


def sal_window(dt: Any, params: SALParams = SALParams()) -> Any:
    """``K(dt)`` elementwise (times ``eta``), ``dt = t_post - t_pre``; numpy arrays or torch tensors."""
    params.checked()
    if _is_torch(dt):
        import torch

        causal = params.a_plus * torch.exp(-dt.clamp(min=0) / params.tau_plus)
        anti = params.a_minus * torch.exp(dt.clamp(max=0) / params.tau_minus)
        k = torch.where(dt > 0, causal, torch.where(dt < 0, anti, torch.zeros_like(dt)))
        return params.eta * k
    x = np.asarray(dt, dtype=float)
    window = np.where(
        x > 0,
        params.a_plus * np.exp(-np.clip(x, 0, None) / params.tau_plus),
        np.where(x < 0, params.a_minus * np.exp(np.clip(x, None, 0) / params.tau_minus), 0.0),
    )
    return params.eta * window


def sal_init_state(pre_spikes: Any, post_spikes: Any) -> SALState:
    """Zero traces shaped (and typed, for torch: device and dtype) like one step's spikes."""
    if _is_torch(pre_spikes):
        import torch

        return SALState(
            torch.zeros_like(pre_spikes, dtype=_float_dtype(pre_spikes)),
            torch.zeros_like(post_spikes, dtype=_float_dtype(post_spikes)),
        )
    return SALState(np.zeros(np.shape(pre_spikes)), np.zeros(np.shape(post_spikes)))


def sal_step(
    pre_spikes: Any, post_spikes: Any, state: SALState | None, params: SALParams, dt: float
) -> tuple[Any, SALState]:
    r"""One time step of the SAL rule: the weight change and the new traces.

    .. math::

        \Delta W_{ij} = \eta \, \big(a_+ \, s^{post}_i \, x_j e^{-\Delta t/\tau_+}
        + a_- \, y_i e^{-\Delta t/\tau_-} \, s^{pre}_j\big)

    Parameters
    ----------
    pre_spikes : (..., n_pre) spike indicators (0/1, bool or counts) of the presynaptic neurons
        in this step; numpy array or torch tensor.
    post_spikes : (..., n_post) the same for the postsynaptic neurons (same leading shape).
    state : traces after the previous step, or None to start from zero traces.
    params : :class:`SALParams`.
    dt : step length (same unit as ``params.tau_plus``), > 0.

    Returns
    -------
    dW : (..., n_post, n_pre) weight change, indexed (post, pre) like every weight matrix here.
    state : :class:`SALState` with this step's spikes added.

    Examples
    --------
    >>> import numpy as np
    >>> p = SALParams(tau_plus=10.0, tau_minus=10.0, eta=1.0)
    >>> dw1, s = sal_step(np.array([1.0]), np.array([0.0]), None, p, dt=1.0)   # pre at t=0
    >>> dw2, s = sal_step(np.array([0.0]), np.array([1.0]), s, p, dt=1.0)      # post at t=1
    >>> float(dw2[0, 0]) == -np.exp(-0.1)    # one causal pair, K(1) = a_plus e^{-1/10}
    True
    """
    if not (dt > 0 and math.isfinite(dt)):
        raise UserError(f"sal_step: dt must be a finite step > 0, got {dt!r}")
    if state is None:
        state = sal_init_state(pre_spikes, post_spikes)
    pre = _as_float(pre_spikes, state.pre_trace)
    post = _as_float(post_spikes, state.post_trace)
    # traces decayed to this step (the previous steps' spikes, each weighted by its window)
    pre_trace = state.pre_trace * math.exp(-dt / params.tau_plus)
    post_trace = state.post_trace * math.exp(-dt / params.tau_minus)
    # causal pairs: a post spike now with every earlier pre spike; anti-causal: the reverse
    dw = params.eta * (
        params.a_plus * post[..., :, None] * pre_trace[..., None, :]
        + params.a_minus * post_trace[..., :, None] * pre[..., None, :]
    )
    return dw, SALState(pre_trace + pre, post_trace + post)


def sal_from_spike_trains(pre_times: Any, post_times: Any, params: SALParams = SALParams(), delay: float = 0.0) -> Any:
    r"""The exact total SAL weight change of spike trains: every pre/post pair, not nearest-neighbour.

    .. math::

        \Delta W_{ij} = \eta \sum_{t_j \in \text{pre}_j} \sum_{t_i \in \text{post}_i}
        K\big(t_i - (t_j + d)\big)

    Parameters
    ----------
    pre_times : spike times of one presynaptic neuron (1-D array), or a list of such arrays
        (one per presynaptic neuron).
    post_times : the same for the postsynaptic side.
    params : :class:`SALParams`.
    delay : ``d``, added to every pre spike time: the time at which the synapse sees the pre
        spike relative to the post spike (an engine's synaptic/dendritic delay).

    Pairs closer than ``1e-9 * min(tau_plus, tau_minus)`` count as simultaneous (``K(0) = 0``):
    spike times on a simulation grid, ``k * dt`` in floating point, plus a delay differ by rounding
    where they coincide.

    Returns
    -------
    float for two single trains, else an (n_post, n_pre) array (post, pre).
    """
    params.checked()
    if not math.isfinite(delay):
        raise UserError(f"sal_from_spike_trains: delay must be finite, got {delay!r}")
    single = _is_single_train(pre_times) and _is_single_train(post_times)
    pres = [pre_times] if _is_single_train(pre_times) else list(pre_times)
    posts = [post_times] if _is_single_train(post_times) else list(post_times)
    out = np.zeros((len(posts), len(pres)))
    coincident = 1e-9 * min(params.tau_plus, params.tau_minus)
    for j, pre in enumerate(pres):
        pre = np.asarray(pre, dtype=float).ravel() + delay
        for i, post in enumerate(posts):
            post = np.asarray(post, dtype=float).ravel()
            diff = post[:, None] - pre[None, :]
            # times on a grid (t = k * dt in float) differ by rounding where they coincide: K(0) = 0
            diff[np.abs(diff) <= coincident] = 0.0
            out[i, j] = float(np.sum(sal_window(diff, params)))
    return float(out[0, 0]) if single else out


def asymmetry(weights: Any, mask: Any = None) -> float:
    r"""Relative asymmetry :math:`\mathrm{Var}(W - W^T) / \mathrm{Var}(W)` of a square weight matrix.

    Only entries where both ``W_ij`` and ``W_ji`` exist count (``mask``: bool (N, N), default all
    off-diagonal entries; NaN entries of ``weights`` are treated as absent). 0 for a symmetric
    matrix; NaN if the matrix holds a non-finite weight or has no reciprocal pair.
    """
    w = np.asarray(weights, dtype=float)
    if w.ndim != 2 or w.shape[0] != w.shape[1]:
        raise UserError(f"asymmetry needs a square weight matrix, got shape {w.shape}")
    present = ~np.isnan(w)
    if mask is not None:
        present &= np.asarray(mask, dtype=bool)
    pairs = present & present.T
    np.fill_diagonal(pairs, False)
    if not pairs.any() or not np.all(np.isfinite(w[pairs])):
        return float("nan")
    var_w = float(np.var(w[pairs]))
    diff = (w - w.T)[pairs]
    return float(np.var(diff) / var_w) if var_w > 0 else float("nan")


def transpose_angle_deg(weights: Any, mask: Any = None) -> float:
    r"""Angle in degrees between a square weight matrix and its transpose, over reciprocal pairs.

    .. math::

        \angle(W, W^T) = \arccos \frac{\sum_{ij} W_{ij} W_{ji}}{\sum_{ij} W_{ij}^2}

    (the sums over entries where both ``W_ij`` and ``W_ji`` exist, as in :func:`asymmetry`):
    0 for a symmetric matrix, 180 for an antisymmetric one, about 90 for independent zero-mean weights.
    """
    w = np.asarray(weights, dtype=float)
    if w.ndim != 2 or w.shape[0] != w.shape[1]:
        raise UserError(f"transpose_angle_deg needs a square weight matrix, got shape {w.shape}")
    pairs = ~np.isnan(w) & ~np.isnan(w.T)
    if mask is not None:
        pairs &= np.asarray(mask, dtype=bool) & np.asarray(mask, dtype=bool).T
    np.fill_diagonal(pairs, False)
    norm = float(np.sum(w[pairs] ** 2))
    if not pairs.any() or norm == 0 or not np.isfinite(norm):
        return float("nan")
    cos = float(np.sum(w[pairs] * w.T[pairs])) / norm
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def _is_torch(x: Any) -> bool:
    return type(x).__module__.startswith("torch")


def _float_dtype(x: Any) -> Any:
    return x.dtype if x.is_floating_point() else __import__("torch").get_default_dtype()


def _as_float(spikes: Any, like: Any) -> Any:
    if _is_torch(like):
        return spikes.to(like.dtype)
    return np.asarray(spikes, dtype=float)


def _is_single_train(times: Any) -> bool:
    if isinstance(times, np.ndarray):
        return times.ndim <= 1 and times.dtype != object
    if _is_torch(times):
        return times.dim() <= 1
    return len(times) == 0 or np.isscalar(times[0])
