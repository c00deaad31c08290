"""Families laid out alike, functions with few parameters (issue 19).

Every model family (a package named in :data:`spikealign.families.EXPERIMENT_KINDS`) has
``config.py`` (its run configs), ``experiments.py`` (its kinds) and ``figures.py`` or a ``figures/``
package (its figures' checks and drawing); the config model of each kind is defined in its family's
``config.py`` and each figure is drawn by code of its own family.  No function of the package takes
more than :data:`MAX_PARAMETERS` parameters (``self``/``cls`` not counted, ``*args`` and ``**kwargs``
one each): longer lists travel as a parameter object (e.g. :class:`spikealign.theory.SalSetup`).
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

from spikealign import families, registry

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "spikealign"
MAX_PARAMETERS = 10
TORCH_FAMILIES = {"spikealign.deep", "spikealign.deep.estimators"}


def family_package(module: str) -> str:
    """The package of a family module: ``spikealign.theory.experiments`` -> ``spikealign.theory``; a
    family that is a package itself (``spikealign.sampling.dale``) is its own."""
    return module.removesuffix(".experiments")


FAMILIES = sorted({family_package(m) for m, _ in families.EXPERIMENT_KINDS.values()} - {family_package(families.TOY)})


def _directory(package: str) -> Path:
    return PACKAGE.joinpath(*package.split(".")[1:])


def _load(package: str) -> None:
    if package in TORCH_FAMILIES and importlib.util.find_spec("torch") is None:
        pytest.skip("needs torch")
    for module, _ in families.EXPERIMENT_KINDS.values():
        if family_package(module) == package:
            registry.load_family(module)


def test_the_families_are_the_packages_of_the_kinds():
    assert FAMILIES == [
        "spikealign.deep",
        "spikealign.deep.estimators",
        "spikealign.microcircuit",
        "spikealign.salnet",
        "spikealign.sampling",
        "spikealign.sampling.dale",
        "spikealign.theory",
    ]


@pytest.mark.parametrize("package", FAMILIES)
def test_every_family_has_config_experiments_and_figures(package):
    folder = _directory(package)
    assert (folder / "__init__.py").is_file()
    missing = [name for name in ("config.py", "experiments.py") if not (folder / name).is_file()]
    if not ((folder / "figures.py").is_file() or (folder / "figures" / "__init__.py").is_file()):
        missing.append("figures.py or figures/")
    assert not missing, f"{package} lacks {', '.join(missing)}"


@pytest.mark.parametrize("package", FAMILIES)
def test_the_config_of_each_kind_is_in_its_familys_config_module(package):
    _load(package)
    kinds = [k for k, (m, _) in families.EXPERIMENT_KINDS.items() if family_package(m) == package]
    assert kinds
    where = {k: registry.EXPERIMENTS[k].config_model.__module__ for k in kinds}
    assert where == {k: f"{package}.config" for k in kinds}


@pytest.mark.parametrize("package", FAMILIES)
def test_the_figures_of_a_family_are_drawn_by_its_figures_module(package):
    _load(package)
    ids = [f for f, m in families.FIGURE_MODULES.items() if family_package(m) == package]
    assert ids, f"{package} registers no figure"
    for figure_id in ids:
        figure = registry.FIGURES[figure_id]
        assert figure.sweeps.__module__.startswith(package + ".")
        # microcircuit registers a thin wrapper that imports its figures module on first use
        drawn_by = figure.draw.__module__
        assert drawn_by.startswith(package + ".figures") or (
            drawn_by == f"{package}.experiments" and "from .figures import" in _source_of(figure.draw)
        ), (figure_id, drawn_by)


def _source_of(function) -> str:
    import inspect

    return inspect.getsource(function)


def parameter_counts(path: Path) -> list[tuple[str, int, int]]:
    """``(function name, line, parameters)`` of every function defined in the file at ``path``."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            a = node.args
            names = [arg.arg for arg in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
            if names and names[0] in ("self", "cls"):
                names = names[1:]
            out.append((node.name, node.lineno, len(names) + (a.vararg is not None) + (a.kwarg is not None)))
    return out


def test_no_function_takes_more_than_ten_parameters():
    too_many = [
        f"{path.relative_to(PACKAGE.parent)}:{line} {name} ({count})"
        for path in sorted(PACKAGE.rglob("*.py"))
        for name, line, count in parameter_counts(path)
        if count > MAX_PARAMETERS
    ]
    assert not too_many, "more than 10 parameters (use a parameter object): " + "; ".join(too_many)


def test_the_parameter_count_sees_every_kind_of_parameter(tmp_path):
    source = tmp_path / "f.py"
    source.write_text(
        "def f(a, b, /, c, *args, d, e=1, **kw): pass\n"
        "class C:\n    def m(self, a, *, b): pass\n    @classmethod\n    def k(cls, a): pass\n"
        "    def __init__(self):\n        def inner(x, y, z, w, v, u, t, s, r, q, p): pass\n"
    )
    assert parameter_counts(source) == [
        ("f", 1, 7), ("m", 3, 2), ("k", 5, 1), ("__init__", 6, 0), ("inner", 7, 11)
    ]  # fmt: skip
