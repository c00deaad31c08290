"""Packaging: one version, lock files inside the declared ranges, nothing read from outside the repository."""

import re
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

import spikealign

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCKS = sorted((ROOT / "requirements").glob("lock-py3*.txt"))


def _pins(lock: Path) -> dict[str, str]:
    pins = {}
    for line in lock.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[_norm(name)] = version
    return pins


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_version_has_one_source():
    assert PYPROJECT["project"]["dynamic"] == ["version"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "spikealign.__version__"}
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert str(citation["version"]) == spikealign.__version__
    assert f"## {spikealign.__version__}" in (ROOT / "CHANGELOG.md").read_text()


def test_a_lock_file_for_every_supported_python():
    assert [p.name for p in LOCKS] == ["lock-py311.txt", "lock-py312.txt", "lock-py313.txt"]
    assert PYPROJECT["project"]["requires-python"] == ">=3.11"
    if (3, 11) <= sys.version_info[:2] <= (3, 13):
        assert (ROOT / "requirements" / f"lock-py3{sys.version_info[1]}.txt").is_file()


@pytest.mark.parametrize("lock", LOCKS, ids=lambda p: p.stem)
def test_lock_pins_lie_in_the_declared_ranges(lock):
    pins = _pins(lock)
    project = PYPROJECT["project"]
    extras = project["optional-dependencies"]
    with_deep = lock.name == "lock-py311.txt"  # torch has only a CUDA wheel for 3.12+ on PyPI
    groups = [project["dependencies"], extras["cluster"], extras["dev"], extras["docs"]]
    if with_deep:
        groups.append(extras["deep"])
    else:
        assert "torch" not in pins
    for text in (r for group in groups for r in group):
        req = Requirement(text)
        name = _norm(req.name)
        assert name in pins, f"{lock.name} does not pin {req.name}"
        assert req.specifier.contains(pins[name], prereleases=True), f"{lock.name}: {pins[name]} not in {req}"


def _climbs_out_of_the_checkout(path: Path, line: str) -> bool:
    """Does ``line`` of ``path`` build a path above the repository root?"""
    for k in re.findall(r"Path\(__file__\)\.resolve\(\)\.parents\[(\d+)\]", line):
        if not path.parents[int(k)].is_relative_to(ROOT):
            return True
    return bool(re.search(r"ROOT\.parent\b|(?:Path|open)\(\s*[\"']\.\.[/\\]", line))


def test_nothing_reads_files_beside_the_repository():
    hits = [
        f"{path.relative_to(ROOT)}:{n}"
        for folder in ("src", "tests", "benchmarks")
        for path in (ROOT / folder).rglob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if _climbs_out_of_the_checkout(path.resolve(), line) and path.resolve() != Path(__file__).resolve()
    ]
    assert hits == []
