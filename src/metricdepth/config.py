"""Step configs as dataclasses whose field docs become the command-line help (STYLE.md 2).

    @dataclass
    class StereoConfig:
        pupillary_distance: float = option(63.0, "distance between the eyes, millimetres")

    parser = argparse.ArgumentParser(...)
    add_config_arguments(parser, StereoConfig)
    config = config_from_args(StereoConfig, parser.parse_args())

Defaults live only in the dataclass; every flag shows its default, and a flag's name
is the field's name (the older toolbox's names, snake_case).
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

C = TypeVar("C")


def option(default: Any, help: str, *, choices: typing.Sequence[Any] | None = None,
           required: bool = False, flag: str | None = None) -> Any:
    """A config field with its command-line help. `flag` overrides the flag name."""
    metadata = {"help": help, "choices": choices, "required": required, "flag": flag}
    if isinstance(default, (list, dict, set)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def _base_type(annotation: Any) -> tuple[type, bool]:
    """(the scalar type, whether None is allowed) of a field annotation."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return rest[0], True
    return annotation, False


def add_config_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup,
                         cls: type, skip: typing.Collection[str] = ()) -> None:
    """Add one flag per field of dataclass `cls` (except `skip`)."""
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        if field.name in skip or "help" not in field.metadata:
            continue
        meta = field.metadata
        flag = meta.get("flag") or f"--{field.name}"
        kind, _ = _base_type(hints[field.name])
        default = field.default if field.default is not dataclasses.MISSING else field.default_factory()
        kwargs: dict[str, Any] = {"help": meta["help"], "dest": field.name}
        if kind is bool:
            kwargs.update(action=argparse.BooleanOptionalAction if default else "store_true",
                          default=default)
        else:
            kwargs.update(type=kind if kind in (int, float, str, Path) else str, default=default)
            if meta.get("choices"):
                kwargs["choices"] = meta["choices"]
            if meta.get("required"):
                kwargs.update(required=True, default=None)
        parser.add_argument(flag, **kwargs)


def config_from_args(cls: type[C], args: argparse.Namespace, **overrides: Any) -> C:
    """Build `cls` from parsed arguments (fields missing from `args` keep defaults)."""
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)}
    values.update(overrides)
    return cls(**values)
