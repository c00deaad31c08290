"""The STDP window's parameter struct gives the same K(x) as the scalar function."""

from __future__ import annotations

import math

import numpy as np

from spikealign.spiking.stdp import StdpWindow, exp_window_at, window_value


def test_window_value_is_exp_window_at_with_the_struct_fields():
    window = StdpWindow(-1.0, 0.5, 3.0, 7.0)
    for x in np.linspace(-20, 20, 81):
        assert window_value(x, window) == exp_window_at(x, *window)
    assert window_value(3.0, window) == -math.exp(-1.0)
    assert window_value(-7.0, window) == 0.5 * math.exp(-1.0)
    assert window_value(0.0, window) == 0.0
