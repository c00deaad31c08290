"""Spiking dendritic cortical microcircuits with SAL, FA or BP feedback (paper Fig. 6).

Modules:

- :mod:`.kernel`: the compiled (numba) step loop of one pattern, in the reference's exact step
  and random-number order;
- :mod:`.model`: :class:`~.model.Network` (state of one network, any layer sizes) and
  :class:`~.model.NetworkParams`;
- :mod:`.protocol`: phase logic (:func:`~.protocol.pattern_phase`), data schedule, teacher
  (:func:`~.protocol.run_teacher`) and student (:class:`~.protocol.Student`, feedback modes
  ``sal``/``fa``/``bp``, checkpointable state);
- :mod:`.config`: the run config (``kind: microcircuit``); :mod:`.reference`: the reference-YAML converter;
- :mod:`.runner`: one run (files, metrics); :mod:`.figures`: checks and drawing (imported when drawn);
- :mod:`.experiments`: registration of the experiment and of the figures ``fig6`` and ``mc-wide``
  (their sweeps of the paper configs).

With the reference's seeds the simulation reproduces the reference implementation bit for bit
(docs/microcircuits.md, "Reference numbers").
"""

from .model import Network, NetworkParams, spike_probability
from .protocol import (
    Student,
    StudentSettings,
    draw_student_weights,
    feedback_angle,
    make_schedule,
    pattern_phase,
    pattern_phases,
    run_teacher,
)

__all__ = [
    "Network",
    "NetworkParams",
    "Student",
    "StudentSettings",
    "draw_student_weights",
    "feedback_angle",
    "make_schedule",
    "pattern_phase",
    "pattern_phases",
    "run_teacher",
    "spike_probability",
]
