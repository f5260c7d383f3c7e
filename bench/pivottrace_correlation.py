"""Does attention-pivot density track failure? Spearman correlation against 1 - pass rate on real problems.

With the built-in model on seeded reasoning-gym problems (with answers): K trajectories per problem at
temperature 0.6 give pivot density, the lexical reflection-marker baseline and answer inconsistency
(1 - majority share of the K answers); G independent samples at temperature 1.0, verified against
gold, give the pass rate. Prints Spearman rho (and p) of each score against 1 - pass rate, for the
K-trajectory average and for the first trajectory alone (K = 1, the default of the command).

Rollouts are generated in chunks of problems, each cached under $OPRD_CACHE/pivottrace, so an
interrupted run resumes at the chunk where it stopped. On a busy 2-core machine one thread is faster:

    OMP_NUM_THREADS=1 nohup python bench/pivottrace_correlation.py --n 100 \\
        --out /tmp/pivottrace_correlation.json > /tmp/pivottrace_correlation.log 2>&1 &
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="problems")
    parser.add_argument("--tasks", default="basic_arithmetic,chain_sum,gsm_symbolic")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--k", type=int, default=4, help="trajectories per problem (temperature 0.6)")
    parser.add_argument("--samples", type=int, default=8, help="pass-rate samples per problem (temperature 1.0)")
    parser.add_argument("--max-new-tokens", type=int, default=192)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--chunk", type=int, default=20, help="problems per cached generation chunk")
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--out", type=Path, default=None, help="also write the summary as JSON here")
    args = parser.parse_args()

    from oprd.data import Pool, make_problems
    from oprd.selectors.pivottrace_pipeline import ModelSide, PivotTraceConfig, answer_inconsistency, trace_scores
    from oprd.verify import is_equivalent

    start = time.time()
    pool = Pool.from_rows(make_problems(args.tasks, args.n, args.seed))
    config = PivotTraceConfig(model=args.model, k=args.k, max_new_tokens=args.max_new_tokens,
                              batch_size=args.batch_size, seed=args.seed, probe_samples=args.samples,
                              attention_batch_size=4)
    side = ModelSide(pool, config, progress=False)
    chunks = [range(lo, min(lo + args.chunk, pool.n)) for lo in range(0, pool.n, args.chunk)]
    trajectories, answers = [], []
    for number, rows in enumerate(chunks, start=1):
        trajectories += side.rollouts(rows, args.k, config.temperature, args.seed, "trajectories")
        _log(start, f"trajectories: chunk {number}/{len(chunks)} done")
    for number, rows in enumerate(chunks, start=1):
        answers += side.probe_answers(rows)
        _log(start, f"pass-rate samples: chunk {number}/{len(chunks)} done")
    per_trace = {name: trace_scores(side, trajectories, name) for name in ("density", "lexical")}
    _log(start, "attention signals and scores done")
    pass_rate = np.array([np.mean([is_equivalent(a, gold) for a in group])
                          for group, gold in zip(answers, pool.answers)])
    scores = {}
    for name, values in per_trace.items():
        scores[f"{name} (K={args.k})"] = values.reshape(-1, args.k).mean(axis=1)
        scores[f"{name} (K=1)"] = values[:: args.k]
    scores[f"answer inconsistency (K={args.k})"] = answer_inconsistency(trajectories, args.k)
    summary = _summary(args, pool.n, pass_rate, trajectories, scores, time.time() - start)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(summary, indent=2) + "\n")
    _print(summary, args)


def _summary(args, n: int, pass_rate: np.ndarray, trajectories, scores: dict, seconds: float) -> dict:
    """Spearman rho and p of every score against 1 - pass rate, plus what the pool looked like."""
    from scipy.stats import spearmanr

    failure = 1.0 - pass_rate
    correlations = {}
    for name, score in scores.items():
        rho, p = spearmanr(score, failure)
        correlations[name] = {"spearman_rho": float(rho), "p_value": float(p), "mean": float(np.mean(score))}
    return {
        "n_problems": n, "tasks": args.tasks, "seed": args.seed, "model": args.model, "k": args.k,
        "samples": args.samples, "max_new_tokens": args.max_new_tokens, "mean_pass_rate": float(pass_rate.mean()),
        "share_pass_rate_0": float(np.mean(pass_rate == 0)), "share_pass_rate_1": float(np.mean(pass_rate == 1)),
        "trajectories_truncated": float(np.mean([r.finish_reason == "length" for r in trajectories])),
        "seconds": round(seconds, 1), "correlations": correlations,
    }


def _print(summary: dict, args) -> None:
    print(f"{summary['n_problems']} problems ({summary['tasks']}), mean pass rate {summary['mean_pass_rate']:.3f} "
          f"over {args.samples} samples (all fail: {summary['share_pass_rate_0']:.0%}, all pass: "
          f"{summary['share_pass_rate_1']:.0%}); {summary['trajectories_truncated']:.0%} of trajectories hit "
          f"{args.max_new_tokens} tokens")
    print(f"{'score':<34} {'spearman vs 1 - pass':>22} {'p':>10}")
    for name, value in summary["correlations"].items():
        print(f"{name:<34} {value['spearman_rho']:>22.3f} {value['p_value']:>10.3g}")
    print(f"done in {summary['seconds']} s" + (f"; wrote {args.out}" if args.out else ""))


def _log(start: float, message: str) -> None:
    print(f"[{time.time() - start:7.0f} s] {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
