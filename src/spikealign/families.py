"""The static table of what spikealign ships: experiment kinds, figure ids, reference formats and
named configs, each with the module that implements it.

Nothing here imports a model family.  :mod:`spikealign.registry` imports a family's module only
when one of its kinds or figures is asked for; importing the module registers its experiments and
figures (``register_experiment`` / ``register_figure``), and a test checks that every entry here
is registered by the module it names.  Adding a kind or figure to the package means adding its
line here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

TOY = "spikealign.experiments.toy"
THEORY = "spikealign.theory.experiments"
SAMPLING = "spikealign.sampling.experiments"
DALE = "spikealign.sampling.dale"
MICROCIRCUIT = "spikealign.microcircuit.experiments"
DEEP = "spikealign.deep.experiments"
ESTIMATORS = "spikealign.deep.estimators.experiments"
SALNET = "spikealign.salnet.experiments"

# experiment kind -> (module that registers it, one-line summary)
EXPERIMENT_KINDS: dict[str, tuple[str, str]] = {
    "toy": (TOY, "diagnostic random walks (tests, tutorials)"),
    "theory-stdd": (THEORY, "exact spike-time-difference distribution of two neurons and its SAL signal"),
    "theory-phase-plane": (THEORY, "SAL phase plane of a two-neuron chain (Fig. 2e)"),
    "theory-spiking-sal": (THEORY, "two spiking neurons learning their weights with SAL (Fig. 2d)"),
    "ssn": (SAMPLING, "spiking sampling network learning a Boltzmann target (Figs. 4, 5)"),
    "dale-sal": (DALE, "SAL updates of an E-I circuit obeying Dale's law on a weight grid"),
    "dale-rate": (DALE, "firing rates of the E-I circuit and of its direct equivalent"),
    "microcircuit": (MICROCIRCUIT, "spiking dendritic microcircuit, teacher-student with SAL / FA / BP feedback"),
    "deep": (DEEP, "deep network trained with BP / FA / KP / SCFA / SAL / RDD feedback (Fig. 8; needs torch)"),
    "estimator-connection": (ESTIMATORS, "one spiking connection: SAL vs RDD vs STDWI weight estimates (Fig. 7)"),
    "sal-evolution": (ESTIMATORS, "SAL alignment over training of a spiking deep network"),
    "sal-network": (SALNET, "SAL in a recurrent LIF network, simulated by spikealign, NEST, Brian2 or torch"),
}

# figure id -> module that registers it, in the paper's order
FIGURE_MODULES: dict[str, str] = {
    "fig2c": THEORY,
    "fig2d": THEORY,
    "fig2e": THEORY,
    "fig4": SAMPLING,
    "fig5": SAMPLING,
    "fig6": MICROCIRCUIT,
    "fig7": ESTIMATORS,
    "fig8": DEEP,
    "dale": DALE,
    "sal-evolution": ESTIMATORS,
    "psp-shapes": THEORY,
    "proof": THEORY,
    "mc-wide": MICROCIRCUIT,
    "sal-engines": SALNET,
}

# the methods of kind "deep" (``method:``), in the order of spikealign.deep.methods.METHODS (a test
# checks they are the same), so that ``info`` lists them without importing torch
DEEP_METHODS: tuple[str, ...] = (
    "bp", "fa", "bp_w_fa", "kp", "scfa", "dfa", "usf", "brsf", "frsf", "sal", "rdd", "stdwi", "sal_conv",
)  # fmt: skip

# a missing third-party module -> the optional extra that installs it (the one table: a family that fails
# to import and :func:`spikealign._optional.require` both name the extra from here)
OPTIONAL_EXTRAS: dict[str, str] = {
    "torch": "deep",
    "torchvision": "deep",
    "dask_jobqueue": "cluster",
    "nest": "nest",
    "brian2": "brian2",
    "snntorch": "dev",
}

# named configs shipped as package data: name -> path below the spikealign package
NAMED_CONFIGS: dict[str, str] = {
    "mc-wide": "microcircuit/configs/wide_sal.yaml",
}


@dataclass(frozen=True)
class Recogniser:
    """A reference-implementation YAML format, told apart by its keys only (the one place they are
    written: each family's ``detect_reference`` is :meth:`matches` of its recogniser).

    ``keys``: the top-level keys the format has, or (``in_sections``) the keys of which a section's
    ``params`` mapping holds at least one (``exp_settings.yaml``).
    """

    kind: str
    what: str
    keys: tuple[str, ...]
    in_sections: bool = False

    def matches(self, raw: dict[str, Any]) -> bool:
        """Is ``raw`` (a YAML mapping without ``kind``) written in this format?"""
        if not isinstance(raw, dict) or "kind" in raw:
            return False
        if not self.in_sections:
            return all(k in raw for k in self.keys)
        return any(
            isinstance(s, dict) and isinstance(s.get("params"), dict) and any(f in s["params"] for f in self.keys)
            for s in raw.values()
        )


RECOGNISERS: tuple[Recogniser, ...] = (
    Recogniser("ssn", "reference SSN YAML", ("dim", "sim_params", "stdp", "num_epochs", "val_factor")),
    Recogniser(
        "microcircuit",
        "reference microcircuit YAML",
        ("network_properties", "student_simulation_settings", "teacher_simulation_settings", "u_input"),
    ),
    Recogniser(
        "deep", "reference exp_settings.yaml", ("use_backprop", "use_kp", "use_fa_conv_layers", "use_scfa"), True
    ),
)


@dataclass(frozen=True)
class ReferenceOption:
    """A ``spikealign run`` option for reference-format YAML files, handed to the family's converter
    (``from_reference(raw, path, options)``) as ``options[dest]``; declared here so that ``--help``
    lists it without importing the family."""

    flag: str
    dest: str
    type: type
    help: str
    minimum: int | None = None


REFERENCE_OPTIONS: tuple[ReferenceOption, ...] = (
    ReferenceOption("--section", "section", str, "reference deep-net settings: section of exp_settings.yaml"),
    ReferenceOption("--dataset", "dataset", str, "reference deep-net settings: dataset name"),
    ReferenceOption("--n-epochs", "n_epochs", int, "reference deep-net settings: number of epochs", minimum=1),
)


def recognise(raw: dict[str, Any]) -> Recogniser | None:
    """The reference format ``raw`` (a YAML mapping without ``kind``) is written in, if any."""
    return next((r for r in RECOGNISERS if r.matches(raw)), None)


def recogniser(kind: str) -> Recogniser:
    """The reference format of the package's kind ``kind``."""
    return next(r for r in RECOGNISERS if r.kind == kind)


def named_config_path(name: str) -> Path:
    """The file of the packaged config ``name`` (see :data:`NAMED_CONFIGS`)."""
    return Path(__file__).resolve().parent / NAMED_CONFIGS[name]


def resolve_config_path(path: Path) -> Path:
    """``path`` itself, or, when no such file exists, the packaged config of that name (e.g. ``mc-wide``)."""
    if not path.exists() and str(path) in NAMED_CONFIGS:
        return named_config_path(str(path))
    return path
