"""spikealign.nest helpers: install, connect_sal_pairs, weight_matrix, and their bad-input errors."""

import math
import subprocess
import sys

import numpy as np
import pytest

from spikealign.errors import UserError
from spikealign.plasticity import SALParams

from .conftest import needs_nest


def test_importing_spikealign_never_imports_nest():
    code = (
        "import sys, spikealign, spikealign.nest, spikealign.cli; "
        "print('nest' in sys.modules, 'pynestml' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("tau_plus", -5.0), ("tau_minus", math.nan), ("tau_plus", 0.0), ("eta", math.inf)],
)
def test_bad_sal_parameters_name_the_key(field, value):
    from spikealign.nest import connect_sal_pairs

    with pytest.raises(UserError, match=rf"^SAL parameter {field} must be .*got {value!r}"):
        connect_sal_pairs(None, weights=1.0, params=SALParams()._replace(**{field: value}))


@pytest.mark.parametrize("delay", [0.0, -1.0, math.nan, "1"])
def test_bad_delay(delay):
    from spikealign.nest import connect_sal_pairs

    with pytest.raises(UserError, match="delay must be a finite number of ms > 0"):
        connect_sal_pairs(None, weights=1.0, delay=delay)


@pytest.mark.parametrize("threads", [0, -2, 1.5, True])
def test_bad_thread_count(threads):
    from spikealign.nest import simulate_sal_network
    from spikealign.salnet.spec import SALNetworkSpec

    with pytest.raises(UserError, match=r"NEST threads must be a whole number >= 1"):
        simulate_sal_network(SALNetworkSpec(), threads=threads)


def test_missing_system_package_is_named(monkeypatch):
    from spikealign.nest import build

    monkeypatch.setitem(build.SYSTEM_HEADERS, "no_such_dir/no_such_header.h", "libnosuch-dev")
    monkeypatch.setattr(build, "_compiler", lambda: None)
    with pytest.raises(UserError) as info:
        build.check_build_requirements()
    msg = str(info.value)
    assert "\n" not in msg
    assert "libnosuch-dev" in msg and "g++" in msg and "apt-get install g++ libnosuch-dev" in msg


@needs_nest
def test_failed_build_names_the_log(tmp_path, monkeypatch):
    """A model NESTML rejects: one line naming the build log, which holds NESTML's complaint."""
    from spikealign.nest import build

    models = tmp_path / "models"
    models.mkdir()
    (models / "sal_synapse.nestml").write_text("model sal_synapse:\n    state:\n        w real = undefined_name\n")
    monkeypatch.setattr(build, "MODELS_DIR", models)
    monkeypatch.setenv("SPIKEALIGN_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(UserError) as info:
        build.ensure_built(quiet=True)
    msg = str(info.value)
    log = tmp_path / "cache" / "nest" / build.cache_key() / "build.log"
    assert msg.startswith("building the NEST SAL module failed") and msg.endswith(f"see the log {log}")
    assert "undefined_name" in log.read_text()


@needs_nest
def test_cache_key_follows_the_model_source(tmp_path, monkeypatch):
    from spikealign.nest import build

    key = build.cache_key()
    models = tmp_path / "models"
    models.mkdir()
    for path in build.model_sources():
        (models / path.name).write_text(path.read_text())
    monkeypatch.setattr(build, "MODELS_DIR", models)
    assert build.cache_key() == key
    (models / "sal_synapse.nestml").write_text(build.model_sources()[-1].read_text() + "\n# changed\n")
    assert build.cache_key() != key


@needs_nest
def test_install_is_idempotent_and_survives_reset(nest):
    from spikealign.nest import SYNAPSE_MODEL, install, reset_kernel

    install()
    assert SYNAPSE_MODEL in nest.synapse_models
    reset_kernel()
    assert SYNAPSE_MODEL not in nest.synapse_models
    install()
    assert SYNAPSE_MODEL in nest.synapse_models


@needs_nest
def test_two_populations_weights_round_trip(nest):
    from spikealign.nest import PAIRED_NEURON_MODEL, SYNAPSE_MODEL, connect_sal_pairs, weight_matrix

    a, b = nest.Create(PAIRED_NEURON_MODEL, 3), nest.Create(PAIRED_NEURON_MODEL, 2)
    w_ab = np.array([[1.0, np.nan, 3.0], [4.0, 5.0, np.nan]])  # (post b, pre a)
    w_ba = np.array([[10.0, 40.0], [np.nan, 50.0], [30.0, np.nan]])  # (post a, pre b), mask = w_ab.T's
    params = SALParams(a_plus=-0.5, a_minus=2.0, tau_plus=12.0, tau_minus=30.0, eta=0.02)
    assert connect_sal_pairs(a, b, weights=(w_ab, w_ba), params=params, delay=1.5) == 8
    np.testing.assert_array_equal(weight_matrix(a, b), w_ab)
    np.testing.assert_array_equal(weight_matrix(b, a), w_ba)
    assert np.isnan(weight_matrix(a, a)).all()
    conns = nest.GetConnections(synapse_model=SYNAPSE_MODEL)
    for name in SALParams._fields:
        assert set(np.atleast_1d(conns.get(name))) == {getattr(params, name)}
    assert set(np.atleast_1d(conns.get("delay"))) == {1.5}


@needs_nest
def test_non_reciprocal_or_misshapen_weights_are_refused(nest):
    from spikealign.nest import PAIRED_NEURON_MODEL, connect_sal_pairs

    pop = nest.Create(PAIRED_NEURON_MODEL, 3)
    one_way = np.full((3, 3), np.nan)
    one_way[1, 0] = 5.0
    with pytest.raises(UserError, match="reciprocal pairs"):
        connect_sal_pairs(pop, weights=one_way)
    with pytest.raises(UserError, match=r"must have shape \(3, 3\) \(post, pre\), got \(2, 3\)"):
        connect_sal_pairs(pop, weights=np.ones((2, 3)))
    self_loop = np.full((3, 3), np.nan)
    self_loop[0, 0] = 1.0
    with pytest.raises(UserError, match="self-connection"):
        connect_sal_pairs(pop, weights=self_loop)
    assert len(nest.GetConnections()) == 0
