"""numba's on-disk cache cannot serve kernels compiled from older sources (spikealign._numba_cache)."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from spikealign import _numba_cache

pytestmark = pytest.mark.end_to_end

CALLEE_LINE = "        return a_plus * math.exp(-x / tau_plus)\n"
# window_at (sampling/stdp.py) inlines exp_window_at (spiking/stdp.py): a caller in another file
PROBE = "from spikealign.sampling.stdp import window_at; print(repr(window_at(1, 1.0, -1.0, 1.0, 2.0, 2.0)))"


def _scratch_package(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    shutil.copytree(_numba_cache.PACKAGE_DIR, src / "spikealign", ignore=shutil.ignore_patterns("__pycache__"))
    return src


def _probe(src: Path, cache: Path) -> tuple[float, list[Path]]:
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", _numba_cache.ROOT_ENV)}
    env.update(PYTHONPATH=str(src), SPIKEALIGN_CACHE_DIR=str(cache))
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    return float(done.stdout), sorted(cache.glob("numba-*"))


def test_editing_a_callee_in_another_file_reaches_its_cached_caller(tmp_path):
    src = _scratch_package(tmp_path)
    cache = tmp_path / "cache"
    first, dirs = _probe(src, cache)
    assert first == -math.exp(-0.5)
    assert len(dirs) == 1 and list(dirs[0].rglob("*.nbi")), "the first run writes the cache"
    assert _probe(src, cache) == (first, dirs), "an unchanged package reuses its cache"

    callee = src / "spikealign" / "spiking" / "stdp.py"
    text = callee.read_text()
    assert text.count(CALLEE_LINE) == 1
    callee.write_text(text.replace(CALLEE_LINE, CALLEE_LINE.replace("return a_plus", "return 2.0 * a_plus")))

    edited, dirs_after = _probe(src, cache)
    assert edited == 2 * first, "the caller runs the edited callee, not the cached old code"
    assert len(dirs_after) == 2


def test_the_cache_directory_follows_kernel_sources_only(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "kernel.py").write_text("import numba\n")
    (pkg / "plain.py").write_text("x = 1\n")
    before = _numba_cache.kernel_sources_hash(pkg)
    (pkg / "plain.py").write_text("x = 2\n")
    assert _numba_cache.kernel_sources_hash(pkg) == before
    (pkg / "kernel.py").write_text("import numba  # edited\n")
    assert _numba_cache.kernel_sources_hash(pkg) != before


def test_the_root_is_taken_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(_numba_cache.ROOT_ENV, str(tmp_path / "mine"))
    assert _numba_cache.kernel_cache_dir().parent == tmp_path / "mine"
    monkeypatch.delenv(_numba_cache.ROOT_ENV)
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "numba"))
    assert _numba_cache.kernel_cache_dir().parent == tmp_path / "numba"


def test_importing_spikealign_points_numba_at_the_keyed_directory():
    from numba.core import config

    assert Path(config.CACHE_DIR) == _numba_cache.kernel_cache_dir()


# a tiny cached kernel; prints where numba's cache went
NOBODY_PROBE = (
    "import json, math, os, spikealign; from spikealign.spiking.neuron import spike_probability; "
    "print(json.dumps({'p': spike_probability(0.5, math.log(25.0)), 'cache': os.environ['NUMBA_CACHE_DIR']}))"
)


def _as_nobody(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    setpriv = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]
    return subprocess.run([*setpriv, *argv], env=env, capture_output=True, text=True, timeout=300)


def _interpreter_for_nobody(site: Path, env: dict[str, str]) -> str | None:
    """An interpreter that ``nobody`` may run and that imports numba from ``site`` (this one's packages)."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (sys.executable, shutil.which(version, path="/usr/local/bin:/usr/bin:/bin")):
        if candidate is None:
            continue
        probe = _as_nobody([candidate, "-c", "import numba, numpy"], {**env, "PYTHONPATH": str(site)})
        if probe.returncode == 0:
            return candidate
    return None


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to run as user nobody")
@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv (util-linux) to run as user nobody")
def test_user_nobody_without_a_home_runs_a_cached_kernel():
    """The real case of issue 21: user nobody, HOME=/nonexistent, a read-only package: the kernel
    compiles and its cache goes to a private folder in the temporary directory, without an error."""
    import pwd

    import numba

    from spikealign.spiking.neuron import spike_probability

    site = Path(numba.__file__).resolve().parents[1]
    scratch = Path(tempfile.mkdtemp(prefix="spikealign-nobody-"))
    try:
        scratch.chmod(0o755)  # pytest's own tmp_path is private to root
        src = scratch / "src"
        shutil.copytree(_numba_cache.PACKAGE_DIR, src / "spikealign", ignore=shutil.ignore_patterns("__pycache__"))
        subprocess.run(["chmod", "-R", "a+rX,a-w", str(src)], check=True)  # readable, not writable
        tmp = scratch / "tmp"
        tmp.mkdir()
        tmp.chmod(0o1777)
        keep = ("PATH", "LANG", "LC_ALL")
        env = {k: v for k, v in os.environ.items() if k in keep} | {"HOME": "/nonexistent", "TMPDIR": str(tmp)}
        python = _interpreter_for_nobody(site, env)
        if python is None:
            pytest.skip(f"no interpreter that user nobody may run imports numba from {site}")
        res = _as_nobody([python, "-c", NOBODY_PROBE], {**env, "PYTHONPATH": f"{src}{os.pathsep}{site}"})
        assert res.returncode == 0, res.stderr[-2000:]
        assert "locator" not in res.stderr and "Traceback" not in res.stderr, res.stderr
        got = json.loads(res.stdout.strip().splitlines()[-1])
        assert got["p"] == spike_probability(0.5, math.log(25.0))
        cache = Path(got["cache"])
        uid = pwd.getpwnam("nobody").pw_uid
        assert cache.parent == tmp / f"spikealign-cache-{uid}", cache  # the private fallback of nobody's uid
        assert any(cache.glob("**/*.nbi")), "numba wrote no cache index"
        assert not (src / "spikealign" / "__pycache__").exists()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
