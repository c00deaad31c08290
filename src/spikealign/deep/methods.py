"""Registry of deep-network training methods (how the error reaches the lower layers).

A :class:`Method` says which feedback pathway the conv layers and the fully connected (FC) layers
use, and optionally which spiking *estimator* updates the FC feedback matrices before every epoch.

Feedback kinds (see :mod:`spikealign.deep.layers`):

``bp``    exact backprop (plain ``nn.Linear`` / ``nn.Conv2d``; no feedback tensor);
``fa``    feedback alignment: the input gradient uses a fixed random matrix ``B`` (delta @ B);
``kp``    Kolen-Pollack: as ``fa``, but ``B`` receives the same gradient as ``W`` (plus decay);
``scfa``  sign-concordant FA: the effective feedback is ``|B0| * sign(W)``.

Built-in methods (the sections of the reference's ``exp_settings.yaml``):

=========  =============  ===========  ==========================================
name       conv feedback  FC feedback  note
=========  =============  ===========  ==========================================
bp         bp             bp           exact backprop
fa         fa             fa           fixed random feedback everywhere
bp_w_fa    fa             bp           exact FC, random conv feedback (upper bound)
kp         fa             kp           alias ``akrout``
scfa       fa             scfa         sign-concordant FC feedback
=========  =============  ===========  ==========================================

Hook contract for spiking estimators (methods ``sal``, ``rdd``, ``stdwi`` are registered by
:mod:`spikealign.deep.estimators`, not here):

* the estimator module calls :func:`register_method` with ``Method(name, conv_feedback="fa",
  fc_feedback="fa", estimator="<estimator name>")``;
* a training config with that method carries ``estimator: {...}`` settings; at config load the
  config validator calls ``spikealign.deep.estimators.validate_settings(estimator, settings)``
  (it returns the completed settings dict, or raises ``ValueError`` naming the bad key);
* the training loop calls ``spikealign.deep.estimators.make_estimator(estimator, fc_layers,
  settings, seed, device)`` once, with ``fc_layers`` the FC feedback layers in forward order
  (each has ``.weight`` (out, in) and ``.feedback`` of the same shape); before every epoch
  (epoch 0 included) it calls ``estimator.before_epoch(epoch) -> dict[str, float]`` which
  updates ``.feedback`` in place under ``torch.no_grad()``; the returned floats are logged in
  that epoch's metrics under ``estimator/<key>``; ``estimator.state_dict()`` is stored in every
  checkpoint and ``estimator.load_state_dict(state)`` is called on resume.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UserError

FEEDBACK_KINDS = ("bp", "fa", "kp", "scfa")


@dataclass(frozen=True)
class Method:
    """A training method: feedback kinds for conv and FC layers, optional spiking estimator.

    Attributes
    ----------
    name : registry key (used as ``method:`` in configs).
    conv_feedback, fc_feedback : one of :data:`FEEDBACK_KINDS`.
    estimator : name of a spiking estimator in :mod:`spikealign.deep.estimators` that updates the
        FC feedback matrices before every epoch, or ``None``.
    aliases : other names accepted by :func:`get_method`.
    summary : one line for listings.
    """

    name: str
    conv_feedback: str
    fc_feedback: str
    estimator: str | None = None
    aliases: tuple[str, ...] = ()
    summary: str = ""

    def __post_init__(self) -> None:
        for field_name in ("conv_feedback", "fc_feedback"):
            kind = getattr(self, field_name)
            if kind not in FEEDBACK_KINDS:
                raise ValueError(f"Method {self.name!r}: {field_name}={kind!r} is not one of {FEEDBACK_KINDS}")
        if self.estimator is not None and self.fc_feedback == "bp":
            raise ValueError(f"Method {self.name!r}: an estimator needs FC layers with a feedback matrix, not 'bp'")


_METHODS: dict[str, Method] = {}
_ALIASES: dict[str, str] = {}


def register_method(method: Method) -> Method:
    """Add ``method`` to the registry (re-registering an equal method is a no-op).

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


def method_names() -> list[str]:
    """Registered method names (not aliases), in registration order."""
    return list(_METHODS)


def get_method(name: str) -> Method:
    """The method registered as ``name`` (or an alias of it).

    Raises
    ------
    UserError
        For an unknown name; the message lists the known names.
    """
    key = _ALIASES.get(name, name)
    if key not in _METHODS:
        _load_estimator_methods()
        key = _ALIASES.get(name, name)
    if key not in _METHODS:
        known = ", ".join(method_names() + [f"{a} (= {m})" for a, m in _ALIASES.items()])
        raise UserError(f"unknown deep-network method {name!r} (known: {known})")
    return _METHODS[key]


def _load_estimator_methods() -> None:
    """Import :mod:`spikealign.deep.estimators`, which registers the spiking-estimator methods."""
    import importlib

    try:
        importlib.import_module("spikealign.deep.estimators")
    except ImportError:  # pragma: no cover - the package is part of the repo
        pass


register_method(Method("bp", "bp", "bp", summary="exact backpropagation"))
register_method(Method("fa", "fa", "fa", summary="feedback alignment: fixed random feedback in all layers"))
register_method(Method("bp_w_fa", "fa", "bp", summary="exact FC backprop, fixed random conv feedback (upper bound)"))
register_method(
    Method("kp", "fa", "kp", aliases=("akrout",), summary="Kolen-Pollack: FC feedback gets W's gradient plus decay")
)
register_method(Method("scfa", "fa", "scfa", summary="sign-concordant FA: FC feedback |B0| * sign(W)"))
