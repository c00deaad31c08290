r"""SAL on convolutional feedback: the spiking SAL phase for chains of conv and FC feedback layers.

Beyond the paper, which learns only the FC feedback.  See docs/deep.md, "SAL for convolutional
feedback".

Network.  Every feedback layer (``FeedbackConv1d/2d/3d`` or ``FeedbackLinear``, in forward order) is
one connection of a spiking SAL network (:class:`~.sal.SALNet`) whose layers are feature maps:
layer 0 is the input map of the first feedback layer, layer ``l`` the output map of feedback
layer ``l``.  A conv layer with weight ``W`` (out_ch, in_ch, kh, kw), stride, padding, dilation
and groups acts between the maps as its unrolled matrix ``U(W)`` (n_out x n_in, the
convolution written as a matrix): the forward input of layer ``l`` is ``conv(z_{l-1}, W_l)`` =
``U(W_l) z_{l-1}``, the feedback input of layer ``l - 1`` is ``conv_transpose(z_l, B_l)`` =
``U(B_l)^T z_l`` (the conv layer's feedback path), exactly as an FC layer's ``W z`` and
``B^T z``.  The spiking dynamics, random numbers and pair terms are those of the FC SAL net on
these matrices.

Map sizes.  The SAL phase sees no data, so the maps only need to be large enough for every
kernel entry to connect neurons away from the borders: the last conv layer's output map has
equal sides ``(in_features / out_ch)^(1/d)`` (d = 1, 2, 3 spatial dimensions) when an FC layer
follows (its flattened output is the FC input), otherwise ``map_size`` (default 4); every conv
layer's input map is the smallest one giving its output map (per dimension,
``(h_out - 1) * stride - 2 * padding + dilation * (kh - 1) + 1``; ints or tuples alike), and is
the previous conv layer's output map (pooling and nonlinearities of the trained model have no
counterpart in the spiking net).  For the paper's ConvNet on MNIST: 1x12x12 -> 64x8x8 -> 64x4x4
-> 384 -> 192 -> 10.

Shared update.  With weight sharing, kernel entry ``k = (o, i, dy, dx)`` connects the pairs
``P_k = {(lower n, upper m): U(B)[m, n] is entry k}`` (one per output position whose window holds
that input).  SAL accumulates the pair term ``Delta[n, m]`` of every pair as in the FC case and
updates the shared entry once per iteration with the MEAN over its pairs:

.. math:: B_k \leftarrow B_k + \frac{\eta}{K}\,\frac{1}{\mathrm{batch}}\,\frac{1}{|P_k|}\sum_{(n, m)\in P_k}\Delta[n, m]

so a kernel entry moves like one FC synapse averaged over positions (the sum would scale the step
with the map size).  FC connections update per entry as in :class:`~.sal.SALNet`; a 1x1 kernel
with stride 1 on 1x1 maps has ``|P_k| = 1`` and is exactly an FC connection.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
import torch
from torch import nn

from ... import seeding
from ..layers import FeedbackConv, FeedbackLinear, as_tuple
from .base import Estimator
from .common import torch_seed
from .sal import SALNet, SALRuntime
from .settings import SALConvSettings


def _is_conv(layer) -> bool:
    return layer.weight.dim() > 2


def _conv_args(layer) -> dict:
    """stride, padding, dilation as one int per spatial dimension (layers may hold ints or tuples), groups."""
    dims = layer.weight.dim() - 2
    return {
        "stride": as_tuple(layer.stride, dims),
        "padding": as_tuple(layer.padding, dims),
        "dilation": as_tuple(layer.dilation, dims),
        "groups": int(layer.groups),
    }


def _input_side(out_side: int, k: int, stride: int, padding: int, dilation: int) -> int:
    return (out_side - 1) * stride - 2 * padding + dilation * (k - 1) + 1


def _output_side(in_side: int, k: int, stride: int, padding: int, dilation: int) -> int:
    return (in_side + 2 * padding - dilation * (k - 1) - 1) // stride + 1


def _cube_map(n: int, channels: int, dims: int, k: int) -> tuple[int, ...]:
    side = round((n // channels) ** (1.0 / dims))
    if side**dims * channels != n:
        shape = {1: "1-d", 2: "square", 3: "cubic"}[dims]
        raise ValueError(
            f"layer {k}: the next layer's {n} inputs are not {channels} channels of a {shape} map "
            f"(SAL on conv feedback needs conv -> flatten -> FC with a {shape} map)"
        )
    return (channels, *(side,) * dims)


def map_shapes(layers: Sequence, map_size: int = 4) -> list[tuple[int, ...]]:
    """Shapes of the spiking layers, ``(C, *sides)`` for maps and ``(n,)`` for FC layers (``len(layers) + 1``).

    Derived from the top: see the module docstring, "Map sizes" (1-, 2- and 3-d conv layers alike).
    """
    shapes: list[tuple[int, ...] | None] = [None] * (len(layers) + 1)
    for k in range(len(layers) - 1, -1, -1):
        layer, above = layers[k], shapes[k + 1]
        out_n = int(layer.weight.shape[0])
        if not _is_conv(layer):
            if above is not None and math.prod(above) != out_n:
                raise ValueError(f"layer {k + 1} takes {math.prod(above)} inputs, layer {k} gives {out_n}")
            shapes[k + 1] = above or (out_n,)
            shapes[k] = (int(layer.weight.shape[1]),)
            continue
        in_ch_g, *kernel = (int(s) for s in layer.weight.shape[1:])
        dims = len(kernel)
        if above is None:
            above = (out_n, *(map_size,) * dims)
        elif len(above) == 1:
            above = _cube_map(above[0], out_n, dims, k)
        elif above[0] != out_n or len(above) != dims + 1:
            raise ValueError(f"layer {k + 1} takes maps {above}, layer {k} gives {out_n} channels of {dims}-d maps")
        shapes[k + 1] = above
        args = _conv_args(layer)
        sides = [
            _input_side(above[1 + d], kernel[d], args["stride"][d], args["padding"][d], args["dilation"][d])
            for d in range(dims)
        ]
        shapes[k] = (in_ch_g * args["groups"], *sides)
    return [s for s in shapes if s is not None]


def _kernel_index(kernel_shape: tuple[int, ...], in_shape: tuple[int, ...], conv_args: dict) -> np.ndarray:
    """(n_out, n_in) matrix of the flat kernel entry that connects input n to output m (-1: none)."""
    out_ch, in_g, *kernel = kernel_shape
    st, pad, dil = (as_tuple(conv_args[key], len(kernel)) for key in ("stride", "padding", "dilation"))
    groups = int(conv_args["groups"])
    c_in, *sizes = in_shape
    outs = [_output_side(sizes[d], kernel[d], st[d], pad[d], dil[d]) for d in range(len(kernel))]
    grids = np.meshgrid(
        np.arange(out_ch),
        np.arange(in_g),
        *(np.arange(k) for k in kernel),
        *(np.arange(o) for o in outs),
        indexing="ij",
    )
    o, i, offsets, positions = grids[0], grids[1], grids[2 : 2 + len(kernel)], grids[2 + len(kernel) :]
    inputs = [positions[d] * st[d] - pad[d] + offsets[d] * dil[d] for d in range(len(kernel))]
    inside = np.ones(o.shape, dtype=bool)
    for d, coord in enumerate(inputs):
        inside &= (coord >= 0) & (coord < sizes[d])
    rows, cols, entry = o, (o // (out_ch // groups)) * in_g + i, o * in_g + i
    for d in range(len(kernel)):
        rows = rows * outs[d] + positions[d]
        cols = cols * sizes[d] + inputs[d]
        entry = entry * kernel[d] + offsets[d]
    index = np.full((out_ch * math.prod(outs), c_in * math.prod(sizes)), -1, dtype=np.int64)
    index[rows[inside], cols[inside]] = entry[inside]
    return index


def unroll(kernel: torch.Tensor, in_shape: tuple[int, ...], conv_args: dict) -> torch.Tensor:
    """The convolution with ``kernel`` on maps of ``in_shape`` as an (n_out, n_in) matrix of the kernel's entries."""
    return _SharedConnection(tuple(kernel.shape), in_shape, conv_args).unroll(kernel)


