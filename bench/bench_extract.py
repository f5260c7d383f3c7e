"""Cost of hidden-state capture on top of generation, on the built-in model.

Times greedy generation alone, then generation + the teacher-forced capture forward (SHIFT's
default: all layers, reasoning start/end, layer mean), on the same prompts, in the same run.
Prints the ratio (goal <= 1.10).

    python bench/bench_extract.py --prompts 32 --max-new-tokens 128
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--prompts", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    import torch

    from oprd.data.make import make_problems
    from oprd.features import CaptureConfig, capture_features
    from oprd.generation import HFGenerator, SamplingConfig
    from oprd.models import build_prompt_ids, load_model

    model, tokenizer = load_model(args.model)
    rows = make_problems("gsm_symbolic", args.prompts, seed=0)
    prompts = [build_prompt_ids(tokenizer, row["prompt"]) for row in rows]
    generator = HFGenerator(model, tokenizer)
    sampling = SamplingConfig(max_new_tokens=args.max_new_tokens, batch_size=args.batch_size)
    capture = CaptureConfig(batch_size=args.batch_size)
    generator.generate(prompts[: args.batch_size], SamplingConfig(max_new_tokens=8, batch_size=args.batch_size))

    generate_times, capture_times = [], []
    for _ in range(args.repeats):
        start = time.perf_counter()
        rollouts = generator.generate(prompts, sampling)
        generate_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        capture_features(model, tokenizer, rollouts, capture)
        capture_times.append(time.perf_counter() - start)
    gen, cap = min(generate_times), min(capture_times)
    tokens = sum(len(r.response_ids) for r in rollouts)
    print(f"model {args.model}, {args.prompts} prompts x {args.max_new_tokens} new tokens, batch {args.batch_size}, "
          f"torch threads {torch.get_num_threads()}")
    print(f"generation alone:        {gen:8.2f} s  ({tokens / gen:.1f} new tok/s)")
    print(f"capture forward:         {cap:8.2f} s")
    print(f"generation + capture:    {gen + cap:8.2f} s")
    print(f"ratio (gen+capture)/gen: {(gen + cap) / gen:8.3f}   goal <= 1.10")


if __name__ == "__main__":
    main()
