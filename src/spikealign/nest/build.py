"""Build the NEST extension module with the SAL synapse from its NESTML source, once per machine.

The models in ``spikealign/nest/models/*.nestml`` are turned into C++ by NESTML and compiled
against the installed NEST. The result, ``spikealignmodule.so``, is cached in
``~/.cache/spikealign/nest/<key>/`` (``$SPIKEALIGN_CACHE_DIR/nest/<key>/`` if set; a folder in
the temp directory if the home folder cannot be written), where ``<key>`` hashes the NEST and
NESTML versions, the model sources and the build options: a change of any of them builds anew.

The PyPI NEST wheel needs three workarounds, all applied here:

- its ``nest-config`` reports the wheel build machine's prefix and compiler, so the build uses a
  small ``nest-config`` written into the build folder that points at the installed ``nest``
  package and the system C++ compiler (a NEST built from source, e.g. with MPI on a cluster, has a
  correct ``nest-config``: name it in ``$SPIKEALIGN_NEST_CONFIG`` and it is used as it is);
- the wheel is compiled with the old C++ string ABI (``-D_GLIBCXX_USE_CXX11_ABI=0``), so the
  module must be as well;
- the module's undefined symbols live in NEST's Python extension (``nest/nestkernel_api.so``),
  which Python loads privately. Making that extension global (``RTLD_GLOBAL``) would let them
  resolve, but would also put the wheel's bundled OpenMP runtime in front of every library loaded
  later (torch, numba's OpenMP layer), whose thread settings then reach NEST and crash it. So the
  module is linked against the extension instead (``--libs`` of the ``nest-config`` below), and
  ``nest.Install`` finds the symbols there.

Building needs a C++ compiler, cmake, make and the headers of Boost, GSL and libltdl
(Debian/Ubuntu: ``apt-get install g++ cmake make libboost-dev libgsl-dev libltdl-dev``); a
missing one is reported by name before anything is compiled.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from ..errors import UserError

MODULE_NAME = "spikealignmodule"
NEURON_MODEL = "lif_psc_exp_neuron"
PAIRED_NEURON_MODEL = "lif_psc_exp_neuron__with_sal_synapse"
SYNAPSE_MODEL = "sal_synapse__with_lif_psc_exp_neuron"
# the theory's escape-noise neuron (models/escape_noise_neuron.nestml), paired with the same synapse
ESCAPE_NOISE_MODEL = "escape_noise_neuron"
PAIRED_ESCAPE_NOISE_MODEL = "escape_noise_neuron__with_sal_synapse"
ESCAPE_NOISE_SYNAPSE_MODEL = "sal_synapse__with_escape_noise_neuron"
PSP_CAPACITY = 200  # its ring buffer: the longest PSP in steps (psp_capacity in the NESTML source)
MODELS_DIR = Path(__file__).parent / "models"

# compiler flags of the module: those of the PyPI wheel (C++20, OpenMP, optimised) and its old string ABI
CXXFLAGS = "-fopenmp -O3 -DNDEBUG -std=c++20 -D_GLIBCXX_USE_CXX11_ABI=0"
CODEGEN_OPTIONS = {
    "neuron_synapse_pairs": [
        {"neuron": "lif_psc_exp_neuron", "synapses": {"sal_synapse": {"post_ports": ["post_spikes"]}}},
        {"neuron": "escape_noise_neuron", "synapses": {"sal_synapse": {"post_ports": ["post_spikes"]}}},
    ],
    # both traces stay in the synapse (NESTML would move the post trace into the neuron, whose
    # trace look-up recomputes all of the neuron's propagators twice per presynaptic spike)
    "strictly_synaptic_vars": {"sal_synapse": ["post_trace", "since_post"]},
    "weight_variable": {"sal_synapse": "w"},
}

# what the build needs, and the Debian/Ubuntu package that provides it
SYSTEM_HEADERS = {"boost/version.hpp": "libboost-dev", "gsl/gsl_errno.h": "libgsl-dev", "ltdl.h": "libltdl-dev"}
SYSTEM_PROGRAMS = {"cmake": "cmake", "make": "make"}


def model_sources() -> list[Path]:
    """The NESTML files compiled into the module (package data)."""
    return sorted(MODELS_DIR.glob("*.nestml"))


def cache_key() -> str:
    """Hash of everything the built module depends on: NEST and NESTML versions, sources, options."""
    h = hashlib.sha256()
    for dist in ("nest-simulator", "nestml"):
        h.update(f"{dist}={_version(dist)}\n".encode())
    h.update(f"{sys.implementation.cache_tag} {sys.platform} {os.uname().machine}\n".encode())
    if os.environ.get("SPIKEALIGN_NEST_CONFIG"):
        h.update(f"nest-config {os.environ['SPIKEALIGN_NEST_CONFIG']}\n".encode())
    h.update(repr(sorted(CODEGEN_OPTIONS.items())).encode() + CXXFLAGS.encode() + _nest_libs().encode())
    for path in model_sources():
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def cache_root() -> Path:
    """The cache: ``$SPIKEALIGN_CACHE_DIR``, else ``$XDG_CACHE_HOME/spikealign``, else ``~/.cache/spikealign``."""
    if os.environ.get("SPIKEALIGN_CACHE_DIR"):
        return Path(os.environ["SPIKEALIGN_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "spikealign"


def build_dir() -> Path:
    """This build's folder (``<cache>/nest/<key>``); a temp folder if the cache cannot be written."""
    key = cache_key()
    preferred = cache_root() / "nest" / key
    try:
        preferred.mkdir(parents=True, exist_ok=True)
        if os.access(preferred, os.W_OK):
            return preferred
    except OSError:
        pass
    fallback = Path(tempfile.gettempdir()) / f"spikealign-{os.getuid()}" / "nest" / key
    fallback.mkdir(parents=True, exist_ok=True)
    return fallback