class _SharedConnection:
    """Index map of a conv connection: which kernel entry every pair (upper m, lower n) uses."""

    def __init__(self, kernel_shape: tuple[int, ...], in_shape: tuple[int, ...], conv_args: dict):
        self.kernel_shape = kernel_shape
        index = torch.from_numpy(_kernel_index(kernel_shape, in_shape, conv_args))
        self.mask = index >= 0
        self.index = index[self.mask]
        self.count = torch.bincount(self.index, minlength=math.prod(kernel_shape)).to(torch.float64)

    def unroll(self, kernel: torch.Tensor) -> torch.Tensor:
        """``U(kernel)``: the kernel entries at their (output, input) pairs, zero elsewhere."""
        U = torch.zeros(self.mask.shape, dtype=kernel.dtype, device=kernel.device)
        U[self.mask.to(kernel.device)] = kernel.reshape(-1)[self.index.to(kernel.device)]
        return U

    def fold_mean(self, delta_td: torch.Tensor) -> torch.Tensor:
        """Mean of the pair terms ``delta_td`` (n_in, n_out; top-down) over every kernel entry's pairs."""
        d = delta_td.T.to(torch.float64)[self.mask.to(delta_td.device)].cpu()
        total = torch.bincount(self.index, weights=d, minlength=self.count.numel())
        return (total / self.count.clamp(min=1)).reshape(self.kernel_shape).to(delta_td.device)


