"""Benchmark the weighted farthest-first engine against the usual peer code and the memory floor.

Compares our numpy, faiss and torch backends on one synthetic matrix (L2-normalised Gaussian
rows, like SHIFT's phi; positive weights) with:

* the peer: the loop as commonly written, sklearn ``pairwise_distances(X, X[[new]])`` per new
  centre, ``np.minimum`` on a min-distance vector, ``argmax(weights * dmin)``. With
  ``--peer-budget P < budget`` the peer is timed on P picks and extrapolated linearly to the
  budget (its per-pick cost is constant);
* the floor: budget x the best time of one float32 BLAS product ``X @ v`` over the same matrix,
  measured in the same run, before every backend and at the end (each greedy step must read the
  matrix once; the best of all samples is used). For float16 storage it
  is timed on a float32 matrix of the same shape and scaled by the bytes ratio (a step reads
  half the bytes). On a shared, loaded machine a best-of-N single product is optimistic, so the
  script also times ``budget`` consecutive products (the same access pattern with none of the
  greedy bookkeeping) and prints the ratio to that too.

Memory: a thread samples the process RSS (psutil, every 5 ms) during each run; we report the peak
increase over the RSS just before the run (which already holds the matrix), and
(matrix + increase) / matrix. This counts every allocator (numpy, BLAS, faiss, torch), unlike
tracemalloc, which only sees numpy/Python allocations. Backend packages are imported before
anything is timed, so their import time and library memory are not counted.

Goals: >= 10x faster than the peer, <= 1.3x the floor, peak memory <= 1.3x the matrix, identical
indices on every backend. Example: ``python bench/bench_coreset.py`` (defaults N=200,000,
dim 1152, budget 500, float32), or the scale check
``python bench/bench_coreset.py --n 1000000 --budget 20 --dtype float16 --backends faiss --peer-budget 0``.
"""

from __future__ import annotations

import argparse
import resource
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import psutil
from sklearn.metrics import pairwise_distances

from oprd.selectors.coreset import run_coreset