def module_path(folder: Path | None = None) -> Path:
    """The built module file (it may not exist yet)."""
    return (folder or build_dir()) / "install" / f"{MODULE_NAME}.so"


def ensure_built(*, quiet: bool = False) -> Path:
    """The path of the compiled module, building it first if it is not in the cache.

    Concurrent callers (pytest-xdist workers, parallel runs) wait for one build instead of racing.

    Raises
    ------
    UserError
        one line naming the missing system package, or the log file of a failed build.
    """
    folder = build_dir()
    target = module_path(folder)
    if target.is_file():
        return target
    with _wait_lock(folder / ".build.lock"):
        if target.is_file():  # another process built it while we waited
            return target
        check_build_requirements()
        log = folder / "build.log"
        if not quiet:
            print(
                f"spikealign: building the NEST SAL module from NESTML (once, about 2 min); log: {log}",
                file=sys.stderr,
                flush=True,
            )
        t0 = time.perf_counter()
        _build(folder, log)
        if not target.is_file():
            raise UserError(f"building the NEST SAL module failed (no {target.name} produced); see the log {log}")
        if not quiet:
            print(f"spikealign: NEST SAL module built in {time.perf_counter() - t0:.0f} s: {target}", file=sys.stderr)
    return target


def check_build_requirements() -> None:
    """Raise a one-line :class:`UserError` naming the system packages that a build would miss."""
    missing: list[str] = []
    if _compiler() is None:
        missing.append("g++ (a C++ compiler; or set CXX)")
    missing += [package for program, package in SYSTEM_PROGRAMS.items() if shutil.which(program) is None]
    include_dirs = _include_dirs()
    missing += [
        package for header, package in SYSTEM_HEADERS.items() if not any((d / header).is_file() for d in include_dirs)
    ]
    if missing:
        names = " ".join(m.split(" ")[0] for m in missing)
        raise UserError(
            "the NEST SAL module cannot be built: missing system package(s) "
            + ", ".join(missing)
            + f"; on Debian/Ubuntu: apt-get install {names}"
        )


