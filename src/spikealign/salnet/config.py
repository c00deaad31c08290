"""Run config of the ``sal-network`` experiment: the network of :class:`~spikealign.salnet.spec.SALNetworkSpec`
(its fields, ``lif`` and ``sal`` sections) plus the engine that simulates it."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, FiniteFloat

from ..config import RunConfig, StrictModel
from ..plasticity import SALParams
from .spec import LIFParams, SALNetworkSpec

ENGINES = ("spikealign", "nest", "brian2", "torch")
EngineName = Literal["spikealign", "nest", "brian2", "torch"]
_SPEC, _LIF, _SAL = SALNetworkSpec(), LIFParams(), SALNetworkSpec().sal


class LIFConfig(StrictModel):
    """LIF neuron with exponential synaptic currents (NEST ``iaf_psc_exp`` parameters)."""

    c_m_pf: FiniteFloat = Field(_LIF.c_m_pf, gt=0, description="membrane capacitance (pF)")
    tau_m_ms: FiniteFloat = Field(_LIF.tau_m_ms, gt=0, description="membrane time constant (ms)")
    e_l_mv: FiniteFloat = Field(_LIF.e_l_mv, description="resting potential (mV)")
    v_th_mv: FiniteFloat = Field(_LIF.v_th_mv, description="threshold (mV)")
    v_reset_mv: FiniteFloat = Field(_LIF.v_reset_mv, description="reset potential (mV)")
    t_ref_ms: FiniteFloat = Field(_LIF.t_ref_ms, ge=0, description="refractory time (ms)")
    tau_syn_ms: FiniteFloat = Field(_LIF.tau_syn_ms, gt=0, description="synaptic current time constant (ms)")


class SALRuleConfig(StrictModel):
    """The SAL window (:class:`spikealign.plasticity.SALParams`), times in ms, weights in pA."""

    a_plus: FiniteFloat = Field(_SAL.a_plus, description="amplitude of causal pairs (post after pre)")
    a_minus: FiniteFloat = Field(_SAL.a_minus, description="amplitude of anti-causal pairs")
    tau_plus: FiniteFloat = Field(_SAL.tau_plus, gt=0, description="causal decay time (ms)")
    tau_minus: FiniteFloat = Field(_SAL.tau_minus, gt=0, description="anti-causal decay time (ms)")
    eta: FiniteFloat = Field(_SAL.eta, description="learning rate (pA per pair)")


class SALNetworkConfig(RunConfig):
    kind: Literal["sal-network"] = "sal-network"
    engine: EngineName = Field("spikealign", description="spikealign, nest, brian2 or torch")
    threads: int = Field(1, ge=1, description="NEST threads (engine: nest)")
    n_neurons: int = Field(_SPEC.n_neurons, ge=2)
    p_connect: FiniteFloat = Field(_SPEC.p_connect, ge=0, le=1, description="probability of a reciprocal pair")
    w_mean_pa: FiniteFloat = Field(_SPEC.w_mean_pa, description="mean initial weight (pA)")
    w_std_pa: FiniteFloat = Field(_SPEC.w_std_pa, ge=0, description="spread of the initial weights (pA)")
    delay_ms: FiniteFloat = Field(_SPEC.delay_ms, gt=0, description="synaptic delay, a multiple of dt_ms")
    drive_rate_hz: FiniteFloat = Field(_SPEC.drive_rate_hz, ge=0, description="Poisson drive per neuron (Hz)")
    drive_weight_pa: FiniteFloat = Field(_SPEC.drive_weight_pa, description="weight of a drive spike (pA)")
    lif: LIFConfig = Field(default_factory=LIFConfig)
    sal: SALRuleConfig = Field(default_factory=SALRuleConfig)
    dt_ms: FiniteFloat = Field(_SPEC.dt_ms, gt=0, description="time step (ms)")
    duration_ms: FiniteFloat = Field(_SPEC.duration_ms, gt=0, description="simulated time (ms)")
    record_interval_ms: FiniteFloat = Field(
        _SPEC.record_interval_ms, gt=0, description="weights recorded every this many ms"
    )
    figures: bool = Field(True, description="draw the per-run figure")

    def spec(self) -> SALNetworkSpec:
        """The network this config describes (seeded by the run's ``seed``)."""
        skip = {"kind", "engine", "threads", "lif", "sal", "figures"}
        scalars = {k: getattr(self, k) for k in type(self).model_fields if k not in skip}
        return SALNetworkSpec(lif=LIFParams(**self.lif.model_dump()), sal=SALParams(**self.sal.model_dump()),
                              **scalars)  # fmt: skip
