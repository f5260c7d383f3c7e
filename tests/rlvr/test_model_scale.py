"""Training at the size users train: LoRA adapters, gradient checkpointing, bfloat16, chunked
log-probs and learning-rate schedules (tiny random model, one process)."""

import json

import pytest
import torch
from safetensors.torch import load_file

from oprd.errors import OprdInputError
from oprd.models.tiny import build_tiny_model
from oprd.rlvr.config import GRPOConfig
from oprd.rlvr.policy import PolicyModule, TokenBatch, chunked_logprobs, policy_forward
from oprd.rlvr.runtime.model_setup import lr_schedule
from oprd.rlvr.trainer import GRPOTrainer
from tests.helpers import reward_spec
from tests.helpers.trainer import write_pool

VARIED = reward_spec("trainer", "varied_reward")


def _config(tmp_path, out="run", **overrides) -> GRPOConfig:
    base = dict(model="tiny-random-llama", data=str(write_pool(tmp_path / "pool.jsonl", n=8)), out=str(tmp_path / out),
                max_steps=3, batch_size=2, group_size=4, max_new_tokens=6, lr=1e-2, save_steps=1, save_total_limit=5,
                reward_funcs=[VARIED])
    return GRPOConfig(**{**base, **overrides})


def test_chunked_logprobs_equal_the_full_log_softmax_with_a_partial_last_chunk():
    torch.manual_seed(0)
    head = torch.nn.Linear(8, 50, bias=False)
    hidden = torch.randn(3, 10, 8, requires_grad=True)
    targets = torch.randint(0, 50, (3, 10))
    full = torch.log_softmax(head(hidden) / 0.7, dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    chunked = chunked_logprobs(head, hidden, targets, 0.7, chunk_size=12)  # 3 rows: 4, 4 and 2 positions
    torch.testing.assert_close(chunked, full, rtol=0, atol=1e-5)
    (grad_full,) = torch.autograd.grad(full.sum(), hidden)
    (grad_chunked,) = torch.autograd.grad(chunked_logprobs(head, hidden, targets, 0.7, chunk_size=12).sum(), hidden)
    assert grad_full.abs().max() > 1e-3
    torch.testing.assert_close(grad_chunked, grad_full, rtol=0, atol=1e-5)


def _tokens(model, tokenizer) -> TokenBatch:
    from oprd.generation.base import Rollout

    rollouts = [Rollout(prompt_ids=list(range(5, 12)), response_ids=list(range(20, 20 + n)), text="",
                        prompt_index=0, sample_index=k, finish_reason="length") for k, n in enumerate((6, 9))]
    return TokenBatch.from_rollouts(rollouts, tokenizer.pad_token_id)


def test_gradient_checkpointing_gives_the_same_gradients():
    grads = []
    for checkpointing in (False, True):
        model, tokenizer = build_tiny_model(seed=3)
        model.train()
        if checkpointing:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        logp = policy_forward(PolicyModule(model, chunk_size=4), _tokens(model, tokenizer)).logp
        logp.sum().backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters()})
    assert max(float(g.abs().max()) for g in grads[0].values()) > 1e-3
    for name in grads[0]:
        torch.testing.assert_close(grads[1][name], grads[0][name], rtol=1e-5, atol=1e-6, msg=name)


@pytest.mark.parametrize("name", ["constant", "linear", "cosine", "cosine_with_min_lr"])
def test_the_lr_of_each_step_is_what_transformers_get_scheduler_gives(name):
    from transformers import get_scheduler

    config = GRPOConfig(data="x", max_steps=10, warmup_steps=3, lr=0.5, lr_scheduler=name, min_lr_rate=0.2)
    names = {"constant": "constant_with_warmup", "cosine_with_min_lr": "cosine_with_min_lr"}
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.5)
    reference = get_scheduler(names.get(name, name), optimizer, num_warmup_steps=3, num_training_steps=10,
                              scheduler_specific_kwargs={"min_lr_rate": 0.2} if name == "cosine_with_min_lr" else None)
    schedule = lr_schedule(config)
    values = []
    for step in range(1, 11):
        optimizer.step()
        reference.step()
        assert 0.5 * schedule(step) == pytest.approx(reference.get_last_lr()[0], abs=1e-12)
        values.append(schedule(step))
    assert values[2] == pytest.approx(1.0) and (name == "constant") == (values[-1] == pytest.approx(1.0))


