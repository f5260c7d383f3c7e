"""Cost of one GRPO step: oprd's ``GRPOTrainer`` against TRL's ``GRPOTrainer``, row by row, with the
same features switched on in both.

Model: a random Qwen2-shaped model (transformers ``Qwen2Config``) with the real Qwen vocabulary,
151,936 tokens, tied embeddings as in Qwen2.5-0.5B/1.5B, ``--hidden`` wide and ``--layers`` deep
(head dim 64, intermediate 16/3 x hidden); the output names every size. The tokenizer is Qwen's
(the built-in ``qwen2.5-coder-0.5b-instruct`` once prepared), else SmolLM2's (the model's vocabulary
stays 151,936 either way, and the output says which). Batch: ``--prompts`` chat prompts x
``--group-size`` samples x ``--max-new-tokens`` new tokens (defaults 4 x 8 x 512), micro-batches of
``--micro-batch`` sequences in both (TRL's ``per_device_train_batch_size`` with gradient
accumulation over the batch; it still generates the whole batch at once, as oprd does).

Rows (``--rows``), the same switch on both sides:

- ``fp32``: float32 weights, every parameter trains.
- ``lora``: LoRA r ``--lora-r``, alpha ``--lora-alpha``, dropout 0 on q/k/v/o/gate/up/down
  (oprd ``lora_r``, ``lora_alpha``, ``lora_target_modules``; TRL ``peft_config=LoraConfig(...)``).
- ``gc``: gradient checkpointing, non-reentrant (oprd ``gradient_checkpointing``; TRL
  ``gradient_checkpointing=True``).
- ``bf16``: bfloat16 weights and compute, no autocast on top (oprd ``dtype: bfloat16``; TRL
  ``model_init_kwargs={"dtype": "bfloat16"}`` with ``bf16=False``). On CPUs without bf16 matmul
  units this row is several times slower than fp32 in both.

Common to all rows: the same reward function (share of digits in the completion), beta 0, the
token-mean loss (TRL ``dapo``), clip 0.2 / 0.28, group-scaled advantages, plain AdamW at the same
lr, one optimizer step per rollout batch, temperature 1. Completions have a fixed length
(``min_new_tokens`` = ``max_new_tokens`` in both) and the generated token counts are printed so
this can be checked. What differs by design: TRL's fused LM head scores every position on the CPU
(prompt tokens too; only completion tokens on Triton devices) and also computes the entropy; oprd
scores only completion tokens, ``logprob_chunk_size`` (512) response positions of a micro-batch at a
time.

Measurement: each (row, framework) runs in its own fresh subprocess: one warm-up step, then
``--repeats`` measured steps (median time). A step is everything from drawing prompts to the
optimizer update; ``rollout s`` is the part spent generating and rewarding (oprd
``_collect_batch``, TRL ``_generate_and_score_completions``) and ``update s`` the rest (forward,
backward, clipping, AdamW). ``step MB`` (peak step memory) is how far the resident set rose above
its level at the start of a measured step: the kernel's high-water mark is reset there through
``/proc/self/clear_refs`` and read as ``VmHWM`` at the end, with glibc serving every block >= 64 KiB
by mmap (``MALLOC_MMAP_THRESHOLD_``) so freed tensors leave the resident set at once, as in
``bench_distill_update.py``. ``peak RSS MB`` is the process's high-water mark over its whole life.
Goals per row: time <= 1.0x TRL, peak step memory <= 0.8x TRL.

Last, the log-prob computation alone (forward + backward of the LM head and the chosen tokens'
log-probs, one pass in a fresh subprocess each, same memory method) at ``--logprob-positions``
(2048) response positions: full (float32 ``log_softmax`` over the vocabulary, then gather) against
``oprd.rlvr.policy.chunked_logprobs`` with its default chunk of 512.

TRL: ``pip install -e ".[test]"`` brings it (``trl>=1.16``). Where it does not import, create an
environment of its own, pinning torch to the version already installed so pip keeps that build:

    python -m venv --system-site-packages .venv-trl
    .venv-trl/bin/pip install trl torch==2.13.0

and the benchmark finds it (or pass ``--trl-python``). Then:

    OMP_NUM_THREADS=1 python bench/bench_grpo_step.py          # 4 x 8 x 512 tokens, hidden 512, 4 layers

On a 2-core CPU that takes hours. At the full 512 new tokens with a narrow model (the vocabulary,
not the depth, is what the log-prob work scales with), each (row, framework) process takes 10-20 min
there, and two rows can run side by side on the two cores:

    OMP_NUM_THREADS=1 nice -n 10 python bench/bench_grpo_step.py --hidden 64 --layers 1 \\
        --max-new-tokens 512 --repeats 1 --no-logprobs --rows fp32,lora
    OMP_NUM_THREADS=1 nice -n 10 python bench/bench_grpo_step.py --hidden 64 --layers 1 \\
        --max-new-tokens 512 --repeats 1 --no-logprobs --rows gc,bf16
    OMP_NUM_THREADS=1 python bench/bench_grpo_step.py --rows "" --logprob-hidden 64   # log-probs alone

Each finished (framework, row) is also printed to stderr as it ends, so a stopped run keeps what it
measured. With only a few new tokens (``--max-new-tokens 4``) TRL's update is dominated by scoring
the prompt (131 tokens here), which oprd skips, so such runs exaggerate oprd's advantage; use 512.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

VOCAB = 151_936
ROWS = ("fp32", "lora", "gc", "bf16")
ROW_LABELS = {"fp32": "plain fp32", "lora": "LoRA", "gc": "grad ckpt", "bf16": "bf16"}
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
QWEN_TOKENIZER = "qwen2.5-coder-0.5b-instruct"
FALLBACK_TOKENIZER = "smollm2-135m-instruct"
DEFAULT_TRL_VENV = Path(__file__).resolve().parent.parent / ".venv-trl" / "bin" / "python"
RESULT_TAG = "RESULT "
MIB = 1024 * 1024
TIME_GOAL, MEMORY_GOAL = 1.0, 0.8


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
    """Wall time, rollout time and resident-memory rise of each step bracketed by ``start()`` / ``stop()``."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.rollouts: list[float] = []
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

    def timing(self, call: Callable) -> Callable:
        """``call`` that adds its wall time to the current step's rollout time."""

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return call(*args, **kwargs)
            finally:
                self.rollouts.append(time.perf_counter() - started)

        return timed

    def result(self, tokens: list[float], warmup: int = 1, **extra: Any) -> dict:
        """Medians and the largest rise over the measured (non-warm-up) steps, plus the process peak."""
        import torch

        steps, rollouts = self.times[warmup:], self.rollouts[warmup:]
        return {"step_s": statistics.median(steps), "rollout_s": statistics.median(rollouts),
                "update_s": statistics.median(s - r for s, r in zip(steps, rollouts)),
                "step_extra_mb": max(self.extras[warmup:]) / MIB,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MIB,
                "tokens": statistics.mean(tokens[warmup:]), "threads": torch.get_num_threads(), **extra}


