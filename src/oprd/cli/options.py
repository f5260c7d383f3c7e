"""Config files and flags: defaults <- YAML file <- explicit flags, unknown keys are errors."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar

from oprd.errors import OprdInputError

T = TypeVar("T")

#: Options of the commands that are not fields of a config dataclass, so never YAML keys (those a
#: config does declare, such as GRPOConfig's ``out`` and ``prompt_key``, are keys there).
COMMAND_LINE_ONLY = ("pool", "out", "prompt_key", "answer_key", "id_key", "quiet", "json", "overwrite",
                     "config", "probe_labels", "split", "pool_config")


def load_yaml(path: Path | str | None) -> dict[str, Any]:
    """Read a YAML mapping (``--config``); dashes in keys are accepted as underscores."""
    if path is None:
        return {}
    import yaml

    from oprd.data.paths import require_file

    file = require_file(Path(path), "config file", "pass an existing YAML file to --config")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8-sig"))
    except yaml.YAMLError as error:
        raise OprdInputError(f"config file {file} is not valid YAML ({str(error).splitlines()[0]}); fix the file") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise OprdInputError(f"config file {file} must hold a mapping of option names to values, found {type(data).__name__}")
    return {str(key).replace("-", "_"): value for key, value in data.items()}


def resolve_config(cls: type[T], config_path: Path | str | None, flags: dict[str, Any]) -> T:
    """Build ``cls`` from its defaults, then the YAML file, then flags that were given (not None).

    Every value is converted to the type the dataclass declares for its key (``oprd.typed_config``):
    one rule set for YAML and flags; a value that does not fit is one error line naming the key.
    """
    from oprd.typed_config import coerce_fields

    known = {f.name for f in fields(cls)}
    from_file = load_yaml(config_path)
    unknown = sorted(set(from_file) - known)
    flag_only = [key for key in unknown if key in COMMAND_LINE_ONLY]
    if flag_only:
        raise OprdInputError(
            f"{', '.join(flag_only)} in {config_path}: command-line options only, not config keys; pass "
            f"{', '.join('--' + key.replace('_', '-') for key in flag_only)} on the command line instead"
        )
    if unknown:
        raise OprdInputError(
            f"unknown key(s) {', '.join(unknown)} in {config_path}; known keys: {', '.join(sorted(known))}"
        )
    from_file = coerce_fields(cls, from_file, where=lambda key: f"key {key!r} in {config_path}")
    given = coerce_fields(cls, {key: value for key, value in flags.items() if value is not None},
                          where=lambda key: f"--{key.replace('_', '-')}")
    return cls(**{**from_file, **given})
