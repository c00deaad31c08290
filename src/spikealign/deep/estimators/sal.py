r"""Spike-based alignment learning (SAL) in a spiking network that mirrors an FC stack.

Network (spec deep.md 2.1-2.3).  Layers ``l = 0..L-1`` with sizes ``n_l``; forward matrices
``W_l`` (n_l, n_{l-1}) for ``l >= 1`` (post, pre), feedback matrices ``B_l`` (n_l, n_{l+1}) for
``l <= L-2`` stored top-down (post = lower neuron ``i``, pre = upper neuron ``j``; the FA layer's
``.feedback`` is ``B_l^T``), biases ``c_l``.  ``batch`` independent replicas share the weights.

One tick (all layers use the spikes up to ``t-1``):

.. math::

    z_k(t) &= \sum_{m=1}^{t_\mathrm{ref}} s_k(t-m) \in \{0, 1\}
             \quad(= \text{ticks since last spike} \le t_\mathrm{ref})\\
    u_l &= W_l z_{l-1} + B_l z_{l+1} + c_l\\
    s_l(t) &= [\xi < \sigma(u_l - \ln t_\mathrm{ref})]\;\wedge\;[\text{ticks since last spike} > t_\mathrm{ref}],
             \quad \xi\sim U(0,1)

Exact truncated exponential traces over the ``K = buffer_length * t_ref`` most recent ticks,
the current tick included, computed recursively:

.. math:: x_k(t) = \sum_{m=0}^{K-1} e^{-m/t_\mathrm{ref}} s_k(t-m)
          = e^{-1/t_\mathrm{ref}} x_k(t-1) + s_k(t) - e^{-K/t_\mathrm{ref}} s_k(t-K)

SAL accumulation per tick, summed over replicas ``b`` (causal pairs depress, anti-causal pairs
potentiate):

.. math:: \Delta_l[i, j] \mathrel{+}= \sum_b \big(-s_i^b(t)\,x_j^b(t) + x_i^b(t)\,s_j^b(t)\big)

computed per chunk of ticks with the chunk's (ticks x replicas) rows stacked: on CPU
event-driven (a numba kernel adds the partner's trace row for every spike, ~80x fewer operations
than the dense product at 5 % spike density; torch's sparse products were measured slower), on
GPUs as one dense GEMM ``[-S_l | X_l]^T [X_{l+1} ; S_{l+1}]``.
Update after each SAL iteration (``len_epoch * t_ref`` ticks):

.. math:: B_l \leftarrow B_l + \frac{\eta_l}{K}\,\frac{1}{\mathrm{batch}}\,\Delta_l,\qquad \Delta_l \leftarrow 0

i.e. a SUM over ticks and a MEAN over replicas (so the step grows with ``len_epoch`` and not
with ``batch``), exactly as the reference.

The recursion's rounding residue is snapped to exactly 0 (true values are 0 or at least
``exp(-(K-1)/t_ref)``), which keeps the traces exact and free of denormal numbers.

Random numbers: uniforms are drawn from a ``torch.Generator`` in blocks of ``chunk`` ticks as
``torch.rand((chunk, batch, N))`` with the layers concatenated in order (``N = sum n_l``); the
last block of a run may be shorter.  The same seed therefore gives the same spikes for the same
sequence of ``run`` lengths and the same ``chunk``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numba as nb
import numpy as np
import torch

BIG_COUNTER = 1 << 30  # stands for "never spiked" (the reference's +inf)


@nb.njit(cache=True)
def _accumulate_events(S, X, lo0, lo1, up0, up1, D, DT):
    """Event-driven ``D -= S_lo^T X_up`` and ``DT += S_up^T X_lo`` over the rows of ``S`` (spikes, 0/1)."""
    n_up = up1 - up0
    n_lo = lo1 - lo0
    for r in range(S.shape[0]):
        for i in range(lo0, lo1):
            if S[r, i] != 0:
                for j in range(n_up):
                    D[i - lo0, j] -= X[r, up0 + j]
        for j in range(up0, up1):
            if S[r, j] != 0:
                for i in range(n_lo):
                    DT[j - up0, i] += X[r, lo0 + i]


class SALNet:
    """Batched spiking network with SAL plasticity on its top-down feedback matrices.

    Parameters
    ----------
    sizes : layer sizes ``[n_0, ..., n_{L-1}]`` (at least two).
    t_ref : refractory period and PSP length in ticks (10 in the reference).
    lr : SAL learning rate ``eta`` (one float for all feedback matrices or one per matrix).
    batch_size : number of independent replicas.
    buffer_length : trace length in units of ``t_ref`` (2 in the reference).
    seed : seed of the torch generator used for the escape-noise uniforms.
    device, dtype : where and in which precision to simulate.
    chunk : ticks per block of uniforms and per accumulation GEMM (performance only; it changes
        the random stream, not the statistics).
    threads : torch intra-op threads while simulating (default 1: the per-tick kernels are small,
        and on a shared or loaded CPU two OpenMP threads were measured 5-20x slower than one);
        ``0`` keeps torch's setting.
    init_rng : numpy Generator for the initial parameters (spec 2.6): ``W_l ~ U(+-1/sqrt(n_{l-1}))``,
        ``B_l ~ U(+-1/sqrt(n_{l+1}))``, ``c_l ~ U(+-1/sqrt(n_l))``; default derives from ``seed``.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        t_ref: int = 10,
        lr: float | Sequence[float] = 0.04,
        batch_size: int = 32,
        buffer_length: int = 2,
        seed: int = 0,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
        chunk: int = 50,
        init_rng: np.random.Generator | None = None,
        threads: int = 1,
    ):
        sizes = [int(n) for n in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"SALNet needs at least two layers of positive size, got {sizes}")
        self.sizes = sizes
        self.L = len(sizes)
        self.t_ref = int(t_ref)
        self.buffer_length = int(buffer_length)
        self.K = self.buffer_length * self.t_ref
        if isinstance(lr, int | float):
            self.lr = [float(lr)] * (self.L - 1)
        else:
            self.lr = [float(x) for x in lr]
            if len(self.lr) != self.L - 1:
                raise ValueError(f"lr needs {self.L - 1} values (one per feedback matrix), got {len(self.lr)}")
        self.batch = int(batch_size)
        self.device = torch.device(device)
        self.dtype = dtype
        self.chunk = max(1, int(chunk))
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        self.N = int(self.offsets[-1])
        self.decay = math.exp(-1.0 / self.t_ref)
        self.decay_k = math.exp(-self.K / self.t_ref)
        self.log_t_ref = math.log(self.t_ref)
        self.snap = 0.5 * math.exp(-(self.K - 1) / self.t_ref)

        rng = init_rng if init_rng is not None else np.random.default_rng(seed)
        kw = {"device": self.device, "dtype": dtype}
        self.W: list[torch.Tensor | None] = [None]
        for l in range(1, self.L):
            bound = 1.0 / math.sqrt(sizes[l - 1])
            self.W.append(torch.as_tensor(rng.uniform(-bound, bound, (sizes[l], sizes[l - 1])), **kw))
        self.B: list[torch.Tensor] = []
        for l in range(self.L - 1):
            bound = 1.0 / math.sqrt(sizes[l + 1])
            self.B.append(torch.as_tensor(rng.uniform(-bound, bound, (sizes[l], sizes[l + 1])), **kw))
        self.c = [torch.as_tensor(rng.uniform(-(n**-0.5), n**-0.5, n), **kw) for n in sizes]

        self.threads = int(threads)
        #: accumulate event-driven (numba, CPU) rather than with one dense GEMM per chunk
        self.event_driven = self.device.type == "cpu"
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(int(seed))
        self.reset_state()

    # ------------------------------------------------------------------ state
    def reset_state(self) -> None:
        """Silence the network: no spike in memory, counters at "never spiked", zero traces and Delta."""
        b, n = self.batch, self.N
        self.counter = torch.full((b, n), BIG_COUNTER, dtype=torch.int32, device=self.device)
        self.ring = torch.zeros((self.K, b, n), dtype=self.dtype, device=self.device)
        self.pos = 0
        self.trace = torch.zeros((b, n), dtype=self.dtype, device=self.device)
        self.delta = [torch.zeros_like(B) for B in self.B]
        self.ticks_accumulated = 0
        self.spike_count = torch.zeros(n, dtype=torch.float64, device=self.device)
        self.ticks_total = 0

    def state_dict(self) -> dict:
        """Everything needed to continue bit-identically: parameters, spiking state, RNG state."""
        cpu = lambda t: t.detach().cpu().clone()  # noqa: E731
        return {
            "sizes": list(self.sizes),
            "W": [None] + [cpu(w) for w in self.W[1:]],
            "B": [cpu(B) for B in self.B],
            "c": [cpu(c) for c in self.c],
            "counter": cpu(self.counter),
            "ring": cpu(self.ring),
            "pos": self.pos,
            "trace": cpu(self.trace),
            "delta": [cpu(d) for d in self.delta],
            "ticks_accumulated": self.ticks_accumulated,
            "spike_count": cpu(self.spike_count),
            "ticks_total": self.ticks_total,
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, d: dict) -> None:
        if list(d["sizes"]) != self.sizes:
            raise ValueError(f"SAL state for sizes {d['sizes']} cannot be loaded into a net of sizes {self.sizes}")
        dev = lambda t: t.to(self.device)  # noqa: E731
        self.W = [None] + [dev(w).to(self.dtype) for w in d["W"][1:]]
        self.B = [dev(B).to(self.dtype) for B in d["B"]]
        self.c = [dev(c).to(self.dtype) for c in d["c"]]
        self.counter = dev(d["counter"])
        self.ring = dev(d["ring"]).to(self.dtype)
        self.pos = int(d["pos"])
        self.trace = dev(d["trace"]).to(self.dtype)
        self.delta = [dev(x).to(self.dtype) for x in d["delta"]]
        self.ticks_accumulated = int(d["ticks_accumulated"])
        self.spike_count = dev(d["spike_count"])
        self.ticks_total = int(d["ticks_total"])
        self.generator.set_state(d["generator"])

    def _sl(self, l: int) -> slice:
        return slice(int(self.offsets[l]), int(self.offsets[l + 1]))

    # ------------------------------------------------------------------ dynamics
    @torch.no_grad()
    def run(self, n_ticks: int) -> None:
        """Simulate ``n_ticks`` ticks, adding the SAL pair terms to ``delta`` (no weight change)."""
        old = torch.get_num_threads()
        if self.threads > 0 and self.device.type == "cpu":
            torch.set_num_threads(self.threads)
        try:
            done = 0
            while done < n_ticks:
                k = min(self.chunk, n_ticks - done)
                self._run_chunk(k)
                done += k
        finally:
            if torch.get_num_threads() != old:
                torch.set_num_threads(old)

    def _run_chunk(self, k: int) -> None:
        b, n = self.batch, self.N
        xi = torch.rand((k, b, n), generator=self.generator, device=self.device, dtype=self.dtype)
        S = torch.empty((k, b, n), dtype=self.dtype, device=self.device)
        X = torch.empty((k, b, n), dtype=self.dtype, device=self.device)
        u = torch.empty((b, n), dtype=self.dtype, device=self.device)
        t_ref = self.t_ref
        for t in range(k):
            z = (self.counter <= t_ref).to(self.dtype)
            for l in range(self.L):
                ul = u[:, self._sl(l)]
                ul.copy_(self.c[l].expand(b, -1))
                if l >= 1:
                    ul.addmm_(z[:, self._sl(l - 1)], self.W[l].T)
                if l <= self.L - 2:
                    ul.addmm_(z[:, self._sl(l + 1)], self.B[l].T)
            p = torch.sigmoid(u - self.log_t_ref)
            fire = (xi[t] < p) & (self.counter > t_ref)
            s = fire.to(self.dtype)
            self.counter = torch.where(fire, torch.ones_like(self.counter), self.counter + 1).clamp_(max=BIG_COUNTER)
            old = self.ring[self.pos]
            self.trace.mul_(self.decay).add_(s).sub_(old, alpha=self.decay_k)
            # exact values are 0 or >= exp(-(K-1)/t_ref); snap rounding residue to 0 (no denormals)
            self.trace.masked_fill_(self.trace < self.snap, 0.0)
            old.copy_(s)
            self.pos = (self.pos + 1) % self.K
            S[t] = s
            X[t] = self.trace
        self.spike_count += S.sum(dim=(0, 1), dtype=torch.float64)
        if self.event_driven:
            # event-driven: only spikes (~5 % of the entries) add a trace row, ~80x fewer operations
            S2, X2 = S.reshape(k * b, n).numpy(), X.reshape(k * b, n).numpy()
            for l in range(self.L - 1):
                lo, up = self._sl(l), self._sl(l + 1)
                D = np.zeros((self.sizes[l], self.sizes[l + 1]), dtype=S2.dtype)
                DT = np.zeros((self.sizes[l + 1], self.sizes[l]), dtype=S2.dtype)
                _accumulate_events(S2, X2, lo.start, lo.stop, up.start, up.stop, D, DT)
                self.delta[l] += torch.from_numpy(D)
                self.delta[l] += torch.from_numpy(DT).T
        else:
            for l in range(self.L - 1):
                lo, up = self._sl(l), self._sl(l + 1)
                A = torch.cat((-S[:, :, lo], X[:, :, lo]), dim=0).reshape(2 * k * b, -1)
                C = torch.cat((X[:, :, up], S[:, :, up]), dim=0).reshape(2 * k * b, -1)
                self.delta[l].addmm_(A.T, C)
        self.ticks_accumulated += k
        self.ticks_total += k

    @torch.no_grad()
    def apply_update(self) -> list[torch.Tensor]:
        """``B_l += eta_l / K * Delta_l / batch``; zero ``Delta``; return the applied increments."""
        steps = []
        for l in range(self.L - 1):
            dB = self.delta[l] * (self.lr[l] / (self.K * self.batch))
            self.B[l] += dB
            self.delta[l].zero_()
            steps.append(dB)
        self.ticks_accumulated = 0
        return steps

    def iterate(self, n_iterations: int, ticks_per_iteration: int) -> None:
        """``n_iterations`` SAL iterations: simulate, then update the feedback matrices."""
        for _ in range(n_iterations):
            self.run(ticks_per_iteration)
            self.apply_update()

    def rates(self) -> list[float]:
        """Mean spike probability per tick of each layer since the last reset."""
        if self.ticks_total == 0:
            return [0.0] * self.L
        per = self.spike_count / (self.ticks_total * self.batch)
        return [float(per[self._sl(l)].mean()) for l in range(self.L)]


