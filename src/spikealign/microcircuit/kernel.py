"""Compiled step loop of the spiking dendritic microcircuit (one pattern per call).

The kernel follows the step order of the reference implementation exactly (docs/microcircuits.md,
"Step order"), so that with the same uniforms it gives the same floats:

1. spikes (:func:`_spikes`), populations in the order input, hidden pyramidal, interneuron,
   output, from the escape-noise neuron on the previous step's potential;
2. potentials from rectangular PSPs (:func:`_potentials`: ``u_h = (b1 + W10 x_in) + lambda_api
   (B x_out + W_pi x_inn)``, ``u_o`` nudged toward the target), then the 2000-step moving
   averages (:func:`_moving_averages`; the reference also averages ``u_in`` and ``u_tgt`` but
   never reads them; they are not kept);
3. forward plasticity and the BP and self-predicting copies (:func:`_forward_plasticity`);
4. SAL STDP on B, symmetrisation patterns only (:func:`_sal_update_feedback`);
5. recording: running sums, stored as float32 means every ``compress_len`` steps
   (:func:`_record`, :func:`_store_sample`);
6. ``t += 1`` and the post-lag output accumulators (:func:`_accumulate_outputs`).

Each step's docstring gives its equation.  All weight matrices are indexed (post, pre).
Integer-valued spike times are kept as float64 with ``-inf`` for "never fired", as in the reference.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from ..spiking.neuron import spike_probability


class Params(NamedTuple):
    """Constants of one network, read-only in the kernel (time in steps)."""

    log_tref: float  # ln t_ref, the offset of the spike probability
    tau_syn: float  # length of the rectangular PSP
    t_ref: float  # absolute refractory time
    lambda_api: float  # apical coupling of the hidden pyramidal neurons (1 during symmetrisation)
    lambda_nudge: float  # nudging strength of the output neurons
    lr_w10: float  # eta of W10
    lr_w21: float  # eta of W21
    lr_b: float  # eta of B (SAL STDP)
    a_causal: float  # STDP amplitude, post (hidden) after pre (output)
    tau_causal: float
    a_anticausal: float  # STDP amplitude, pre (output) after post (hidden)
    tau_anticausal: float
    ma_size: int  # length of the moving averages
    record_len: int  # steps averaged into one recorded sample
    learning_lag: int  # steps of a pattern before forward plasticity and output averaging start


class Pattern(NamedTuple):
    """What one call simulates: the clamped input, the target and the phase flags."""

    u_in: np.ndarray  # (N0,) input potentials
    u_tgt: np.ndarray  # (N2,) target potentials (zeros without a target)
    has_target: bool
    plastic_up: bool  # not validation, a target exists, not symmetrisation (the lag is checked per step)
    symmetrization: bool  # SAL STDP on every step (acts only with update_down)
    update_down: bool  # False: BP mode, B <- W21^T on every forward-plastic step
    set_sps: bool  # copy the self-predicting state W_ip <- W21, W_pi <- -B on forward-plastic steps
    validation: bool
    rand: np.ndarray  # uniforms, (N0 + N1 + 2 N2) per step: input, hidden, interneuron, output
    n_steps: int


class Spikes(NamedTuple):
    """Last ``n_last_spks`` spike times per neuron, oldest first; ``-inf``: never fired."""

    inp: np.ndarray
    hidden: np.ndarray
    inter: np.ndarray
    out: np.ndarray


class Potentials(NamedTuple):
    u_in: np.ndarray
    u_h: np.ndarray
    v_bas_h: np.ndarray
    v_api: np.ndarray
    u_inn: np.ndarray
    u_o: np.ndarray
    v_bas_o: np.ndarray
    v_nudge: np.ndarray
    u_tgt: np.ndarray


class Averages(NamedTuple):
    """Moving averages ``ma_*`` and their ring buffers ``st_*`` (ma_size, n)."""

    ma_uh: np.ndarray
    ma_vbh: np.ndarray
    ma_vbo: np.ndarray
    ma_uo: np.ndarray
    st_uh: np.ndarray
    st_vbh: np.ndarray
    st_vbo: np.ndarray
    st_uo: np.ndarray


class Weights(NamedTuple):
    """Weight matrices indexed (post, pre) and biases."""

    w10: np.ndarray
    b: np.ndarray
    w_pi: np.ndarray
    w_ip: np.ndarray
    w21: np.ndarray
    b1: np.ndarray
    b_inn: np.ndarray
    b2: np.ndarray


class Recording(NamedTuple):
    buf: np.ndarray  # running sums of the current sample (flat, see ``record_layout``)
    data: np.ndarray  # (samples, flat) float32 means


class Outputs(NamedTuple):
    """Per-pattern results: spike counts per population and post-lag sums of the output potentials."""

    cnt_in: np.ndarray
    cnt_h: np.ndarray
    cnt_inn: np.ndarray
    cnt_out: np.ndarray
    acc_out: np.ndarray  # sum of u_o
    acc_free: np.ndarray  # sum of b2 + W21 x_h


class Scratch(NamedTuple):
    """Work arrays: PSPs, the STDP matrix and the per-population caches of ``p(u)`` (see :func:`_draw`)."""

    x_in: np.ndarray
    x_h: np.ndarray
    x_inn: np.ndarray
    x_out: np.ndarray
    stdp: np.ndarray
    p_cache: tuple[np.ndarray, ...]  # last potential, its probability; per population (input, hidden, inter, output)

    @classmethod
    def for_dims(cls, dims: tuple[int, int, int]) -> Scratch:
        """Work arrays of a network with ``dims = (N0, N1, N2)``; the caches start empty (NaN)."""
        n0, n1, n2 = dims
        cache = tuple(
            np.full(n, np.nan) if q % 2 == 0 else np.zeros(n) for q, n in enumerate((n0, n0, n1, n1, n2, n2, n2, n2))
        )
        return cls(np.zeros(n0), np.zeros(n1), np.zeros(n2), np.zeros(n2), np.zeros((n1, n2)), cache)


#: integer counters carried from pattern to pattern (one record)
CLOCK = np.dtype(
    [("t", np.int64), ("ma_count", np.int64), ("ma_idx", np.int64), ("rec_count", np.int64), ("rec_pos", np.int64)]
)

# order of the recorded quantities in the flat recording buffer (see ``record_layout``)
RECORDED = (
    "u_in",
    "u_pyr_hidden",
    "v_bas_hidden",
    "v_api",
    "u_inn",
    "w10",
    "b",
    "w_pi",
    "w_ip",
    "u_pyr_out",
    "v_bas_out",
    "v_nudge",
    "u_tgt",
    "w21",
    "validation",
    "symmetrization",
)


def record_layout(dims: tuple[int, int, int]) -> dict[str, tuple[int, tuple[int, ...]]]:
    """Offset and shape of every recorded quantity in the flat recording buffer."""
    n0, n1, n2 = dims
    shapes = {
        "u_in": (n0,),
        "u_pyr_hidden": (n1,),
        "v_bas_hidden": (n1,),
        "v_api": (n1,),
        "u_inn": (n2,),
        "w10": (n1, n0),
        "b": (n1, n2),
        "w_pi": (n1, n2),
        "w_ip": (n2, n1),
        "u_pyr_out": (n2,),
        "v_bas_out": (n2,),
        "v_nudge": (n2,),
        "u_tgt": (n2,),
        "w21": (n2, n1),
        "validation": (1,),
        "symmetrization": (1,),
    }
    out, off = {}, 0
    for name in RECORDED:
        out[name] = (off, shapes[name])
        off += int(np.prod(shapes[name]))
    return out


@njit(cache=True, inline="always")
def _draw(u, last, counts, rand, r, ft, t_ref, log_tref, cache_u, cache_p):
    """Escape-noise spikes with absolute refractoriness for one population; returns next rand index.

    ``p(u)`` is cached per neuron (``cache_u``/``cache_p``) and recomputed only when ``u``
    changed; the refractory test comes first only to skip work.  Both are exact: the outcome
    is the reference's ``xi < p(u) and last <= t - t_ref``.
    """
    n, k_last = last.shape
    for i in range(n):
        if last[i, k_last - 1] <= ft - t_ref:
            ui = u[i]
            if ui != cache_u[i]:
                cache_u[i] = ui
                cache_p[i] = spike_probability(ui, log_tref)  # the reference's float expression
            if not rand[r + i] < cache_p[i]:
                continue
            for k in range(k_last - 1):
                last[i, k] = last[i, k + 1]
            last[i, k_last - 1] = ft
            counts[i] += 1
    return r + n


@njit(cache=True, inline="always")
def _psp(last, ft, tau_syn, x):
    """Rectangular PSP indicator x_j = sum_k [0 <= t - t_j^k < tau_syn]."""
    n, k_last = last.shape
    for j in range(n):
        s = 0.0
        for k in range(k_last):
            d = ft - last[j, k]
            if d >= 0.0 and d < tau_syn:
                s += 1.0
        x[j] = s


@njit(cache=True, inline="always")
def _dot_row(w, i, x):
    s = w[i, 0] * x[0]
    for j in range(1, x.shape[0]):
        s += w[i, j] * x[j]
    return s


@njit(cache=True, inline="always")
def _average_in(ma, st, i, x, filling, idx, n):
    """Moving average ``ma[i]`` over the ring buffer ``st[:, i]``: add ``x`` at slot ``idx`` (``n`` values averaged)."""
    if filling:
        ma[i] += (x - ma[i]) / n
    else:
        ma[i] += (x - st[idx, i]) / n
    st[idx, i] = x


@njit(cache=True, inline="always")
def _forward_update(w, last_pre, prev, ma_u, ma_vb, bias, lr, log_tref):
    """``w[i, j] += lr (p(<u_i>) - p(<v_bas_i> + b_i))`` for every presynaptic ``j`` that spiked at ``prev``."""
    n_post, n_pre = w.shape
    k_last = last_pre.shape[1]
    for i in range(n_post):
        delta = 0.0
        computed = False
        for j in range(n_pre):
            if last_pre[j, k_last - 1] == prev:
                if not computed:
                    delta = spike_probability(ma_u[i], log_tref) - spike_probability(ma_vb[i] + bias[i], log_tref)
                    computed = True
                w[i, j] += lr * delta


@njit(cache=True, inline="always")
def _fired(last, ft):
    """Whether any neuron of the population spiked at time ``ft``."""
    k_last = last.shape[1]
    for i in range(last.shape[0]):
        if last[i, k_last - 1] == ft:
            return True
    return False


@njit(cache=True, inline="always")
def _window_sum(last, j, ft, a, tau):
    """STDP window summed over the remembered spikes of neuron ``j``.

    ``sum_q a [d > 0] exp(-d / tau)`` with ``d = t - t_j^q`` (the float expression of the reference).
    """
    s = 0.0
    for q in range(last.shape[1]):
        d = ft - last[j, q]
        h = 1.0 if d > 0.0 else 0.0
        s += a * h * np.exp(-d / tau)
    return s


@njit(cache=True, inline="always")
def _add_vector(buf, o, x):
    """``buf[o:o + len(x)] += x``; returns the next offset."""
    for j in range(x.shape[0]):
        buf[o] += x[j]
        o += 1
    return o


@njit(cache=True, inline="always")
def _add_matrix(buf, o, m):
    """``buf[o:o + m.size] += m`` in row-major order; returns the next offset."""
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            buf[o] += m[i, j]
            o += 1
    return o


@njit(cache=True, inline="always")
def _spikes(ft, r, rand, par, spk, pot, out, p_cache):
    """Step 1: escape-noise spikes of input, hidden, interneuron and output populations, in this order.

    Neuron ``i`` spikes at ``t`` iff ``xi < p(u_i)`` and ``last_i <= t - t_ref``, with
    ``p(u) = 1 / (1 + exp(-(u - ln t_ref)))`` on the previous step's potential
    (:func:`spikealign.spiking.neuron.spike_probability`); ``p_cache`` holds, per population, the
    last potential and its probability.  Returns the index of the next unused uniform.
    """
    t_ref, log_tref = par.t_ref, par.log_tref
    r = _draw(pot.u_in, spk.inp, out.cnt_in, rand, r, ft, t_ref, log_tref, p_cache[0], p_cache[1])
    r = _draw(pot.u_h, spk.hidden, out.cnt_h, rand, r, ft, t_ref, log_tref, p_cache[2], p_cache[3])
    r = _draw(pot.u_inn, spk.inter, out.cnt_inn, rand, r, ft, t_ref, log_tref, p_cache[4], p_cache[5])
    r = _draw(pot.u_o, spk.out, out.cnt_out, rand, r, ft, t_ref, log_tref, p_cache[6], p_cache[7])
    return r


@njit(cache=True, inline="always")
def _potentials(ft, par, pat, ma_vbo, spk, pot, w, scr):
    """Step 2: PSPs ``x_j = sum_k [0 <= t - t_j^k < tau_syn]`` and the potentials (``W`` indexed (post, pre))::

        v_bas   = W10 x_in
        v_api   = B x_out + W_pi x_inn
        u_h     = (b1 + v_bas) + lambda_api v_api
        u_inn   = b_I + W_ip x_h
        v_bas_o = W21 x_h
        v_nudge = (u_tgt - <v_bas_o>) - b2           (only with a target)
        u_o     = (b2 + v_bas_o) + lambda_nudge v_nudge

    ``<v_bas_o>`` (``ma_vbo``) is the moving average before this step's update.
    """
    u_in, u_h, v_bas_h, v_api, u_inn, u_o, v_bas_o, v_nudge, u_tgt = pot
    w10, b, w_pi, w_ip, w21, b1, b_inn, b2 = w
    x_in, x_h, x_inn, x_out = scr.x_in, scr.x_h, scr.x_inn, scr.x_out
    u_pat, tgt = pat.u_in, pat.u_tgt
    tau_syn, lam_api, lam_nudge = par.tau_syn, par.lambda_api, par.lambda_nudge
    for j in range(u_in.shape[0]):
        u_in[j] = u_pat[j]
    _psp(spk.inp, ft, tau_syn, x_in)
    _psp(spk.out, ft, tau_syn, x_out)
    _psp(spk.inter, ft, tau_syn, x_inn)
    for i in range(u_h.shape[0]):
        v_bas_h[i] = _dot_row(w10, i, x_in)
        v_api[i] = _dot_row(b, i, x_out) + _dot_row(w_pi, i, x_inn)
        u_h[i] = (b1[i] + v_bas_h[i]) + lam_api * v_api[i]
    _psp(spk.hidden, ft, tau_syn, x_h)
    for k in range(u_o.shape[0]):
        u_inn[k] = b_inn[k] + _dot_row(w_ip, k, x_h)
    for k in range(u_o.shape[0]):
        v_bas_o[k] = _dot_row(w21, k, x_h)
        if pat.has_target:
            v_nudge[k] = (tgt[k] - ma_vbo[k]) - b2[k]
            u_o[k] = (b2[k] + v_bas_o[k]) + lam_nudge * v_nudge[k]
            u_tgt[k] = tgt[k]
        else:
            u_o[k] = b2[k] + v_bas_o[k]
            u_tgt[k] = 0.0


@njit(cache=True, inline="always")
def _moving_averages(pot, avg, filling, idx, n):
    """Step 2b: ``<x> += (x - x_old) / n`` over a ring buffer of ``ma_size`` steps, for u_h, v_bas_h, v_bas_o, u_o."""
    ma_uh, ma_vbh, ma_vbo, ma_uo, st_uh, st_vbh, st_vbo, st_uo = avg
    u_h, v_bas_h, v_bas_o, u_o = pot.u_h, pot.v_bas_h, pot.v_bas_o, pot.u_o
    for i in range(u_h.shape[0]):
        _average_in(ma_uh, st_uh, i, u_h[i], filling, idx, n)
        _average_in(ma_vbh, st_vbh, i, v_bas_h[i], filling, idx, n)
    for k in range(u_o.shape[0]):
        _average_in(ma_vbo, st_vbo, k, v_bas_o[k], filling, idx, n)
        _average_in(ma_uo, st_uo, k, u_o[k], filling, idx, n)


@njit(cache=True, inline="always")
def _forward_plasticity(ft, par, pat, spk, avg, w):
    """Step 3: ``W += eta_up (p(<u>) - p(<v_bas> + b)) s_pre(t - 1)`` for W10 and W21, then the copies.

    In BP mode (no ``update_down``) ``B <- W21^T``; with ``set_sps`` the self-predicting state
    ``W_ip <- W21, W_pi <- -B``.
    """
    w10, b, w_pi, w_ip, w21, b1, _, b2 = w
    prev = ft - 1.0
    _forward_update(w10, spk.inp, prev, avg.ma_uh, avg.ma_vbh, b1, par.lr_w10, par.log_tref)
    _forward_update(w21, spk.hidden, prev, avg.ma_uo, avg.ma_vbo, b2, par.lr_w21, par.log_tref)
    n1, n2 = b.shape
    if not pat.update_down:
        for i in range(n1):
            for k in range(n2):
                b[i, k] = w21[k, i]
    if pat.set_sps:
        for i in range(n1):
            for k in range(n2):
                w_ip[k, i] = w21[k, i]
                w_pi[i, k] = -b[i, k]


@njit(cache=True, inline="always")
def _sal_update_feedback(ft, par, spk, b, stdp):
    """Step 4, SAL on the feedback ``B`` (post = hidden ``i``, pre = output ``k``), on steps with a spike.

    ``stdp[i, k] = sum_q a_c [d > 0] e^{-d / tau_c} / K`` (``d = t - t_k^q`` over the ``K``
    remembered output spikes) when hidden ``i`` spiked now, ``sum_q a_ac [d > 0] e^{-d / tau_ac} / K``
    (``d = t - t_i^q``) when output ``k`` spiked now (this one wins when both did), else 0;
    then ``B += eta_down stdp``.
    """
    last_h, last_out = spk.hidden, spk.out
    if not (_fired(last_h, ft) or _fired(last_out, ft)):
        return
    n1, n2 = b.shape
    k_last = last_h.shape[1]
    inv_k = float(k_last)
    for i in range(n1):
        for k in range(n2):
            stdp[i, k] = 0.0
    for i in range(n1):
        if last_h[i, k_last - 1] == ft:
            for k in range(n2):
                stdp[i, k] = _window_sum(last_out, k, ft, par.a_causal, par.tau_causal) / inv_k
    for k in range(n2):
        if last_out[k, k_last - 1] == ft:
            for i in range(n1):
                stdp[i, k] = _window_sum(last_h, i, ft, par.a_anticausal, par.tau_anticausal) / inv_k
    for i in range(n1):
        for k in range(n2):
            b[i, k] += par.lr_b * stdp[i, k]


@njit(cache=True, inline="always")
def _record(buf, pot, w, validation, symmetrization):
    """Step 5: add this step's recorded quantities (``RECORDED`` order) to the running sums ``buf``."""
    o = 0
    for x in (pot.u_in, pot.u_h, pot.v_bas_h, pot.v_api, pot.u_inn):
        o = _add_vector(buf, o, x)
    for m in (w.w10, w.b, w.w_pi, w.w_ip):
        o = _add_matrix(buf, o, m)
    for x in (pot.u_o, pot.v_bas_o, pot.v_nudge, pot.u_tgt):
        o = _add_vector(buf, o, x)
    o = _add_matrix(buf, o, w.w21)
    buf[o] += validation
    buf[o + 1] += symmetrization


