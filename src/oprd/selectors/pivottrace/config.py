"""Every knob of a PivotTrace run, checked before any model runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from oprd.errors import param_error
from oprd.features.model_side import ModelSide
from oprd.generation.base import SamplingConfig
from oprd.models.builtin import DEFAULT_MODEL
from oprd.models.chat import DEFAULT_REASONING_TEMPLATE
from oprd.selectors.pivottrace.pivots import REFLECTION_MARKERS, PivotConfig
from oprd.selectors.pivottrace.triage import PivotTrace

SCORES = ("density", "count", "lexical", "consistency", "token-entropy", "self-certainty")


@dataclass
class PivotTraceConfig:
    """Every knob of a PivotTrace run (defaults: docs/methods/pivottrace.md); the resolved copy goes in the manifest.

    Trajectories: ``k`` per prompt at ``temperature`` (``consistency`` draws ``consistency_samples``
    instead). Attention signal: ``attention_layers`` (0-based blocks; None = every 2nd of the upper
    half), ``window``, ``n_sink``, ``chunk``, ``variant``. Pivots: ``min_step_tokens``, ``head_tokens``,
    ``pivot_window``, ``kappa``; the lexical baseline counts ``reflection_markers``. Probes: ``probes``
    items, ``probe_samples`` rollouts each at ``probe_temperature``, smoothed over ``probe_window``.
    Routing: see :class:`PivotTrace`.
    """

    model: str = DEFAULT_MODEL
    score: str = "density"
    k: int = 1
    temperature: float = 0.6
    max_new_tokens: int = 512
    batch_size: int = 8
    seed: int = 0
    template: str = DEFAULT_REASONING_TEMPLATE
    dtype: str = "float32"
    trust_remote_code: bool = False
    attention_layers: list[int] | None = None
    window: int = 128
    n_sink: int = 4
    chunk: int = 256
    variant: str = "long_range"
    attention_batch_size: int = 1
    min_step_tokens: int = 8
    head_tokens: int = 16
    pivot_window: int = 8
    kappa: float = 2.0
    reflection_markers: list[str] = field(default_factory=lambda: list(REFLECTION_MARKERS))
    consistency_samples: int = 8
    probes: int | None = None
    probe_samples: int = 8
    probe_temperature: float = 1.0
    probe_window: int = 9
    calib: str = "threshold"
    tau_lo: float = 0.5
    tau_hi: float = 0.9
    fractions: list[float] = field(default_factory=lambda: [0.293, 0.421])
    pseudo_label_threshold: float = 0.7
    max_annotate_frac: float | None = None
    max_discard_frac: float | None = None
    cache_dir: str | None = None

    def selector(self) -> PivotTrace:
        return PivotTrace(self.probes, calib=self.calib, tau_lo=self.tau_lo, tau_hi=self.tau_hi,
                          fractions=tuple(self.fractions), pseudo_label_threshold=self.pseudo_label_threshold,
                          probe_window=self.probe_window, max_annotate_frac=self.max_annotate_frac,
                          max_discard_frac=self.max_discard_frac, seed=self.seed)

    def pivots(self) -> PivotConfig:
        return PivotConfig(self.min_step_tokens, self.head_tokens, self.pivot_window, self.kappa).validate()

    def model_side(self, pool, *, progress: bool = True) -> ModelSide:
        """The cached model side of ``pool`` under this config (cache: ``cache_dir`` or
        ``$OPRD_CACHE/pivottrace``); pivot scores refuse a model whose attention cannot be rebuilt."""
        from oprd.models.builtin import cache_root

        return ModelSide(pool, model=self.model, template=self.template, dtype=self.dtype,
                         max_new_tokens=self.max_new_tokens, batch_size=self.batch_size,
                         cache_root=Path(self.cache_dir) if self.cache_dir else cache_root() / "pivottrace",
                         trust_remote_code=self.trust_remote_code,
                         rebuild_attention=self.score in ("density", "count"), progress=progress)

    def validate(self, n: int) -> "PivotTraceConfig":
        """Check the model-side settings and the routing ones (via the selector) before any model runs."""
        from oprd.features.attention_signal import check_options
        from oprd.typed_config import coerce_instance

        coerce_instance(self)  # every key as its field type declares (booleans, numbers, lists), in place
        if self.score not in SCORES:
            raise param_error("score", "PivotTrace", "one of " + ", ".join(map(repr, SCORES)), self.score)
        for name in ("k", "probe_samples", "consistency_samples", "max_new_tokens", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise param_error(name, "PivotTrace", "an int >= 1", value)
        if self.score == "consistency" and self.consistency_samples < 2:
            raise param_error("consistency_samples", "PivotTrace", "an int >= 2 for score consistency",
                              self.consistency_samples)
        check_options(self.window, self.n_sink, self.chunk, self.variant, self.attention_batch_size)
        for temperature in (self.temperature, self.probe_temperature):
            SamplingConfig(max_new_tokens=self.max_new_tokens, temperature=temperature, n=2).validate()
        self.pivots()
        self.selector().check_params(n)
        return self
