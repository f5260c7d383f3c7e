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
    """Every knob of a PivotTrace run (defaults: docs/methods/pivottrace.md); the resolved copy goes in the
    manifest. Each field's help is its ``oprd-select pivottrace`` flag's help and its YAML key's meaning;
    the routing is :class:`PivotTrace`'s."""

    # Trajectories and the uncertainty score
    model: str = field(default=DEFAULT_MODEL, metadata={"help": "Built-in name, HF dir or hub id."})
    score: str = field(default="density", metadata={"help": f"Uncertainty score: {' | '.join(SCORES)}."})
    k: int = field(default=1, metadata={"help": "Trajectories per prompt, scores averaged."})
    temperature: float = field(default=0.6, metadata={"help": "Sampling temperature of the trajectories."})
    max_new_tokens: int = field(default=512, metadata={"help": "Max new tokens per rollout."})
    batch_size: int = field(default=8, metadata={"help": "Sequences per generation batch."})
    seed: int = field(default=0, metadata={"help": "Sampling and probe-choice seed."})
    template: str = field(
        default=DEFAULT_REASONING_TEMPLATE, metadata={"help": "How a string prompt becomes the user turn "
                                                              "({prompt} is replaced)."})
    dtype: str = field(default="float32", metadata={"help": "Model dtype: float32 | bfloat16 | float16."})
    system_prompt: str | None = field(
        default=None, metadata={"help": "A system message before every prompt (unset = none)."})
    chat_template_kwargs: dict = field(
        default_factory=dict, metadata={"help": "Keywords for the chat template, e.g. enable_thinking=false."})
    trust_remote_code: bool = field(default=False, metadata={"help": "Allow custom code from the model repo."})
    output_format: str | None = field(
        default=None, metadata={"help": "triage, annotate, weak and subset rows as jsonl | json | parquet | hf (a "
                                        "datasets save_to_disk folder); unset = the pool's own format."})
    # Attention signal
    attention_layers: list[int] | None = field(
        default=None, metadata={"help": "0-based blocks whose attention is read, e.g. 10,12,14 (unset = every "
                                        "2nd block of the upper half)."})
    window: int = field(
        default=128, metadata={"help": "Attention placed more than min(window, length / 4) tokens back is "
                                       "long-range."})
    n_sink: int = field(default=4, metadata={"help": "First tokens (attention sinks) left out of the mass."})
    chunk: int = field(default=256, metadata={"help": "Query rows rebuilt at a time (memory O(T x chunk))."})
    variant: str = field(
        default="long_range", metadata={"help": "long_range (mass far back) | prompt_mass (mass on the prompt)."})
    attention_batch_size: int = field(default=1, metadata={"help": "Trajectories per attention forward."})
    # Pivots and the baselines
    min_step_tokens: int = field(
        default=8, metadata={"help": "A step (a response line) shorter than this merges into the next."})
    head_tokens: int = field(default=16, metadata={"help": "Leading tokens of a step averaged into its signal."})
    pivot_window: int = field(default=8, metadata={"help": "Previous steps whose mean and std a step is tested "
                                                           "against."})
    kappa: float = field(default=2.0, metadata={"help": "A pivot's signal exceeds the mean by kappa std."})
    reflection_markers: list[str] = field(
        default_factory=lambda: list(REFLECTION_MARKERS), metadata={"help": "Words the lexical baseline counts "
                                                                            "per step."})
    consistency_samples: int = field(
        default=8, metadata={"help": "Sampled answers per prompt for score consistency."})
    # Probes and routing
    probes: int | None = field(
        default=None, metadata={"help": "Probes to annotate (unset = max(64, 2% of the pool), at most the pool)."})
    probe_samples: int = field(default=8, metadata={"help": "Rollouts per probe at probe_temperature."})
    probe_temperature: float = field(default=1.0, metadata={"help": "Sampling temperature of the probe rollouts."})
    probe_window: int = field(
        default=9, metadata={"help": "Probes in the centred mean that smooths pass rates along the ranking."})
    calib: str = field(default="threshold", metadata={"help": "threshold | pseudo_label | fractions."})
    tau_lo: float = field(
        default=0.5, metadata={"help": "Annotate while the smoothed probe pass rate is <= this."})
    tau_hi: float = field(
        default=0.9, metadata={"help": "Discard where the smoothed probe pass rate is >= this."})
    fractions: list[float] = field(
        default_factory=lambda: [0.293, 0.421], metadata={"help": "Fixed annotate,discard shares such as "
                                                                  "0.293,0.421 (the flag implies calib fractions)."})
    pseudo_label_threshold: float = field(
        default=0.7, metadata={"help": "pseudo_label: annotate where majority-vote accuracy is below this."})
    max_annotate_frac: float | None = field(default=None, metadata={"help": "Cap on the annotated share."})
    max_discard_frac: float | None = field(default=None, metadata={"help": "Cap on the discarded share."})
    cache_dir: str | None = field(
        default=None, metadata={"help": "Rollout and signal cache (unset = $OPRD_CACHE/pivottrace)."})

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

        return ModelSide(pool, model=self.model, template=self.template, system_prompt=self.system_prompt,
                         chat_template_kwargs=self.chat_template_kwargs, dtype=self.dtype,
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
        if self.output_format is not None:
            from oprd.data.row_writer import check_format

            check_format(self.output_format)
        self.pivots()
        self.selector().check_params(n)
        return self
