"""Does attention-pivot density track failure? Spearman of PivotTrace's scores against 1 - pass rate.

On seeded reasoning-gym problems with answers (default gsm_symbolic): K trajectories per problem at
temperature 0.6 give every uncertainty score of ``oprd-select pivottrace`` (pivot density and count,
lexical reflection markers, token entropy, negated self-certainty, each averaged over the K; answer
inconsistency = 1 - majority share of the K answers), and G independent samples at temperature 1.0,
verified against gold, give the pass rate. The table holds Spearman rho of each score against
1 - pass rate with a bootstrap 95% interval over problems, on all problems and on the problems whose
pass rate is strictly between 0 and 1, and the share of such problems.

Everything model-side is PivotTrace's own pipeline (its ``ModelSide``: rollouts, attention signals,
token scores, all cached under ``--cache-dir``); problems are processed in chunks and the outputs are
rewritten after every chunk, so a killed run resumes at its last finished chunk and a partial run
still leaves its results. Run it at low priority on a shared CPU:

    nice -n 19 env OMP_NUM_THREADS=1 python experiments/pivottrace_correlation.py \\
        --model qwen2.5-coder-0.5b-instruct --n 48 --k 2 --samples 8 --max-new-tokens 256 \\
        --out experiments/results/pivottrace_correlation > pivottrace.log 2>&1 &
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from oprd.errors import OprdInputError

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    Clock,
    NotCached,
    chunks,
    fmt_interval,
    machine,
    make_pool,
    mean_with_interval,
    positive_int,
    refuse_generation,
    run_main,
    spearman_with_interval,
    write_outputs,
)

TRACE_SCORES = ("density", "count", "lexical", "token-entropy", "self-certainty")
LABELS = {
    "density": "pivot density", "count": "pivot count", "lexical": "lexical markers",
    "consistency": "answer inconsistency", "token-entropy": "token entropy", "self-certainty": "self-certainty (negated)",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder-0.5b-instruct", help="built-in name or HF directory")
    parser.add_argument("--tasks", default="gsm_symbolic", help="comma list of `oprd data make` tasks")
    parser.add_argument("--n", type=int, default=200, help="problems")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--k", type=int, default=4, help="trajectories per problem at temperature 0.6")
    parser.add_argument("--samples", type=int, default=8, help="pass-rate samples per problem at temperature 1.0")
    parser.add_argument("--max-new-tokens", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--chunk", type=int, default=8, help="problems per cached chunk (the unit of resuming)")
    parser.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples per interval")
    parser.add_argument("--no-new-samples", action="store_true",
                        help="use only chunks whose pass-rate samples are cached (report a partial run)")
    parser.add_argument("--cache-dir", default=None, help="PivotTrace cache (default $OPRD_CACHE/pivottrace)")
    parser.add_argument("--out", type=Path, default=Path("experiments/results/pivottrace_correlation"))
    args = parser.parse_args(argv)
    for name in ("n", "k", "samples", "max_new_tokens", "batch_size", "chunk", "bootstrap"):
        positive_int(name, getattr(args, name))
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from oprd.selectors.pivottrace import PivotTraceConfig
    from oprd.selectors.pivottrace.scores import answer_inconsistency, trace_scores
    from oprd.verify import is_equivalent

    clock = Clock()
    pool = make_pool(args.tasks, args.n, args.seed)
    config = PivotTraceConfig(model=args.model, k=args.k, max_new_tokens=args.max_new_tokens,
                              batch_size=args.batch_size, seed=args.seed, probe_samples=args.samples,
                              attention_batch_size=4, cache_dir=args.cache_dir).validate(pool.n)
    side = config.model_side(pool, progress=False)
    per_problem: dict[str, list[float]] = {name: [] for name in (*TRACE_SCORES, "consistency", "density_k1")}
    pass_rate: list[float] = []
    problem_ids: list[str] = []
    truncated: list[float] = []
    sample_truncated: list[float] = []
    parts = chunks(range(pool.n), args.chunk)
    done = 0
    results = None
    for number, rows in enumerate(parts, start=1):
        try:
            with refuse_generation(args.no_new_samples):
                samples = side.rollouts(rows, args.samples, config.probe_temperature, args.seed + 7_777,
                                        "pass-rate samples")
        except NotCached:
            clock.log(f"chunk {number}/{len(parts)} skipped: its pass-rate samples are not cached")
            continue
        trajectories = side.rollouts(rows, args.k, config.temperature, args.seed, "trajectories")
        done += 1
        for name in TRACE_SCORES:
            values = trace_scores(side, config, trajectories, name).reshape(len(rows), args.k)
            with np.errstate(all="ignore"):
                per_problem[name] += list(np.nanmean(values, axis=1))
            if name == "density":
                per_problem["density_k1"] += list(values[:, 0])
        per_problem["consistency"] += list(answer_inconsistency(trajectories, args.k))
        from oprd.verify import extract_answer

        for j, i in enumerate(rows):
            group = samples[j * args.samples : (j + 1) * args.samples]
            problem_ids.append(str(pool.rows[i]["id"]))
            pass_rate.append(float(np.mean([is_equivalent(extract_answer(r.text), pool.answers[i]) for r in group])))
            sample_truncated.append(float(np.mean([r.truncated for r in group])))
            truncated.append(float(np.mean([r.truncated for r in trajectories[j * args.k : (j + 1) * args.k]])))
        results = summarise(args, pool, per_problem, np.array(pass_rate), truncated, sample_truncated, clock,
                            finished=done == len(parts), problem_ids=problem_ids)
        write_outputs(args.out, results, table(results))
        plot(args.out / "correlation.png", results)
        clock.log(f"chunk {number}/{len(parts)} done ({len(pass_rate)} problems); mean pass rate "
                  f"{np.mean(pass_rate):.3f}, mixed share {results['mixed_share']['value']:.2f}")
    if results is None:
        raise OprdInputError("no chunk has cached pass-rate samples yet; run without --no-new-samples first")
    print(table(results))


def summarise(args, pool, per_problem: dict[str, list[float]], pass_rate: np.ndarray, truncated: list[float],
              sample_truncated: list[float], clock: Clock, *, finished: bool, problem_ids: list[str]) -> dict[str, Any]:
    """Every correlation (all problems, and mixed ones only) plus what the problems looked like; per-problem
    values are listed in the order of ``problem_ids`` (the pool's row ids)."""
    failure = 1.0 - pass_rate
    mixed = (pass_rate > 0) & (pass_rate < 1)
    names = [*TRACE_SCORES[:3], "consistency", *TRACE_SCORES[3:], "density_k1"]
    correlations = {}
    for name in names:
        score = np.asarray(per_problem[name], dtype=float)
        correlations[name] = {
            "label": LABELS.get(name, "pivot density (first trajectory only)"),
            "all": spearman_with_interval(score, failure, n_boot=args.bootstrap, seed=args.seed),
            "mixed": spearman_with_interval(score[mixed], failure[mixed], n_boot=args.bootstrap, seed=args.seed),
        }
    return {
        "experiment": "pivottrace_correlation",
        "finished": finished,
        "command": "python experiments/pivottrace_correlation.py " + " ".join(sys.argv[1:]),
        "settings": {key: (str(value) if isinstance(value, Path) else value) for key, value in vars(args).items()},
        "generation_backend": "hf",
        "n_problems_planned": pool.n,
        "n_problems_done": int(len(pass_rate)),
        "mean_pass_rate": mean_with_interval(pass_rate, n_boot=args.bootstrap, seed=args.seed),
        "mixed_share": mean_with_interval(mixed.astype(float), n_boot=args.bootstrap, seed=args.seed),
        "share_all_fail": float(np.mean(pass_rate == 0)),
        "share_all_pass": float(np.mean(pass_rate == 1)),
        "trajectories_truncated": float(np.mean(truncated)),
        "samples_truncated": float(np.mean(sample_truncated)),
        "problem_ids": list(problem_ids),
        "pass_rates": pass_rate.tolist(),
        "scores": {name: [float(v) for v in per_problem[name]] for name in names},
        "correlations": correlations,
        "wall_seconds": clock.seconds(),
        "machine": machine(),
    }


def table(results: dict[str, Any]) -> str:
    """The Markdown table of the run."""
    s = results["settings"]
    lines = [
        f"Model `{s['model']}`, tasks `{s['tasks']}`, {results['n_problems_done']} of {results['n_problems_planned']} "
        f"problems{'' if results['finished'] else ' (partial run)'}; K = {s['k']} trajectories at T = 0.6, "
        f"{s['samples']} pass-rate samples at T = 1.0, {s['max_new_tokens']} new tokens; HF generation.",
        "",
        f"Mean pass rate {fmt_interval(results['mean_pass_rate'])}; share with 0 < pass rate < 1: "
        f"{fmt_interval(results['mixed_share'])}; all fail {results['share_all_fail']:.2f}, all pass "
        f"{results['share_all_pass']:.2f}; truncated: trajectories {results['trajectories_truncated']:.2f}, "
        f"samples {results['samples_truncated']:.2f}. Wall time {results['wall_seconds'] / 60:.1f} min.",
        "",
        "| score (higher = more uncertain) | Spearman vs 1 - pass rate, all [95% CI] | on 0 < pass < 1 only [95% CI] |",
        "|---|---|---|",
    ]
    for name, entry in results["correlations"].items():
        if name == "consistency" and s["k"] < 2:
            lines.append(f"| {entry['label']} | undefined with K = 1 (one answer per problem); run with --k >= 2 | |")
            continue
        lines.append(f"| {entry['label']} | {fmt_interval(entry['all'])} (n={entry['all']['n']}) | "
                     f"{fmt_interval(entry['mixed'])} (n={entry['mixed']['n']}) |")
    return "\n".join(lines) + "\n"


def plot(path: Path, results: dict[str, Any]) -> None:
    """Spearman rho of every score with its interval, all problems and mixed ones."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    entries = list(results["correlations"].values())
    y = np.arange(len(entries))
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(entries) + 1.5))
    for offset, subset, color in ((-0.15, "all", "tab:blue"), (0.15, "mixed", "tab:orange")):
        rho = np.array([e[subset]["rho"] for e in entries])
        lo = np.array([e[subset]["lo"] for e in entries])
        hi = np.array([e[subset]["hi"] for e in entries])
        ax.errorbar(rho, y + offset, xerr=[np.nan_to_num(rho - lo), np.nan_to_num(hi - rho)], fmt="o", color=color,
                    capsize=3, label="all problems" if subset == "all" else "0 < pass rate < 1")
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(y, [e["label"] for e in entries])
    ax.invert_yaxis()
    ax.set_xlabel("Spearman rho vs 1 - pass rate (95% bootstrap CI)")
    ax.set_title(f"{results['settings']['model']}: {results['n_problems_done']} problems")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    run_main(main)
