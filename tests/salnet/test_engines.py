"""The SAL network engines: exact propagators, and each engine's weight change equals the pair sum of its spikes."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy.linalg import expm

from spikealign.errors import UserError
from spikealign.plasticity import SALParams
from spikealign.salnet import engine
from spikealign.salnet.spec import LIFParams, SALNetworkSpec, checked_spec, expected_weight_change

SHORT = SALNetworkSpec(n_neurons=20, p_connect=0.3, duration_ms=600.0, record_interval_ms=200.0, seed=3)


def _residual(spec: SALNetworkSpec, record) -> tuple[float, float]:
    exact = expected_weight_change(spec, record)
    present = ~np.isnan(exact)
    change = (record.weights[-1] - record.weights[0])[present]
    return float(np.abs(change - exact[present]).max()), float(np.abs(exact[present]).max())


def test_propagators_are_the_exact_solution_of_the_linear_ode():
    spec = SALNetworkSpec(dt_ms=0.3, lif=LIFParams(tau_m_ms=12.0, tau_syn_ms=3.0, c_m_pf=200.0))
    lif = spec.lif
    # d/dt (V - E_L, I) = A (V - E_L, I)
    a = np.array([[-1 / lif.tau_m_ms, 1 / lif.c_m_pf], [0.0, -1 / lif.tau_syn_ms]])
    prop = expm(a * spec.dt_ms)
    p11, p21, p22 = engine.propagators(spec)
    np.testing.assert_allclose([p11, p21, p22], [prop[1, 1], prop[0, 1], prop[0, 0]], rtol=1e-12)
    # equal time constants: the limit h / C e^{-h/tau}
    same = replace(spec, lif=replace(lif, tau_syn_ms=lif.tau_m_ms))
    a[1, 1] = a[0, 0]
    np.testing.assert_allclose(engine.propagators(same)[1], expm(a * spec.dt_ms)[0, 1], rtol=1e-12)


def test_numba_engine_changes_weights_by_the_pair_sum_of_its_spikes():
    record = engine.simulate_sal_network(SHORT)
    assert record.weights.shape == (4, 20, 20) and np.array_equal(record.times_ms, [0, 200, 400, 600])
    assert sum(len(t) for t in record.spike_times_ms) > 200  # pairs enough for the check to mean something
    residual, scale = _residual(SHORT, record)
    assert scale > 1.0
    assert residual < 1e-12 * scale * 1e3


def test_numba_engine_is_reproducible_and_seeded():
    a, b = engine.simulate_sal_network(SHORT), engine.simulate_sal_network(SHORT)
    np.testing.assert_array_equal(a.weights, b.weights)
    c = engine.simulate_sal_network(replace(SHORT, seed=4))
    assert not np.array_equal(np.isnan(a.weights[0]), np.isnan(c.weights[0]))


def test_numba_engine_cut_into_pieces_changes_no_number(monkeypatch):
    """The record intervals are simulated in pieces (an interrupt is answered within seconds): any cut,
    also across a record boundary, gives the bits of one compiled call per record interval."""
    chunk = 800  # steps per record interval of SHORT (200 ms at 0.25 ms)

    def fixed(size):
        return lambda start, stop, **kw: ((a, min(stop, a + size)) for a in range(start, stop, size))

    monkeypatch.setattr(engine, "pieces", fixed(chunk))
    whole = engine.simulate_sal_network(SHORT)
    for size in (7, 333):
        monkeypatch.setattr(engine, "pieces", fixed(size))
        cut = engine.simulate_sal_network(SHORT)
        np.testing.assert_array_equal(cut.weights, whole.weights)
        for a, b in zip(cut.spike_times_ms, whole.spike_times_ms, strict=True):
            np.testing.assert_array_equal(a, b)
    monkeypatch.undo()
    monkeypatch.setattr(engine, "PIECE_EVENTS", 20 * 50)  # the time-sized pieces, at most 50 steps a call
    default = engine.simulate_sal_network(SHORT)
    np.testing.assert_array_equal(default.weights, whole.weights)


def test_without_drive_nothing_fires_and_nothing_learns():
    record = engine.simulate_sal_network(replace(SHORT, drive_rate_hz=0.0))
    assert all(len(t) == 0 for t in record.spike_times_ms)
    np.testing.assert_array_equal(record.weights[-1], record.weights[0])


def test_refractory_time_bounds_the_rate():
    spec = replace(SHORT, drive_rate_hz=50000.0, drive_weight_pa=500.0, sal=SALParams(eta=0.0))
    record = engine.simulate_sal_network(spec)
    isi = np.concatenate([np.diff(t) for t in record.spike_times_ms])
    assert isi.min() >= spec.lif.t_ref_ms + spec.dt_ms - 1e-9  # t_ref steps clamped, then one step to cross


def test_torch_engine_matches_numba_engine_and_the_pair_sum():
    pytest.importorskip("torch", reason="the torch engine needs torch (the [deep] extra)")
    from spikealign.salnet import torch_engine

    spec = replace(SHORT, duration_ms=400.0)
    record = torch_engine.simulate_sal_network(spec)
    residual, scale = _residual(spec, record)
    assert scale > 1.0 and residual < 1e-12 * scale * 1e3
    reference = engine.simulate_sal_network(spec)  # the same drive and the same step: the same spikes
    for a, b in zip(record.spike_times_ms, reference.spike_times_ms, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(record.weights, reference.weights, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"lif": LIFParams(tau_m_ms=float("nan"))}, "lif.tau_m_ms"),
        ({"lif": LIFParams(tau_syn_ms=-1.0)}, "lif.tau_syn_ms"),
        ({"sal": SALParams(tau_plus=-2.0)}, "tau_plus"),
        ({"delay_ms": 0.3}, "delay_ms"),
        ({"duration_ms": 650.0}, "duration_ms"),
        ({"dt_ms": float("nan")}, "dt_ms"),
    ],
)
def test_bad_spec_names_the_key(change, key):
    with pytest.raises(UserError, match=key.replace(".", r"\.")):
        checked_spec(replace(SHORT, **change))
