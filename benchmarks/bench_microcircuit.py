"""Benchmark ``microcircuit``: simulation steps per second of the 1-1-1 Fig. 6 student (SAL).

What is timed: whole training epochs of the paper configuration (26 patterns of 20 000 steps,
SAL feedback, per-pattern recording), after one warm-up pattern that includes JIT compilation.
The number is the best of ``repeats`` timings (wall clock); CPU time is given in ``details``.

Baseline: the reference implementation's documented speed, 0.23-0.41 ms per step on a 2-core
VM (docs/microcircuits.md, "Performance"); the ratio uses the FAST end (0.23 ms), so
it is the conservative one.  The projected Fig. 6 paper sweep time counts 60 student runs of
7.8e7 steps plus the 20+20+20 teachers (2.8e5 steps for SAL, 2.8e6 for BP and FA), on 2 cores
with one run per core.
"""

from __future__ import annotations

import time

import numpy as np

REFERENCE_MS_PER_STEP = (0.23, 0.41)
FIG6_STEPS = 60 * 26 * 150 * 20000 + 20 * (14 * 20000 + 2 * 14 * 200000)


def _student(n_epochs: int):
    from spikealign.microcircuit.experiments import paper_config
    from spikealign.microcircuit.model import NetworkParams
    from spikealign.microcircuit.protocol import Student, StudentSettings, draw_student_weights, make_schedule

    cfg = paper_config("sal")
    st = cfg["student"]
    x_tr = np.array(cfg["inputs"]["training"])
    x_va = np.array(cfg["inputs"]["validation"])
    y_tr, y_va = np.tanh(x_tr) * 0.45, np.tanh(x_va) * 0.45  # stand-in targets; the cost does not depend on them
    x, y = make_schedule(x_tr, x_va, y_tr, y_va, st["training_seed"], 20, 6, n_epochs + 1)
    params = NetworkParams(lr_up=(0.2, 0.003), lr_down=0.001)
    settings = StudentSettings(20, 5, 6, n_epochs + 1, 2000, 20000, True)
    w = draw_student_weights(st["weights_init_seed"], (1, 1, 1))
    return Student(params, settings, "sal", w, (-1.0, -1.0), x, y, st["poisson_seed"])


def run(quick: bool = False) -> dict:
    n_epochs = 1 if quick else 4
    repeats = 2 if quick else 3
    best_wall, best_cpu = np.inf, np.inf
    for _ in range(repeats):
        student = _student(n_epochs)
        student.step_pattern()  # warm-up: JIT compile / cache load
        n_patterns = 26 * n_epochs
        w0, c0 = time.perf_counter(), time.process_time()
        for _ in range(n_patterns):
            student.step_pattern()
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        best_wall, best_cpu = min(best_wall, wall), min(best_cpu, cpu)
    steps = n_patterns * 20000
    sps = steps / best_wall
    ref_fast = REFERENCE_MS_PER_STEP[0] * 1e-3
    ratio = sps * ref_fast
    fig6_s = FIG6_STEPS / (2 * sps)
    return {
        "metric": "microcircuit steps per second (1-1-1 paper configuration, SAL, one core)",
        "value": sps,
        "unit": "steps/s",
        "baseline": {
            "what": "reference implementation, documented 0.23 ms/step (fast end of 0.23-0.41 ms on a 2-core VM, "
            "docs/microcircuits.md, Performance)",
            "value": 1.0 / ref_fast,
        },
        "ratio": ratio,
        "details": {
            "steps_timed": steps,
            "us_per_step_wall": 1e6 * best_wall / steps,
            "us_per_step_cpu": 1e6 * best_cpu / steps,
            "ratio_vs_slow_end_0.41ms": sps * REFERENCE_MS_PER_STEP[1] * 1e-3,
            "fig6_paper_sweep_steps": FIG6_STEPS,
            "fig6_paper_sweep_projected_minutes_2_cores": fig6_s / 60.0,
            "fig6_paper_sweep_projected_minutes_2_cores_from_cpu_time": FIG6_STEPS * best_cpu / steps / 2 / 60.0,
            "reference_fig6_cpu_hours": [FIG6_STEPS * m * 1e-3 / 3600 for m in REFERENCE_MS_PER_STEP],
        },
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(quick=True), indent=2))
