"""The policy as a run configures it: weights from the base model or a checkpoint, LoRA adapters
(``peft``), gradient checkpointing, precision checks, and the learning-rate schedule."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Callable, Iterator

from oprd.errors import OprdInputError

ADAPTER_CONFIG = "adapter_config.json"


def load_policy(config, checkpoint: Path | None):
    """``(model, tokenizer)``: the base model (or a full checkpoint's weights), with LoRA adapters
    attached (fresh, or a LoRA checkpoint's) when ``lora_r`` is set, and gradient checkpointing on
    when asked. A sharded checkpoint's weights arrive later, from ``load_training_state``."""
    import torch

    from oprd.models.loading import load_model
    from oprd.rlvr.runtime.checkpoint import has_weights

    if config.dtype == "float16" and not torch.cuda.is_available():
        raise OprdInputError("--dtype float16 needs a GPU (CPU kernels are slow or missing in float16); "
                             "use --dtype bfloat16 or float32 on a CPU")
    lora_checkpoint = checkpoint is not None and (checkpoint / ADAPTER_CONFIG).is_file()
    if lora_checkpoint and not config.lora_r:
        raise OprdInputError(f"{checkpoint} holds LoRA adapters but --lora-r is 0; resume with the run's LoRA "
                             "settings (see its config.yaml)")
    full = checkpoint is not None and has_weights(checkpoint) and not lora_checkpoint
    model, tokenizer = load_model(str(checkpoint) if full else config.model, dtype=config.dtype,
                                  trust_remote_code=config.trust_remote_code)
    if config.lora_r:
        model = _with_adapters(model, config, checkpoint if lora_checkpoint else None)
    if config.gradient_checkpointing:
        if not getattr(model, "supports_gradient_checkpointing", False):
            raise OprdInputError(f"{type(model).__name__} cannot recompute activations (no gradient checkpointing "
                                 "support in transformers); drop --gradient-checkpointing")
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if config.lora_r:
            model.enable_input_require_grads()  # frozen embeddings: checkpointed blocks still need an input grad
    return model, tokenizer


def _with_adapters(model, config, checkpoint: Path | None):
    """``model`` with trainable LoRA adapters (every linear layer of the blocks unless named)."""
    from peft import LoraConfig, PeftModel, get_peft_model

    if checkpoint is not None:
        return PeftModel.from_pretrained(model, str(checkpoint), is_trainable=True)
    targets = config.lora_target_modules or "all-linear"
    if config.lora_target_modules:
        names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
        missing = sorted(set(config.lora_target_modules) - names)
        if missing:
            linear = sorted({name.rsplit(".", 1)[-1] for name, module in model.named_modules()
                             if type(module).__name__ == "Linear"})
            raise OprdInputError(f"--lora-target-modules {', '.join(missing)} name no module of {type(model).__name__}; "
                                 f"its linear layers are {', '.join(linear)}")
    lora = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                      target_modules=targets, task_type="CAUSAL_LM")
    return get_peft_model(model, lora)


def is_lora(model) -> bool:
    return hasattr(model, "disable_adapter") and hasattr(model, "peft_config")


def merged_weights(model) -> Iterator[tuple[str, Any]]:
    """``(name, tensor)`` of the model as plain transformers (and vLLM) load it, one at a time: the
    parameters (each gathered whole when sharded, a collective), or for a LoRA policy each base weight
    plus its adapters' delta under the base model's name (inside ``unsharded`` when sharded)."""
    from oprd.rlvr.runtime.distributed import full_parameters

    if not is_lora(model):
        yield from full_parameters(model)
        return
    base = model.get_base_model()
    for name, param in base.named_parameters():
        if "lora_" in name:
            continue
        weight = param.detach()
        if name.endswith(".base_layer.weight"):
            layer = base.get_submodule(name[: -len(".base_layer.weight")])
            weight = weight + sum(layer.get_delta_weight(adapter) for adapter in layer.active_adapters)
        yield name.replace(".base_layer", ""), weight


@contextlib.contextmanager
def reference_weights(model) -> Iterator[None]:
    """Inside, a LoRA policy computes with its base weights (the KL reference, no second copy)."""
    with model.disable_adapter():
        yield


def lr_schedule(config) -> Callable[[int], float]:
    """step (1-based) -> the learning rate of that training step as a share of ``lr``: what
    ``transformers.get_scheduler`` gives after ``step`` scheduler steps (so warmup reaches the full rate
    at step ``warmup_steps``, as before schedules existed)."""
    import torch
    from transformers import get_scheduler

    names = {"constant": "constant_with_warmup", "linear": "linear", "cosine": "cosine",
             "cosine_with_min_lr": "cosine_with_min_lr"}
    extra = {"min_lr_rate": config.min_lr_rate} if config.lr_scheduler == "cosine_with_min_lr" else None
    probe = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    schedule = get_scheduler(names[config.lr_scheduler], probe, num_warmup_steps=config.warmup_steps,
                             num_training_steps=config.max_steps, scheduler_specific_kwargs=extra)
    return schedule.lr_lambdas[0]