def _build(folder: Path, log: Path) -> None:
    """Generate the C++ code with NESTML and compile it (in a subprocess; all output into ``log``)."""
    nest_config = os.environ.get("SPIKEALIGN_NEST_CONFIG")
    if nest_config:
        if not os.access(nest_config, os.X_OK):
            raise UserError(f"SPIKEALIGN_NEST_CONFIG={nest_config} is not an executable nest-config")
        nest_prefix = Path(nest_config).resolve().parent.parent  # NESTML calls <prefix>/bin/nest-config
    else:
        nest_prefix = folder / "nest-config-wrapper"
        _write_nest_config(nest_prefix)
    for sub in ("target", "install"):
        shutil.rmtree(folder / sub, ignore_errors=True)
    options = {**CODEGEN_OPTIONS, "nest_path": str(nest_prefix), "max_n_compiler_processes": _n_jobs()}
    script = (
        "import sys\n"
        "from pynestml.frontend.pynestml_frontend import generate_target\n"
        "errors = generate_target(sys.argv[1:-2], target_platform='NEST', target_path=sys.argv[-2],\n"
        f"    install_path=sys.argv[-1], module_name={MODULE_NAME!r}, logging_level='WARNING',\n"
        f"    codegen_opts={options!r})\n"
        "sys.exit(1 if errors else 0)\n"
    )
    args = [sys.executable, "-c", script, *map(str, model_sources()), str(folder / "target"), str(folder / "install")]
    env = {**os.environ, "PYNEST_QUIET": "1"}
    with open(log, "w") as fh:
        fh.write("$ " + " ".join(args[:2]) + " <script> " + " ".join(args[3:]) + "\n" + script + "\n")
        fh.flush()
        proc = subprocess.run(args, stdout=fh, stderr=subprocess.STDOUT, cwd=folder, env=env, check=False)
    if proc.returncode != 0:
        raise UserError(f"building the NEST SAL module failed (exit code {proc.returncode}); see the log {log}")


def _write_nest_config(prefix: Path) -> Path:
    """A ``nest-config`` for the installed ``nest`` package and the system compiler (the wheel's names others)."""
    nest_dir = _nest_package_dir()
    compiler = _compiler()
    script = f"""#!/bin/sh
# written by spikealign.nest.build: nest-config for the NEST package at {nest_dir}
for arg in "$@"; do
  case "$arg" in
    --prefix|--exec-prefix) echo "{prefix}" ;;
    --compiler) echo "{compiler}" ;;
    --cflags) echo "{CXXFLAGS}" ;;
    --includes) echo "-I{nest_dir / "include" / "nest"}" ;;
    --libs) echo "{_nest_libs()}" ;;
    --static-libraries) echo "OFF" ;;
    --libdir) echo "lib" ;;
    --version) echo "{_version("nest-simulator")}" ;;
    *) echo "" ;;
  esac
done
"""
    path = prefix / "bin" / "nest-config"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(script)
    path.chmod(0o755)
    return path


def _nest_libs() -> str:
    """Linker flags that tie the module to NEST's Python extension (absolute path and run path)."""
    try:
        nest_dir = _nest_package_dir()
    except UserError:
        return ""
    extensions = sorted(nest_dir.glob("nestkernel_api*.so"))
    if not extensions:
        return ""
    return f"-Wl,--no-as-needed {extensions[0]} -Wl,-rpath,{nest_dir}"


def _nest_package_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("nest")
    if spec is None or spec.origin is None:
        from .._optional import MissingExtraError

        raise MissingExtraError(
            "nest is not installed; this part of spikealign needs the [nest] extra: pip install 'spikealign[nest]'"
        )
    return Path(spec.origin).parent


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def _compiler() -> str | None:
    for name in (os.environ.get("CXX"), "c++", "g++", "clang++"):
        if name and (found := shutil.which(name)):
            return found
    return None


def _include_dirs() -> list[Path]:
    extra = [p for var in ("CPATH", "CPLUS_INCLUDE_PATH") for p in os.environ.get(var, "").split(os.pathsep) if p]
    return [Path(p) for p in [*extra, "/usr/include", "/usr/local/include", f"{sys.prefix}/include"]]


def _n_jobs() -> int:
    try:
        return max(1, min(4, len(os.sched_getaffinity(0))))
    except AttributeError:  # pragma: no cover - not Linux
        return 2


@contextlib.contextmanager
def _wait_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path``, waiting for another holder (a build in another process)."""
    import fcntl

    with open(path, "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