def _adapter_run(tmp_path, out: str, steps: int, **overrides) -> GRPOTrainer:
    trainer = GRPOTrainer(_config(tmp_path, out=out, max_steps=steps, lora_r=4, lora_alpha=8.0, **overrides),
                          progress=False)
    trainer.train()
    return trainer


def test_lora_trains_only_adapters_and_the_merged_export_is_base_plus_adapters(tmp_path):
    base = build_tiny_model()[0].state_dict()
    trainer = _adapter_run(tmp_path, "lora", 3, merge_on_save=True, beta=0.05)
    lines = [json.loads(line) for line in (tmp_path / "lora" / "metrics.jsonl").read_text().splitlines()]
    assert all(line["grad_norm"] > 0 for line in lines) and lines[-1]["loss/kl"] > 0  # reference = adapters off
    adapted = {n: p for n, p in trainer.model.named_parameters()}
    assert {n for n, p in adapted.items() if p.requires_grad} == {n for n in adapted if "lora_" in n}
    assert any(float(p.detach().abs().max()) > 1e-4 for n, p in adapted.items() if "lora_B" in n)  # B starts at zero
    for name, tensor in trainer.model.get_base_model().state_dict().items():
        plain = name.replace("base_layer.", "")
        if "lora_" not in name:
            assert torch.equal(tensor, base[plain]), name  # frozen weights never move
    checkpoint = tmp_path / "lora" / "checkpoint-3"
    saved = load_file(str(checkpoint / "adapter_model.safetensors"))
    assert saved and all("lora_" in name for name in saved)
    from transformers import AutoModelForCausalLM

    merged = AutoModelForCausalLM.from_pretrained(checkpoint / "merged")
    tokens = _tokens(merged, trainer.tokenizer)
    with torch.no_grad():
        expected = policy_forward(trainer.model.eval(), tokens).logp
        got = policy_forward(merged.eval(), tokens).logp
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)


def test_lora_resume_is_exact(tmp_path):
    clean = _adapter_run(tmp_path, "clean", 3)
    _adapter_run(tmp_path, "resumed", 2)
    resumed = GRPOTrainer(_config(tmp_path, out="resumed", max_steps=3, lora_r=4, lora_alpha=8.0, resume="auto"),
                          progress=False)
    assert resumed.step == 2
    resumed.train()
    a = load_file(str(tmp_path / "clean" / "checkpoint-3" / "adapter_model.safetensors"))
    b = load_file(str(tmp_path / "resumed" / "checkpoint-3" / "adapter_model.safetensors"))
    assert a.keys() == b.keys() and any(float(t.abs().max()) > 1e-4 for n, t in a.items() if "lora_B" in n)
    for name in a:
        assert torch.equal(a[name], b[name]), name
    assert clean.step == resumed.step == 3


@pytest.mark.parametrize("overrides", [{"dtype": "bfloat16"}, {"autocast": True}, {"gradient_checkpointing": True}])
def test_precision_and_memory_options_train_with_finite_losses(tmp_path, overrides):
    initial = build_tiny_model()[0].state_dict()
    trainer = GRPOTrainer(_config(tmp_path, max_steps=2, **overrides), progress=False)
    metrics = trainer.train()
    assert all(torch.isfinite(torch.tensor(v)) for k, v in metrics.items() if k.startswith("loss/") or k == "grad_norm")
    assert metrics["grad_norm"] > 0
    moved = any(not torch.equal(initial[k].to(v.dtype), v) for k, v in trainer.model.state_dict().items())
    assert moved


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"lora_r": 4, "lora_target_modules": ["qkv"]}, r"name no module .* its linear layers are .*q_proj"),
        ({"dtype": "float16"}, "use --dtype bfloat16 or float32 on a CPU"),
        ({"lora_scheduler": None}, None),
    ],
)
def test_bad_scale_options_are_one_line(tmp_path, overrides, message):
    if message is None:  # unknown keys are refused by the dataclass itself
        with pytest.raises(TypeError):
            GRPOConfig(**overrides)
        return
    with pytest.raises(OprdInputError, match=message):
        GRPOTrainer(_config(tmp_path, **overrides), progress=False)


def test_gradient_checkpointing_on_a_model_without_it_is_one_line(tmp_path, monkeypatch):
    from transformers import LlamaForCausalLM

    monkeypatch.setattr(LlamaForCausalLM, "supports_gradient_checkpointing", False)
    with pytest.raises(OprdInputError, match="LlamaForCausalLM cannot recompute activations.*drop --gradient-checkpointing"):
        GRPOTrainer(_config(tmp_path, gradient_checkpointing=True), progress=False)
