"""Cost of one GRPO step: oprd's ``GRPOTrainer`` against TRL's ``GRPOTrainer``, same model and batch.

Both frameworks load the same weights from one temporary directory (by default a random Llama-style
model: SmolLM2's tokenizer and 49,152-token vocabulary, 4 layers, hidden 256, tied embeddings), get
the same chat prompts (``--prompts`` per step, ``--group-size`` samples each), the same reward
function (share of digits in the completion), beta 0, the token-mean loss (TRL ``dapo``), clip
0.2 / 0.28, group-scaled advantages, plain AdamW at the same lr, float32 on the CPU, and one
optimizer step per rollout batch. Completions have a fixed length: ``min_new_tokens`` =
``max_new_tokens`` in both (oprd through the model's generation config, TRL through
``generation_kwargs``), and the generated token counts are printed so this can be checked.
Gradient checkpointing is off in both (TRL turns it on by default; ``--trl-gradient-checkpointing``
turns it back on for TRL).

Both call ``generate`` once for the whole batch (oprd gives every sequence its own seeded stream,
``oprd.generation.row_sampler``, so its rollouts do not depend on the batch). What still differs by
design: TRL's fused LM head scores every position on the CPU (prompt tokens too; only completion
tokens on Triton devices), oprd only the completion tokens.

Each framework runs in its own fresh subprocess: one warm-up step, then ``--repeats`` measured
steps (median time). A step is everything from drawing prompts to the optimizer update: generation,
rewards, advantages, forward, backward, clipping, AdamW. Memory: ``peak RSS`` is the process's
resident-set high-water mark over its whole life (``resource.getrusage``, includes imports and model
load); ``step extra`` is how far the resident set rose above its level at the start of a measured
step (the kernel's high-water mark is reset there through ``/proc/self/clear_refs``), i.e. what the
step itself needs (KV cache, activations, logits, gradients) beyond the loaded model and optimizer.

TRL lives only in the benchmark's own environment, never in oprd's dependencies. Create it once,
pinning torch to the version already installed so pip keeps that (CPU) build:

    python -m venv --system-site-packages .venv-trl
    .venv-trl/bin/pip install trl torch==2.13.0

Then:

    nice -n 10 python bench/bench_grpo_step.py                         # 4 prompts x 4 samples x 32 tokens
    python bench/bench_grpo_step.py --model smollm2-135m-instruct      # the built-in model (tens of
                                                                       # minutes on a small CPU)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

FRAMEWORKS = ("oprd", "TRL")
TOKENIZER_MODEL = "smollm2-135m-instruct"
DEFAULT_TRL_PYTHON = Path(__file__).resolve().parent.parent / ".venv-trl" / "bin" / "python"
RESULT_TAG = "RESULT "
MIB = 1024 * 1024


def digit_reward(prompts: list, completions: list, **_: Any) -> list[float]:
    """Share of digit characters in each completion: cheap, and it varies within a group."""
    texts = [c if isinstance(c, str) else c[-1]["content"] for c in completions]  # TRL chat completions
    return [sum(ch.isdigit() for ch in text) / max(len(text), 1) for text in texts]


# ------------------------------------------------------------------------------------------ measuring
def _status_bytes(field: str) -> int:
    """A ``/proc/self/status`` memory field (``VmRSS``, ``VmHWM``) in bytes."""
    with open("/proc/self/status") as handle:
        return int(re.search(rf"{field}:\s+(\d+)", handle.read()).group(1)) * 1024


class StepMeter:
    """Wall time and resident-memory rise of each step bracketed by ``start()`` / ``stop()``."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.extras: list[int] = []
        self._started = 0.0
        self._rss = 0

    def start(self) -> None:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")  # reset VmHWM to the current RSS
        self._rss = _status_bytes("VmRSS")
        self._started = time.perf_counter()

    def stop(self) -> None:
        self.times.append(time.perf_counter() - self._started)
        self.extras.append(_status_bytes("VmHWM") - self._rss)

    def result(self, framework: str, tokens: list[float], warmup: int = 1) -> dict:
        """Median time and largest rise over the measured (non-warm-up) steps, plus the process peak."""
        import torch

        return {"framework": framework, "step_s": statistics.median(self.times[warmup:]),
                "step_extra_mb": max(self.extras[warmup:]) / MIB,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MIB,
                "tokens": statistics.mean(tokens[warmup:]), "threads": torch.get_num_threads()}


