"""Cost of one distillation update step: OPRD against the OPD baselines (top-16, top-1, full).

Model: a random Qwen2-shaped student and teacher (transformers ``Qwen2Config``: vocab 151,936, 4
layers, hidden 512, untied LM head as in R1-Distill-Qwen-1.5B), batch 2 x sequence 1024 (128 prompt
+ 896 response tokens). Every variant runs the trainer's own code (``DistillComponent``): the
teacher pass keeps its targets first (not measured: it is the same forward for all variants), then
the measured update = student forward + loss + backward. OPRD uses all layers and ``last_k:2000``.
With ``--model`` (a built-in name or a Hugging Face model directory) student and teacher are both
that model, loaded in float32 with its own tokenizer, so vocabulary, depth and width are the real
model's and ``--layers``/``--hidden`` do not apply; the output names the model and its sizes.

What "memory" means here. tracemalloc does not see torch's allocations, so each variant runs in a
fresh subprocess and we read the kernel's resident-set high-water mark: before the update we reset
it (``echo 5 > /proc/self/clear_refs``) and note the current RSS; after it we read ``VmHWM``.
``extra peak`` = VmHWM - RSS before = the most memory the update added on top of the loaded
models and teacher targets (activations, logits, gradients), the quantity the paper reports as
"extra peak memory in the update". glibc is told to serve every block >= 64 KiB with mmap
(``MALLOC_MMAP_THRESHOLD_``) so freed tensors leave the RSS at once and the number is not hidden by
heap reuse. With ``--device cuda`` it is ``torch.cuda.max_memory_allocated`` above the allocation
before the update instead. Time is the median over ``--repeats`` update steps after one warm-up.

    python bench/bench_distill_update.py            # all four variants, ratios against top-16
    python bench/bench_distill_update.py --model qwen2.5-coder-0.5b-instruct --seq 256 --response 192 \\
        --batch 1 --repeats 1                       # the real model as student and teacher
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

from oprd.errors import OprdInputError

VARIANTS = ("opd-topk", "opd-top1", "opd-full", "oprd")
LABELS = {"opd-topk": "OPD top-16", "opd-top1": "OPD top-1", "opd-full": "OPD full", "oprd": "OPRD"}
QWEN_VOCAB = 151_936
DEFAULT_LAYERS, DEFAULT_HIDDEN = 4, 512


def _status_kib(field: str) -> int:
    return int(re.search(rf"{field}:\s+(\d+)", open("/proc/self/status").read()).group(1))


def model_shape(args: argparse.Namespace) -> dict:
    """Name, depth, width and vocabulary of the model the update runs on, so the figures say what they measure."""
    if not args.model:
        return {"name": "Qwen2 shape", "layers": args.layers, "hidden": args.hidden, "vocab": QWEN_VOCAB}
    from transformers import AutoConfig

    from oprd.models.loading import resolve_model_path

    config = AutoConfig.from_pretrained(resolve_model_path(args.model))
    return {"name": args.model, "layers": config.num_hidden_layers, "hidden": config.hidden_size,
            "vocab": config.vocab_size}


def _models(args: argparse.Namespace) -> tuple:
    """(student, teacher, tokenizer): ``--model`` loaded twice in float32 with its tokenizer, else two random
    Qwen2 models and the tiny tokenizer, which only supplies the pad id (both models share "its" ids)."""
    if args.model:
        from oprd.models.loading import load_model

        student, tokenizer = load_model(args.model, dtype="float32", device=args.device)
        teacher, _ = load_model(args.model, dtype="float32", device=args.device)
        return student, teacher, tokenizer
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from oprd.models.tiny import build_tiny_tokenizer

    config = Qwen2Config(vocab_size=QWEN_VOCAB, hidden_size=args.hidden, intermediate_size=args.hidden * 3,
                         num_hidden_layers=args.layers, num_attention_heads=8, num_key_value_heads=2,
                         max_position_embeddings=4096, tie_word_embeddings=False)
    torch.manual_seed(0)
    student = Qwen2ForCausalLM(config).to(args.device)
    torch.manual_seed(1)
    teacher = Qwen2ForCausalLM(config).to(args.device)
    return student, teacher, build_tiny_tokenizer()


def run_variant(args) -> dict:
    """One variant in this process: teacher pass, warm-up, then measured update steps."""
    import torch

    from oprd.distill import Teacher
    from oprd.distill.compat import DistillPlan
    from oprd.distill.layer_map import layer_pairs
    from oprd.generation.base import Rollout
    from oprd.rlvr.hooks import MicroBatch, StepBatch
    from oprd.rlvr.methods.distill.hook import DistillComponent
    from oprd.rlvr.policy import TokenBatch, policy_forward

    shape = model_shape(args)
    student, teacher_model, tokenizer = _models(args)
    generator = torch.Generator().manual_seed(0)
    prompt_len = args.seq - args.response
    rollouts = [Rollout(i, 0, torch.randint(1, shape["vocab"], (prompt_len,), generator=generator).tolist(),
                        torch.randint(1, shape["vocab"], (args.response,), generator=generator).tolist(), "", "length")
                for i in range(args.batch)]
    teacher = Teacher(teacher_model, tokenizer, student_tokenizer=tokenizer, batch_size=args.batch)
    plan = DistillPlan(layer_pairs("all", shape["layers"], shape["layers"]), None) if args.variant == "oprd" else None
    component = DistillComponent(args.variant, teacher, plan=plan, positions="last_k:2000", topk=16)
    batch = StepBatch(rows=list(range(args.batch)), ids=[str(i) for i in range(args.batch)], epochs=[0] * args.batch,
                      prompts=["p"] * args.batch, gold=[None] * args.batch, rollouts=rollouts, group_size=1)
    started = time.perf_counter()
    component.after_advantages(batch)
    teacher_s = time.perf_counter() - started
    tokens = TokenBatch.from_rollouts(rollouts, tokenizer.pad_token_id, args.device)
    student.train()
    cuda = args.device.startswith("cuda")
    times, extras = [], []
    for step in range(args.repeats + 1):
        student.zero_grad(set_to_none=True)
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            before = torch.cuda.memory_allocated()
        else:
            with open("/proc/self/clear_refs", "w") as handle:
                handle.write("5")
            before = _status_kib("VmRSS") * 1024
        started = time.perf_counter()
        needs = component.forward_needs()  # the trainer's one student forward, with what this variant reads
        outputs = policy_forward(student, tokens, logprobs="logprobs" in needs, hidden_states="hidden_states" in needs,
                                 logits="logits" in needs)
        loss, _ = component.loss_term(MicroBatch(rollouts, tokens, outputs))
        loss.backward()
        if cuda:
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - started
        peak = torch.cuda.max_memory_allocated() if cuda else _status_kib("VmHWM") * 1024
        if step:  # step 0 is the warm-up
            times.append(elapsed)
            extras.append(peak - before)
    return {"variant": args.variant, "update_s": statistics.median(times), "extra_peak_mb": max(extras) / 2**20,
            "teacher_s": teacher_s, "loss": float(loss), "model": shape}


def parse_args() -> argparse.Namespace:
    """Options; ``--layers``/``--hidden`` size only the random model, so they are refused with ``--model``."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variant", choices=VARIANTS, help="run one variant in this process (used internally)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--model", help="a built-in name or Hugging Face model directory used as both student and "
                                        "teacher (float32) instead of the random Qwen2")
    parser.add_argument("--layers", type=int, help=f"random Qwen2: decoder layers (default {DEFAULT_LAYERS}; "
                                                   "not with --model)")
    parser.add_argument("--hidden", type=int, help=f"random Qwen2: hidden size (default {DEFAULT_HIDDEN}; "
                                                   "not with --model)")
    parser.add_argument("--seq", type=int, default=1024)
    parser.add_argument("--response", type=int, default=896)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.model and (args.layers is not None or args.hidden is not None):
        raise OprdInputError("--layers/--hidden size the random model only; drop them with --model, whose own "
                             "depth and width are used")
    if not args.model:
        args.layers = DEFAULT_LAYERS if args.layers is None else args.layers
        args.hidden = DEFAULT_HIDDEN if args.hidden is None else args.hidden
    return args


