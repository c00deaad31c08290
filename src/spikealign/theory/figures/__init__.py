"""The theory figures, one module per figure: sweeps, drawing and checks.

=============== ============================= ==========================================
figure id       module                        files under ``figures/``
=============== ============================= ==========================================
``fig2c``       :mod:`.fig2c`                 ``stdd_and_window``
``fig2d``       :mod:`.fig2d`                 ``weight_evolution``
``fig2e``       :mod:`.fig2e`                 ``ppd``
``psp-shapes``  :mod:`.psp_shapes`            ``psp_shape_comparison``
``proof``       :mod:`.proof`                 ``proof_perturbation``
=============== ============================= ==========================================

Each module has ``sweeps(profile)`` (the runs the figure needs) and ``draw(results, out_dir)``
(reads their results, draws the files and returns the key numbers with the paper's qualitative
expectations, each marked met or not met).  Shared helpers are in :mod:`.common`.  Importing this
package registers the figures (:func:`spikealign.registry.register_figure`); the family module
:mod:`spikealign.theory.experiments` imports it.
"""

from __future__ import annotations

from ...registry import Figure, register_figure
from . import fig2c, fig2d, fig2e, proof, psp_shapes

#: figure id -> (module, one-line description)
FIGURES = {
    "fig2c": (fig2c, "STDDs of two neurons (excitatory/inhibitory, symmetric/asymmetric) and the SAL window"),
    "fig2d": (fig2d, "SAL weight evolution of two spiking neurons: both weights plastic, one frozen"),
    "fig2e": (fig2e, "phase plane of the SAL flow with the spiking trajectories overlaid"),
    "psp-shapes": (psp_shapes, "SAL with rect and alpha PSPs: kernels, STDDs, zero sets, deviation over biases"),
    "proof": (proof, "perturbation delta(t) and its running sum Delta(t) >= 0 (proof sketch)"),
}

for _id, (_module, _summary) in FIGURES.items():
    register_figure(Figure(_id, _summary, _module.sweeps, _module.draw))

__all__ = ["FIGURES", "fig2c", "fig2d", "fig2e", "proof", "psp_shapes"]
