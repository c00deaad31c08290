"""Each named step of the microcircuit kernel against its equation, computed by hand (numpy)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spikealign.microcircuit import kernel as K

N0, N1, N2, K_LAST, MA = 3, 2, 2, 2, 4
T_REF = 5.0


def _params(**change):
    values = dict(log_tref=math.log(T_REF), tau_syn=3.0, t_ref=T_REF, lambda_api=0.7, lambda_nudge=0.4,
                  lr_w10=0.2, lr_w21=0.05, lr_b=0.01, a_causal=-1.0, tau_causal=T_REF, a_anticausal=1.0,
                  tau_anticausal=T_REF, ma_size=MA, record_len=2, learning_lag=0)  # fmt: skip
    values.update(change)
    return K.Params(**values)


def _pattern(rng, *, has_target=True, update_down=True, set_sps=False, rand=None):
    return K.Pattern(rng.normal(size=N0), rng.normal(size=N2), has_target, True, False, update_down, set_sps, False,
                     np.zeros(N0 + N1 + 2 * N2) if rand is None else rand, 1)  # fmt: skip


def _state(rng):
    spk = K.Spikes(*(np.full((n, K_LAST), -np.inf) for n in (N0, N1, N2, N2)))
    pot = K.Potentials(*(rng.normal(size=n) for n in (N0, N1, N1, N1, N2, N2, N2, N2, N2)))
    avg = K.Averages(
        *(rng.normal(size=n) for n in (N1, N1, N2, N2)), *(rng.normal(size=(MA, n)) for n in (N1, N1, N2, N2))
    )
    w = K.Weights(*(rng.normal(size=s) for s in ((N1, N0), (N1, N2), (N1, N2), (N2, N1), (N2, N1), N1, N2, N2)))
    scr = K.Scratch.for_dims((N0, N1, N2))
    out = K.Outputs(*(np.zeros(n, dtype=np.int64) for n in (N0, N1, N2, N2)), np.zeros(N2), np.zeros(N2))
    return spk, pot, avg, w, scr, out


def _p(u):
    return 1.0 / (1.0 + np.exp(-(u - math.log(T_REF))))


def test_potentials():
    rng = np.random.default_rng(1)
    spk, pot, avg, w, scr, _ = _state(rng)
    t = 20.0
    spk.inp[:, -1] = [t, t - 2, t - 3]  # PSPs on, on, off (tau_syn = 3)
    spk.hidden[:, :] = [[t - 1, t], [-np.inf, -np.inf]]  # 2 PSPs, none
    spk.inter[:, -1] = [t - 1, t - 9]
    spk.out[:, -1] = [t - 4, t]
    par, pat = _params(), _pattern(rng)
    ma_vbo = avg.ma_vbo.copy()
    K._potentials(t, par, pat, avg.ma_vbo, spk, pot, w, scr)
    x_in, x_h, x_inn, x_out = np.array([1.0, 1, 0]), np.array([2.0, 0]), np.array([1.0, 0]), np.array([0.0, 1])
    np.testing.assert_array_equal(scr.x_in, x_in)
    np.testing.assert_array_equal(scr.x_h, x_h)
    np.testing.assert_allclose(pot.u_in, pat.u_in)
    np.testing.assert_allclose(pot.v_bas_h, w.w10 @ x_in)
    np.testing.assert_allclose(pot.v_api, w.b @ x_out + w.w_pi @ x_inn)
    np.testing.assert_allclose(pot.u_h, w.b1 + w.w10 @ x_in + 0.7 * pot.v_api)
    np.testing.assert_allclose(pot.u_inn, w.b_inn + w.w_ip @ x_h)
    nudge = pat.u_tgt - ma_vbo - w.b2
    np.testing.assert_allclose(pot.v_nudge, nudge)
    np.testing.assert_allclose(pot.u_o, w.b2 + w.w21 @ x_h + 0.4 * nudge)
    K._potentials(t, par, _pattern(rng, has_target=False), avg.ma_vbo, spk, pot, w, scr)
    np.testing.assert_allclose(pot.u_o, w.b2 + w.w21 @ x_h)
    np.testing.assert_array_equal(pot.u_tgt, 0.0)


def test_moving_averages_replace_the_oldest_value():
    rng = np.random.default_rng(2)
    _, pot, avg, *_ = _state(rng)
    before, oldest = avg.ma_uh.copy(), avg.st_uh[1].copy()
    K._moving_averages(pot, avg, False, 1, float(MA))
    np.testing.assert_allclose(avg.ma_uh, before + (pot.u_h - oldest) / MA)
    np.testing.assert_array_equal(avg.st_uo[1], pot.u_o)
    first = avg.ma_vbo.copy()
    K._moving_averages(pot, avg, True, 2, 2.0)  # filling: the mean of the values so far
    np.testing.assert_allclose(avg.ma_vbo, first + (pot.v_bas_o - first) / 2)


def test_spikes_need_a_low_uniform_and_the_end_of_refractoriness():
    rng = np.random.default_rng(3)
    spk, pot, _, _, _, out = _state(rng)
    t = 50.0
    spk.hidden[0, -1] = t - T_REF + 1  # refractory
    spk.hidden[1, -1] = t - T_REF  # just eligible
    rand = np.full(N0 + N1 + 2 * N2, 0.999999)
    rand[N0 : N0 + N1] = 0.0  # every hidden neuron below p
    caches = tuple(
        np.full(n, np.nan) if q % 2 == 0 else np.zeros(n) for q, n in enumerate((N0, N0, N1, N1, N2, N2, N2, N2))
    )
    r = K._spikes(t, 0, rand, _params(), spk, pot, out, caches)
    assert r == N0 + N1 + 2 * N2
    np.testing.assert_array_equal(out.cnt_h, [0, 1])
    assert spk.hidden[1, -1] == t and spk.hidden[1, -2] == t - T_REF  # the history shifts
    np.testing.assert_allclose(caches[1], _p(pot.u_in))  # the probabilities it used
    assert (
        out.cnt_in.sum() + out.cnt_inn.sum() + out.cnt_out.sum()
        == (_p(pot.u_in) > 0.999999).sum() + (_p(pot.u_inn) > 0.999999).sum() + (_p(pot.u_o) > 0.999999).sum()
    )


@pytest.mark.parametrize("update_down, set_sps", [(True, False), (False, False), (True, True)])
def test_forward_plasticity(update_down, set_sps):
    rng = np.random.default_rng(4)
    spk, _, avg, w, _, _ = _state(rng)
    t = 30.0
    spk.inp[:, -1] = [t - 1, t - 2, t - 1]  # inputs 0 and 2 spiked on the previous step
    spk.hidden[:, -1] = [t - 3, t - 1]
    w10, w21, b = w.w10.copy(), w.w21.copy(), w.b.copy()
    K._forward_plasticity(t, _params(), _pattern(rng, update_down=update_down, set_sps=set_sps), spk, avg, w)
    d10 = 0.2 * (_p(avg.ma_uh) - _p(avg.ma_vbh + w.b1))
    np.testing.assert_allclose(w.w10, w10 + np.outer(d10, [1, 0, 1]))
    d21 = 0.05 * (_p(avg.ma_uo) - _p(avg.ma_vbo + w.b2))
    np.testing.assert_allclose(w.w21, w21 + np.outer(d21, [0, 1]))
    np.testing.assert_array_equal(w.b, b if update_down else w.w21.T)
    if set_sps:
        np.testing.assert_array_equal(w.w_ip, w.w21)
        np.testing.assert_array_equal(w.w_pi, -w.b)


def test_sal_update_feedback():
    rng = np.random.default_rng(5)
    spk, _, _, w, scr, _ = _state(rng)
    par = _params()
    t = 40.0
    b0 = w.b.copy()
    K._sal_update_feedback(t, par, spk, w.b, scr.stdp)
    np.testing.assert_array_equal(w.b, b0)  # no spike now: no update
    spk.hidden[0, :] = [t - 6, t]  # hidden 0 spikes now: causal side, over the remembered output spikes
    spk.out[0, :] = [t - 2, t - 7]
    spk.out[1, :] = [-np.inf, t - 1]
    K._sal_update_feedback(t, par, spk, w.b, scr.stdp)
    causal = -1.0 * np.array([np.exp(-2 / T_REF) + np.exp(-7 / T_REF), np.exp(-1 / T_REF)]) / K_LAST
    expected = b0.copy()
    expected[0] += 0.01 * causal
    np.testing.assert_allclose(w.b, expected, rtol=1e-15)
    spk.hidden[0, :] = [t - 6, t - 1]  # now output 1 spikes: anti-causal side, over the hidden spikes
    spk.out[1, :] = [t - 1, t]
    before = w.b.copy()
    K._sal_update_feedback(t, par, spk, w.b, scr.stdp)
    anti = np.array([np.exp(-6 / T_REF) + np.exp(-1 / T_REF), 0.0]) / K_LAST
    expected = before.copy()
    expected[:, 1] += 0.01 * anti
    np.testing.assert_allclose(w.b, expected, rtol=1e-15)


def test_record_sums_in_the_layout_order_and_stores_means():
    rng = np.random.default_rng(6)
    _, pot, _, w, _, _ = _state(rng)
    layout = K.record_layout((N0, N1, N2))
    n = sum(int(np.prod(s)) for _, s in layout.values())
    rec = K.Recording(np.zeros(n), np.zeros((1, n), dtype=np.float32))
    K._record(rec.buf, pot, w, 1.0, 0.0)
    K._record(rec.buf, pot, w, 1.0, 1.0)
    values = {"u_in": pot.u_in, "u_pyr_hidden": pot.u_h, "w_ip": w.w_ip, "w21": w.w21, "u_tgt": pot.u_tgt}
    for name, value in values.items():
        off, shape = layout[name]
        np.testing.assert_allclose(rec.buf[off : off + value.size].reshape(shape), 2 * value)
    assert rec.buf[layout["validation"][0]] == 2.0 and rec.buf[layout["symmetrization"][0]] == 1.0
    K._store_sample(rec, 0, 2)
    np.testing.assert_allclose(rec.data[0, layout["w10"][0] : layout["w10"][0] + N1 * N0], w.w10.ravel(), rtol=1e-6)
    assert rec.data[0, layout["symmetrization"][0]] == 0.5 and not rec.buf.any()


def test_outputs_accumulate_the_nudged_and_the_free_output():
    rng = np.random.default_rng(7)
    _, pot, _, w, _, out = _state(rng)
    K._accumulate_outputs(pot, w, out)
    K._accumulate_outputs(pot, w, out)
    np.testing.assert_allclose(out.acc_out, 2 * pot.u_o)
    np.testing.assert_allclose(out.acc_free, 2 * (w.b2 + pot.v_bas_o))
