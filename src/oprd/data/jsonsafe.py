"""Turn Python/numpy values into strict JSON values, so outputs load in any JSON reader.

Non-finite floats (NaN, inf) become ``null``: strict JSON has no spelling for them, and a score that
could not be computed is best read back as "missing".
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping
from typing import Any


def to_jsonable(obj: Any) -> Any:
    """A copy of ``obj`` made only of dict/list/str/int/float/bool/None.

    numpy scalars and arrays become Python numbers and lists, tuples and sets become lists, paths and
    anything else unknown become their ``str``; dates become ISO strings, dataclasses dicts.
    """
    if obj is None or isinstance(obj, (str, bool, int)):
        return obj
    if isinstance(obj, float):
        return float(obj) if math.isfinite(obj) else None
    if type(obj).__module__ == "numpy" and hasattr(obj, "tolist"):
        return to_jsonable(obj.tolist())
    if isinstance(obj, Mapping):
        return {str(key): to_jsonable(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_jsonable(value) for value in obj]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(dataclasses.asdict(obj))
    if isinstance(obj, (dt.date, dt.time)):
        return obj.isoformat()
    return str(obj)
