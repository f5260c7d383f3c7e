"""PivotTrace: triage an unlabeled pool into annotate / weak / discard (docs/methods/pivottrace.md).

Uncertainty comes from the model's own rollouts: the density of attention pivots (steps whose
long-range attention jumps above their recent past) or a baseline score. Annotated probes spread
over the uncertainty ranking calibrate where to cut. The story, module by module:

- :mod:`.run`: the run from a pool to a written triage dir, step by step.
- :mod:`.config`: every knob, checked before any model runs.
- :mod:`.scores`: one uncertainty per row, from rollouts, attention signals and token scores read by
  :mod:`oprd.features.model_side` (the model side and its cache live in ``oprd.features``).
- :mod:`.pivots`: steps and pivots of one trace (numbers in, numbers out).
- :mod:`.probes`: probe gold, the labels round trip, probe pass rates.
- :mod:`.triage`: the routing selector (uncertainty and pass rates in, buckets out).
- :mod:`.outputs` and :mod:`.plot`: the files of a finished triage.
"""

from oprd.selectors.pivottrace.config import PivotTraceConfig
from oprd.selectors.pivottrace.probes import PROBES_TO_LABEL, ProbeRequest
from oprd.selectors.pivottrace.run import Triage, run_pivottrace
from oprd.selectors.pivottrace.triage import PivotTrace

__all__ = ["PROBES_TO_LABEL", "PivotTrace", "PivotTraceConfig", "ProbeRequest", "Triage", "run_pivottrace"]
