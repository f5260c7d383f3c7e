"""PivotTrace from a pool to a written triage dir, in the order the method runs.

1. Check every option, then that every prompt fits the model's context.
2. Score each row's uncertainty from its own rollouts (:mod:`.scores`; model work cached by
   :class:`oprd.features.model_side.ModelSide`).
3. Pick probes spread over the ranking and find their gold (:mod:`.probes`); if some have none,
   write them for labeling and stop.
4. Roll out each probe G times, verify, fit the routing on their pass rates (:mod:`.triage`).
5. Write the outputs (:mod:`.outputs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from oprd.errors import OprdInputError
from oprd.selectors.pivottrace.config import PivotTraceConfig
from oprd.selectors.pivottrace.outputs import write_outputs
from oprd.selectors.pivottrace.probes import ProbeRequest, probe_answers, probe_gold, request_labels, verify_probes
from oprd.selectors.pivottrace.scores import uncertainty_scores
from oprd.selectors.pivottrace.triage import PivotTrace


@dataclass
class Triage:
    """A finished triage: the fitted selector and the per-probe evidence it was calibrated on."""

    selector: PivotTrace
    uncertainty: np.ndarray
    probe_answers: list[list[str | None]]
    probe_gold: list[str]
    majority_correct: np.ndarray
    out_dir: Path | None


def run_pivottrace(pool, config: PivotTraceConfig, *, out_dir: Path | str | None = None,
                   probe_labels: Path | str | None = None, progress: bool = True) -> Triage | ProbeRequest:
    """Triage ``pool``. Returns a :class:`ProbeRequest` (and writes ``probes_to_label.jsonl`` to
    ``out_dir``) when some probes have no gold answer and no labels file supplies one."""
    from oprd.data import invalidate_output
    from oprd.models.context import pool_prompt_ids
    from oprd.models.loading import resolve_model_path

    config.validate(pool.n)
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        invalidate_output(out)
    side = config.model_side(pool, progress=progress)
    pool_prompt_ids(pool.prompts, pool.ids, side.tokenizer(), resolve_model_path(config.model), template=config.template,
                    max_new_tokens=config.max_new_tokens, source=str(pool.path or "pool"),
                    trust_remote_code=config.trust_remote_code, system_prompt=config.system_prompt,
                    chat_template_kwargs=config.chat_template_kwargs)  # every prompt fits the context, before any rollout
    uncertainty = uncertainty_scores(side, config)
    selector = config.selector()
    probes = [int(i) for i in selector.select_probes(uncertainty)]
    gold, from_labels, missing = probe_gold(pool, probes, Path(probe_labels) if probe_labels is not None else None)
    if missing:
        if out is None:
            raise OprdInputError(f"{len(missing)} probes have no gold answer; pass out_dir to write them for labeling")
        return request_labels(out, pool, missing, uncertainty)
    answers = probe_answers(side, config, probes)
    rates, correct = verify_probes(answers, [gold[i] for i in probes])
    selector.fit(uncertainty, rates, correct)
    triage = Triage(selector, uncertainty, answers, [gold[i] for i in probes], correct, out)
    if out is not None:
        write_outputs(out, pool, config, triage, labeled={i: gold[i] for i in from_labels})
    return triage
