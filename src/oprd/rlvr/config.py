"""Every knob of a GRPO run, in one documented dataclass (YAML keys = field names)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from oprd.errors import OprdInputError, param_error
from oprd.rlvr.methods import UNLABELED_METHODS
from oprd.models.builtin import DEFAULT_MODEL
from oprd.models.chat import DEFAULT_REASONING_TEMPLATE

AGGREGATIONS = ("token-mean", "seq-mean-token-mean", "dr-grpo")
SCALES = ("group", "batch", "none")
#: vllm.LLM keywords a config may not pass: set from the config itself, or code that runs in the engine.
VLLM_RESERVED = ("model", "dtype", "seed", "trust_remote_code", "worker_cls", "worker_extension_cls")


@dataclass
class GRPOConfig:
    """GRPO training configuration. Defaults and their sources: ``docs/methods/grpo.md``.

    Data
      selected: an ``oprd-select`` output dir (its manifest is checked); or
      data: a file of labeled and/or unlabeled rows.
      eval_data: a labeled file for pass@1 during and after training.
      prompt_key / answer_key / id_key: dotted column keys.
    Rollouts
      template: how a string prompt becomes the user turn (``{prompt}`` is replaced); chat-message
      prompts are used as given.
      group_size (G, default 8) samples per prompt at ``temperature`` (1.0), up to ``max_new_tokens``.
      generation_backend: hf | vllm (vLLM weights are synced from the policy every step).
      vllm_options: keyword arguments for ``vllm.LLM`` (e.g. {gpu_memory_utilization: 0.4,
      max_model_len: 4096, enforce_eager: true}); the model path, dtype and seed come from this config.
      generation_batch_size: sequences per HF ``generate`` call; a step's prompts share calls, and each
      sequence samples from its own seeded stream, so rollouts do not depend on process count or batch.
    Rewards
      reward_funcs: dotted paths of TRL-style callables f(prompts, completions, **columns) -> list[float];
      default the verifier accuracy reward. reward_weights: one weight per function.
      unlabeled_reward: how rows without answers are rewarded (ttrl = majority vote; none = skipped).
      grader_answer_extraction (boxed | last-number | answer-tag), grader_multi_box (set | last),
      grader_strip_reasoning (drop <think>...</think> first; unclosed = no answer), grader_float_rounding
      (6), grader_unreadable_gold (zero | skip = None, no reward): how the default accuracy reward, the
      evaluation and majority votes grade answers (``oprd.verify.GraderOptions``, ``docs/grader.md``).
    Semi-supervised (docs/methods/geomin.md, rlvr/methods/)
      unlabeled_reward also takes geomin (majority labels weighted by the hidden-state prior), trapo
      (majority labels on trajectory-matched prompts), self-certainty, entropy (label-free rewards).
      unlabeled_options: that method's knobs (GeoMinOptions / TraPOOptions fields), e.g. {decay: 0.8}.
      labeled_ratio: share of labeled prompts in every batch, drawn from the two pools separately
      (None = the data's natural mix). label_fraction / label_seed: simulation; keep the labels of
      this seeded share of labeled rows, train the rest as unlabeled (true answers kept for metrics).
    Advantages and loss
      scale: group | batch | none (Dr.GRPO). eps: added to the std.
      dynamic_sampling: drop zero-variance groups and refill the batch (up to max_refill_rounds).
      mask_truncated: exclude completions that hit max_new_tokens from the loss.
      eps_low / eps_high: clip range (clip-higher), aggregation: token-mean | seq-mean-token-mean | dr-grpo.
      beta: k3 KL to a frozen copy of the initial policy (0 = no reference model).
      ppo_epochs (mu): passes over each rollout batch; with 1 the ratio is exactly 1.
    Label refinement (docs/methods/olr.md)
      olr: refine labels online from the policy's own majority answers; olr_delta (slope threshold per
      visit, 0.05), olr_start_epoch (refine only after this 0-based epoch, 4), olr_window (history
      length, None = full), olr_sticky (keep a replacement once made), olr_min_visits (step-based
      alternative to the epoch rule). Rows from ``oprd data corrupt`` get simulated noise either way.
    Distillation (docs/methods/oprd.md)
      teacher: model to distil from; distill: oprd | opd-top1 | opd-topk | opd-full, or several as a list
      or comma-joined (opd-top1,oprd = OPD + mu * OPRD); distill_coef: one weight per loss in that order
      (unset = 1.0 each) for the terms added to the GRPO loss, or trained alone with reward_funcs [none]
      (``--reward none``). distill_positions (last_k:2000 | first_k:K | all | last), distill_layers (all |
      last | even | odd | list; even = blocks 0, 2, 4, ... counted from zero = hidden_states 1, 3, 5, ...,
      odd the others), distill_layer_map (proportional | identity), distill_normalize (L2-normalise states first),
      distill_topk (16), distill_store_dtype (float32 | bfloat16 teacher targets), distill_offload (keep
      teacher targets on CPU), bridge (an ``oprd distill fit-bridge`` file, needed when widths differ).
    Optimisation
      lr (1e-6 for real models), weight_decay, adam_beta1/2, max_grad_norm (1.0), warmup_steps,
      max_nonfinite_skips (3): a step whose gradient norm is NaN or inf is skipped (no update, logged as
      train/skipped_nonfinite); this many such steps in a row stop the run with exit code 2.
      micro_batch_size: sequences per forward/backward (gradient accumulation over the batch).
    Run
      max_steps, batch_size (prompts per step, global), seed, save_steps, save_total_limit (keep-last-K),
      eval_steps: evaluate on eval_data every N steps and after the last one (0 = after the last only).
      eval_k, logging (list of tensorboard | wandb | trackio), out, resume (auto | PATH), overwrite (replace
      an earlier run in out; without it or resume, an out holding a run is an error).
      fsdp: shard the policy with FSDP2 under torchrun (for models that do not fit one device); its
      checkpoints are sharded (every rank writes ``sharded/``) and hold Hugging Face weights at the
      last step, or at every save with save_consolidated.
    """

    model: str = DEFAULT_MODEL
    selected: str | None = None
    data: str | None = None
    eval_data: str | None = None
    prompt_key: str = "prompt"
    answer_key: str = "answer"
    id_key: str = "id"
    out: str = "runs/train"
    resume: str | None = None
    overwrite: bool = False

    template: str = DEFAULT_REASONING_TEMPLATE
    max_steps: int = 100
    batch_size: int = 8
    group_size: int = 8
    max_new_tokens: int = 512
    temperature: float = 1.0
    top_p: float = 1.0
    generation_backend: str = "hf"
    generation_batch_size: int = 64
    vllm_options: dict = field(default_factory=dict)

    reward_funcs: list[str] = field(default_factory=lambda: ["oprd.rlvr.rewards:accuracy_reward"])
    reward_weights: list[float] | None = None
    grader_answer_extraction: str = "boxed"
    grader_multi_box: str = "set"
    grader_strip_reasoning: bool = False
    grader_float_rounding: int = 6
    grader_unreadable_gold: str = "zero"
    unlabeled_reward: str = "ttrl"
    unlabeled_options: dict = field(default_factory=dict)
    labeled_ratio: float | None = None
    label_fraction: float | None = None
    label_seed: int = 0

    scale: str = "group"
    eps: float = 1e-4
    dynamic_sampling: bool = False
    max_refill_rounds: int = 3
    mask_truncated: bool = False
    eps_low: float = 0.2
    eps_high: float = 0.28
    aggregation: str = "token-mean"
    beta: float = 0.0
    ppo_epochs: int = 1

    olr: bool = False
    olr_delta: float = 0.05
    olr_start_epoch: int = 4
    olr_window: int | None = None
    olr_sticky: bool = False
    olr_min_visits: int | None = None

    teacher: str | None = None
    distill: str | list[str] | None = None
    distill_coef: float | list[float] | None = None
    distill_positions: str = "last_k:2000"
    distill_layers: str | list[int] = "all"
    distill_layer_map: str = "proportional"
    distill_normalize: bool = False
    distill_topk: int = 16
    distill_store_dtype: str = "float32"
    distill_offload: bool = False
    bridge: str | None = None

    lr: float = 1e-6
    weight_decay: float = 0.0
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    max_grad_norm: float = 1.0
    max_nonfinite_skips: int = 3
    warmup_steps: int = 0
    micro_batch_size: int = 8

    seed: int = 0
    save_steps: int = 50
    save_total_limit: int = 2
    eval_steps: int = 0
    eval_k: int = 1
    eval_max_new_tokens: int | None = None
    logging: list[str] = field(default_factory=list)
    dtype: str = "float32"
    fsdp: bool = False
    save_consolidated: bool = False
    trust_remote_code: bool = False

    def validate(self) -> "GRPOConfig":
        """Reject bad or conflicting values, naming the key and what to set instead."""
        owner = "GRPOConfig"
        from oprd.typed_config import coerce_instance

        coerce_instance(self)  # every key as its field type declares (booleans, numbers, lists), in place
        if (self.selected is None) == (self.data is None):
            raise OprdInputError("set exactly one of --selected DIR (an oprd-select output) or --data FILE")
        from oprd.limits import check_sizes

        check_sizes(self, ("max_steps", "batch_size", "group_size", "max_new_tokens", "eval_max_new_tokens",
                           "micro_batch_size", "ppo_epochs", "save_steps", "save_total_limit", "generation_batch_size",
                           "eval_k", "eval_steps", "warmup_steps", "max_refill_rounds", "olr_start_epoch", "olr_window",
                           "olr_min_visits", "seed", "label_seed", "max_nonfinite_skips"), owner)  # bounds in oprd/limits.py
        if self.scale not in SCALES:
            raise param_error("scale", owner, f"one of {', '.join(SCALES)}", self.scale)
        if self.aggregation not in AGGREGATIONS:
            raise param_error("aggregation", owner, f"one of {', '.join(AGGREGATIONS)}", self.aggregation)
        if self.unlabeled_reward not in tuple(UNLABELED_METHODS):
            raise param_error("unlabeled_reward", owner, f"one of {', '.join(tuple(UNLABELED_METHODS))}", self.unlabeled_reward)
        if self.label_fraction is not None and not 0.0 < self.label_fraction <= 1.0:
            raise param_error("label_fraction", owner, "a float in (0, 1] (the share of labeled rows that keep their label)",
                              self.label_fraction)
        if self.labeled_ratio is not None and not 0.0 <= self.labeled_ratio <= 1.0:
            raise param_error("labeled_ratio", owner, "a float in [0, 1] or None (natural mix)", self.labeled_ratio)
        from oprd.rlvr.methods import method_options

        method_options(self.unlabeled_reward, self.unlabeled_options)
        if self.generation_backend not in ("hf", "vllm"):
            raise param_error("generation_backend", owner, "hf or vllm", self.generation_backend)
        if not isinstance(self.vllm_options, dict):
            raise param_error("vllm_options", owner, "a mapping of vllm.LLM keyword arguments", self.vllm_options)
        reserved = sorted(set(VLLM_RESERVED) & set(self.vllm_options))
        if reserved:
            raise OprdInputError(f"vllm_options may not set {', '.join(reserved)}: model, dtype, seed and "
                                 f"trust_remote_code come from the training config (set those instead; remote code "
                                 f"only with --trust-remote-code); worker classes run code in the engine and the worker extension "
                                 f"carries the weight sync")
        if self.vllm_options and self.generation_backend != "vllm":
            raise OprdInputError(f"vllm_options {sorted(self.vllm_options)} given, but generation_backend is "
                                 f"{self.generation_backend!r}; add --generation-backend vllm or drop them")
        for name in ("eps_low", "eps_high"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise param_error(name, owner, "a float in [0, 1)", getattr(self, name))
        if self.beta < 0 or self.lr <= 0 or self.temperature <= 0:
            bad = "beta" if self.beta < 0 else "lr" if self.lr <= 0 else "temperature"
            raise param_error(bad, owner, "> 0 (beta >= 0)", getattr(self, bad))
        if "{prompt}" not in self.template:
            raise param_error("template", owner, "a string containing {prompt}", self.template)
        if self.reward_weights is not None and len(self.reward_weights) != len(self.reward_funcs):
            raise OprdInputError(
                f"reward_weights has {len(self.reward_weights)} values but reward_funcs has {len(self.reward_funcs)}; "
                "give one weight per reward function"
            )
        bad_loggers = sorted(set(self.logging) - {"tensorboard", "wandb", "trackio"})
        if bad_loggers:
            raise param_error("logging", owner, "a list of tensorboard, wandb, trackio", bad_loggers)
        if self.dynamic_sampling and self.max_refill_rounds < 0:
            raise param_error("max_refill_rounds", owner, "an int >= 0", self.max_refill_rounds)
        from oprd.rlvr.methods.distill.options import validate_distill

        validate_distill(self)
        return self


def config_keys() -> list[str]:
    """All YAML keys a training config may hold."""
    return [f.name for f in fields(GRPOConfig)]