# __init__ repeats SALNet's keyword parameters on purpose: named and documented here, passed through unchanged
class SALConvNet:
    """SAL on a chain of conv and FC feedback layers (module docstring).

    Parameters
    ----------
    layers : the feedback layers in forward order (``.weight``/``.feedback`` of the same shape;
        conv layers also ``stride``, ``padding``, ``dilation``, ``groups``); shapes only are read here.
    map_size : output map side of a last conv layer that no FC layer follows.
    Other parameters as :class:`~.sal.SALNet` (one ``lr`` or one per layer; ``runtime`` and its keywords).

    Attributes
    ----------
    W, B : per layer, the forward weight and the feedback, both (out, in[, kh, kw]) like the
        layers' ``weight`` and ``feedback`` (``B`` is NOT stored top-down here).
    net : the underlying :class:`~.sal.SALNet` on the flattened maps.
    """

    def __init__(
        self,
        layers: Sequence,
        t_ref: int = 10,
        lr: float | Sequence[float] = 0.04,
        batch_size: int = 32,
        buffer_length: int = 2,
        seed: int = 0,
        init_rng: np.random.Generator | None = None,
        map_size: int = 4,
        runtime: SALRuntime | None = None,
        **runtime_options: Any,
    ):
        if not layers:
            raise ValueError("SALConvNet needs at least one feedback layer")
        for k, layer in enumerate(layers):
            if tuple(layer.weight.shape) != tuple(layer.feedback.shape):
                raise ValueError(f"layer {k}: weight {tuple(layer.weight.shape)} and feedback shapes differ")
        self.shapes = map_shapes(layers, map_size)
        self.conv = [_is_conv(layer) for layer in layers]
        self.conv_args = [_conv_args(layer) if c else None for layer, c in zip(layers, self.conv, strict=True)]
        sizes = [math.prod(s) for s in self.shapes]
        self.net = SALNet(sizes, t_ref=t_ref, lr=lr, batch_size=batch_size, buffer_length=buffer_length, seed=seed,
                          init_rng=init_rng, runtime=runtime, **runtime_options)  # fmt: skip
        self.shared: list[_SharedConnection | None] = []  # None: an FC layer
        for k, layer in enumerate(layers):
            args, shape = self.conv_args[k], tuple(layer.weight.shape)
            self.shared.append(None if args is None else _SharedConnection(shape, self.shapes[k], args))
        kw = {"device": self.net.device, "dtype": self.net.dtype}
        self.W = [layer.weight.detach().to(**kw).clone() for layer in layers]
        self.B = [layer.feedback.detach().to(**kw).clone() for layer in layers]
        self._sync()

    # ------------------------------------------------------------------ parameters
    def _matrix(self, k: int, kernel: torch.Tensor) -> torch.Tensor:
        shared = self.shared[k]
        if shared is None:
            return kernel.clone()
        return shared.unroll(kernel)

    def _sync(self) -> None:
        """Write ``W`` and ``B`` (unrolled, B top-down) into the spiking net."""
        for k in range(len(self.W)):
            self.net.W[k + 1] = self._matrix(k, self.W[k])
            self.net.B[k] = self._matrix(k, self.B[k]).T.contiguous()

    def set_biases(self, k: int, bias: torch.Tensor) -> None:
        """Layer ``k``'s bias (one per output channel or unit) as the constant input of its neurons."""
        b = bias.detach().to(self.net.device, self.net.dtype)
        positions = math.prod(self.shapes[k + 1][1:]) if self.conv[k] else 1
        self.net.c[k + 1] = b.repeat_interleave(positions)

    def load_layers(self, layers: Sequence, copy_biases: bool = True) -> None:
        """Copy the layers' weights and feedback (and biases) into the net."""
        kw = {"device": self.net.device, "dtype": self.net.dtype}
        for k, layer in enumerate(layers):
            self.W[k] = layer.weight.detach().to(**kw).clone()
            self.B[k] = layer.feedback.detach().to(**kw).clone()
            bias = getattr(layer, "bias", None)
            if copy_biases and bias is not None:
                self.set_biases(k, bias)
        self._sync()

    # ------------------------------------------------------------------ dynamics
    def run(self, n_ticks: int) -> None:
        """Simulate ``n_ticks`` ticks, accumulating the pair terms (no weight change)."""
        self.net.run(n_ticks)

    @torch.no_grad()
    def apply_update(self) -> list[torch.Tensor]:
        """Shared update of every conv kernel, per-entry update of FC feedback; return the increments (B's shape)."""
        net, steps = self.net, []
        for k in range(len(self.B)):
            scale = net.lr[k] / (net.K * net.batch)
            shared = self.shared[k]
            if shared is not None:
                dB = shared.fold_mean(net.delta[k]).to(self.B[k].dtype) * scale
            else:
                dB = (net.delta[k] * scale).T  # as SALNet.apply_update, in (out, in) orientation
            self.B[k] += dB
            net.delta[k].zero_()
            steps.append(dB)
        net.ticks_accumulated = 0
        self._sync()
        return steps

    # the same three-line loop as SALNet.iterate, but over this class's run and (shared-kernel) apply_update
    def iterate(self, n_iterations: int, ticks_per_iteration: int) -> None:
        for _ in range(n_iterations):
            self.run(ticks_per_iteration)
            self.apply_update()

    def rates(self) -> list[float]:
        return self.net.rates()

    def reset_state(self) -> None:
        self.net.reset_state()

    def state_dict(self) -> dict:
        cpu = lambda t: t.detach().cpu().clone()  # noqa: E731
        return {"net": self.net.state_dict(), "W": [cpu(w) for w in self.W], "B": [cpu(b) for b in self.B]}

    def load_state_dict(self, d: dict) -> None:
        self.net.load_state_dict(d["net"])
        kw = {"device": self.net.device, "dtype": self.net.dtype}
        self.W = [w.to(**kw).clone() for w in d["W"]]
        self.B = [b.to(**kw).clone() for b in d["B"]]
        self._sync()


