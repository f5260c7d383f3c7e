"""vLLM rollouts for training, with the policy's weights pushed into the engine after every step."""

from __future__ import annotations

from oprd.generation.vllm_backend import VLLMGenerator


class SyncedVLLMGenerator(VLLMGenerator):
    """A ``VLLMGenerator`` built from the policy's initial weights that can reload updated ones.

    The engine starts from a snapshot of the policy (saved once to ``<out>/vllm-init``) and
    ``sync_weights`` streams the current parameters into the engine's model with its own
    ``load_weights``, so no file is written per step.
    """

    def __init__(self, model, config) -> None:
        from pathlib import Path

        snapshot = Path(config.out) / "vllm-init"
        if not (snapshot / "config.json").is_file():
            model.save_pretrained(snapshot)
        from oprd.models.loading import load_tokenizer

        load_tokenizer(config.model).save_pretrained(snapshot)
        super().__init__(str(snapshot), seed=config.seed, dtype=config.dtype)
        self.policy = model

    def sync_weights(self) -> None:
        """Copy the policy's current parameters into the running engine."""
        params = [(name, tensor.detach()) for name, tensor in self.policy.state_dict().items()]
        engine = self.llm.llm_engine
        if hasattr(self.llm, "collective_rpc"):
            self.llm.collective_rpc(_load_into_worker, args=(params,))
            engine.reset_prefix_cache() if hasattr(engine, "reset_prefix_cache") else None
            return
        runner = engine.model_executor.driver_worker.model_runner
        runner.model.load_weights(params)


def _load_into_worker(worker, params) -> None:
    """Runs inside each vLLM worker: load named tensors into its model."""
    worker.model_runner.model.load_weights(params)