# -------------------------------------------------------------------------------------------- workers
def run_oprd(args: argparse.Namespace) -> dict:
    """Warm-up + measured steps of oprd's trainer, driven step by step as ``train()`` does."""
    from oprd.rlvr.config import GRPOConfig
    from oprd.rlvr.trainer import GRPOTrainer

    config = GRPOConfig(model=args.model_dir, data=args.data, out=str(Path(args.data).parent / "oprd-out"),
                        batch_size=args.prompts, group_size=args.group_size, max_new_tokens=args.max_new_tokens,
                        micro_batch_size=_micro_batch(args), lr=args.lr, beta=0.0, seed=args.seed,
                        max_steps=1 + args.repeats, reward_funcs=[f"{Path(__file__).resolve()}:digit_reward"])
    trainer = GRPOTrainer(config, progress=False)
    trainer.model.generation_config.min_new_tokens = args.max_new_tokens
    meter, tokens = StepMeter(), []
    for _ in range(1 + args.repeats):
        trainer.step += 1
        meter.start()
        metrics = trainer.train_step()
        meter.stop()
        tokens.append(metrics["tokens/generated"])
    return meter.result("oprd", tokens)


def run_trl(args: argparse.Namespace) -> dict:
    """Warm-up + measured steps of TRL's trainer; a callback brackets each optimizer step."""
    from datasets import Dataset
    from transformers import AutoTokenizer, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    meter, tokens = StepMeter(), []

    class Bracket(TrainerCallback):
        def on_step_begin(self, *_: Any, **__: Any) -> None:
            meter.start()

        def on_step_end(self, *_: Any, **__: Any) -> None:
            meter.stop()

    micro = _micro_batch(args)
    config = GRPOConfig(
        output_dir=str(Path(args.data).parent / "trl-out"), report_to="none", save_strategy="no",
        logging_strategy="no", disable_tqdm=True, use_cpu=True, bf16=False, fp16=False, seed=args.seed,
        max_steps=1 + args.repeats, per_device_train_batch_size=micro,
        gradient_accumulation_steps=args.prompts * args.group_size // micro, num_generations=args.group_size,
        max_completion_length=args.max_new_tokens, generation_kwargs={"min_new_tokens": args.max_new_tokens},
        temperature=1.0, top_p=1.0, top_k=0, beta=0.0, loss_type="dapo", epsilon=0.2, epsilon_high=0.28,
        scale_rewards="group", learning_rate=args.lr, lr_scheduler_type="constant", warmup_steps=0,
        weight_decay=0.0, max_grad_norm=1.0, optim="adamw_torch",
        gradient_checkpointing=args.trl_gradient_checkpointing,
    )
    trainer = GRPOTrainer(model=args.model_dir, reward_funcs=_counting(digit_reward, tokens), args=config,
                          train_dataset=Dataset.from_list(_read_rows(args.data)),
                          processing_class=AutoTokenizer.from_pretrained(args.model_dir), callbacks=[Bracket()])
    trainer.train()
    return meter.result("TRL", tokens)


def _counting(reward: Callable, tokens: list[float]) -> Callable:
    """``reward`` that also records how many completion tokens TRL generated in each call."""

    def digit_reward(prompts: list, completions: list, completion_ids: list, **columns: Any) -> list[float]:
        tokens.append(float(sum(len(ids) for ids in completion_ids)))
        return reward(prompts, completions, **columns)

    return digit_reward


def _micro_batch(args: argparse.Namespace) -> int:
    return args.micro_batch or args.prompts * args.group_size


def _read_rows(path: str) -> list[dict]:
    with open(path) as handle:
        return [json.loads(line) for line in handle]


# ---------------------------------------------------------------------------------------------- setup
def prepare_model(args: argparse.Namespace, out_dir: Path) -> str:
    """A model directory both frameworks load: ``--model`` resolved by oprd, or a saved random Llama."""
    from oprd.models import resolve_model_path

    if args.model:
        return resolve_model_path(args.model)
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(resolve_model_path(TOKENIZER_MODEL))
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=args.hidden, intermediate_size=args.hidden * 3,
                         num_hidden_layers=args.layers, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=2048, tie_word_embeddings=True, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(args.seed)
    model = LlamaForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return str(out_dir)


def write_prompts(args: argparse.Namespace, path: Path) -> str:
    """One chat prompt per row, enough for a fresh set of ``--prompts`` in every step."""
    from oprd.data.make import make_problems
    from oprd.models import DEFAULT_REASONING_TEMPLATE

    rows = make_problems("gsm_symbolic", args.prompts * (1 + args.repeats), seed=args.seed)
    with open(path, "w") as handle:
        for row in rows:
            content = DEFAULT_REASONING_TEMPLATE.replace("{prompt}", row["prompt"])
            handle.write(json.dumps({"id": row["id"], "prompt": [{"role": "user", "content": content}],
                                     "answer": row["answer"]}) + "\n")
    return str(path)


def check_trl(python: str) -> str:
    """TRL's version under ``python``; exits with one line saying how to create the venv if it is missing."""
    import torch

    pin = torch.__version__.split("+")[0]
    how = ("create it: python -m venv --system-site-packages .venv-trl && "
           f".venv-trl/bin/pip install trl torch=={pin} (or pass --trl-python)")
    if shutil.which(python) is None:
        sys.exit(f"no TRL environment at {python}; {how}")
    probe = subprocess.run([python, "-c", "import trl; print(trl.__version__)"], capture_output=True, text=True)
    if probe.returncode != 0:
        sys.exit(f"TRL does not import under {python}; {how}")
    return probe.stdout.strip()


