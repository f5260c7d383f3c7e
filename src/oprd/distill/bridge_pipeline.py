"""Fit a Bridge for a (student, teacher) pair end to end: prompts -> student rollouts -> paired states -> fit.

Stage 1 of the Bridge (docs/methods/oprd.md) with both models frozen: the student samples rollouts (~2000 by default), both
models read them, and every distilled layer pair gets its teacher PCA basis and student projector.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from oprd.distill.bridge import Bridge, BridgeModels
from oprd.distill.bridge_data import collect_pairs
from oprd.distill.bridge_fit import SOLVERS, fit_pair
from oprd.distill.layer_map import layer_pairs
from oprd.distill.positions import parse_positions
from oprd.distill.teacher import Teacher
from oprd.errors import OprdInputError, param_error
from oprd.models.chat import DEFAULT_REASONING_TEMPLATE
from oprd.progress import progress_bar


@dataclass
class BridgeFitConfig:
    """Knobs of ``oprd distill fit-bridge``; defaults as in docs/methods/oprd.md."""

    rank: int = 8
    layers: str | list[int] = "all"
    layer_map: str = "proportional"
    positions: str = "last_k:2000"
    max_prompts: int = 1000
    samples_per_prompt: int = 2
    max_new_tokens: int = 512
    temperature: float = 1.0
    tokens_per_rollout: int = 8
    solver: str = "adam"
    epochs: int = 20
    lr: float = 1e-2
    batch_size: int = 8
    seed: int = 0
    template: str = DEFAULT_REASONING_TEMPLATE
    prompt_key: str = "prompt"
    dtype: str = "float32"
    trust_remote_code: bool = False

    def validate(self) -> "BridgeFitConfig":
        """Reject bad knobs before any model is loaded."""
        owner = "BridgeFitConfig"
        for name in ("rank", "max_prompts", "samples_per_prompt", "max_new_tokens", "tokens_per_rollout", "epochs",
                     "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise param_error(name, owner, "an int >= 1", value)
        if self.solver not in SOLVERS:
            raise param_error("solver", owner, f"one of {', '.join(SOLVERS)}", self.solver)
        if self.lr <= 0 or self.temperature <= 0:
            bad = "lr" if self.lr <= 0 else "temperature"
            raise param_error(bad, owner, "a float > 0", getattr(self, bad))
        parse_positions(self.positions)
        return self


@dataclass
class BridgeFitResult:
    bridge: Bridge
    n_rollouts: int
    n_positions: int
    r2: list[float] = field(default_factory=list)


def fit_bridge(student: str, teacher: str, data: str, config: BridgeFitConfig | None = None, *,
               progress: bool = True) -> BridgeFitResult:
    """Generate student rollouts on the prompts in ``data`` and fit the Bridge on both models' states."""
    from oprd.data import load_pool
    from oprd.generation import HFGenerator, SamplingConfig
    from oprd.models.chat import build_prompt_ids
    from oprd.models.loading import load_model

    config = (config or BridgeFitConfig()).validate()
    spec = parse_positions(config.positions)
    pool = load_pool(data, prompt_key=config.prompt_key).head(config.max_prompts)
    s_model, s_tok = load_model(student, dtype=config.dtype, trust_remote_code=config.trust_remote_code)
    t_model, t_tok = load_model(teacher, dtype=config.dtype, trust_remote_code=config.trust_remote_code)
    s_model.requires_grad_(False)
    frozen = Teacher(t_model, t_tok, student_tokenizer=s_tok, template=config.template, batch_size=config.batch_size)
    models = BridgeModels(student, teacher, int(s_model.config.hidden_size), frozen.width,
                          int(s_model.config.num_hidden_layers), frozen.depth)
    pairs = layer_pairs(config.layers, models.student_depth, models.teacher_depth, mode=config.layer_map)
    prompt_ids = [build_prompt_ids(s_tok, p, template=config.template) for p in pool.prompts]
    sampling = SamplingConfig(max_new_tokens=config.max_new_tokens, temperature=config.temperature,
                              n=config.samples_per_prompt, seed=config.seed, batch_size=config.batch_size)
    total = len(prompt_ids) * config.samples_per_prompt
    with progress_bar("student rollouts", total, enabled=progress, unit="rollouts") as advance:
        rollouts = HFGenerator(s_model, s_tok).generate(prompt_ids, sampling, progress=advance)
    prompts = [pool.prompts[r.prompt_index] for r in rollouts]
    student_states, teacher_states = collect_pairs(
        s_model, s_tok.pad_token_id or 0, frozen, rollouts, prompts, pairs, spec,
        tokens_per_rollout=config.tokens_per_rollout, batch_size=config.batch_size, seed=config.seed)
    n = student_states[0].shape[0] if student_states else 0
    if n < 2 * config.rank:
        raise OprdInputError(
            f"only {n} paired positions were collected from {len(rollouts)} rollouts, too few for a rank-{config.rank} "
            "bridge; use more prompts (--max-prompts), longer rollouts (--max-new-tokens) or --tokens-per-rollout"
        )
    fits = []
    with progress_bar("fitting layer pairs", len(pairs), enabled=progress, unit="pairs") as advance:
        for s_states, t_states in zip(student_states, teacher_states):
            fits.append(fit_pair(s_states, t_states, rank=config.rank, solver=config.solver, epochs=config.epochs,
                                 lr=config.lr, seed=config.seed))
            advance(1)
    bridge = Bridge(models, pairs, torch.stack([f.teacher_mean for f in fits]),
                    torch.stack([f.teacher_basis for f in fits]), torch.stack([f.student_weight for f in fits]),
                    torch.stack([f.student_bias for f in fits]), positions=str(spec))
    return BridgeFitResult(bridge, len(rollouts), n, [f.r2 for f in fits])
