"""spikealign's figure style: one palette, one set of sizes and fonts for every family's figures.

Use :func:`figure` instead of ``plt.subplots`` and :data:`COLORS` / :func:`method_color` for
colours; :func:`save_figure` (re-exported here) writes the files.  The style is applied through
``matplotlib.rc_context`` so that figures look the same however the package is imported and never
change the user's global matplotlib settings.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import matplotlib
from cycler import cycler

from . import save_figure

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

#: one colour per role, then the rest of the palette by name; colour-blind-safe (Okabe-Ito).  A family
#: that draws more series (the deep-net methods) names its own roles in these colours.
COLORS = {
    "sal": "#0072B2",  # blue: SAL, aligned feedback
    "no_sal": "#D55E00",  # vermilion: without SAL / misaligned
    "bp": "#000000",  # black: exact backprop / theory
    "fa": "#E69F00",  # orange: feedback alignment
    "neutral": "#7F7F7F",  # grey: references, zero lines
    "green": "#009E73",
    "purple": "#CC79A7",
    "sky": "#56B4E9",
    "yellow": "#F0E442",
    "dark_yellow": "#B8860B",  # the palette's yellow is too light for thin lines
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

#: keyword arguments of ``plt.subplots`` that go to ``Figure.subplots`` (all others make the figure)
_SUBPLOTS_KEYS = ("sharex", "sharey", "squeeze", "width_ratios", "height_ratios", "subplot_kw", "gridspec_kw")

RC: dict[RcKeyType, Any] = {
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
    "axes.prop_cycle": cycler(color=CYCLE),
    "image.cmap": SEQUENTIAL,
    "savefig.dpi": 200,
}


def line_style(color: str, linestyle: str = "-") -> dict[str, str]:
    """``plot`` keywords of a series: ``color`` names an entry of :data:`COLORS` (or is a colour itself)."""
    return {"color": COLORS.get(color, color), "linestyle": linestyle}


def method_color(name: str) -> str:
    """The colour of a method or condition (``sal``, ``fa``, ...); grey for unknown names."""
    return COLORS.get(name.lower().replace("-", "_"), COLORS["neutral"])


@contextmanager
def style() -> Iterator[None]:
    """Context in which matplotlib uses spikealign's rc settings."""
    with matplotlib.rc_context(RC):
        yield


def figure(nrows: int = 1, ncols: int = 1, *, width: str | float = "single", aspect: float = 0.75, **kw):
    """``plt.subplots`` in spikealign's style.

    ``width`` is a key of :data:`WIDTH` or inches; the height is ``width * aspect * nrows / ncols``
    unless ``figsize`` is given.  Returns ``(fig, axes)`` like ``plt.subplots``.  The figure is a
    plain :class:`matplotlib.figure.Figure` on an Agg canvas, not registered with ``pyplot`` (which
    is never imported here, as it takes long to import): no ``plt.close`` needed, and
    ``plt.gcf()`` does not see it.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    w = WIDTH[width] if isinstance(width, str) else float(width)
    kw.setdefault("figsize", (w, w * aspect * nrows / ncols))
    if "layout" not in kw and "tight_layout" not in kw:
        kw.setdefault("constrained_layout", True)
    subplot_kw = {k: kw.pop(k) for k in _SUBPLOTS_KEYS if k in kw}
    with style():
        fig = Figure(**kw)
        FigureCanvasAgg(fig)
        axes = fig.subplots(nrows, ncols, **subplot_kw)
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

    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        with style():
            return draw(*args, **kwargs)

    return wrapper


def log_axis(ax, which: str = "y") -> None:
    """Log scale on ``ax``'s ``which`` axis ("x" or "y") with plain-text tick labels (``0.01``, ``0.5``, ``2``).

    Matplotlib's default log labels (``10^-2``) are mathtext, whose parser takes about 0.2 s to
    build in a fresh process; per-run figures use this instead.
    """
    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    axis = ax.xaxis if which == "x" else ax.yaxis
    formatter = _plain_log_formatter()
    axis.set_major_formatter(formatter())
    axis.set_minor_formatter(formatter(labelOnlyBase=False))


@functools.cache
def _plain_log_formatter():
    from matplotlib.ticker import LogFormatter

    class PlainLogFormatter(LogFormatter):
        """Matplotlib's choice of labelled log ticks, written as ``%g`` numbers."""

        def _num_to_string(self, x, vmin, vmax):
            return f"{x:.3g}"

    return PlainLogFormatter


def panel_label(ax, label: str) -> None:
    """Bold panel letter (``a``, ``b``, ...) at the top left outside the axes."""
    ax.text(-0.18, 1.05, label, transform=ax.transAxes, fontsize=9, fontweight="bold", va="bottom", ha="left")


__all__ = [
    "CM", "COLORS", "CYCLE", "DIVERGING", "RC", "SEQUENTIAL", "WIDTH",
    "figure", "log_axis", "method_color", "panel_label", "save_figure", "style", "styled",
]  # fmt: skip