def run_worker(python: str, framework: str, model_dir: str, data: str) -> dict:
    """One framework in a fresh process; its result is the tagged line of its stdout."""
    command = [python, __file__, "--worker", framework, "--model-dir", model_dir, "--data", data, *sys.argv[1:]]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_TAG)]
    if done.returncode != 0 or not lines:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        sys.exit(f"the {framework} run failed (exit {done.returncode}):\n{tail}")
    return json.loads(lines[-1][len(RESULT_TAG):])


# --------------------------------------------------------------------------------------------- report
def report(args: argparse.Namespace, results: dict[str, dict], trl_version: str) -> None:
    """The table of both frameworks, then the two ratios against their goal (<= 1.0)."""
    import oprd

    ours, theirs = results["oprd"], results["TRL"]
    model = args.model or f"random Llama ({args.layers} layers, hidden {args.hidden}, vocab 49152)"
    print(f"one GRPO step, CPU float32: {model}; {args.prompts} prompts x group {args.group_size} x "
          f"{args.max_new_tokens} new tokens, micro-batch {_micro_batch(args)}, beta 0, "
          f"median of {args.repeats} step(s) after 1 warm-up, torch threads {ours['threads']}")
    print(f"{'framework':14s} {'step s':>8s} {'tokens':>8s} {'peak RSS MB':>12s} {'step extra MB':>14s}")
    for name, version in (("oprd", oprd.__version__), ("TRL", trl_version)):
        r = results[name]
        label = f"{name} {version}"
        print(f"{label:14s} {r['step_s']:8.2f} {r['tokens']:8.0f} {r['peak_rss_mb']:12.0f} {r['step_extra_mb']:14.0f}")
    if ours["tokens"] != theirs["tokens"]:
        print(f"note: the two generated different numbers of tokens ({ours['tokens']:.0f} vs {theirs['tokens']:.0f})")
    for label, key in (("time", "step_s"), ("peak memory", "peak_rss_mb"), ("step extra memory", "step_extra_mb")):
        ratio = ours[key] / max(theirs[key], 1e-9)
        verdict = "meets" if ratio <= 1.0 else "misses"
        print(f"ratio {label} oprd/TRL = {ratio:.2f}x  ({verdict} goal <= 1.00)")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="a built-in name or model directory instead of the random Llama")
    parser.add_argument("--layers", type=int, default=4, help="random Llama: decoder layers")
    parser.add_argument("--hidden", type=int, default=256, help="random Llama: hidden size")
    parser.add_argument("--prompts", type=int, default=4, help="prompts per step")
    parser.add_argument("--group-size", type=int, default=4, help="samples per prompt (G)")
    parser.add_argument("--max-new-tokens", type=int, default=32, help="completion length (fixed)")
    parser.add_argument("--micro-batch", type=int, default=0,
                        help="sequences per forward/backward (0 = the whole batch, prompts x group size)")
    parser.add_argument("--lr", type=float, default=1e-6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=1, help="measured steps after the warm-up (median)")
    parser.add_argument("--trl-gradient-checkpointing", action="store_true",
                        help="give TRL its default gradient checkpointing (oprd has none)")
    parser.add_argument("--trl-python", default=str(DEFAULT_TRL_PYTHON), help="python of the venv that has TRL")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object instead")
    parser.add_argument("--worker", choices=FRAMEWORKS, help=argparse.SUPPRESS)
    parser.add_argument("--model-dir", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if (args.prompts * args.group_size) % _micro_batch(args):
        parser.error(f"--micro-batch must divide prompts x group size ({args.prompts * args.group_size})")
    return args


def main() -> None:
    args = parse_args()
    if args.worker:
        result = run_oprd(args) if args.worker == "oprd" else run_trl(args)
        print(RESULT_TAG + json.dumps(result))
        return
    trl_version = check_trl(args.trl_python)
    with tempfile.TemporaryDirectory(prefix="bench-grpo-") as tmp:
        model_dir = prepare_model(args, Path(tmp) / "model")
        data = write_prompts(args, Path(tmp) / "prompts.jsonl")
        results = {}
        for framework, python in (("oprd", sys.executable), ("TRL", args.trl_python)):
            print(f"  running {framework} ...", file=sys.stderr)
            results[framework] = run_worker(python, framework, model_dir, data)
    if args.json:
        print(json.dumps({"args": {k: v for k, v in vars(args).items() if k not in ("worker", "model_dir", "data")},
                          "trl_version": trl_version, "results": results}))
        return
    report(args, results, trl_version)


if __name__ == "__main__":
    main()
