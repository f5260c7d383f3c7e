"""Every knob of a GRPO run, in one documented dataclass (YAML keys = field names)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from oprd.errors import OprdInputError, param_error
from oprd.rlvr.methods import UNLABELED_METHODS
from oprd.models.builtin import DEFAULT_MODEL
from oprd.models.chat import DEFAULT_REASONING_TEMPLATE

AGGREGATIONS = ("token-mean", "seq-mean-token-mean", "dr-grpo")
LR_SCHEDULERS = ("constant", "linear", "cosine", "cosine_with_min_lr")
SCALES = ("group", "batch", "none")
#: vllm.LLM keywords a config may not pass: set from the config itself, or code that runs in the engine.
VLLM_RESERVED = ("model", "dtype", "seed", "trust_remote_code", "worker_cls", "worker_extension_cls")


@dataclass
class GRPOConfig:
    """Every knob of a GRPO run; each field's help is its ``oprd-train`` flag's help and its YAML key's meaning.

    Defaults and their sources: ``docs/methods/grpo.md``. The fields come in groups: data, rollouts,
    rewards (with the grader and the semi-supervised methods, ``docs/methods/geomin.md``), advantages
    and loss, label refinement (``docs/methods/olr.md``), distillation (``docs/methods/oprd.md``),
    optimisation, and the run itself.
    """

    # Data
    model: str = field(default=DEFAULT_MODEL, metadata={"help": "Policy model: built-in name, HF dir or hub id."})
    selected: str | None = field(
        default=None, metadata={"help": "An oprd-select output dir (its manifest and pool hash are checked); "
                                        "set this or data."})
    data: str | None = field(default=None, metadata={"help": "A file of labeled and/or unlabeled rows."})
    eval_data: str | None = field(
        default=None, metadata={"help": "Labeled file for pass@1 during and after training."})
    prompt_key: str = field(default="prompt", metadata={"help": "Dotted key of the prompt column."})
    answer_key: str = field(default="answer", metadata={"help": "Dotted key of the answer column."})
    id_key: str = field(default="id", metadata={"help": "Dotted key of the id column."})
    out: str = field(
        default="runs/train", metadata={"help": "Run dir for checkpoints and metrics; may not hold an input."})
    resume: str | None = field(
        default=None, metadata={"help": "auto (continue the run in out from its newest checkpoint) or a "
                                        "checkpoint dir."})
    overwrite: bool = field(
        default=False, metadata={"help": "Replace an earlier run in out (metrics, config, checkpoints); without "
                                         "it or resume, an out holding a run is an error."})

    # Rollouts
    template: str = field(
        default=DEFAULT_REASONING_TEMPLATE, metadata={"help": "How a string prompt becomes the user turn ({prompt} "
                                                              "is replaced); chat-message prompts are used as given."})
    max_steps: int = field(default=100, metadata={"help": "Optimizer steps."})
    batch_size: int = field(default=8, metadata={"help": "Prompts per step (global), 1..65536."})
    group_size: int = field(default=8, metadata={"help": "Rollouts per prompt (G), 2..1024."})
    max_new_tokens: int = field(
        default=512, metadata={"help": "Rollout length limit, 1..262144; prompt + this must fit the model's "
                                       "context."})
    temperature: float = field(default=1.0, metadata={"help": "Sampling temperature of the rollouts."})
    top_p: float = field(default=1.0, metadata={"help": "Nucleus sampling top-p of the rollouts."})
    generation_backend: str = field(
        default="hf", metadata={"help": "hf | vllm (vLLM weights are synced from the policy every step)."})
    generation_batch_size: int = field(
        default=64, metadata={"help": "Sequences per HF generate call; each sequence samples from its own seeded "
                                      "stream, so rollouts do not depend on process count or batch."})
    vllm_options: dict = field(
        default_factory=dict, metadata={"help": "Keyword arguments of vllm.LLM, e.g. gpu_memory_utilization=0.4, "
                                                "max_model_len=4096, enforce_eager=true; not model, dtype, seed, "
                                                "trust_remote_code (set from this config) or worker classes."})

    # Rewards
    reward_funcs: list[str] = field(
        default_factory=lambda: ["oprd.rlvr.rewards:accuracy_reward"],
        metadata={"help": "Reward functions as pkg.module:f or file.py:f, TRL-style f(prompts, completions, "
                          "**columns) returning floats (their code runs at start); none alone = distillation "
                          "loss only."})
    reward_weights: list[float] | None = field(
        default=None, metadata={"help": "One weight per reward function (unset = 1.0 each)."})
    grader_answer_extraction: str = field(
        default="boxed", metadata={"help": "Grader of the accuracy reward, evaluation and majority votes: "
                                           "boxed | last-number | answer-tag (docs/grader.md)."})
    grader_multi_box: str = field(default="set", metadata={"help": "Grader: several boxes as a set | last."})
    grader_strip_reasoning: bool = field(
        default=False, metadata={"help": "Grader: drop <think>...</think> first (unclosed = no answer)."})
    grader_float_rounding: int = field(default=6, metadata={"help": "Grader: decimals compared."})
    grader_unreadable_gold: str = field(
        default="zero", metadata={"help": "Grader: an unreadable gold answer scores zero | skip (no reward)."})
    unlabeled_reward: str = field(
        default="ttrl", metadata={"help": "Rows without answers: ttrl (majority vote) | geomin (majority labels "
                                          "weighted by the hidden-state prior) | trapo (majority labels on "
                                          "trajectory-matched prompts) | self-certainty | entropy (label-free) | "
                                          "none (skipped)."})
    unlabeled_options: dict = field(
        default_factory=dict, metadata={"help": "Older spelling of the chosen method's geomin_* / trapo_* keys: "
                                                "decay=0.8 with geomin is geomin_decay 0.8."})
    # GeoMin (unlabeled_reward geomin; docs/methods/geomin.md, "GeoMin options")
    geomin_stats: str = field(
        default="decay", metadata={"help": "GeoMin: how old labeled rollouts fade from the class models: decay | "
                                           "fifo."})
    geomin_decay: float = field(default=0.9, metadata={"help": "GeoMin: per-step factor of the class statistics."})
    geomin_fifo_steps: int = field(default=4, metadata={"help": "GeoMin: steps kept with stats fifo."})
    geomin_boundary_only: bool = field(
        default=True, metadata={"help": "GeoMin: fit only on labeled prompts with mixed results (0 < pass rate "
                                        "< 1)."})
    geomin_layer_stride: int = field(
        default=4, metadata={"help": "GeoMin: candidate layers are every k-th hidden state plus the last."})
    geomin_top_layers: int = field(default=3, metadata={"help": "GeoMin: layers kept (highest AUROC)."})
    geomin_calibrate: bool = field(
        default=True, metadata={"help": "GeoMin: Platt-calibrate q = sigmoid(a s + b); false uses sigmoid(s)."})
    geomin_score_bank_steps: int = field(
        default=8, metadata={"help": "GeoMin: steps of labeled rollouts in the AUROC / Platt bank."})
    geomin_warmup_per_class: int = field(
        default=64, metadata={"help": "GeoMin: labeled rollouts per class before unlabeled prompts count."})
    geomin_gmm_history: int = field(
        default=4, metadata={"help": "GeoMin: previous steps pooled into the reliability mixture."})
    geomin_min_gmm_points: int = field(
        default=32, metadata={"help": "GeoMin: below this many affinities, the median rule instead of the mixture."})
    geomin_keep_posterior: float = field(
        default=0.9, metadata={"help": "GeoMin: weight 1 at or above this reliable-component posterior."})
    geomin_drop_posterior: float = field(
        default=0.5, metadata={"help": "GeoMin: weight 0 below this posterior (the posterior itself between)."})
    geomin_seed: int = field(default=0, metadata={"help": "GeoMin: random state of the mixture."})
    # TraPO (unlabeled_reward trapo)
    trapo_warmup_epochs: int = field(default=1, metadata={"help": "TraPO: labeled-only epochs first."})
    trapo_top_fraction: float = field(
        default=0.1, metadata={"help": "TraPO: train the top share of unlabeled prompts by trajectory similarity."})
    trapo_threshold: float = field(
        default=0.4, metadata={"help": "TraPO: also train any unlabeled prompt whose similarity is at least this."})
    trapo_min_visits: int = field(
        default=2, metadata={"help": "TraPO: visits a labeled trajectory needs to count."})
    labeled_ratio: float | None = field(
        default=None, metadata={"help": "Share of labeled prompts in every batch, drawn from the two pools "
                                        "separately (unset = the data's natural mix)."})
    label_fraction: float | None = field(
        default=None, metadata={"help": "Simulation: keep the labels of this seeded share of labeled rows, train "
                                        "the rest as unlabeled (true answers kept for metrics)."})
    label_seed: int = field(default=0, metadata={"help": "Seed of label_fraction's choice."})

    # Advantages and loss
    scale: str = field(default="group", metadata={"help": "Advantage scaling: group | batch | none (Dr.GRPO)."})
    eps: float = field(default=1e-4, metadata={"help": "Added to the std when scaling advantages."})
    dynamic_sampling: bool = field(
        default=False, metadata={"help": "Drop zero-variance groups and refill the batch (up to "
                                         "max_refill_rounds)."})
    max_refill_rounds: int = field(default=3, metadata={"help": "Dynamic sampling: refill rounds per step."})
    mask_truncated: bool = field(
        default=False, metadata={"help": "Exclude completions that hit max_new_tokens from the loss."})
    eps_low: float = field(default=0.2, metadata={"help": "Lower clip range of the ratio."})
    eps_high: float = field(default=0.28, metadata={"help": "Upper clip range of the ratio (clip-higher)."})
    aggregation: str = field(
        default="token-mean", metadata={"help": "Loss aggregation: token-mean | seq-mean-token-mean | dr-grpo."})
    beta: float = field(
        default=0.0, metadata={"help": "k3 KL coefficient to a frozen copy of the initial policy (0 = no "
                                       "reference model)."})
    ppo_epochs: int = field(
        default=1, metadata={"help": "Passes over each rollout batch (mu); with 1 the ratio is exactly 1."})

    # Label refinement
    olr: bool = field(
        default=False, metadata={"help": "Online label refinement of labeled rows from the policy's own majority "
                                         "answers (docs/methods/olr.md); rows from oprd data corrupt get "
                                         "simulated noise either way."})
    olr_delta: float = field(default=0.05, metadata={"help": "OLR: pass-rate slope threshold per visit."})
    olr_start_epoch: int = field(default=4, metadata={"help": "OLR: refine only after this 0-based epoch."})
    olr_window: int | None = field(
        default=None, metadata={"help": "OLR: history length for slope and consistency (unset = full)."})
    olr_sticky: bool = field(default=False, metadata={"help": "OLR: keep a replacement once made."})
    olr_min_visits: int | None = field(
        default=None, metadata={"help": "OLR: refine once a prompt has this many visits (instead of the epoch "
                                        "rule)."})

    # Distillation
    teacher: str | None = field(
        default=None, metadata={"help": "Distillation teacher: built-in name, HF dir or hub id."})
    distill: str | list[str] | None = field(
        default=None, metadata={"help": "oprd | opd-top1 | opd-topk | opd-full, or several, comma-joined or a "
                                        "list: opd-top1,oprd = OPD + mu * OPRD (docs/methods/oprd.md)."})
    distill_coef: float | list[float] | None = field(
        default=None, metadata={"help": "Weight mu of each distillation term, in distill order: 0.5 or 1.0,0.5 "
                                        "(unset = 1.0 each); added to the GRPO loss, or trained alone with "
                                        "reward_funcs none."})
    distill_positions: str = field(
        default="last_k:2000", metadata={"help": "Response tokens distilled: last_k:K | first_k:K | all | last."})
    distill_layers: str | list[int] = field(
        default="all", metadata={"help": "Student layers: all | last | even (blocks 0,2,.. = hidden_states 1,3,..) "
                                         "| odd (blocks 1,3,..) | a list such as 4,8,12."})
    distill_layer_map: str = field(
        default="proportional", metadata={"help": "Student to teacher layers: proportional | identity."})
    distill_normalize: bool = field(default=False, metadata={"help": "OPRD: L2-normalise states first."})
    distill_topk: int = field(default=16, metadata={"help": "k of opd-topk."})
    distill_store_dtype: str = field(
        default="float32", metadata={"help": "Teacher targets: float32 | bfloat16."})
    distill_offload: bool = field(default=False, metadata={"help": "Keep teacher targets on CPU."})
    bridge: str | None = field(
        default=None, metadata={"help": "Bridge from oprd distill fit-bridge, needed when the widths differ."})

    # Optimisation
    lr: float = field(default=1e-6, metadata={"help": "AdamW learning rate."})
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay."})
    adam_beta1: float = field(default=0.9, metadata={"help": "AdamW beta1."})
    adam_beta2: float = field(default=0.999, metadata={"help": "AdamW beta2."})
    max_grad_norm: float = field(default=1.0, metadata={"help": "Clip the gradient norm to this."})
    max_nonfinite_skips: int = field(
        default=3, metadata={"help": "Stop after this many steps in a row with a NaN/inf gradient norm (each is "
                                     "skipped, logged as train/skipped_nonfinite; the run exits with code 2)."})
    warmup_steps: int = field(default=0, metadata={"help": "Learning-rate warmup steps."})
    micro_batch_size: int = field(
        default=8, metadata={"help": "Sequences per forward/backward (gradient accumulation over the batch)."})

    # Run
    seed: int = field(default=0, metadata={"help": "Seed for sampling and data order."})
    save_steps: int = field(default=50, metadata={"help": "Checkpoint every N steps (the last step always)."})
    save_total_limit: int = field(default=2, metadata={"help": "Keep the newest K checkpoints."})
    eval_steps: int = field(
        default=0, metadata={"help": "Evaluate on eval_data every N steps and after the last one (0 = after "
                                     "the last only)."})
    eval_k: int = field(
        default=1, metadata={"help": "Evaluation: samples per prompt for avg@k and pass@k, beside greedy "
                                     "pass@1."})
    eval_max_new_tokens: int | None = field(
        default=None, metadata={"help": "Evaluation rollout length (unset = max_new_tokens)."})
    logging: list[str] = field(default_factory=list, metadata={"help": "tensorboard | wandb | trackio."})
    dtype: str = field(default="float32", metadata={"help": "Model dtype: float32 | bfloat16 | float16."})
    fsdp: bool = field(
        default=False, metadata={"help": "Shard the policy with FSDP2 under torchrun; checkpoints are sharded "
                                         "and hold Hugging Face weights at the last step (docs/distributed.md)."})
    save_consolidated: bool = field(
        default=False, metadata={"help": "FSDP2: Hugging Face weights in every checkpoint, not only the last."})
    trust_remote_code: bool = field(
        default=False, metadata={"help": "Allow custom code from the model repo."})

    # Model scale: LoRA, activation memory, precision, schedule (docs/methods/grpo.md, "Training at scale").
    lora_r: int = field(default=0, metadata={"help": "LoRA rank (0 = train every weight); only adapters train."})
    lora_alpha: float = field(default=16.0, metadata={"help": "LoRA scaling alpha (the update is alpha / r)."})
    lora_dropout: float = field(default=0.0, metadata={"help": "Dropout on the LoRA input."})
    lora_target_modules: list[str] | None = field(
        default=None, metadata={"help": "Module names LoRA adapts (default: every linear layer of the blocks)."})
    merge_on_save: bool = field(
        default=False, metadata={"help": "LoRA: also write merged/ (base + adapters) in each checkpoint."})
    gradient_checkpointing: bool = field(
        default=False, metadata={"help": "Recompute block activations in the backward pass (less memory)."})
    autocast: bool = field(
        default=False, metadata={"help": "float32 master weights, bfloat16 compute (FSDP2: its mixed precision)."})
    logprob_chunk_size: int = field(
        default=512, metadata={"help": "Response tokens (rows x positions) whose vocabulary logits exist at once "
                                        "(0 = all)."})
    lr_scheduler: str = field(
        default="constant", metadata={"help": "constant | linear | cosine | cosine_with_min_lr, after warmup_steps."})
    min_lr_rate: float = field(default=0.1, metadata={"help": "cosine_with_min_lr: the final lr as a share of lr."})

    # Prompts and what is logged of the completions.
    system_prompt: str | None = field(
        default=None, metadata={"help": "A system message before every prompt (rollouts and evaluation)."})
    chat_template_kwargs: dict = field(
        default_factory=dict, metadata={"help": "Keywords for the chat template, e.g. {enable_thinking: false}."})
    log_completions_steps: int = field(
        default=0, metadata={"help": "Every N steps append the step's completions to completions.jsonl (0 = never)."})

    def validate(self, *, in_memory_data: bool = False) -> "GRPOConfig":
        """Reject bad or conflicting values, naming the key and what to set instead.

        ``in_memory_data``: the rows come from a ``train_dataset`` given to the trainer, not from a path.
        """
        owner = "GRPOConfig"
        from oprd.typed_config import coerce_instance

        coerce_instance(self)  # every key as its field type declares (booleans, numbers, lists), in place
        if in_memory_data and (self.selected is not None or self.data is not None):
            raise OprdInputError("got a train_dataset and also data/selected in the config; pass one source of rows")
        if not in_memory_data and (self.selected is None) == (self.data is None):
            raise OprdInputError("set exactly one of --selected DIR (an oprd-select output) or --data FILE")
        from oprd.limits import check_sizes

        check_sizes(self, ("max_steps", "batch_size", "group_size", "max_new_tokens", "eval_max_new_tokens",
                           "micro_batch_size", "ppo_epochs", "save_steps", "save_total_limit", "generation_batch_size",
                           "eval_k", "eval_steps", "warmup_steps", "max_refill_rounds", "olr_start_epoch", "olr_window",
                           "olr_min_visits", "seed", "label_seed", "max_nonfinite_skips", "lora_r",
                           "logprob_chunk_size", "log_completions_steps"), owner)  # bounds in oprd/limits.py
        if self.lr_scheduler not in LR_SCHEDULERS:
            raise param_error("lr_scheduler", owner, f"one of {', '.join(LR_SCHEDULERS)}", self.lr_scheduler)
        if self.lora_r and self.lora_alpha <= 0 or not 0.0 <= self.lora_dropout < 1.0:
            raise OprdInputError(f"lora_alpha must be > 0 and lora_dropout in [0, 1); got {self.lora_alpha} and "
                                 f"{self.lora_dropout}")
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
        from oprd.rlvr.methods import fold_option_mapping, method_options

        fold_option_mapping(self)
        method_options(self)
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