def _trainable(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# -------------------------------------------------------------------------------------------- workers
def oprd_features(args: argparse.Namespace) -> dict:
    """The GRPOConfig fields of ``args.row``."""
    return {"fp32": {},
            "lora": {"lora_r": args.lora_r, "lora_alpha": args.lora_alpha, "lora_target_modules": LORA_TARGETS},
            "gc": {"gradient_checkpointing": True},
            "bf16": {"dtype": "bfloat16"}}[args.row]


def trl_features(args: argparse.Namespace) -> tuple[dict, dict]:
    """(TRL GRPOConfig fields, GRPOTrainer keywords) of ``args.row``."""
    if args.row == "lora":
        from peft import LoraConfig

        return {}, {"peft_config": LoraConfig(r=args.lora_r, lora_alpha=args.lora_alpha, lora_dropout=0.0,
                                              target_modules=LORA_TARGETS, task_type="CAUSAL_LM")}
    if args.row == "gc":
        return {"gradient_checkpointing": True, "gradient_checkpointing_kwargs": {"use_reentrant": False}}, {}
    if args.row == "bf16":
        return {"model_init_kwargs": {"dtype": "bfloat16"}}, {}
    return {}, {}


def run_oprd(args: argparse.Namespace) -> dict:
    """Warm-up + measured steps of oprd's trainer, driven step by step as ``train()`` does."""
    from oprd.rlvr.config import GRPOConfig
    from oprd.rlvr.trainer import GRPOTrainer

    config = GRPOConfig(model=args.model_dir, data=args.data, out=str(Path(args.data).parent / f"oprd-{args.row}"),
                        batch_size=args.prompts, group_size=args.group_size, max_new_tokens=args.max_new_tokens,
                        micro_batch_size=args.micro_batch, lr=args.lr, beta=0.0, seed=args.seed,
                        max_steps=1 + args.repeats, reward_funcs=[f"{Path(__file__).resolve()}:digit_reward"],
                        **oprd_features(args))
    trainer = GRPOTrainer(config, progress=False)
    trainer.model.generation_config.min_new_tokens = args.max_new_tokens
    meter, tokens = StepMeter(), []
    trainer._collect_batch = meter.timing(trainer._collect_batch)
    for _ in range(1 + args.repeats):
        trainer.step += 1
        meter.start()
        metrics = trainer.train_step()
        meter.stop()
        tokens.append(metrics["tokens/generated"])
    return meter.result(tokens, trainable=_trainable(trainer.model), dtype=str(trainer.model.dtype))


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

    fields, keywords = trl_features(args)
    fields = {"gradient_checkpointing": False, **fields}  # TRL's own default is on
    config = GRPOConfig(
        output_dir=str(Path(args.data).parent / f"trl-{args.row}"), report_to="none", save_strategy="no",
        logging_strategy="no", disable_tqdm=True, use_cpu=True, bf16=False, fp16=False, seed=args.seed,
        max_steps=1 + args.repeats, per_device_train_batch_size=args.micro_batch,
        gradient_accumulation_steps=args.prompts * args.group_size // args.micro_batch,
        num_generations=args.group_size, max_completion_length=args.max_new_tokens,
        generation_kwargs={"min_new_tokens": args.max_new_tokens}, temperature=1.0, top_p=1.0, top_k=0, beta=0.0,
        loss_type="dapo", epsilon=0.2, epsilon_high=0.28, scale_rewards="group", learning_rate=args.lr,
        lr_scheduler_type="constant", warmup_steps=0, weight_decay=0.0, max_grad_norm=1.0, optim="adamw_torch",
        **fields,
    )
    trainer = GRPOTrainer(model=args.model_dir, reward_funcs=_counting(digit_reward, tokens), args=config,
                          train_dataset=Dataset.from_list(_read_rows(args.data)),
                          processing_class=AutoTokenizer.from_pretrained(args.model_dir), callbacks=[Bracket()],
                          **keywords)
    trainer._generate_and_score_completions = meter.timing(trainer._generate_and_score_completions)
    trainer.train()
    return meter.result(tokens, trainable=_trainable(trainer.model), dtype=str(trainer.model.dtype))


def run_logprobs(args: argparse.Namespace) -> dict:
    """One forward + backward of the LM head and the chosen tokens' log-probs: full or chunked."""
    import torch

    from oprd.rlvr.policy import chunked_logprobs

    torch.manual_seed(args.seed)
    head = torch.nn.Linear(args.logprob_hidden, VOCAB, bias=False)
    hidden = torch.randn(1, args.logprob_positions, args.logprob_hidden, requires_grad=True)
    targets = torch.randint(0, VOCAB, (1, args.logprob_positions))
    meter = StepMeter()
    meter.start()
    if args.row == "full":
        logp = torch.log_softmax(head(hidden).float(), dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    else:
        logp = chunked_logprobs(head, hidden, targets, 1.0, args.logprob_chunk)
    logp.sum().backward()
    meter.stop()
    return {"step_s": meter.times[0], "step_extra_mb": meter.extras[0] / MIB, "sum": float(logp.sum())}


def _counting(reward: Callable, tokens: list[float]) -> Callable:
    """``reward`` that also records how many completion tokens TRL generated in each call."""

    def digit_reward(prompts: list, completions: list, completion_ids: list, **columns: Any) -> list[float]:
        tokens.append(float(sum(len(ids) for ids in completion_ids)))
        return reward(prompts, completions, **columns)

    return digit_reward


def _read_rows(path: str) -> list[dict]:
    with open(path) as handle:
        return [json.loads(line) for line in handle]


# ---------------------------------------------------------------------------------------------- setup
def model_shape(args: argparse.Namespace) -> dict:
    """The Qwen2Config sizes of the random model."""
    heads = max(2, args.hidden // 64)
    return {"hidden_size": args.hidden, "num_hidden_layers": args.layers, "num_attention_heads": heads,
            "num_key_value_heads": 2 if heads % 2 == 0 else 1, "intermediate_size": args.hidden * 16 // 3}


def prepare_model(args: argparse.Namespace, out_dir: Path) -> tuple[str, str, int]:
    """(model directory both frameworks load, tokenizer name, parameter count): ``--model`` resolved by
    oprd, or a saved random Qwen2 with the Qwen vocabulary."""
    from oprd.models import resolve_model_path

    if args.model:
        return resolve_model_path(args.model), args.model, 0
    import torch
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    from oprd.models.builtin import model_dir
    from oprd.models.prepare import is_prepared

    source = QWEN_TOKENIZER if is_prepared(QWEN_TOKENIZER) else FALLBACK_TOKENIZER
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir(source)) if source == QWEN_TOKENIZER
                                              else resolve_model_path(source))
    eos = tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
    config = Qwen2Config(vocab_size=VOCAB, max_position_embeddings=32768, tie_word_embeddings=True,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=eos, pad_token_id=pad, **model_shape(args))
    torch.manual_seed(args.seed)
    model = Qwen2ForCausalLM(config)
    model.generation_config.eos_token_id = eos
    model.generation_config.pad_token_id = pad
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return str(out_dir), source, sum(p.numel() for p in model.parameters())


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


def prompt_tokens(model_dir: str, data: str) -> float:
    """Mean length of the chat-formatted prompts in tokens."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    lengths = [len(tokenizer.apply_chat_template(row["prompt"], add_generation_prompt=True, tokenize=True,
                                                 return_dict=True)["input_ids"]) for row in _read_rows(data)]
    return statistics.mean(lengths)


def find_trl(requested: str | None) -> tuple[str, str]:
    """(python that imports TRL, TRL's version): ``--trl-python``, else this python, else ``.venv-trl``;
    exits with one line saying how to get TRL when none does."""
    import torch

    pin = torch.__version__.split("+")[0]
    for python in [requested] if requested else [sys.executable, str(DEFAULT_TRL_VENV)]:
        if not Path(python).exists():
            continue
        probe = subprocess.run([python, "-c", "import trl; print(trl.__version__)"], capture_output=True, text=True)
        if probe.returncode == 0:
            return python, probe.stdout.strip()
    sys.exit(f"TRL does not import here; pip install -e '.[test]', or: python -m venv --system-site-packages "
             f".venv-trl && .venv-trl/bin/pip install trl torch=={pin} (or pass --trl-python)")


def run_worker(python: str, framework: str, row: str, model_dir: str, data: str) -> dict:
    """One (framework, row) in a fresh process; its result is the tagged line of its stdout."""
    command = [python, __file__, "--worker", framework, "--row", row, "--model-dir", model_dir, "--data", data,
               *sys.argv[1:]]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "MALLOC_MMAP_THRESHOLD_": "65536"}
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_TAG)]
    if done.returncode != 0 or not lines:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        sys.exit(f"the {framework} {row} run failed (exit {done.returncode}):\n{tail}")
    return json.loads(lines[-1][len(RESULT_TAG):])


# --------------------------------------------------------------------------------------------- report
def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            name = re.search(r"model name\s*:\s*(.+)", handle.read()).group(1).strip()
    except (OSError, AttributeError):
        name = platform.processor() or platform.machine()
    return f"{name}, {os.cpu_count()} cores"


def report(args: argparse.Namespace, setup: dict, results: dict, versions: dict) -> None:
    """Per row: both frameworks, then the ratios oprd/TRL against the goals; then the log-prob rows."""
    batch = args.prompts * args.group_size
    if args.model:
        print(f"model: {args.model}")
    else:
        shape = model_shape(args)
        print(f"model: random Qwen2 shape, vocab {VOCAB}, hidden {args.hidden}, {args.layers} layers, "
              f"{shape['num_attention_heads']} heads / {shape['num_key_value_heads']} KV heads, intermediate "
              f"{shape['intermediate_size']}, tied embeddings, {setup['params'] / 1e6:.1f}M parameters; "
              f"tokenizer {setup['tokenizer']}")
    prompt = setup["prompt_tokens"]
    print(f"batch: {args.prompts} prompts x {args.group_size} samples x {args.max_new_tokens} new tokens, "
          f"micro-batch {args.micro_batch}, mean prompt {prompt:.0f} tokens; positions scored per step: oprd "
          f"{batch * args.max_new_tokens}, TRL on CPU {batch * (prompt + args.max_new_tokens - 1):.0f}")
    threads = os.environ.get("OMP_NUM_THREADS", "default")
    print(f"machine: {_cpu()}, torch {versions['torch']}, OMP_NUM_THREADS {threads}; oprd {versions['oprd']}, "
          f"TRL {versions['trl']}; median of {args.repeats} step(s) after 1 warm-up, each run a fresh process")
    if results:
        print(f"{'row':11s} {'side':5s} {'step s':>8s} {'rollout s':>10s} {'update s':>9s} {'tokens':>7s} "
              f"{'step MB':>8s} {'peak RSS MB':>12s} {'trainable':>10s}")
    verdicts = []
    for row, pair in results.items():
        for side in ("oprd", "TRL"):
            r = pair[side]
            print(f"{ROW_LABELS[row] if side == 'oprd' else '':11s} {side:5s} {r['step_s']:8.2f} {r['rollout_s']:10.2f} "
                  f"{r['update_s']:9.2f} {r['tokens']:7.0f} {r['step_extra_mb']:8.0f} {r['peak_rss_mb']:12.0f} "
                  f"{r['trainable'] / 1e6:9.2f}M")
        ours, theirs = pair["oprd"], pair["TRL"]
        ratio = {key: ours[key] / max(theirs[key], 1e-9) for key in ("step_s", "rollout_s", "update_s",
                                                                    "step_extra_mb", "peak_rss_mb")}
        print(f"{'':11s} {'ratio':5s} {ratio['step_s']:7.2f}x {ratio['rollout_s']:9.2f}x {ratio['update_s']:8.2f}x "
              f"{'':7s} {ratio['step_extra_mb']:7.2f}x {ratio['peak_rss_mb']:11.2f}x")
        if ours["tokens"] != theirs["tokens"]:
            print(f"{'':11s} note: different numbers of tokens generated ({ours['tokens']:.0f} vs {theirs['tokens']:.0f})")
        time_ok, memory_ok = ratio["step_s"] <= TIME_GOAL, ratio["step_extra_mb"] <= MEMORY_GOAL
        verdicts.append(f"{ROW_LABELS[row]}: time {ratio['step_s']:.2f}x ({'meets' if time_ok else 'misses'} "
                        f"<= {TIME_GOAL:.1f}x TRL), peak step memory {ratio['step_extra_mb']:.2f}x "
                        f"({'meets' if memory_ok else 'misses'} <= {MEMORY_GOAL:.1f}x TRL)")
    for line in verdicts:
        print(line)
    if setup.get("logprobs"):
        full, chunked = setup["logprobs"]["full"], setup["logprobs"]["chunked"]
        print(f"log-probs alone (forward + backward, LM head {args.logprob_hidden} x {VOCAB}, "
              f"R = {args.logprob_positions} response positions, one sequence): full log_softmax "
              f"{full['step_extra_mb']:.0f} MB {full['step_s']:.2f} s; chunked ({args.logprob_chunk}) "
              f"{chunked['step_extra_mb']:.0f} MB {chunked['step_s']:.2f} s; memory "
              f"{chunked['step_extra_mb'] / max(full['step_extra_mb'], 1e-9):.2f}x, time "
              f"{chunked['step_s'] / max(full['step_s'], 1e-9):.2f}x")
    print(f"wall time {setup['wall_s']:.0f} s")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="a built-in name or model directory instead of the random Qwen2")
    parser.add_argument("--layers", type=int, default=4, help="random Qwen2: decoder layers")
    parser.add_argument("--hidden", type=int, default=512, help="random Qwen2: hidden size")
    parser.add_argument("--prompts", type=int, default=4, help="prompts per step")
    parser.add_argument("--group-size", type=int, default=8, help="samples per prompt (G)")
    parser.add_argument("--max-new-tokens", type=int, default=512, help="completion length (fixed)")
    parser.add_argument("--micro-batch", type=int, default=8, help="sequences per forward/backward in both")
    parser.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated subset of {', '.join(ROWS)}")
    parser.add_argument("--lora-r", type=int, default=16)
    parser.add_argument("--lora-alpha", type=float, default=32.0)
    parser.add_argument("--lr", type=float, default=1e-6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=1, help="measured steps after the warm-up (median)")
    parser.add_argument("--logprob-positions", type=int, default=2048, help="log-probs alone: response positions R")
    parser.add_argument("--logprob-hidden", type=int, default=896, help="log-probs alone: LM head input width")
    parser.add_argument("--logprob-chunk", type=int, default=512, help="log-probs alone: chunk of the chunked side")
    parser.add_argument("--no-logprobs", action="store_true", help="skip the log-probs-alone measurement")
    parser.add_argument("--trl-python", help="a python that imports TRL (default: this one, else .venv-trl)")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object instead")
    parser.add_argument("--worker", choices=("oprd", "TRL", "logprobs"), help=argparse.SUPPRESS)
    parser.add_argument("--row", help=argparse.SUPPRESS)
    parser.add_argument("--model-dir", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.row_list = [row for row in args.rows.split(",") if row]
    unknown = sorted(set(args.row_list) - set(ROWS))
    if unknown:
        parser.error(f"--rows: unknown {', '.join(unknown)}; choose from {', '.join(ROWS)}")
    if (args.prompts * args.group_size) % args.micro_batch:
        parser.error(f"--micro-batch must divide prompts x group size ({args.prompts * args.group_size})")
    return args


def main() -> None:
    args = parse_args()
    if args.worker:
        run = {"oprd": run_oprd, "TRL": run_trl, "logprobs": run_logprobs}[args.worker]
        print(RESULT_TAG + json.dumps(run(args)))
        return
    import torch

    import oprd

    started = time.perf_counter()
    trl_python, trl_version = find_trl(args.trl_python)
    versions = {"oprd": oprd.__version__, "trl": trl_version, "torch": torch.__version__}
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-grpo-") as tmp:
        model_dir, tokenizer, params = prepare_model(args, Path(tmp) / "model")
        data = write_prompts(args, Path(tmp) / "prompts.jsonl")
        setup = {"tokenizer": tokenizer, "params": params, "prompt_tokens": prompt_tokens(model_dir, data),
                 "trl_python": "this python" if trl_python == sys.executable else trl_python}
        for row in args.row_list:
            results[row] = {}
            for framework, python in (("oprd", sys.executable), ("TRL", trl_python)):
                print(f"  running {framework} {row} ...", file=sys.stderr)
                results[row][framework] = run_worker(python, framework, row, model_dir, data)
                print(f"  {framework} {row}: {json.dumps(results[row][framework])}", file=sys.stderr)  # survives a kill
        if not args.no_logprobs:
            setup["logprobs"] = {}
            for kind in ("full", "chunked"):
                print(f"  running log-probs {kind} ...", file=sys.stderr)
                setup["logprobs"][kind] = run_worker(sys.executable, "logprobs", kind, model_dir, data)
    setup["wall_s"] = time.perf_counter() - started
    if args.json:
        hidden = ("worker", "row", "model_dir", "data", "row_list")
        print(json.dumps({"args": {k: v for k, v in vars(args).items() if k not in hidden}, "versions": versions,
                          "setup": setup, "results": results}))
        return
    report(args, setup, results, versions)


if __name__ == "__main__":
    main()
