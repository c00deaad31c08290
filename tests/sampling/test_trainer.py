"""The wake-sleep + SAL trainer (docs/sampling.md, "Wake-sleep learning with SAL")."""

import pickle

import numpy as np
import pytest

from spikealign.errors import UserError
from spikealign.sampling import (
    Schedule,
    TrainState,
    asymmetry,
    draw_problem,
    kl_divergence,
    sal_ruler,
    simulate_spikes,
    state_list,
    train,
    ws_ruler,
)
from spikealign.sampling.presets import DISTR_SEEDS, INIT_SEEDS
from spikealign.sampling.trainer import phase_statistics

N = 7
T_REF = 50
CLIP = np.array([[2.0, 2.0]])


def _stats(W, b, T, R, rulers, seed0=0):
    return phase_statistics(np.repeat(W[None], R, 0), np.repeat(b[None], R, 0), T, t_ref=T_REF, tau_syn=T_REF,
                            seeds=np.arange(R, dtype=np.uint64) + seed0, rulers=rulers)  # fmt: skip


def test_ws_estimate_is_state_coactivation_minus_same_step_pairs():
    """S_WS t_ref/T sits ~2 % below the state coactivation because same-step pairs are dropped.

    Pairs with lag D overlap in (t_ref - D) "on" steps = t_ref K(D), so S_hat + (same-step pairs) t_ref/T is
    the time average of z_i z_j, which the state samples estimate without bias.  R = 8 independent replicas
    give the standard error of the ratio; 5 se bounds a false failure at ~1e-5 (t, 7 df: ~1e-3; we also allow
    5e-4 for the edge effect at the phase end, which is O(t_ref/T) = 1e-4).
    """
    p = draw_problem(N, DISTR_SEEDS[0], INIT_SEEDS[0])
    R, T = 8, 500_000
    st = _stats(p.W_target, p.b_target, T, R, [ws_ruler(np.ones((N, N)))])
    spikes = simulate_spikes(np.repeat(p.W_target[None], R, 0), np.repeat(p.b_target[None], R, 0), T, t_ref=T_REF,
                             tau_syn=T_REF, seeds=np.arange(R, dtype=np.uint64))  # fmt: skip
    off = ~np.eye(N, dtype=bool)
    S = st["S"][:, 0][:, off].sum(1) * T_REF / T
    z = state_list(N).astype(float)
    q = st["hist"] / st["hist"].sum(1, keepdims=True)
    C = np.einsum("rs,si,sj->rij", q, z, z)[:, off].sum(1)
    same = np.array([np.sum((c := np.unique(spikes.replica(r)[0], return_counts=True)[1]) * (c - 1)) for r in range(R)])
    full = (S + same * T_REF / T) / C
    se = full.std(ddof=1) / np.sqrt(R)
    assert abs(full.mean() - 1.0) < 5 * se + 5e-4, (full.mean(), se)
    ratio = S / C
    # the deficit is network dependent: the reference measured 2.4 % on its random net; here ~2 %
    assert 0.965 < ratio.mean() < 0.99, ratio.mean()


def test_noise_free_sal_update_is_exactly_antisymmetric_and_ws_symmetric():
    p = draw_problem(N, 4321, 9002, init_noise=0.5)
    st = _stats(p.W_init, p.b_init, 100_000, 2, [ws_ruler(np.ones((N, N))), sal_ruler(np.ones((N, N)))])
    for r in range(2):
        S_ws, S_sal = st["S"][r]
        np.testing.assert_array_equal(S_sal, -S_sal.T)
        np.testing.assert_array_equal(S_ws, S_ws.T)
        assert np.abs(S_sal).max() > 0


def test_asymmetry_is_invariant_without_sal_and_without_plasticity_noise():
    # sigma_init 0.3 keeps all |W| well below the clip 2, so only float rounding could change W - W^T
    probs = [draw_problem(N, s, 9002, init_noise=0.3) for s in DISTR_SEEDS[:2]]
    probs.append(draw_problem(N, DISTR_SEEDS[0], 9003, init_noise=0.0))
    sch = Schedule(num_epochs=301, val_step=100, val_factor=2, dur=100)
    lr = np.array([0.01, 0.01, 0.0])
    st = train(probs, sch, lr, CLIP, np.arange(3, dtype=np.uint64))
    W = np.stack(st.records["all_weights"])  # (records, runs, N, N)
    assert np.abs(W).max() < 2.0
    D0 = np.stack([p.W_init - p.W_init.T for p in probs])
    np.testing.assert_allclose(W - np.swapaxes(W, -1, -2), np.broadcast_to(D0, W.shape), atol=1e-12)
    # the symmetric baseline stays exactly symmetric
    assert np.all(np.stack(st.records["all_asym"])[:, 2] == 0.0)
    # and learning did move the weights
    assert np.abs(W[-1] - np.stack([p.W_init for p in probs])).max() > 0.05


