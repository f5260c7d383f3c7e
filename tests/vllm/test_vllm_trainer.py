"""oprd-train end to end with vLLM rollouts: the engine samples every step and ends on the trained weights."""

import json

import pytest

pytest.importorskip("vllm")

from oprd.models import DEFAULT_MODEL, build_prompt_ids, load_model
from oprd.rlvr.config import GRPOConfig
from oprd.rlvr.runtime.vllm_sync import SyncedVLLMGenerator
from oprd.rlvr.trainer import GRPOTrainer
from tests.helpers import reward_spec
from tests.helpers.vllm import ENGINE, engine_logprobs, hf_logprobs

pytestmark = pytest.mark.integration
DIGITS = reward_spec("vllm", "digit_share")


def test_training_with_vllm_rollouts_keeps_the_engine_on_the_policy(tmp_path):
    data = tmp_path / "sums.jsonl"
    data.write_text("".join(json.dumps({"id": f"s{i}", "prompt": f"Calculate {i} + {i + 3}.", "answer": str(2 * i + 3)})
                            + "\n" for i in range(4)))
    config = GRPOConfig(model=DEFAULT_MODEL, data=str(data), out=str(tmp_path / "run"), generation_backend="vllm",
                        vllm_options=ENGINE, reward_funcs=[DIGITS], max_steps=2, batch_size=2, group_size=4,
                        max_new_tokens=16, lr=1e-4, save_steps=2, eval_steps=0)
    trainer = GRPOTrainer(config, progress=False)
    try:
        assert isinstance(trainer.generator, SyncedVLLMGenerator)
        trainer.train()
        steps = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
        assert [s["step"] for s in steps if "tokens/generated" in s] == [1, 2]
        assert all(s["tokens/generated"] > 0 and s["grad_norm"] > 0 for s in steps if "tokens/generated" in s)

        initial, tokenizer = load_model(DEFAULT_MODEL)
        prompt = build_prompt_ids(tokenizer, "Calculate 2 + 5.", template=config.template)
        completion = tokenizer.encode("2 + 5 = 7, so the answer is \\boxed{7}.", add_special_tokens=False)
        trained = hf_logprobs(trainer.model.eval(), prompt, completion)
        engine = engine_logprobs(trainer.generator, prompt, completion)
        assert (trained - hf_logprobs(initial, prompt, completion)).abs().mean().item() > 0.01  # the steps moved it
        assert (engine - trained).abs().max().item() < 1e-3, (engine - trained).abs()
    finally:
        trainer.generator.llm.llm_engine.engine_core.shutdown()
