r"""SAL on the feedback weights of a torch spiking network (snnTorch or your own).

A two-layer spiking network: hidden neurons (``snn.Leaky``) driven by the input and, through the
feedback weights :math:`B` (hidden, output), by the output spikes of the previous step; output
neurons (``snn.Leaky``) driven through the forward weights :math:`W` (output, hidden) by the hidden
spikes of the previous step. Each connection has a delay of one step, so a hidden spike that
helps an output spike precedes it.

SAL changes :math:`B` with :func:`spikealign.plasticity.sal_step`, the output spikes as pre and the
hidden spikes as post (``B`` is indexed (post, pre) like every weight matrix):

.. math::

    \Delta B_{ij} = \eta \sum_{t_j^{out}} \sum_{t_i^{hid}} K(t_i^{hid} - t_j^{out})

A strong :math:`W_{ji}` makes output spike ``j`` follow hidden spike ``i``: an anti-causal pair for
:math:`B_{ij}`, potentiated (:math:`a_- > 0`); a strong :math:`B_{ij}` makes hidden ``i`` follow
output ``j``: a causal pair, depressed (:math:`a_+ < 0`). So :math:`B_{ij}` moves towards a
multiple of :math:`W_{ji}`: :math:`B` aligns with :math:`W^T`.

Example::

    >>> import torch
    >>> from spikealign.torch_snn import FeedbackSNN, train_feedback
    >>> net = FeedbackSNN(n_in=40, n_hidden=30, n_out=10, seed=0)
    >>> angles = train_feedback(net, n_steps=400, seed=1)
    >>> bool(angles[-1] < angles[0])
    True
"""

from __future__ import annotations

import math

import numpy as np

from ._optional import require
from .plasticity import SALParams, SALState, sal_step
from .salnet.torch_engine import one_thread

require("torch")
import torch  # noqa: E402

#: SAL window of the feedback weights (times in steps)
FEEDBACK_SAL = SALParams(tau_plus=5.0, tau_minus=5.0, eta=1e-2)


def sal_feedback_step(
    b: torch.Tensor,
    output_spikes: torch.Tensor,
    hidden_spikes: torch.Tensor,
    state: SALState | None,
    params: SALParams = FEEDBACK_SAL,
    dt: float = 1.0,
) -> tuple[torch.Tensor, SALState]:
    """One SAL step of the feedback weights ``b`` (n_hidden, n_out): pre = output, post = hidden.

    ``output_spikes`` (batch, n_out) and ``hidden_spikes`` (batch, n_hidden) are this step's spikes;
    the batch members' changes add up. Returns the new ``b`` and the traces.
    """
    dw, state = sal_step(output_spikes, hidden_spikes, state, params, dt)
    return b + dw.sum(dim=0), state


def angle_deg(a: torch.Tensor, b: torch.Tensor) -> float:
    """Angle in degrees between two weight matrices as vectors."""
    cos = torch.sum(a * b) / (torch.linalg.norm(a) * torch.linalg.norm(b))
    return math.degrees(math.acos(float(cos.clamp(-1.0, 1.0))))


class FeedbackSNN(torch.nn.Module):
    """Input -> hidden (``snn.Leaky``) -> output (``snn.Leaky``), feedback ``b`` output -> hidden.

    Attributes
    ----------
    w_in : (n_hidden, n_in) input weights; ``w`` : (n_out, n_hidden) forward weights;
    b : (n_hidden, n_out) feedback weights, independent of ``w`` at the start (random signs).
    """

    def __init__(self, n_in: int, n_hidden: int, n_out: int, *, beta: float = 0.8, seed: int = 0):
        require("snntorch")
        import snntorch as snn

        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        # excitatory input around threshold; forward and feedback weights of both signs
        w_in = 0.04 + 0.015 * torch.randn(n_hidden, n_in, generator=gen)
        self.w_in = torch.nn.Parameter(w_in, requires_grad=False)
        self.w = torch.nn.Parameter(torch.randn(n_out, n_hidden, generator=gen) * 0.3, requires_grad=False)
        self.b = torch.nn.Parameter(torch.randn(n_hidden, n_out, generator=gen) * 0.3, requires_grad=False)
        self.hidden = snn.Leaky(beta=beta)
        self.output = snn.Leaky(beta=beta)

    def forward(self, x: torch.Tensor, state: tuple) -> tuple[torch.Tensor, torch.Tensor, tuple]:
        """One step: input spikes ``x`` (batch, n_in) -> (hidden spikes, output spikes, state)."""
        mem_h, mem_o, spk_h_prev, spk_o_prev = state
        spk_h, mem_h = self.hidden(x @ self.w_in.T + spk_o_prev @ self.b.T, mem_h)
        spk_o, mem_o = self.output(spk_h_prev @ self.w.T + 0.17, mem_o)
        return spk_h, spk_o, (mem_h, mem_o, spk_h, spk_o)

    def initial_state(self, batch: int) -> tuple:
        n_hidden, n_out = self.b.shape
        zeros = torch.zeros
        return zeros(batch, n_hidden), zeros(batch, n_out), zeros(batch, n_hidden), zeros(batch, n_out)


def train_feedback(
    net: FeedbackSNN,
    n_steps: int,
    *,
    batch: int = 16,
    rate: float = 0.1,
    params: SALParams = FEEDBACK_SAL,
    seed: int = 0,
    every: int = 50,
) -> np.ndarray:
    """Drive ``net`` with Poisson input (probability ``rate`` per step) and learn ``b`` with SAL.

    Returns the angle between ``b`` and ``w^T`` (degrees) at the start and every ``every`` steps.
    """
    gen = torch.Generator().manual_seed(seed)
    n_in = net.w_in.shape[1]
    state = net.initial_state(batch)
    traces = None
    angles = [angle_deg(net.b, net.w.T)]
    with torch.no_grad(), one_thread():
        for step in range(1, n_steps + 1):
            x = (torch.rand(batch, n_in, generator=gen) < rate).float()
            spk_h, spk_o, state = net(x, state)
            new_b, traces = sal_feedback_step(net.b, spk_o, spk_h, traces, params)
            net.b.copy_(new_b)
            if step % every == 0:
                angles.append(angle_deg(net.b, net.w.T))
    return np.array(angles)
