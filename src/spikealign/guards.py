"""The non-finite guard: a run whose state turns NaN or infinite stops at the next check.

Every family calls :func:`check_finite` at the natural check points of its run loop (after a
training cycle, an epoch, an estimation phase) with the arrays that must stay finite, where the
run is, and the config keys that drive the values.  The first NaN or inf raises
:class:`NonFiniteError`: the run is marked failed and the command prints one line such as::

    spikealign run: error: the run diverged: W became NaN at cycle 40 (driven by lr.weight; try smaller values)

No run presents a NaN or inf as a result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .errors import UserError


class NonFiniteError(UserError):
    """A run's state became NaN or infinite (it diverged); the run stops with status ``failed``.

    Attributes
    ----------
    what : the quantity that became non-finite (e.g. ``'W'``, ``'train loss'``).
    where : when it was found (e.g. ``'cycle 40'``, ``'epoch 2'``).
    keys : the config keys that drive the quantity.
    """

    exit_code = 1

    def __init__(self, what: str, where: str, keys: Iterable[str], kind: str = "NaN"):
        self.what, self.where, self.keys, self.kind = what, where, tuple(keys), kind
        driven = f" (driven by {', '.join(self.keys)}; try smaller values)" if self.keys else ""
        super().__init__(f"the run diverged: {what} became {kind} at {where}{driven}")


def non_finite_kind(value: Any) -> str | None:
    """``'NaN'``, ``'infinite'`` or ``None`` (all finite) for a number, numpy array or torch tensor."""
    if hasattr(value, "detach"):  # a torch tensor: test on its device, bring one flag back
        import torch

        t = value.detach()
        if not (t.is_floating_point() or t.is_complex()):
            return None
        if bool(torch.isfinite(t).all()):
            return None
        return "NaN" if bool(torch.isnan(t).any()) else "infinite"
    a = np.asarray(value)
    if a.dtype.kind not in "fc":
        return None
    if np.isfinite(a).all():
        return None
    return "NaN" if np.isnan(a).any() else "infinite"


def check_finite(values: Mapping[str, Any], where: str, keys: Iterable[str] = ()) -> None:
    """Raise :class:`NonFiniteError` for the first entry of ``values`` holding a NaN or inf.

    Parameters
    ----------
    values : name -> number, numpy array or torch tensor (checked in order).
    where : where the run is, e.g. ``'cycle 40'`` or ``'epoch 3'``.
    keys : the config keys that drive these values (named in the message).
    """
    for name, value in values.items():
        kind = non_finite_kind(value)
        if kind is not None:
            raise NonFiniteError(name, where, keys, kind)
