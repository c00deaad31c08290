"""Dale's-law E/I system: SAL aligns the *effective* excitatory interactions.

Four escape-noise sampling neurons e1, e2, i1, i2: e1 excites e2 directly and inhibits it through
i1 (and symmetrically through i2).  With Dale's law the E->E weights stay non-negative, and SAL,
measured with nearest-neighbour STDP on the E spikes, drives the *effective* E->E weights (direct
plus disynaptic path) toward symmetry.  See docs/sampling.md, "Dale's-law E/I system".

Modules, one per concern:

* :mod:`.model`: the circuit's parameters, effective weights and weight matrices;
* :mod:`.measure`: nearest-neighbour STDP, the batched SAL measurement, the zero set of the field;
* :mod:`.config`: the run configs of ``dale-sal`` and ``dale-rate``;
* :mod:`.experiments`: their runs (registers them);
* :mod:`.figures`: the ``dale`` figure's sweeps, checks and registration; :mod:`.panels` draws it.

Importing this package registers the experiments and the figure.
"""

from .config import DaleRateConfig, DaleSALConfig
from .experiments import run_rate_check, run_sal_grid
from .figures import (
    PANELS,
    PROFILES,
    DaleProfile,
    dale_sweeps,
    draw_dale,
    grid_values,
    load_sal_grid,
    make_sweeps,
    rate_agreement,
)
from .measure import calc_nn_stdp, measure_sal, nn_stdp, nn_stdp_csr, zero_crossings, zero_set_distances
from .model import (
    CIRCUITS,
    CONNECTIONS,
    NEURONS,
    PARAM_SEED,
    SAL_AMPLITUDES,
    T_REF,
    TAU_SYN,
    EIParameters,
    circuit_parameters,
    effective_offset,
    effective_weight,
    ei_network,
    noisy_parameters,
    on_fraction_theory,
    raw_weight,
)

__all__ = [
    "CIRCUITS",
    "CONNECTIONS",
    "NEURONS",
    "PANELS",
    "PARAM_SEED",
    "PROFILES",
    "SAL_AMPLITUDES",
    "TAU_SYN",
    "T_REF",
    "DaleProfile",
    "DaleRateConfig",
    "DaleSALConfig",
    "EIParameters",
    "calc_nn_stdp",
    "circuit_parameters",
    "dale_sweeps",
    "draw_dale",
    "effective_offset",
    "effective_weight",
    "ei_network",
    "grid_values",
    "load_sal_grid",
    "make_sweeps",
    "measure_sal",
    "nn_stdp",
    "nn_stdp_csr",
    "noisy_parameters",
    "on_fraction_theory",
    "rate_agreement",
    "raw_weight",
    "run_rate_check",
    "run_sal_grid",
    "zero_crossings",
    "zero_set_distances",
]
