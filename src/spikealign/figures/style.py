"""spikealign's figure style: one palette, one set of sizes and fonts for every family's figures.

Use :func:`figure` instead of ``plt.subplots`` and :data:`COLORS` / :func:`method_color` for
colours; :func:`save_figure` (re-exported here) writes the files.  The style is applied through
``matplotlib.rc_context`` so that figures look the same however the package is imported and never
change the user's global matplotlib settings.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from . import save_figure

#: one colour per role; colour-blind-safe (Okabe-Ito)
COLORS = {
    "sal": "#0072B2",  # blue: SAL, aligned feedback
    "no_sal": "#D55E00",  # vermilion: without SAL / misaligned
    "bp": "#000000",  # black: exact backprop / theory
    "fa": "#E69F00",  # orange: feedback alignment
    "kp": "#009E73",  # green: Kolen-Pollack
    "scfa": "#CC79A7",  # purple: sign-concordant
    "rdd": "#56B4E9",  # sky blue
    "stdwi": "#F0E442",  # yellow
    "neutral": "#7F7F7F",  # grey: references, zero lines
}
#: ordered palette for series that have no role
CYCLE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
#: diverging colour map for signed quantities (SAL signal, weight asymmetry)
DIVERGING = "RdBu_r"
#: sequential colour map for magnitudes and densities
SEQUENTIAL = "viridis"

CM = 1 / 2.54  # inches per centimetre
#: figure widths (inches): one journal column, one and a half, two columns
WIDTH = {"single": 8.5 * CM, "onehalf": 12.5 * CM, "double": 17.5 * CM}

RC = {
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.linewidth": 0.6,
    "lines.linewidth": 1.2,
    "lines.markersize": 4,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "axes.prop_cycle": matplotlib.cycler(color=CYCLE),
    "image.cmap": SEQUENTIAL,
    "savefig.dpi": 200,
}


def method_color(name: str) -> str:
    """The colour of a method or condition (``sal``, ``fa``, ...); grey for unknown names."""
    return COLORS.get(name.lower().replace("-", "_"), COLORS["neutral"])


@contextmanager
def style() -> Iterator[None]:
    """Context in which matplotlib uses spikealign's rc settings."""
    with plt.rc_context(RC):
        yield


def figure(nrows: int = 1, ncols: int = 1, *, width: str | float = "single", aspect: float = 0.75, **kw):
    """``plt.subplots`` in spikealign's style.

    ``width`` is a key of :data:`WIDTH` or inches; the height is ``width * aspect * nrows / ncols``
    unless ``figsize`` is given.  Returns ``(fig, axes)`` like ``plt.subplots``.
    """
    w = WIDTH[width] if isinstance(width, str) else float(width)
    kw.setdefault("figsize", (w, w * aspect * nrows / ncols))
    kw.setdefault("constrained_layout", True)
    with style():
        fig, axes = plt.subplots(nrows, ncols, **kw)
    for ax in fig.axes:
        _apply_axes_style(ax)
    return fig, axes


def _apply_axes_style(ax) -> None:
    # rc settings act at creation; re-apply the ones that matter when drawing happens outside the context
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.tick_params(labelsize=RC["xtick.labelsize"], width=RC["xtick.major.width"])


def styled(draw):
    """Decorator: run a drawing function inside :func:`style` (rc settings apply to every artist)."""
    import functools

    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        with style():
            return draw(*args, **kwargs)

    return wrapper


def panel_label(ax, label: str) -> None:
    """Bold panel letter (``a``, ``b``, ...) at the top left outside the axes."""
    ax.text(-0.18, 1.05, label, transform=ax.transAxes, fontsize=9, fontweight="bold", va="bottom", ha="left")


__all__ = [
    "CM", "COLORS", "CYCLE", "DIVERGING", "RC", "SEQUENTIAL", "WIDTH",
    "figure", "method_color", "panel_label", "save_figure", "style", "styled",
]  # fmt: skip