def sal_pair_accumulation(
    lower_spikes: np.ndarray, upper_spikes: np.ndarray, t_ref: int = 10, buffer_length: int = 2
) -> np.ndarray:
    r"""SAL's accumulated pair term from recorded spike trains of one connection.

    Parameters
    ----------
    lower_spikes : (T, n_low) or (T, batch, n_low) binary spikes of the lower (post) population.
    upper_spikes : (T, n_up) or (T, batch, n_up) binary spikes of the upper (pre) population.

    Returns
    -------
    Delta : (n_low, n_up), ``sum_t sum_b (-s_i x_j + x_i s_j)`` with the truncated traces
        ``x(t) = sum_{m=0}^{K-1} exp(-m/t_ref) s(t-m)``, ``K = buffer_length * t_ref``.  The SAL
        update of the top-down matrix is ``B += eta / K * Delta / batch``.
    """
    lo = np.asarray(lower_spikes, dtype=np.float64)
    up = np.asarray(upper_spikes, dtype=np.float64)
    if lo.ndim == 2:
        lo, up = lo[:, None, :], up[:, None, :]
    if lo.shape[:2] != up.shape[:2]:
        raise ValueError(f"spike arrays need the same (T, batch), got {lo.shape[:2]} and {up.shape[:2]}")
    K = int(buffer_length * t_ref)
    kern = np.exp(-np.arange(K) / t_ref)

    def traces(s):
        x = np.zeros_like(s)
        for m in range(K):
            x[m:] += kern[m] * s[: s.shape[0] - m]
        return x

    xl, xu = traces(lo), traces(up)
    T, b = lo.shape[:2]
    A = np.concatenate([-lo, xl]).reshape(2 * T * b, -1)
    C = np.concatenate([xu, up]).reshape(2 * T * b, -1)
    return A.T @ C
