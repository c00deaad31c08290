"""The table of deep-network training methods (how the error reaches the lower layers).

A :class:`Method` says which feedback kind the conv layers and the fully connected (FC) layers
use (see :mod:`spikealign.deep.layers` and docs/deep.md, 'Feedback layers'), and optionally which
spiking *estimator* updates the FC feedback matrices before every epoch (docs/deep.md, 'Spiking
estimators').  :data:`METHODS` is the static table; :func:`list_methods` gives one line per method.

Adding a method is one entry in :data:`METHODS`; a method with a new estimator also needs one
entry in :data:`spikealign.deep.estimators.registry.ESTIMATORS`.

Hook contract for estimator methods:

* a training config with that method carries ``estimator: {...}`` settings; at config load the
  validator calls ``spikealign.deep.estimators.validate_settings(estimator, settings)`` (it returns
  the completed settings dict, or raises ``ValueError`` naming the bad key);
* the training loop calls ``spikealign.deep.estimators.make_estimator(estimator, model,
  settings, seed, device)`` once with the ConvNet (the estimator picks the layers it drives, see
  ``Estimator.layer_types``); before every epoch (epoch 0 included) it calls
  ``estimator.before_epoch(epoch) -> dict[str, float]`` which updates ``.feedback`` in place under
  ``torch.no_grad()``; the returned floats are logged under ``estimator/<key>``;
  ``estimator.state_dict()`` is stored in every checkpoint and ``estimator.load_state_dict(state)``
  is called on resume.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UserError

#: (colour of :data:`spikealign.figures.style.COLORS`, line style) of every method in figures: related
#: methods share a colour, variants differ by line (a data table: its rows look alike by design)
PLOT_STYLES: dict[str, tuple[str, str]] = {
    "bp": ("bp", "-"),
    "bp_w_fa": ("neutral", "-"),
    "fa": ("fa", "-"),
    "dfa": ("fa", "--"),
    "kp": ("green", "-"),
    "scfa": ("purple", "-"),
    "usf": ("purple", "--"),
    "frsf": ("purple", ":"),
    "brsf": ("purple", "-."),
    "sal": ("sal", "-"),
    "sal_conv": ("sal", "--"),
    "rdd": ("sky", "-"),
    "stdwi": ("dark_yellow", "-"),
}


def method_style(name: str) -> dict[str, str]:
    """``plot`` keywords (colour, line style) of a method; grey dash-dot for unknown names."""
    from ..figures.style import line_style

    return line_style(*PLOT_STYLES.get(name.lower().replace("-", "_"), ("neutral", "-.")))


#: feedback kinds of a layer (see :mod:`spikealign.deep.layers`)
FEEDBACK_KINDS = ("bp", "fa", "kp", "scfa", "dfa", "usf", "brsf", "frsf")


@dataclass(frozen=True)
class Method:
    """A training method: feedback kinds for conv and FC layers, optional spiking estimator.

    Attributes
    ----------
    name : table key (used as ``method:`` in configs and by :func:`spikealign.deep.convert`).
    conv_feedback, fc_feedback : one of :data:`FEEDBACK_KINDS`.
    estimator : name of a spiking estimator (:mod:`spikealign.deep.estimators`) that updates the
        FC feedback matrices before every epoch, or ``None``.
    aliases : other names accepted by :func:`get_method`.
    summary : one line for listings.
    in_fig8 : whether Fig. 8 trains this method.
    """

    name: str
    conv_feedback: str
    fc_feedback: str
    estimator: str | None = None
    aliases: tuple[str, ...] = ()
    summary: str = ""
    in_fig8: bool = True

    def __post_init__(self) -> None:
        for field_name in ("conv_feedback", "fc_feedback"):
            kind = getattr(self, field_name)
            if kind not in FEEDBACK_KINDS:
                raise ValueError(f"Method {self.name!r}: {field_name}={kind!r} is not one of {FEEDBACK_KINDS}")
        if self.estimator is not None and self.fc_feedback != "fa":
            raise ValueError(f"Method {self.name!r}: an estimator drives FC layers of kind 'fa' only")


_ESTIMATED = "FA layers; {} spiking phase updates the FC feedback before every epoch"

#: every built-in method, in listing order
METHODS: tuple[Method, ...] = (
    Method("bp", "bp", "bp", summary="exact backpropagation"),
    Method("fa", "fa", "fa", summary="feedback alignment: fixed random feedback in all layers"),
    Method("bp_w_fa", "fa", "bp", summary="exact FC backprop, fixed random conv feedback (upper bound)"),
    Method("kp", "fa", "kp", aliases=("akrout",), summary="Kolen-Pollack: FC feedback gets W's gradient plus decay"),
    Method("scfa", "fa", "scfa", summary="sign-concordant FA: FC feedback |B0| * sign(W), fixed random conv feedback"),
    Method(
        "dfa", "dfa", "dfa", summary="direct feedback alignment: each layer gets the output error through a fixed B"
    ),
    Method("usf", "usf", "usf", summary="uniform sign-concordant feedback sign(W) / sqrt(fan_in) in all layers"),
    Method("brsf", "brsf", "brsf", summary="|M| * sign(W), M redrawn every batch, in all layers", in_fig8=False),
    Method("frsf", "frsf", "frsf", summary="fixed random magnitude |B0| * sign(W) in all layers"),
    Method("sal", "fa", "fa", estimator="sal", summary=_ESTIMATED.format("a SAL")),
    Method("rdd", "fa", "fa", estimator="rdd", summary=_ESTIMATED.format("an RDD (Guerguiev et al. 2020)")),
    Method("stdwi", "fa", "fa", estimator="stdwi", summary=_ESTIMATED.format("an STDWI (Ahmad et al.)") + " (new)"),
    Method(
        "sal_conv",
        "fa",
        "fa",
        estimator="sal_conv",
        summary="FA layers; a SAL spiking phase updates the conv AND FC feedback before every epoch (new)",
    ),
)

_METHODS: dict[str, Method] = {}
_ALIASES: dict[str, str] = {}


def register_method(method: Method) -> Method:
    """Add a method beyond :data:`METHODS` (plug-ins, tests); re-adding an equal method is a no-op.

    Raises
    ------
    ValueError
        If the name or an alias is already taken by a different method.
    """
    for key in (method.name, *method.aliases):
        owner = _ALIASES.get(key, key if key in _METHODS else None)
        if owner is not None and _METHODS[owner] != method:
            raise ValueError(f"method name {key!r} is already registered (by {owner!r})")
    _METHODS[method.name] = method
    for alias in method.aliases:
        _ALIASES[alias] = method.name
    return method


for _method in METHODS:
    register_method(_method)


def method_names() -> list[str]:
    """Method names (not aliases), in table order."""
    return list(_METHODS)


def list_methods() -> dict[str, str]:
    """``{name: one-line description}`` for every method (aliases noted in the description)."""
    out = {}
    for m in _METHODS.values():
        alias = f" (alias {', '.join(m.aliases)})" if m.aliases else ""
        out[m.name] = m.summary + alias
    return out


def get_method(name: str | Method) -> Method:
    """The method called ``name`` (or an alias of it); a :class:`Method` is returned as is.

    Raises
    ------
    UserError
        For an unknown name; the message lists the known names.
    """
    if isinstance(name, Method):
        return name
    key = _ALIASES.get(name, name)
    if key not in _METHODS:
        known = ", ".join(method_names() + [f"{a} (= {m})" for a, m in _ALIASES.items()])
        raise UserError(f"unknown deep-network method {name!r} (known: {known})")
    return _METHODS[key]
