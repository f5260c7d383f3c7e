"""Does SHIFT pick what GRPO needs? Subsets of a mixed pool against pass@G under the model.

A pool of seeded problems from several sources (reasoning-gym tasks and CHAMP, with answers) goes
through the library's own selection pipeline once (``oprd.select``: greedy rollouts, hidden-state and
token-score capture, cached in chunks): its ``self-certainty`` run yields the features, and SHIFT,
utility and k-center (on phi) are fitted on those same features with the library's selectors, exactly
as ``oprd.select_shift`` / ``oprd-select utility|kcenter`` fit them (the extraction those commands run
differs only in not capturing token scores). Random takes three seeds. Every selected prompt then gets
G rollouts at temperature 1.0 (PivotTrace's cached ``ModelSide`` sampler), verified against gold.
With ``--pass-scope pool`` every prompt of the pool is sampled instead (exact metrics for any subset,
the pool's own figures, and several budgets for the price of one), in the same chunks and under the
same cache keys as ``pivottrace_correlation.py`` with equal ``--tasks --n --seed --samples
--max-new-tokens --batch-size --chunk``; chunks are visited last to first, so the two scripts run side
by side meet halfway and every chunk is sampled once.

Per subset: the share of prompts with 0 < pass@G < 1 (the prompts that give GRPO a non-zero
gradient), the mean pass rate, the share of truncated greedy rollouts and the source mix, each with a
bootstrap 95% interval over the subset's prompts; and Spearman(q, response length) over the pool's
greedy rollouts that ended with EOS. Outputs are rewritten after every sampled chunk, so a killed run
resumes at its last finished chunk and a partial run still leaves its results:

    nice -n 19 env OMP_NUM_THREADS=1 python experiments/shift_grpo.py \\
        --model qwen2.5-coder-0.5b-instruct --n 100 --budget 0.1 --samples 8 --max-new-tokens 256 \\
        --out experiments/results/shift_grpo > shift.log 2>&1 &
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    Clock,
    NotCached,
    bootstrap_interval,
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

from oprd.errors import OprdInputError  # noqa: E402

RANDOM_SEEDS = (0, 1, 2)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder-0.5b-instruct", help="built-in name or HF directory")
    parser.add_argument("--tasks", default="gsm_symbolic,basic_arithmetic,chain_sum,champ",
                        help="comma list of `oprd data make` tasks (the sources of the pool)")
    parser.add_argument("--n", type=int, default=400, help="pool size")
    parser.add_argument("--budget", default="0.1", help="fraction(s) of the pool per subset, in (0, 1]: 0.1 or 0.1,0.25")
    parser.add_argument("--pass-scope", choices=("selected", "pool"), default="selected",
                        help="sample the selected prompts only, or the whole pool")
    parser.add_argument("--chunk-order", choices=("auto", "forward", "backward"), default="auto",
                        help="order of the sampled chunks; auto = backward with --pass-scope pool (to meet "
                             "pivottrace_correlation.py), forward otherwise. A second process with the other "
                             "order samples on another core; the two meet halfway")
    parser.add_argument("--pass-rates-from", type=Path, default=None,
                        help="results.json of a pivottrace_correlation.py run with the same --model --samples "
                             "--max-new-tokens: prompts of this pool that it sampled (same id and text) take its "
                             "pass rates instead of being sampled again")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--samples", type=int, default=8, help="G: sampled rollouts per selected prompt (T = 1.0)")
    parser.add_argument("--max-new-tokens", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--chunk", type=int, default=8, help="prompts per cached chunk (the unit of resuming)")
    parser.add_argument("--sample-chunk", type=int, default=None,
                        help="prompts per cached chunk of pass@G samples (default --chunk); G x this many "
                             "sequences fill one generation batch when it equals --batch-size / --samples")
    parser.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples per interval")
    parser.add_argument("--no-new-samples", action="store_true",
                        help="use only chunks whose pass@G samples are cached (report a partial run)")
    parser.add_argument("--cache-dir", default=None, help="cache root (default $OPRD_CACHE)")
    parser.add_argument("--out", type=Path, default=Path("experiments/results/shift_grpo"))
    args = parser.parse_args(argv)
    if args.sample_chunk is None:
        args.sample_chunk = args.chunk
    for name in ("n", "samples", "max_new_tokens", "batch_size", "chunk", "sample_chunk", "bootstrap"):
        positive_int(name, getattr(args, name))
    try:
        args.budgets = [float(b) for b in str(args.budget).split(",") if b.strip()]
    except ValueError:
        raise OprdInputError(f"--budget must be fractions in (0, 1] separated by commas; got {args.budget!r}") from None
    if not args.budgets or not all(0.0 < b <= 1.0 for b in args.budgets):
        raise OprdInputError(f"--budget must be fractions in (0, 1] separated by commas; got {args.budget!r}")
    return args


def select_subsets(pool, args, budget: float) -> tuple[dict[str, np.ndarray], Any]:
    """Every method's selected indices at ``budget``, and the pool's greedy features (one extraction,
    cached, for every method and budget)."""
    import oprd
    from oprd.selectors.baselines import KCenterSelector, UtilitySelector
    from oprd.selectors.methods import embedding_for, shift_inputs

    features_cache = str(Path(args.cache_dir) / "features") if args.cache_dir else None
    common = {"model": args.model, "max_new_tokens": args.max_new_tokens, "batch_size": args.batch_size,
              "seed": args.seed, "chunk_size": args.chunk, "cache_dir": features_cache, "progress": False}
    by_certainty = oprd.select(pool, budget, method="self-certainty", **common)
    features = by_certainty.features
    start, end = shift_inputs(features.states)
    subsets = {"shift": oprd.ShiftSelector(budget).fit(start, end).get_support(indices=True)}
    for seed in RANDOM_SEEDS:
        subsets[f"random (seed {seed})"] = oprd.select(pool, budget, method="random", seed=seed,
                                                       progress=False).indices
    subsets["utility"] = UtilitySelector(budget).fit(oprd.shift_features(start, end)[1]).get_support(indices=True)
    phi = embedding_for("phi", features.states, lambda: [str(p) for p in pool.prompts])
    subsets["kcenter"] = KCenterSelector(budget).fit(phi).get_support(indices=True)
    subsets["self-certainty"] = by_certainty.indices
    return {name: np.asarray(indices, dtype=np.int64) for name, indices in subsets.items()}, features


def wanted_prompts(pool_size: int, by_budget: dict[float, dict[str, np.ndarray]],
                   args: argparse.Namespace) -> list[int]:
    """The prompts that need a pass rate: the whole pool (``--pass-scope pool``) or every subset's prompts
    once, sorted."""
    if args.pass_scope == "pool":
        return list(range(pool_size))
    return sorted({int(i) for s in by_budget.values() for ix in s.values() for i in ix})


def sampled_chunks(wanted: list[int], args: argparse.Namespace, known: set[int] = frozenset()) -> list[list[int]]:
    """The ``wanted`` prompts whose pass rate is not ``known``, in cached chunks, in visiting order;
    reversed for ``--chunk-order backward`` (and ``auto`` with pool scope), so two processes with opposite
    orders share the work."""
    parts = chunks([i for i in wanted if i not in known], args.sample_chunk)
    backward = args.chunk_order == "backward" or (args.chunk_order == "auto" and args.pass_scope == "pool")
    return parts[::-1] if backward else parts


def borrowed_pass_rates(path: Path, pool, args: argparse.Namespace) -> dict[int, float]:
    """Pass rates another run measured under the same model, G and token limit, by this pool's index
    (a prompt matches on id and text), so a prompt both runs need is sampled once."""
    try:
        other = json.loads(path.read_text())
        settings, ids, rates = other["settings"], other["problem_ids"], other["pass_rates"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise OprdInputError(f"--pass-rates-from {path}: not a pivottrace_correlation.py results.json with "
                             f"problem ids ({error}); rerun that script to rewrite it") from None
    for key in ("model", "samples", "max_new_tokens"):
        if settings.get(key) != getattr(args, key):
            raise OprdInputError(f"--pass-rates-from {path}: its {key} is {settings.get(key)!r}, this run's "
                                 f"{getattr(args, key)!r}; pass rates compare only under equal settings")
    their_rows = {str(row["id"]): row for row in make_pool(settings["tasks"], settings["n"], settings["seed"]).rows}
    by_id = {str(i): float(rate) for i, rate in zip(ids, rates)}
    return {index: by_id[str(row["id"])] for index, row in enumerate(pool.rows)
            if str(row["id"]) in by_id and their_rows[str(row["id"])]["prompt"] == row["prompt"]}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from oprd.selectors.pivottrace import PivotTraceConfig
    from oprd.verify import extract_answer, is_equivalent

    clock = Clock()
    pool = make_pool(args.tasks, args.n, args.seed)
    by_budget = {}
    for budget in args.budgets:
        by_budget[budget], features = select_subsets(pool, args, budget)
    clock.log(f"greedy rollouts, features and the subsets of {len(args.budgets)} budget(s) done")
    config = PivotTraceConfig(model=args.model, max_new_tokens=args.max_new_tokens, batch_size=args.batch_size,
                              seed=args.seed, probe_samples=args.samples,
                              cache_dir=str(Path(args.cache_dir) / "pivottrace") if args.cache_dir else None)
    side = config.model_side(pool, progress=False)
    wanted = wanted_prompts(pool.n, by_budget, args)
    found = borrowed_pass_rates(args.pass_rates_from, pool, args) if args.pass_rates_from else {}
    borrowed = {i: found[i] for i in wanted if i in found}
    parts = sampled_chunks(wanted, args, set(borrowed))
    pass_rate: dict[int, float] = dict(borrowed)
    greedy_correct = np.array([is_equivalent(extract_answer(text), answer)
                               for text, answer in zip(features.texts, pool.answers)], dtype=bool)

    def report(finished: bool) -> dict[str, Any]:
        results = summarise(args, pool, by_budget, features, greedy_correct, pass_rate, clock, finished=finished,
                            borrowed=len(borrowed))
        write_outputs(args.out, results, table(results))
        plot(args.out / "subsets.png", results)
        return results

    results = report(finished=not parts) if borrowed else None
    done = 0
    for number, rows in enumerate(parts, start=1):
        try:
            with refuse_generation(args.no_new_samples):
                rollouts = side.rollouts(rows, args.samples, 1.0, args.seed + 7_777, "pass@G samples")
        except NotCached:
            clock.log(f"sampled chunk {number}/{len(parts)} skipped: not cached")
            continue
        done += 1
        for j, i in enumerate(rows):
            group = rollouts[j * args.samples : (j + 1) * args.samples]
            pass_rate[i] = float(np.mean([is_equivalent(extract_answer(r.text), pool.answers[i]) for r in group]))
        results = report(finished=done == len(parts))
        clock.log(f"sampled chunk {number}/{len(parts)} ({len(pass_rate)} prompts)")
    if results is None:
        raise OprdInputError("no chunk has cached pass@G samples yet; run without --no-new-samples first")
    print(table(results))


def subset_metrics(indices: np.ndarray, pass_rate: dict[int, float], truncated: np.ndarray, correct: np.ndarray,
                   sources: list[str], names: list[str], boot: dict[str, int]) -> dict[str, Any]:
    """Share of 0 < pass@G < 1, mean pass rate (over the subset's sampled prompts), greedy correct and
    truncated shares and source mix (over the whole subset), each with a bootstrap 95% interval."""
    done = np.array([i for i in indices if i in pass_rate], dtype=np.int64)
    rates = np.array([pass_rate[i] for i in done])
    source_of = np.array([sources[i] for i in indices])
    return {
        "size": int(len(indices)),
        "sampled": int(len(done)),
        "mixed_share": mean_with_interval(((rates > 0) & (rates < 1)).astype(float), **boot),
        "mean_pass_rate": mean_with_interval(rates, **boot),
        "truncated_share": mean_with_interval(truncated[indices].astype(float), **boot),
        "greedy_correct": mean_with_interval(correct[indices].astype(float), **boot),
        "source_mix": {
            source: {"value": float(np.mean(source_of == source)),
                     **dict(zip(("lo", "hi"), bootstrap_interval(source_of == source, np.mean, **boot)))}
            for source in names
        },
        "indices": [int(i) for i in indices],
    }


def summarise(args, pool, by_budget: dict[float, dict[str, np.ndarray]], features, greedy_correct: np.ndarray,
              pass_rate: dict[int, float], clock: Clock, *, finished: bool, borrowed: int = 0) -> dict[str, Any]:
    """Per-subset metrics with intervals (on the prompts sampled so far), and the length check on q."""
    import oprd
    from oprd.selectors.methods import shift_inputs

    sources = [str(row.get("source", "?")) for row in pool.rows]
    names = sorted(set(sources))
    boot = {"n_boot": args.bootstrap, "seed": args.seed}
    budgets = {}
    for budget, subsets in by_budget.items():
        groups = dict(subsets)
        groups["random (3 seeds pooled)"] = np.concatenate([subsets[f"random (seed {s})"] for s in RANDOM_SEEDS])
        budgets[f"{budget:g}"] = {name: subset_metrics(indices, pass_rate, features.truncated, greedy_correct, sources,
                                                         names, boot)
                                  for name, indices in groups.items()}
    start, end = shift_inputs(features.states)
    q = oprd.shift_features(start, end)[1]
    ended = ~features.truncated
    everything = np.arange(pool.n)
    return {
        "experiment": "shift_grpo",
        "finished": finished,
        "command": "python experiments/shift_grpo.py " + " ".join(sys.argv[1:]),
        "settings": {key: (str(value) if isinstance(value, Path) else value) for key, value in vars(args).items()},
        "generation_backend": "hf",
        "pool": {"n": pool.n, "sources": {s: int(sources.count(s)) for s in names},
                 "greedy_truncated_share": float(features.truncated.mean()),
                 "metrics": subset_metrics(everything, pass_rate, features.truncated, greedy_correct, sources,
                                            names, boot)},
        "sampled_prompts": len(pass_rate),
        "borrowed_pass_rates": borrowed,
        "budgets": budgets,
        "spearman_q_vs_length_eos": spearman_with_interval(q[ended], features.response_length[ended], **boot),
        "spearman_q_vs_pass_rate": spearman_with_interval(
            q[sorted(pass_rate)], [pass_rate[i] for i in sorted(pass_rate)], **boot),
        "pass_rates": {str(i): rate for i, rate in sorted(pass_rate.items())},
        "wall_seconds": clock.seconds(),
        "machine": machine(),
    }


def table(results: dict[str, Any]) -> str:
    """The Markdown table of the run: one block per budget, the pool's own row first."""
    s = results["settings"]
    pool = results["pool"]
    mix = ", ".join(f"{name} {count}" for name, count in pool["sources"].items())
    sources = list(pool["sources"])
    lines = [
        f"Model `{s['model']}`, pool of {pool['n']} ({mix}); greedy rollouts and G = {s['samples']} samples at "
        f"T = 1.0, {s['max_new_tokens']} new tokens; HF generation; pass rates of {results['sampled_prompts']} "
        f"prompts ({s['pass_scope']} scope"
        + (f"; {results['borrowed_pass_rates']} of them from `{Path(s['pass_rates_from']).name}` of the PivotTrace "
           f"run, same model, G and token limit" if results.get("borrowed_pass_rates") else "")
        + f"){'' if results['finished'] else ' (partial run)'}. "
        f"Wall time {results['wall_seconds'] / 60:.1f} min.",
    ]
    header = ("| subset (n with pass@G) | 0 < pass@G < 1 [95% CI] | mean pass rate [95% CI] | "
              "greedy correct [95% CI] | "
              "truncated (greedy) [95% CI] | " + " | ".join(f"{name} share" for name in sources) + " |")
    rule = "|---|---|---|---|---|" + "---|" * len(sources)

    def row(name: str, entry: dict[str, Any]) -> str:
        cells = [fmt_interval(entry["mixed_share"]), fmt_interval(entry["mean_pass_rate"]),
                 fmt_interval(entry["greedy_correct"]), fmt_interval(entry["truncated_share"])]
        cells += [fmt_interval(entry["source_mix"][source]) for source in sources]
        return f"| {name} (n={entry['sampled']}) | " + " | ".join(cells) + " |"

    for budget, subsets in results["budgets"].items():
        size = next(iter(subsets.values()))["size"]
        lines += ["", f"Budget {budget} ({size} prompts per subset; the greedy and source columns cover all of "
                  "them):", "", header, rule, row("whole pool", pool["metrics"])]
        lines += [row(name, entry) for name, entry in subsets.items()]
    rho = results["spearman_q_vs_length_eos"]
    rho_pass = results["spearman_q_vs_pass_rate"]
    lines += ["", f"Spearman(q, response length) over the {rho['n']} greedy rollouts that ended with EOS: "
              f"{fmt_interval(rho)} (p = {rho['p']:.2g}); Spearman(q, pass rate) over the {rho_pass['n']} sampled "
              f"prompts: {fmt_interval(rho_pass)}; pool truncated share {pool['greedy_truncated_share']:.2f}."]
    return "\n".join(lines) + "\n"


def plot(path: Path, results: dict[str, Any]) -> None:
    """Share of GRPO-useful prompts and mean pass rate per subset (first budget), with intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    budget, subsets = next(iter(results["budgets"].items()))
    entries_by_name = {"whole pool": results["pool"]["metrics"], **subsets}
    names = list(entries_by_name)
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(9, 4))
    for offset, key, label in ((-0.2, "mixed_share", "0 < pass@G < 1"), (0.2, "mean_pass_rate", "mean pass rate")):
        entries = [entries_by_name[n][key] for n in names]
        value = np.array([e["value"] for e in entries])
        err = np.nan_to_num([value - np.array([e["lo"] for e in entries]), np.array([e["hi"] for e in entries]) - value])
        ax.bar(x + offset, np.nan_to_num(value), 0.4, yerr=np.clip(err, 0, None), capsize=3, label=label)
    ax.set_xticks(x, names, rotation=30, ha="right", fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel("share (95% bootstrap CI)")
    ax.set_title(f"{results['settings']['model']}: pool {results['pool']['n']}, budget {budget}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    run_main(main)