def test_records_schedule_and_shapes():
    probs = [draw_problem(N, 4242, 4343, init_noise=0.2, stdp_noise=0.05)]
    sch = Schedule(num_epochs=11, val_step=5, val_factor=10, dur=100)
    st = train(probs, sch, np.array([0.001, 0.001, 0.002]), CLIP, np.array([1], dtype=np.uint64))
    assert [int(x[0]) for x in st.records["iterations"]] == [0, 5, 10]
    q = st.records["all_distr"][-1][0]
    assert q.shape == (128,) and q.sum() == pytest.approx(1.0)
    assert st.records["all_asym"][0][0] == pytest.approx(asymmetry(st.records["all_weights"][0][0]))
    # val_step 1: nothing is recorded (reference behaviour)
    st1 = train(probs, Schedule(num_epochs=3, val_step=1, val_factor=10, dur=10), np.zeros(3), CLIP, np.array([1]))
    assert st1.records["iterations"] == [] and st1.iteration == 3


def test_checkpoint_and_resume_is_bit_identical():
    probs = [draw_problem(N, s, 9004, init_noise=0.4, stdp_noise=0.03) for s in DISTR_SEEDS[:3]]
    sch = Schedule(num_epochs=61, val_step=20, val_factor=5, dur=40)
    lr = np.array([[0.01, 0.01, 0.01], [0.01, 0.01, 0.0], [0.005, 0.01, 0.02]])
    seeds = np.array([3, 4, 5], dtype=np.uint64)
    full = train(probs, sch, lr, CLIP, seeds)
    part = train(probs, sch, lr, CLIP, seeds, stop_after=27)
    assert part.iteration == 27
    # per-run checkpoints through pickle, resumed in a different batch order
    cks = [pickle.loads(pickle.dumps(part.run_state(r))) for r in (2, 0, 1)]
    rest = train([probs[k] for k in (2, 0, 1)], sch, lr[[2, 0, 1]], CLIP, None, state=TrainState.from_run_states(cks))
    for new, old in ((0, 2), (1, 0), (2, 1)):
        np.testing.assert_array_equal(rest.W[new], full.W[old])
        for key in full.records:
            for a, c in zip(rest.records[key], full.records[key], strict=True):
                np.testing.assert_array_equal(a[new], c[old])


def test_schedule_bad_values():
    with pytest.raises(UserError, match="val_step"):
        Schedule(num_epochs=10, val_step=0, val_factor=1, dur=10)
    with pytest.raises(UserError, match="dur"):
        Schedule(num_epochs=10, val_step=1, val_factor=1, dur=0)


def test_sal_aligns_and_improves_sampling_at_init_noise_08():
    """Learning works: with SAL, Var(W - W^T) ends >= 100x lower than without, and D_KL is lower.

    Four (target, init) seed pairs, each trained with and without SAL from identical targets, initial
    weights, gains and spike streams (2000 cycles of 10^4 steps, lr 0.01, lr_symm 0.05).  The final
    networks are evaluated with 8 independent 10^6-step runs each (320,000 state samples), so that the
    rarest target state (p ~ 1e-4) is seen ~30 times and D_KL is finite; its sampling error
    (~ (2^N - 1)/(2 n_eff), well below 1e-3) is small against the gap asserted.
    """
    pairs = list(zip(DISTR_SEEDS[:4], INIT_SEEDS, strict=True))
    probs = [draw_problem(N, d, i, init_noise=0.8) for d, i in pairs] * 2
    lr = np.array([[0.01, 0.01, 0.0]] * 4 + [[0.01, 0.01, 0.05]] * 4)
    seeds = np.tile(np.arange(4, dtype=np.uint64) + 100, 2)
    sch = Schedule(num_epochs=2001, val_step=1000, val_factor=2, dur=200)
    st = train(probs, sch, lr, CLIP, seeds)
    asym = asymmetry(st.W)
    assert np.all(asym[4:] * 100 < asym[:4]), asym
    dkl = []
    for r in range(8):
        ev = _stats(st.W[r], st.b[r], 1_000_000, 8, [], seed0=1000 + 10 * r)
        q = ev["hist"].sum(0) / ev["hist"].sum()
        dkl.append(kl_divergence(probs[r].p_target, q))
    dkl = np.array(dkl)
    assert np.all(np.isfinite(dkl))
    assert np.median(dkl[4:]) < np.median(dkl[:4]), dkl


def test_progress_reports_every_cycle_and_changes_no_number():
    probs = [draw_problem(N, s, 9004, init_noise=0.4, stdp_noise=0.03) for s in DISTR_SEEDS[:2]]
    lr = np.array([0.01, 0.01, 0.01])
    seeds = np.array([3, 4], dtype=np.uint64)
    for sch in (Schedule(num_epochs=250, val_step=100, val_factor=2, dur=4),
                Schedule(num_epochs=250, val_step=1, val_factor=2, dur=4)):  # fmt: skip
        plain = train(probs, sch, lr, CLIP, seeds)
        steps = []
        reported = train(probs, sch, lr, CLIP, seeds, on_progress=steps.append)
        assert sum(steps) == 250 and max(steps) <= 3  # pieces of at most ceil(250 / PROGRESS_UPDATES) cycles
        np.testing.assert_array_equal(reported.W, plain.W)
        np.testing.assert_array_equal(reported.rng, plain.rng)
        for key in plain.records:
            for a, c in zip(reported.records[key], plain.records[key], strict=True):
                np.testing.assert_array_equal(a, c)
