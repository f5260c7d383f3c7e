"""vLLM rollouts for training, with the policy's weights pushed into the engine after every step."""

from __future__ import annotations

from oprd.generation.vllm_backend import VLLMGenerator
from oprd.models.saving import save_model_dir
from oprd.rlvr.runtime.model_setup import merged_weights


class SyncedVLLMGenerator(VLLMGenerator):
    """A ``VLLMGenerator`` built from the policy's current weights that can reload updated ones.

    The engine starts from a snapshot of the policy (saved to ``<out>/vllm-init`` each time, since
    after a resume the policy holds the checkpoint's weights) and ``sync_weights`` streams the
    current parameters into the running engine, so no file is written per step. ``engine_kwargs``
    go to ``vllm.LLM`` as they are. Under torchrun every rank owns a colocated engine
    (``vllm-init-rank<r>``) that generates that rank's prompts; a sharded (FSDP2) policy is gathered
    one parameter at a time, by every rank together. A LoRA policy reaches the engine merged (base +
    adapters, under the base model's names), so the engine needs no LoRA support; ``wrapped`` (the
    trainer's policy module) is gathered whole while a sharded LoRA policy is merged.
    """

    def __init__(self, model, config, *, rank: int = 0, wrapped=None, **engine_kwargs) -> None:
        from pathlib import Path

        from oprd.models.loading import load_tokenizer
        from oprd.rlvr.runtime.distributed import is_sharded
        from oprd.rlvr.runtime.model_setup import is_lora

        self.policy, self.wrapped = model, wrapped
        self.gathers = wrapped is not None and is_sharded(wrapped) and is_lora(model)
        snapshot = Path(config.out) / ("vllm-init" if rank == 0 else f"vllm-init-rank{rank}")
        with self._gathered():
            save_model_dir(model, snapshot, merged_weights(model))  # every rank writes its own snapshot
        load_tokenizer(config.model).save_pretrained(snapshot)
        engine_kwargs.setdefault("worker_extension_cls", f"{WeightSyncWorker.__module__}.{WeightSyncWorker.__name__}")
        super().__init__(str(snapshot), seed=config.seed, dtype=config.dtype,
                         trust_remote_code=config.trust_remote_code, **engine_kwargs)

    def _gathered(self):
        """Whole weights on every rank while a sharded LoRA policy is merged (a no-op otherwise)."""
        import contextlib

        from oprd.rlvr.runtime.distributed import unsharded

        return unsharded(self.wrapped) if self.gathers else contextlib.nullcontext()

    def sync_weights(self) -> None:
        """Copy the policy's current parameters into the running engine and drop its prefix cache.

        The engine runs in separate processes and its RPC carries no tensors, so the parameters go
        as one safetensors blob in the engine's dtype. ``named_parameters`` lists a tied
        embedding once, under the name vLLM's loader expects.
        """
        from safetensors.torch import save

        dtype = self.llm.model_config.dtype
        with self._gathered():
            tensors = {name: param.to("cpu", dtype, copy=self.gathers).contiguous()  # copies outlive a gather
                       for name, param in merged_weights(self.policy)}
        self.llm.collective_rpc("oprd_load_weights", args=(save(tensors),))
        # Cached KV blocks were computed with the old weights.
        self.llm.reset_prefix_cache()


class WeightSyncWorker:
    """Mixed into each vLLM worker (``worker_extension_cls``) so ``collective_rpc`` can call it."""

    def oprd_load_weights(self, blob: bytes) -> None:
        """Load a safetensors blob with vLLM's in-place reload, which also redoes per-layer weight
        processing (the CPU backend keeps packed copies of linear and LM-head weights).

        A tied LM head receives no weight of its own, so the reload leaves its packed copy at the
        old embedding; it is processed again here from the (shared, updated) embedding.
        """
        from safetensors.torch import load

        self.reload_weights(weights_iterator=iter(load(blob).items()))
        head = getattr(self.model_runner.get_model(), "lm_head", None)
        if getattr(self.model_config.hf_text_config, "tie_word_embeddings", False) and hasattr(head, "quant_method"):
            head.quant_method.process_weights_after_loading(head)
