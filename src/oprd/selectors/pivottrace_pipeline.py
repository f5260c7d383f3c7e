"""PivotTrace from a pool to a written triage dir: rollouts, uncertainty scores, probes, routing, outputs.

Model-side results (rollouts, attention signals, token scores, probe answers) are cached under
``<cache>/pivottrace`` by a key of the pool's sha256, the model and every setting they depend on, so
the stop-for-labels / continue round trip and re-runs with other cuts never regenerate anything.
"""

from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from oprd.errors import OprdInputError, param_error
from oprd.features.cache import cache_key, model_identity
from oprd.generation.base import Rollout, SamplingConfig
from oprd.models.builtin import DEFAULT_MODEL
from oprd.models.chat import DEFAULT_REASONING_TEMPLATE
from oprd.selectors.pivots import (
    REFLECTION_MARKERS,
    PivotConfig,
    average_over_trajectories,
    lexical_score,
    segment_steps,
    trace_pivots,
)
from oprd.selectors.pivottrace import BUCKETS, PivotTrace

SCORES = ("density", "count", "lexical", "consistency", "token-entropy", "self-certainty")
PROBES_TO_LABEL = "probes_to_label.jsonl"
_PROBE_SEED_OFFSET = 7_777


@dataclass
class PivotTraceConfig:
    """Every knob of a PivotTrace run (defaults: specs/pivottrace.md); the resolved copy goes in the manifest.

    Trajectories: ``k`` per prompt at ``temperature`` (``consistency`` draws ``consistency_samples``
    instead). Attention signal: ``attention_layers`` (0-based blocks; None = every 2nd of the upper
    half), ``window``, ``n_sink``, ``chunk``, ``variant``. Pivots: ``min_step_tokens``, ``head_tokens``,
    ``pivot_window``, ``kappa``; the lexical baseline counts ``reflection_markers``. Probes: ``probes``
    items, ``probe_samples`` rollouts each at ``probe_temperature``, smoothed over ``probe_window``.
    Routing: see :class:`PivotTrace`.
    """

    model: str = DEFAULT_MODEL
    score: str = "density"
    k: int = 1
    temperature: float = 0.6
    max_new_tokens: int = 512
    batch_size: int = 8
    seed: int = 0
    template: str = DEFAULT_REASONING_TEMPLATE
    dtype: str = "float32"
    trust_remote_code: bool = False
    attention_layers: list[int] | None = None
    window: int = 128
    n_sink: int = 4
    chunk: int = 256
    variant: str = "long_range"
    attention_batch_size: int = 1
    min_step_tokens: int = 8
    head_tokens: int = 16
    pivot_window: int = 8
    kappa: float = 2.0
    reflection_markers: list[str] = field(default_factory=lambda: list(REFLECTION_MARKERS))
    consistency_samples: int = 8
    probes: int | None = None
    probe_samples: int = 8
    probe_temperature: float = 1.0
    probe_window: int = 9
    calib: str = "threshold"
    tau_lo: float = 0.5
    tau_hi: float = 0.9
    fractions: list[float] = field(default_factory=lambda: [0.293, 0.421])
    pseudo_label_threshold: float = 0.7
    max_annotate_frac: float | None = None
    max_discard_frac: float | None = None
    cache_dir: str | None = None

    def selector(self) -> PivotTrace:
        return PivotTrace(self.probes, calib=self.calib, tau_lo=self.tau_lo, tau_hi=self.tau_hi,
                          fractions=tuple(self.fractions), pseudo_label_threshold=self.pseudo_label_threshold,
                          probe_window=self.probe_window, max_annotate_frac=self.max_annotate_frac,
                          max_discard_frac=self.max_discard_frac, seed=self.seed)

    def pivots(self) -> PivotConfig:
        return PivotConfig(self.min_step_tokens, self.head_tokens, self.pivot_window, self.kappa).validate()

    def validate(self, n: int) -> "PivotTraceConfig":
        """Check the model-side settings and the routing ones (via the selector) before any model runs."""
        from oprd.typed_config import coerce_instance

        coerce_instance(self)  # every key as its field type declares (booleans, numbers, lists), in place
        if self.score not in SCORES:
            raise param_error("score", "PivotTrace", "one of " + ", ".join(map(repr, SCORES)), self.score)
        for name in ("k", "probe_samples", "consistency_samples", "max_new_tokens", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise param_error(name, "PivotTrace", "an int >= 1", value)
        if self.score == "consistency" and self.consistency_samples < 2:
            raise param_error("consistency_samples", "PivotTrace", "an int >= 2 for score consistency",
                              self.consistency_samples)
        from oprd.features.attention_signal import check_options

        check_options(self.window, self.n_sink, self.chunk, self.variant, self.attention_batch_size)
        for temperature in (self.temperature, self.probe_temperature):
            SamplingConfig(max_new_tokens=self.max_new_tokens, temperature=temperature, n=2).validate()
        self.pivots()
        self.selector().check_params(n)
        return self


@dataclass
class ProbeRequest:
    """The run stopped: these probes need gold answers, written to ``path`` for annotators."""

    path: Path
    ids: list[str]


@dataclass
class Triage:
    """A finished triage: the fitted selector and the per-probe evidence it was calibrated on."""

    selector: PivotTrace
    uncertainty: np.ndarray
    probe_answers: list[list[str | None]]
    probe_gold: list[str]
    majority_correct: np.ndarray
    out_dir: Path | None


class ArrayCache:
    """Named arrays plus JSON metadata in one safetensors file per (kind, settings) key; atomic writes."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, kind: str, description: dict) -> Path:
        return self.root / f"{kind}-{cache_key(description)}.safetensors"

    def load(self, kind: str, description: dict) -> tuple[dict[str, np.ndarray], Any] | None:
        from safetensors import safe_open
        from safetensors.numpy import load_file

        path = self.path(kind, description)
        if not path.is_file():
            return None
        with safe_open(str(path), framework="numpy") as handle:
            meta = json.loads(handle.metadata()["meta"])
        return load_file(str(path)), meta

    def save(self, kind: str, description: dict, arrays: dict[str, np.ndarray], meta: Any) -> None:
        from safetensors.numpy import save

        from oprd.data.atomic import atomic_write_bytes

        blob = save(arrays, metadata={"meta": json.dumps(meta), "description": json.dumps(description, default=str)})
        atomic_write_bytes(self.path(kind, description), blob)


class ModelSide:
    """Rollouts, signals and scores of one pool under one config, each computed once and cached."""

    def __init__(self, pool, config: PivotTraceConfig, *, progress: bool = True) -> None:
        from oprd.models.builtin import cache_root
        from oprd.models.loading import resolve_model_path

        self.pool = pool
        self.config = config
        self.progress = progress
        root = Path(config.cache_dir) if config.cache_dir else cache_root() / "pivottrace"
        self.cache = ArrayCache(root)
        self.base = {"pool_sha256": pool.sha256, "n_rows": pool.n, "prompts": cache_key({"prompts": pool.prompts}),
                     "model": model_identity(config.model, resolve_model_path(config.model)),
                     "template": config.template, "dtype": config.dtype, "max_new_tokens": config.max_new_tokens,
                     "batch_size": config.batch_size}
        self._loaded = None
        self._tokenizer = None
        self._has_newline: dict[int, bool] = {}

    def loaded(self):
        """``(model, tokenizer)``, loaded on first need (a fully cached run never loads it). Pivot
        scores need rebuildable attention: an unsupported model is refused here, before any generation."""
        if self._loaded is None:
            from oprd.features.attention_signal import check_reconstructible
            from oprd.models.loading import load_model

            self._loaded = load_model(self.config.model, dtype=self.config.dtype,
                                      trust_remote_code=self.config.trust_remote_code)
            if self.config.score in ("density", "count"):
                check_reconstructible(self._loaded[0])
        return self._loaded

    def tokenizer(self):
        """The tokenizer, loaded alone when cached results make the model unnecessary."""
        if self._loaded is not None:
            return self._loaded[1]
        if self._tokenizer is None:
            from oprd.models.loading import load_tokenizer

            self._tokenizer = load_tokenizer(self.config.model, trust_remote_code=self.config.trust_remote_code)
        return self._tokenizer

    def line_breaks(self, ids: list[int]) -> list[bool]:
        """Whether each token's text holds a line break (memoised per token id)."""
        tokenizer = self.tokenizer()
        for token in set(ids) - self._has_newline.keys():
            self._has_newline[token] = "\n" in tokenizer.decode([token])
        return [self._has_newline[token] for token in ids]

    def rollouts(self, indices: Sequence[int], n: int, temperature: float, seed: int, label: str) -> list[Rollout]:
        """``n`` sampled rollouts per pool row in ``indices`` (prompt-major), cached."""
        from oprd.models.chat import build_prompt_ids

        description = {**self.base, "ids": cache_key({"ids": [self.pool.ids[i] for i in indices]}), "n": n,
                       "temperature": temperature, "seed": seed}
        tokenizer = self.tokenizer()
        prompts = [build_prompt_ids(tokenizer, self.pool.prompts[i], template=self.config.template) for i in indices]
        cached = self.cache.load("rollouts", description)
        if cached is not None:
            return _rollouts_from_arrays(*cached, prompts, n)
        from oprd.generation import HFGenerator
        from oprd.progress import progress_bar

        sampling = SamplingConfig(max_new_tokens=self.config.max_new_tokens, temperature=temperature, n=n, seed=seed,
                                  batch_size=self.config.batch_size)
        with progress_bar(label, len(prompts) * n, enabled=self.progress, unit="seq") as advance:
            rollouts = HFGenerator(*self.loaded()).generate(prompts, sampling, progress=advance)
        self.cache.save("rollouts", description, *_rollouts_to_arrays(rollouts))
        return rollouts

    def trajectories(self, n: int | None = None) -> list[Rollout]:
        """The K (or ``n``) trajectories per prompt at the trajectory temperature."""
        c = self.config
        return self.rollouts(range(self.pool.n), n or c.k, c.temperature, c.seed, "trajectories")

    def signals(self, rollouts: list[Rollout]) -> list[np.ndarray]:
        """Per-token long-range attention signal of each trajectory, cached."""
        from oprd.features.attention_signal import long_range_attention
        from oprd.progress import progress_bar

        c = self.config
        description = {**self.base, "rollouts": _rollouts_digest(rollouts), "layers": c.attention_layers,
                       "window": c.window, "n_sink": c.n_sink, "variant": c.variant}
        cached = self.cache.load("signals", description)
        if cached is not None:
            arrays = cached[0]
            return np.split(arrays["values"], arrays["offsets"][1:-1])
        with progress_bar("attention signal", len(rollouts), enabled=self.progress, unit="seq") as advance:
            values = long_range_attention(self.loaded()[0], rollouts, layers=c.attention_layers, window=c.window,
                                          n_sink=c.n_sink, chunk=c.chunk, variant=c.variant,
                                          batch_size=c.attention_batch_size, progress=advance)
        offsets = np.cumsum([0, *(len(v) for v in values)]).astype(np.int64)
        concatenated = np.concatenate(values) if values else np.zeros(0, np.float32)
        self.cache.save("signals", description, {"values": concatenated.astype(np.float32), "offsets": offsets}, {})
        return values

    def token_scores(self, rollouts: list[Rollout]) -> dict[str, np.ndarray]:
        """Mean next-token entropy and self-certainty of each trajectory, cached."""
        description = {**self.base, "rollouts": _rollouts_digest(rollouts)}
        cached = self.cache.load("token-scores", description)
        if cached is not None:
            return cached[0]
        from oprd.features.capture import CaptureConfig, capture_features

        model, tokenizer = self.loaded()
        n_layers = model.config.num_hidden_layers
        config = CaptureConfig(layers=[n_layers], positions=("last_prompt",), with_token_scores=True,
                               batch_size=self.config.batch_size)
        scores = capture_features(model, tokenizer, rollouts, config).scores
        arrays = {name: scores[name] for name in ("token_entropy", "self_certainty")}
        self.cache.save("token-scores", description, arrays, {})
        return arrays

    def probe_answers(self, indices: Sequence[int]) -> list[list[str | None]]:
        """Final answers of G rollouts per probe at the probe temperature."""
        from oprd.verify import extract_answer

        c = self.config
        rollouts = self.rollouts(indices, c.probe_samples, c.probe_temperature, c.seed + _PROBE_SEED_OFFSET,
                                 "probe rollouts")
        answers = [extract_answer(r.text) for r in rollouts]
        return [answers[i : i + c.probe_samples] for i in range(0, len(answers), c.probe_samples)]


def uncertainty_scores(side: ModelSide) -> np.ndarray:
    """One uncertainty per pool row (higher = more uncertain) for ``config.score``; trajectory scores
    are averaged over the K trajectories of a prompt."""
    c = side.config
    if c.score == "consistency":
        return answer_inconsistency(side.trajectories(c.consistency_samples), c.consistency_samples)
    per_prompt = average_over_trajectories(trace_scores(side, side.trajectories(), c.score), c.k)
    finite = np.isfinite(per_prompt)
    return np.where(finite, per_prompt, np.median(per_prompt[finite]) if finite.any() else 0.0)


def trace_scores(side: ModelSide, rollouts: list[Rollout], score: str) -> np.ndarray:
    """Uncertainty of each single trajectory (NaN where an empty response has no token score)."""
    c = side.config
    if score in ("token-entropy", "self-certainty"):
        values = side.token_scores(rollouts)
        chosen = values["token_entropy"] if score == "token-entropy" else -values["self_certainty"]
        return np.asarray(chosen, dtype=np.float64)
    tokenizer = side.tokenizer()
    breaks = [side.line_breaks(_content_ids(r)) for r in rollouts]
    if score == "lexical":
        return np.array([_lexical(tokenizer, _content_ids(r), flags, c.min_step_tokens, c.reflection_markers)
                         for r, flags in zip(rollouts, breaks)])
    if score not in ("density", "count"):
        raise param_error("score", "trace_scores", "one of 'density', 'count', 'lexical', 'token-entropy', "
                          "'self-certainty'", score)
    pivots = c.pivots()
    signals = side.signals(rollouts)
    return np.array([trace_pivots(s[: len(flags)], flags, pivots).score(score) for s, flags in zip(signals, breaks)])


def probe_gold(pool, probes: Sequence[int], labels_path: Path | None) -> tuple[dict[int, str], set[int], list[int]]:
    """Gold answers of the probes (labels file first, then the pool's answer column), the probes whose
    gold came from the labels file, and the probes still lacking one. Bad labels files raise naming
    the offending ids."""
    labels = _read_labels(labels_path, [pool.ids[i] for i in probes]) if labels_path is not None else {}
    gold: dict[int, str] = {}
    from_labels: set[int] = set()
    for i in probes:
        if pool.ids[i] in labels:
            gold[int(i)] = labels[pool.ids[i]]
            from_labels.add(int(i))
        elif pool.answers[i] is not None and pool.answers[i].strip():
            gold[int(i)] = pool.answers[i]
    missing = [int(i) for i in probes if int(i) not in gold]
    if labels_path is not None and missing:
        raise OprdInputError(
            f"probe labels file {labels_path} has no answer for {len(missing)} probe(s): "
            f"{_name_ids(pool.ids[i] for i in missing)}; add a row {{\"id\", \"answer\"}} for each"
        )
    return gold, from_labels, missing


def run_pivottrace(pool, config: PivotTraceConfig, *, out_dir: Path | str | None = None,
                   probe_labels: Path | str | None = None, progress: bool = True) -> Triage | ProbeRequest:
    """Triage ``pool``. Returns a :class:`ProbeRequest` (and writes ``probes_to_label.jsonl`` to
    ``out_dir``) when some probes have no gold answer and no labels file supplies one."""
    from oprd.data import invalidate_output

    config.validate(pool.n)
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        invalidate_output(out)
    side = ModelSide(pool, config, progress=progress)
    from oprd.models.context import pool_prompt_ids
    from oprd.models.loading import resolve_model_path

    pool_prompt_ids(pool.prompts, pool.ids, side.tokenizer(), resolve_model_path(config.model), template=config.template,
                    max_new_tokens=config.max_new_tokens, source=str(pool.path or "pool"),
                    trust_remote_code=config.trust_remote_code)  # every prompt fits the context, before any rollout
    uncertainty = uncertainty_scores(side)
    selector = config.selector()
    probes = [int(i) for i in selector.select_probes(uncertainty)]
    gold, from_labels, missing = probe_gold(pool, probes, Path(probe_labels) if probe_labels is not None else None)
    if missing:
        if out is None:
            raise OprdInputError(f"{len(missing)} probes have no gold answer; pass out_dir to write them for labeling")
        return _request_labels(out, pool, missing, uncertainty)
    answers = side.probe_answers(probes)
    rates, correct = _verify_probes(answers, [gold[i] for i in probes])
    selector.fit(uncertainty, rates, correct)
    triage = Triage(selector, uncertainty, answers, [gold[i] for i in probes], correct, out)
    if out is not None:
        _write_outputs(out, pool, config, triage, labeled={i: gold[i] for i in from_labels})
    return triage


def _verify_probes(answers: list[list[str | None]], golds: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Pass rate of each probe's samples and whether their majority vote is correct."""
    from oprd.verify import is_equivalent, majority_vote

    rates = np.array([np.mean([is_equivalent(a, g) for a in group]) for group, g in zip(answers, golds)])
    correct = np.array([float(is_equivalent(majority_vote(group), g)) for group, g in zip(answers, golds)])
    return rates, correct


def answer_inconsistency(rollouts: list[Rollout], n: int) -> np.ndarray:
    """1 - (largest equivalent-answer cluster / samples) per prompt; answerless samples agree with none."""
    from oprd.verify import cluster_answers, extract_answer

    answers = [extract_answer(r.text) for r in rollouts]
    values = []
    for start in range(0, len(answers), n):
        clusters = cluster_answers(answers[start : start + n])
        values.append(1.0 - (clusters[0].size if clusters else 0) / n)
    return np.asarray(values, dtype=np.float64)


def _content_ids(rollout: Rollout) -> list[int]:
    """Response tokens without the final EOS."""
    return rollout.response_ids[:-1] if rollout.finish_reason == "stop" else rollout.response_ids


def _lexical(tokenizer, ids: list[int], flags: list[bool], min_tokens: int, markers: Sequence[str]) -> float:
    """Reflection markers per step, on the same steps the pivot detector uses."""
    steps = segment_steps(flags, min_tokens)
    return lexical_score([tokenizer.decode(ids[a:b]) for a, b in steps], markers)


def _rollouts_digest(rollouts: list[Rollout]) -> str:
    return cache_key({"rollouts": [r.prompt_ids + [-1] + r.response_ids for r in rollouts]})


def _rollouts_to_arrays(rollouts: list[Rollout]) -> tuple[dict[str, np.ndarray], list]:
    offsets = np.cumsum([0, *(len(r.response_ids) for r in rollouts)]).astype(np.int64)
    ids = np.array([t for r in rollouts for t in r.response_ids], dtype=np.int64)
    stop = np.array([r.finish_reason == "stop" for r in rollouts], dtype=np.uint8)
    return {"response_ids": ids, "offsets": offsets, "stop": stop}, [r.text for r in rollouts]


def _rollouts_from_arrays(arrays: dict[str, np.ndarray], texts: list[str], prompts: list[list[int]],
                          n: int) -> list[Rollout]:
    responses = np.split(arrays["response_ids"], arrays["offsets"][1:-1])
    return [
        Rollout(j // n, j % n, list(prompts[j // n]), [int(t) for t in responses[j]], texts[j],
                "stop" if arrays["stop"][j] else "length")
        for j in range(len(texts))
    ]


def _read_labels(path: Path, probe_ids: list[str]) -> dict[str, str]:
    """``{id: answer}`` from a labels file; unknown ids, repeats and empty answers are errors."""
    from oprd.data.readers import read_rows

    if not path.is_file():
        raise OprdInputError(f"probe labels file {path} does not exist; pass the labeled {PROBES_TO_LABEL}")
    labels: dict[str, str] = {}
    empty, repeated = [], []
    for number, row in enumerate(read_rows(path).rows, start=1):
        if not isinstance(row, dict) or "id" not in row:
            raise OprdInputError(
                f"probe labels file {path}, row {number}: expected an object with \"id\" and \"answer\"; fix that row"
            )
        row_id, answer = str(row["id"]), row.get("answer")
        if row_id in labels:
            repeated.append(row_id)
        if answer is None or not str(answer).strip():
            empty.append(row_id)
        else:
            labels[row_id] = str(answer)
    unknown = sorted(set(labels) - set(probe_ids))
    checks = (
        ("ids that are not probes of this run", unknown,
         "remove them (the same pool, model and settings give the same probes)"),
        ("empty answers for", empty, "fill in each \"answer\""),
        ("repeated ids", repeated, "keep one row per id"),
    )
    for problem, ids, fix in checks:
        if ids:
            raise OprdInputError(f"probe labels file {path} has {problem}: {_name_ids(ids)}; {fix}")
    return labels


def _name_ids(ids, limit: int = 8) -> str:
    ids = list(ids)
    return ", ".join(ids[:limit]) + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def _request_labels(out: Path, pool, missing: list[int], uncertainty: np.ndarray) -> ProbeRequest:
    """Write the probes lacking gold for annotators; never overwrite a file that already holds labels
    for a different probe set."""
    from oprd.data import atomic_write_text
    from oprd.data.readers import read_rows

    path = out / PROBES_TO_LABEL
    ids = [pool.ids[i] for i in missing]
    if path.is_file():
        existing = [r for r in read_rows(path).rows if isinstance(r, dict)]
        if sorted(str(r.get("id")) for r in existing) == sorted(ids):
            return ProbeRequest(path, ids)
        if any(r.get("answer") not in (None, "") for r in existing):
            raise OprdInputError(
                f"{path} holds labels for a different probe set; move it away (or pass it with --probe-labels) "
                "before writing the new probes"
            )
    rows = [{"id": pool.ids[i], "prompt": pool.prompts[i], "answer": None, "uncertainty": float(uncertainty[i])}
            for i in missing]
    atomic_write_text(path, "".join(_json_line(row) for row in rows))
    return ProbeRequest(path, ids)


def _write_outputs(out: Path, pool, config: PivotTraceConfig, triage: Triage, labeled: dict[int, str]) -> None:
    """triage.jsonl, annotate.jsonl, weak.jsonl and calibration.png, then subset + manifest (last)."""
    from oprd.data import atomic_write_text, write_selection

    selector = triage.selector
    rank = np.empty(pool.n, dtype=np.int64)
    rank[selector.order_] = np.arange(pool.n)
    probe_rate = {int(i): float(r) for i, r in zip(selector.probes_, selector.probe_pass_rates_)}

    def info(i: int) -> dict[str, Any]:
        return {"rank": int(rank[i]), "index": int(i), "score": float(triage.uncertainty[i]),
                "bucket": str(selector.buckets_[i]), "probe": i in probe_rate, "pass_rate": probe_rate.get(i)}

    triage_lines = [_json_line({"id": pool.ids[i], "uncertainty": float(triage.uncertainty[i]),
                                **{k: v for k, v in info(int(i)).items() if k != "score"}}) for i in selector.order_]
    atomic_write_text(out / "triage.jsonl", "".join(triage_lines))
    for bucket in ("annotate", "weak"):
        members = [int(i) for i in selector.order_ if selector.buckets_[i] == bucket]
        rows = [{**_labeled_row(pool.rows[i], pool.answer_key, labeled.get(i)), "selection": info(i)} for i in members]
        atomic_write_text(out / f"{bucket}.jsonl", "".join(_json_line(row) for row in rows))
    plot_calibration(out / "calibration.png", selector,
                     title=f"PivotTrace ({config.score}, {config.calib}): {pool.n} items")
    kept = [int(i) for i in selector.order_ if selector.buckets_[i] != "discard"]
    evidence = zip(selector.probes_, selector.probe_pass_rates_, triage.majority_correct, triage.probe_gold)
    probes = [{"id": pool.ids[i], "index": int(i), "rank": int(rank[i]), "pass_rate": float(p),
               "majority_correct": bool(c), "gold": g, "gold_from": "labels" if int(i) in labeled else "pool"}
              for i, p, c, g in evidence]
    write_selection(
        out, pool, kept, triage.uncertainty[kept], method="pivottrace", budget=selector.cuts_["n_annotate"],
        seed=config.seed, config=asdict(config), model=config.model,
        row_extras=[{"bucket": str(selector.buckets_[i])} for i in kept],
        buckets={name: selector.cuts_[f"n_{name}"] for name in BUCKETS}, score=config.score, calib=config.calib,
        tau_lo=config.tau_lo, tau_hi=config.tau_hi, fractions=list(config.fractions), cuts=selector.cuts_,
        probes=probes, files={"triage": "triage.jsonl", "annotate": "annotate.jsonl", "weak": "weak.jsonl",
                              "plot": "calibration.png"},
    )


def _json_line(obj: Any) -> str:
    """One strict JSON line (numpy values become numbers, NaN becomes null)."""
    from oprd.data.jsonsafe import to_jsonable

    return json.dumps(to_jsonable(obj), ensure_ascii=False, allow_nan=False) + "\n"


def _labeled_row(row: dict, answer_key: str, answer: str | None) -> dict:
    """The pool row, with ``answer`` written at the (possibly dotted) answer key when a label file gave it."""
    if answer is None:
        return dict(row)
    row = copy.deepcopy(row)
    if answer_key in row or "." not in answer_key:
        row[answer_key] = answer
        return row
    *parents, last = answer_key.split(".")
    node = row
    for part in parents:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[last] = answer
    return row


def plot_calibration(path: Path, selector: PivotTrace, *, title: str) -> Path:
    """Probe pass rates along the ranking, their smoothed curve, the taus and the bucket cuts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = selector.n_samples_in_
    cuts = selector.cuts_
    fig, axis = plt.subplots(figsize=(8, 4.5))
    axis.axvspan(0, cuts["annotate_end"], color="#fdd0a2", alpha=0.6, label=f"annotate ({cuts['n_annotate']})")
    axis.axvspan(cuts["discard_start"], n, color="#d9d9d9", alpha=0.8, label=f"discard ({cuts['n_discard']})")
    if selector.probe_pass_rates_ is not None:
        axis.scatter(selector.probe_positions_, selector.probe_pass_rates_, s=14, c="#3182bd", label="probe pass rate")
    if selector.calibration_ is not None:
        axis.plot(np.arange(n), selector.calibration_, c="#08519c", lw=2, label="smoothed pass rate")
    if selector.accuracy_curve_ is not None:
        axis.plot(np.arange(n), selector.accuracy_curve_, c="#54278f", lw=1.5, ls="--",
                  label="smoothed majority accuracy")
    if selector.calib == "threshold":
        axis.axhline(selector.tau_lo, c="#e6550d", ls=":", lw=1, label=f"tau_lo = {selector.tau_lo}")
    if selector.calib == "pseudo_label":
        axis.axhline(selector.pseudo_label_threshold, c="#54278f", ls=":", lw=1,
                     label=f"majority accuracy threshold = {selector.pseudo_label_threshold}")
    if selector.calib != "fractions":
        axis.axhline(selector.tau_hi, c="#636363", ls=":", lw=1, label=f"tau_hi = {selector.tau_hi}")
    axis.set(xlim=(0, n), ylim=(-0.03, 1.03), xlabel="rank by uncertainty (0 = most uncertain)",
             ylabel="pass rate", title=title)
    axis.legend(loc="best", fontsize=8)
    fig.tight_layout()
    from oprd.data.atomic import atomic_savefig

    atomic_savefig(path, fig, dpi=110)
    plt.close(fig)
    return path
