"""The NEST tests (named nest_engine: a folder `nest` on the test path would shadow the `nest` package).

They need NEST and NESTML (the [nest] extra) and build the SAL module once per machine.

Without the extra every test here that needs NEST is reported as skipped with the reason. The
module is built on the first use into the user cache (``~/.cache/spikealign/nest/<key>``), so a
test session pays the build (about 2 min) only when NEST, NESTML or the model source changed.
"""

import importlib.util

import pytest

HAS_NEST = importlib.util.find_spec("nest") is not None and importlib.util.find_spec("pynestml") is not None
REASON = "NEST/NESTML are not installed: these tests need 'spikealign[nest]'"
needs_nest = pytest.mark.skipif(not HAS_NEST, reason=REASON)


@pytest.fixture(scope="session")
def sal_module():
    """The built SAL module (path); skipped with the reason if the system cannot build it."""
    if not HAS_NEST:
        pytest.skip(REASON)
    from spikealign.errors import UserError
    from spikealign.nest import build

    try:
        build.check_build_requirements()
    except UserError as exc:
        pytest.skip(str(exc))
    return build.ensure_built()


@pytest.fixture
def nest(sal_module):
    """``nest`` with a fresh kernel and the SAL models installed."""
    from spikealign.nest import network

    nest = network.reset_kernel()
    network._quiet(nest)
    return network.install()