@njit(cache=True, inline="always")
def _store_sample(rec, pos, n_steps):
    """Step 5b: the running sums of ``n_steps`` steps become the float32 means of sample ``pos``; sums reset."""
    buf, data = rec
    for q in range(buf.shape[0]):
        data[pos, q] = buf[q] / n_steps
        buf[q] = 0.0


@njit(cache=True, inline="always")
def _accumulate_outputs(pot, w, out):
    """Step 6: post-lag sums of the output potential ``u_o`` and of its un-nudged value ``b2 + W21 x_h``."""
    u_o, v_bas_o, b2, acc_out, acc_free = pot.u_o, pot.v_bas_o, w.b2, out.acc_out, out.acc_free
    for k in range(u_o.shape[0]):
        acc_out[k] += u_o[k]
        acc_free[k] += b2[k] + v_bas_o[k]


# no allocation inside, so no reference counting (_nrt=False): the named steps pass whole state tuples
# around, which with counting would cost an atomic increment and decrement per array and step
@njit(cache=True, nogil=True, _nrt=False)  # type: ignore[call-overload]  # numba's stubs omit _nrt
def run_pattern_kernel(par, pat, clock, spk, pot, avg, w, rec, out, scr):
    """Simulate one pattern of ``pat.n_steps`` steps in place (see the module docstring).

    Arguments are the named tuples :class:`Params`, :class:`Pattern`, a :data:`CLOCK` array of
    one record, :class:`Spikes`, :class:`Potentials`, :class:`Averages`, :class:`Weights`,
    :class:`Recording`, :class:`Outputs` and :class:`Scratch`.  The GIL is released, so
    independent networks can run in threads.  Each step runs the named steps in the reference's
    order: :func:`_spikes`, :func:`_potentials`, :func:`_moving_averages`,
    :func:`_forward_plasticity`, :func:`_sal_update_feedback`, :func:`_record`,
    :func:`_accumulate_outputs`.
    """
    c = clock[0]
    t, ma_count, ma_idx, rec_count, rec_pos = c.t, c.ma_count, c.ma_idx, c.rec_count, c.rec_pos
    do_sal = pat.symmetrization and pat.update_down and par.lr_b != 0.0
    validation = 1.0 if pat.validation else 0.0
    symmetrization = 1.0 if pat.symmetrization else 0.0
    rand, ma_vbo, b, stdp, rec_buf = pat.rand, avg.ma_vbo, w.b, scr.stdp, rec.buf
    r = 0
    for step in range(pat.n_steps):
        ft = float(t)
        lag_over = step >= par.learning_lag
        r = _spikes(ft, r, rand, par, spk, pot, out, scr.p_cache)
        filling = ma_count < par.ma_size
        if filling:
            ma_count += 1
        _potentials(ft, par, pat, ma_vbo, spk, pot, w, scr)
        _moving_averages(pot, avg, filling, ma_idx, float(ma_count))
        ma_idx += 1
        if ma_idx == par.ma_size:
            ma_idx = 0
        if pat.plastic_up and lag_over:
            _forward_plasticity(ft, par, pat, spk, avg, w)
        if do_sal:
            _sal_update_feedback(ft, par, spk, b, stdp)
        _record(rec_buf, pot, w, validation, symmetrization)
        rec_count += 1
        if rec_count == par.record_len:
            _store_sample(rec, rec_pos, par.record_len)
            rec_pos += 1
            rec_count = 0
        t += 1
        if lag_over:
            _accumulate_outputs(pot, w, out)

    c.t, c.ma_count, c.ma_idx, c.rec_count, c.rec_pos = t, ma_count, ma_idx, rec_count, rec_pos