def main() -> None:
    args = parse_args()
    if args.variant:
        print(json.dumps(run_variant(args)))
        return
    shape = model_shape(args)
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"}
    results = {}
    for variant in VARIANTS:
        command = [sys.executable, __file__, "--variant", variant, *sys.argv[1:]]
        out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
        results[variant] = json.loads(out.strip().splitlines()[-1])
        print(f"  ran {LABELS[variant]}", file=sys.stderr)
    base = results["opd-topk"]
    print(f"one update step (forward + backward), {args.device}: {shape['name']}, vocab {shape['vocab']}, "
          f"{shape['layers']} layers, hidden {shape['hidden']}, batch {args.batch} x seq {args.seq} "
          f"({args.response} response tokens)")
    print(f"{'variant':12s} {'update s':>9s} {'speed vs top-16':>16s} {'extra peak MB':>14s} {'memory vs top-16':>17s} "
          f"{'teacher pass s':>15s}")
    for variant in VARIANTS:
        r = results[variant]
        print(f"{LABELS[variant]:12s} {r['update_s']:9.2f} {base['update_s'] / r['update_s']:15.2f}x "
              f"{r['extra_peak_mb']:14.0f} {r['extra_peak_mb'] / base['extra_peak_mb']:16.2f}x {r['teacher_s']:15.2f}")
    oprd = results["oprd"]
    print(f"OPRD vs top-16: memory {oprd['extra_peak_mb'] / base['extra_peak_mb']:.2f}x (goal <= 0.50), "
          f"speed {base['update_s'] / oprd['update_s']:.2f}x (goal >= 1.44)")


if __name__ == "__main__":
    try:
        main()
    except OprdInputError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
