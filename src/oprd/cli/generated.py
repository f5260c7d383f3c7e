"""Command-line options generated from a config dataclass, so flags, help and defaults cannot drift.

Every field becomes ``--field-name`` (``--x/--no-x`` for booleans) with the field's ``help`` metadata
and, as the shown default, the field's default. The option's own default is None (not given), so a
value from a ``--config`` YAML file applies unless the flag is given. Lists of strings repeat the flag
(``--logging a --logging b``), lists of numbers take ``1,2``, mappings repeat ``--flag KEY=VALUE``, and
any other union takes one string. Values are then converted and checked by the config's typed rules
(``oprd.typed_config``, through :func:`oprd.cli.options.resolve_config`), like YAML values.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Optional

import typer

from oprd.typed_config import field_help, field_types


@dataclass(frozen=True)
class Custom:
    """A field spelled or read its own way: ``flag`` replaces ``--field-name``; ``parse`` turns the given
    value (one string, or the list of strings of a mapping's repeated flag) into the config value."""

    flag: str | None = None
    parse: Callable[[Any], Any] | None = None


NO_CUSTOM = Custom()


def flag_of(name: str, custom: Mapping[str, Custom]) -> str:
    """The command-line spelling of config field ``name``."""
    return custom.get(name, NO_CUSTOM).flag or "--" + name.replace("_", "-")


def config_parameters(cls: type, *, skip: tuple[str, ...] = (),
                      custom: Mapping[str, Custom] | None = None) -> list[inspect.Parameter]:
    """One keyword parameter per field of ``cls`` (except ``skip``), annotated for Typer, default None."""
    custom = custom or {}
    hints = field_types(cls)
    parameters = []
    for item in dataclasses.fields(cls):
        if item.name in skip:
            continue
        flag, kind = flag_of(item.name, custom), _kind(hints[item.name])
        parse = custom.get(item.name, NO_CUSTOM).parse
        flag_type = _FLAG_TYPES.get(kind) or _base(hints[item.name])
        if parse is not None and kind != "pairs":
            flag_type = str
        declaration = f"{flag}/--no-{flag[2:]}" if kind == "bool" else flag
        option = typer.Option(declaration, help=field_help(item), show_default=_shown_default(item, flag))
        parameters.append(inspect.Parameter(item.name, inspect.Parameter.KEYWORD_ONLY, default=None,
                                            annotation=Annotated[Optional[flag_type], option]))
    return parameters


def config_values(cls: type, options: Mapping[str, Any], *,
                  custom: Mapping[str, Custom] | None = None) -> dict[str, Any]:
    """The fields of ``cls`` among the parsed ``options``, as config values; None means not given."""
    custom = custom or {}
    values: dict[str, Any] = {}
    for name, hint in field_types(cls).items():
        if name not in options:
            continue
        value = options[name]
        if value is None or (isinstance(value, (list, tuple)) and not value):
            values[name] = None
            continue
        parse, kind = custom.get(name, NO_CUSTOM).parse, _kind(hint)
        if parse is not None:
            value = parse(value)
        elif kind == "numbers":
            value = [part.strip() for part in value.split(",")]
        elif kind == "pairs":
            from oprd.rlvr.methods import parse_option_flags

            value = parse_option_flags(value, flag=flag_of(name, custom), example="key=value")
        elif kind == "strings":
            value = list(value)
        values[name] = value
    return values


def command(run: Callable[[dict[str, Any]], None], parameters: list[inspect.Parameter],
            doc: str) -> Callable[..., None]:
    """A Typer command function with the signature ``parameters`` that hands its options to ``run``."""

    def generated(**options: Any) -> None:
        run(options)

    generated.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    generated.__doc__ = doc
    return generated


def option(name: str, annotation: Any, default: Any = inspect.Parameter.empty) -> inspect.Parameter:
    """A hand-written keyword parameter (an option that is not a config field), e.g. ``--quiet``."""
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


_FLAG_TYPES = {"bool": bool, "strings": list[str], "numbers": str, "pairs": list[str], "text": str}


def _kind(hint: Any) -> str:
    """How a field is given on the command line: bool, scalar, strings, numbers, pairs or text."""
    members = _members(hint)
    lists = [m for m in members if typing.get_origin(m) in (list, tuple) or m in (list, tuple)]
    if len(members) == 1:
        base = members[0]
        if base is bool:
            return "bool"
        if base in (int, float, str):
            return "scalar"
        if typing.get_origin(base) is dict or base is dict:
            return "pairs"
    if lists and str not in members:
        inner = typing.get_args(lists[0])
        if inner and inner[0] is str and len(members) == 1:
            return "strings"
        if inner and inner[0] in (int, float):
            return "numbers"
    return "text"


def _members(hint: Any) -> list[Any]:
    """The non-None members of a union (``int | None`` -> [int]), or ``[hint]``."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return [member for member in typing.get_args(hint) if member is not type(None)]
    return [hint]


def _base(hint: Any) -> Any:
    """The one non-None member of ``hint`` (a scalar kind)."""
    return _members(hint)[0]


def _shown_default(item: dataclasses.Field, flag: str) -> str | bool:
    """The field's default as ``--help`` shows it; False (nothing shown) for None and empty values."""
    if item.default is not dataclasses.MISSING:
        value = item.default
    elif item.default_factory is not dataclasses.MISSING:
        value = item.default_factory()
    else:
        return False
    if isinstance(value, bool):
        return flag[2:] if value else f"no-{flag[2:]}"
    if value is None or value in ([], {}, ()):
        return False
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return str(value).replace("\n", "\\n")