class SALConvEstimator(Estimator):
    """SAL phase on conv AND FC feedback before every epoch (the method ``sal_conv``).

    Built from a converted model (its ``FeedbackConv1d/2d/3d`` and ``FeedbackLinear`` layers in
    registration order, without the first layer when that is a conv layer: its input is the data,
    so its feedback never carries an error) or from an explicit list of layers in forward order.
    ``before_epoch(epoch)`` copies ``W``, the feedback and the biases in, runs ``n_iterations``
    iterations of ``len_epoch * t_ref`` ticks with one shared update each and writes the feedback
    back; the spiking state persists across epochs unless ``reset_state``.  Settings: those of
    ``sal`` plus ``map_size``.
    """

    name = "sal_conv"
    settings_model = SALConvSettings
    quick_settings = MappingProxyType({"n_iterations": 2, "batch_size": 8})
    layer_types = (FeedbackConv, FeedbackLinear)

    def __init__(self, model_or_layers, settings: dict | None = None, seed: int = 0, device=None):
        super().__init__(model_or_layers, settings, seed, device)
        if isinstance(model_or_layers, nn.Module) and len(self.fc_layers) > 1 and _is_conv(self.fc_layers[0]):
            self.fc_layers, self.layer_names = self.fc_layers[1:], self.layer_names[1:]
        self.layers = self.fc_layers
        s = self.settings
        lr = s["sal_lr"]
        if isinstance(lr, list) and len(lr) != len(self.layers):
            raise ValueError(f"estimator 'sal_conv' settings: sal_lr needs {len(self.layers)} values, got {len(lr)}")
        self.sal = SALConvNet(
            self.layers, t_ref=s["t_ref"], lr=lr, batch_size=s["batch_size"], buffer_length=s["buffer_length"],
            seed=torch_seed(seed, "sal_conv", "noise"), init_rng=seeding.rng(seed, "sal_conv", "init"),
            map_size=s["map_size"], runtime=SALRuntime.from_settings(s, self.device),
        )  # fmt: skip

    def before_epoch(self, epoch: int) -> dict[str, float]:
        s, sal = self.settings, self.sal
        out = self._with_before(self._metrics())
        with torch.no_grad():
            sal.load_layers(self.layers, copy_biases=s["copy_biases"])
            if s["reset_state"]:
                sal.reset_state()
            sal.iterate(s["n_iterations"], s["len_epoch"] * s["t_ref"])
            for k, B in enumerate(sal.B):
                self._write_feedback(k, B)
        return self._with_after(out, sal.rates())

    def state_dict(self) -> dict:
        return {"sal_conv": self.sal.state_dict()}

    def load_state_dict(self, d: dict) -> None:
        self.sal.load_state_dict(d["sal_conv"])
