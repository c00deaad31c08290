"""The compiled pattern kernel called directly through its named parameter structs."""

import numpy as np

from spikealign.microcircuit import kernel as K
from spikealign.microcircuit.model import Network, NetworkParams


def _call(net: Network, n_steps: int, rand: np.ndarray, **flags) -> K.Outputs:
    n0, n1, n2 = net.dims
    pattern = K.Pattern(u_in=np.full(n0, 0.5), u_tgt=np.zeros(n2), has_target=False, plastic_up=False,
                        symmetrization=False, update_down=True, set_sps=True, validation=False, rand=rand,
                        n_steps=n_steps)._replace(**flags)  # fmt: skip
    out = K.Outputs(*(np.zeros(n, dtype=np.int64) for n in (n0, n1, n2, n2)), np.zeros(n2), np.zeros(n2))
    K.run_pattern_kernel(net.kparams, pattern, net.s["clock"], *net._state_tuples(), out, net._scratch)
    return out


def test_clock_counts_and_frozen_weights_without_plasticity():
    params = NetworkParams(dims=(2, 3, 1), learning_lag=5, size_moving_average=4)
    net = Network(params, 0, record_len=7, n_steps_total=40)
    net.set_weights(w10=0.3, b=-0.2, w21=0.4)
    before = net.weights()
    n = 20
    # uniforms of 1: nobody ever spikes, so the PSPs and all potentials stay at their biases
    out = _call(net, n, np.ones((2 + 3 + 2) * n))
    clock = net.s["clock"][0]
    assert clock["t"] == n
    assert (clock["rec_pos"], clock["rec_count"]) == (n // 7, n % 7)
    assert clock["ma_count"] == 4 and clock["ma_idx"] == (1 + n) % 4
    for k, w in net.weights().items():
        np.testing.assert_array_equal(w, before[k])
    assert all(c.sum() == 0 for c in out[:4])
    np.testing.assert_array_equal(out.acc_free, np.zeros(1))  # b2 = 0 and no hidden spikes
    # uniforms of 0: every neuron fires whenever it is not refractory (one spike per t_ref steps)
    out = _call(net, n, np.zeros((2 + 3 + 2) * n))
    np.testing.assert_array_equal(out.cnt_h, np.full(3, n // params.t_ref))
