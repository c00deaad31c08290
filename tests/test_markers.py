"""The test-suite markers: declared, not guessed from parameter names."""

from __future__ import annotations

from kinds import TORCH_FAMILIES, every_kind
from spikealign import families


def test_kinds_of_the_torch_families_and_only_those_are_marked_torch():
    marked = {p.values[0] for p in every_kind() if any(m.name == "torch" for m in p.marks)}
    assert marked == {kind for kind, (module, _) in families.EXPERIMENT_KINDS.items() if module in TORCH_FAMILIES}
    assert {"deep", "estimator-connection", "sal-evolution"} <= marked and "microcircuit" not in marked


def test_bare_pytest_leaves_out_the_slow_tests(pytestconfig):
    addopts = pytestconfig.getini("addopts")
    assert addopts[addopts.index("-m") + 1] == "not slow"