def make_data(n: int, dim: int, dtype: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Normalised Gaussian rows written chunk by chunk into the storage dtype, and weights."""
    rng = np.random.default_rng(seed)
    X = np.empty((n, dim), dtype=dtype)
    for a in range(0, n, 16384):
        block = rng.standard_normal((min(16384, n - a), dim), dtype=np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        X[a : a + len(block)] = block
    weights = np.log1p(rng.gamma(2.0, 1.0, size=n))
    return X, weights


def peer_select(X: np.ndarray, weights: np.ndarray, budget: int) -> list[int]:
    """The usual weighted k-center greedy loop over sklearn pairwise distances."""
    selected = [int(np.argmax(weights))]
    dmin = pairwise_distances(X, X[[selected[0]]]).ravel()
    while len(selected) < budget:
        score = weights * dmin
        score[selected] = -np.inf
        j = int(np.argmax(score))
        selected.append(j)
        dmin = np.minimum(dmin, pairwise_distances(X, X[[j]]).ravel())
    return selected


@contextmanager
def rss_peak() -> Iterator[dict]:
    """Sample RSS while the block runs; yields a dict filled with the peak increase in bytes."""
    proc = psutil.Process()
    base = proc.memory_info().rss
    stats = {"peak": base}
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.005):
            stats["peak"] = max(stats["peak"], proc.memory_info().rss)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield stats
    finally:
        stop.set()
        thread.join()
        stats["peak"] = max(stats["peak"], proc.memory_info().rss)
        stats["increase"] = stats["peak"] - base


def timed(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[float, Any, int]:
    """Wall time, result and peak RSS increase of one call."""
    with rss_peak() as mem:
        start = time.perf_counter()
        out = fn(*args, **kwargs)
        seconds = time.perf_counter() - start
    return seconds, out, mem["increase"]


def matvec_floor(X: np.ndarray, reps: int) -> float:
    """Best time of one float32 BLAS product ``X @ v``."""
    v = np.ascontiguousarray(X[0])
    out = np.empty(len(X), dtype=np.float32)
    best = np.inf
    for _ in range(reps):
        start = time.perf_counter()
        np.matmul(X, v, out=out)
        best = min(best, time.perf_counter() - start)
    return best


def matvec_loop(X: np.ndarray, budget: int) -> float:
    """Time of ``budget`` consecutive float32 products ``X @ v_i`` (new v each time)."""
    out = np.empty(len(X), dtype=np.float32)
    start = time.perf_counter()
    for i in range(budget):
        np.matmul(X, np.ascontiguousarray(X[i]), out=out)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--dim", type=int, default=1152)
    parser.add_argument("--budget", type=int, default=500)
    parser.add_argument("--dtype", choices=("float32", "float16"), default="float32")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backends", default="numpy,faiss,torch")
    parser.add_argument("--peer-budget", type=int, default=50, help="peer picks to time (0 = skip the peer)")
    parser.add_argument("--floor-reps", type=int, default=7)
    args = parser.parse_args()

    backends = args.backends.split(",")
    for name in backends:  # imports are one-off costs: keep them out of times and memory
        if name != "numpy":
            __import__(name)
    X, weights = make_data(args.n, args.dim, args.dtype, args.seed)
    matrix_bytes = X.nbytes
    print(f"matrix: {args.n:,} x {args.dim} {args.dtype} = {matrix_bytes / 2**30:.2f} GiB, budget {args.budget}")

    results: dict[str, np.ndarray] = {}
    times: dict[str, float] = {}
    floor_samples: list[float] = []  # float32: sampled before every run too, against load drift
    for name in backends:
        if args.dtype == "float32":
            floor_samples.append(matvec_floor(X, args.floor_reps))
        seconds, res, extra = timed(run_coreset, X, weights, args.budget, backend=name)
        results[name], times[name] = res.indices, seconds
        print(
            f"{name:>6}: {seconds:8.2f} s  ({seconds / args.budget * 1e3:6.1f} ms/pick)  peak RSS +"
            f"{extra / 2**20:7.1f} MiB = {(matrix_bytes + extra) / matrix_bytes:.3f}x matrix"
        )
    first = next(iter(results.values()))
    identical = all(np.array_equal(first, r) for r in results.values())
    print(f"identical indices on {', '.join(results)}: {identical}")

    peer_time = None
    if args.peer_budget > 0:
        picks = min(args.peer_budget, args.budget)
        seconds, peer_idx, extra = timed(peer_select, X, weights, picks)
        peer_time = seconds * args.budget / picks
        note = "" if picks == args.budget else f" (timed on {picks} picks, extrapolated x{args.budget / picks:g})"
        agree = int(np.sum(np.asarray(peer_idx) == first[:picks]))
        print(
            f"  peer: {peer_time:8.2f} s{note}  peak RSS +{extra / 2**20:7.1f} MiB = "
            f"{(matrix_bytes + extra) / matrix_bytes:.3f}x matrix; same picks as ours: {agree}/{picks}"
        )
    rss_max = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20

    if args.dtype == "float16":  # numpy has no float16 BLAS: time a float32 matrix of the same shape
        del X
        X, _ = make_data(args.n, args.dim, "float32", args.seed)
    floor_samples.append(matvec_floor(X, args.floor_reps))
    floor_one = min(floor_samples)
    scale = 0.5 if args.dtype == "float16" else 1.0
    floor = args.budget * floor_one * scale
    loop = matvec_loop(X, args.budget) * scale
    print(
        f" floor: {floor:8.2f} s  (budget x best float32 X @ v = {floor_one * 1e3:.1f} ms"
        f"{' x 0.5 bytes ratio' if scale != 1 else ''}); process peak RSS before the floor probe {rss_max:.2f} GiB"
    )
    print(f"  loop: {loop:8.2f} s  (budget consecutive X @ v: the floor under this run's load)")
    for name, seconds in times.items():
        speedup = f"{peer_time / seconds:6.1f}x faster than peer" if peer_time else "peer skipped"
        print(f"{name:>6}: {speedup}, {seconds / floor:5.2f}x floor, {seconds / loop:5.2f}x loop")


if __name__ == "__main__":
    main()
