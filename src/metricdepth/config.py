"""Step configs as dataclasses whose field docs become the command-line help (docs/contributing.md).

    @dataclass
    class StereoConfig:
        pupillary_distance: float = option(63.0, "distance between the eyes, millimetres",
                                           gt=0, le=1000)

    parser = ConfigParser(description=...)
    add_config_arguments(parser, StereoConfig)
    config = config_from_args(StereoConfig, parser.parse_args())

Defaults, ranges and older spellings (aliases) live only in the dataclass. Every value is
checked where it enters, with one message naming the flag, the value and the allowed
range: on the command line by the parser (`ConfigParser` prints one line and exits 2),
from a config file or Python by `validate_config`. A flag's name is the field's name (the
older toolbox's names, snake_case).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import math
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from .errors import InputError

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Bounds:
    """Allowed range of a numeric option; any bound may be absent. Values must be finite."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None

    def describe(self) -> str:
        """The range in words: 'a finite number', '> 0', 'in [0, 1]', 'in (1, 179)'."""
        low = f"[{self.ge:g}" if self.ge is not None else f"({self.gt:g}" if self.gt is not None else None
        high = f"{self.le:g}]" if self.le is not None else f"{self.lt:g})" if self.lt is not None else None
        if low and high:
            return f"in {low}, {high}"
        if low:
            return (">= " if low[0] == "[" else "> ") + low[1:]
        if high:
            return ("<= " if high[-1] == "]" else "< ") + high[:-1]
        return "a finite number"

    def contains(self, value: float) -> bool:
        return (
            math.isfinite(value)
            and (self.ge is None or value >= self.ge)
            and (self.gt is None or value > self.gt)
            and (self.le is None or value <= self.le)
            and (self.lt is None or value < self.lt)
        )


def option(
    default: Any,
    help: str,
    *,
    choices: Sequence[Any] | None = None,
    required: bool = False,
    flag: str | None = None,
    aliases: Sequence[str] = (),
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    none_value: Any = None,
    inert: str | None = None,
) -> Any:
    """A config field with its command-line help.

    flag: the flag's name when not ``--<field>``; aliases: more spellings of the same flag
    (the older toolbox's, misspellings included), shown once beside it in --help.
    ge/gt/le/lt: the range of a numeric value (every int or float must also be finite).
    none_value: a value that means "not set" (the older toolbox's -1 for "all frames"),
    read as None. inert: the flag is accepted for the older toolbox's command lines but
    has no effect here; giving it logs one warning with this reason.
    """
    metadata = {
        "help": help,
        "choices": choices,
        "required": required,
        "flag": flag,
        "aliases": tuple(aliases),
        "bounds": Bounds(ge, gt, le, lt),
        "none_value": none_value,
        "inert": inert,
    }
    if isinstance(default, (list, dict, set)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def _base_type(annotation: Any) -> tuple[Any, bool]:
    """(the type without None, whether None is allowed) of a field annotation."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return rest[0], True
    return annotation, False


def _element_type(kind: Any) -> Any:
    """The element type of list[X], else `kind` itself."""
    return typing.get_args(kind)[0] if typing.get_origin(kind) is list else kind


def _flag_of(field: dataclasses.Field) -> str:
    return field.metadata.get("flag") or f"--{field.name}"


def _default_of(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return None


def check_value(field: dataclasses.Field, kind: Any, value: Any, where: str) -> Any:
    """`value` for `field` converted to `kind` (int, float, str, Path, bool) and checked
    against its bounds and choices; raises InputError naming `where` (a flag or a
    config-file entry), the value and what is allowed."""
    meta = field.metadata
    unset = meta.get("none_value")
    if value is None or (unset is not None and value == unset):
        return None
    if kind is bool:
        if not isinstance(value, bool):
            raise InputError(where, f"must be true or false, not {value!r}")
        return value
    if kind in (int, float):
        try:
            if isinstance(value, bool):
                raise ValueError
            number = kind(value) if kind is float else _to_int(value)
        except (TypeError, ValueError, OverflowError):
            raise InputError(where, f"{value} is not {'an integer' if kind is int else 'a number'}") from None
        if unset is not None and number == unset:
            return None
        bounds: Bounds = meta["bounds"]
        if not bounds.contains(float(number)):
            raise InputError(where, f"{value} is out of range: must be {bounds.describe()}")
        value = number
    elif kind is Path:
        if not isinstance(value, (str, Path)) or str(value) == "":
            raise InputError(where, f"must be a path, not {value!r}")
        value = Path(value)
    elif kind is str and not isinstance(value, str):
        raise InputError(where, f"must be text, not {value!r}")
    choices = meta.get("choices")
    if choices and value not in choices:
        raise InputError(where, f"{value} is not one of {', '.join(map(str, choices))}")
    return value


def _to_int(value: Any) -> int:
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError
        return int(value)
    return int(str(value).strip())


class ConfigParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (``prog: error: ...``) and exit code 2,
    and whose help shows each flag once, with its aliases, choices, range and default."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        message = " ".join(message.split())
        if message.startswith("argument "):  # argparse's "argument --flag: problem"
            message = message[len("argument ") :]
        self.exit(2, f"{self.prog}: error: {message}\n")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's line breaks; appends a default only where there is one to
    show and the help does not already say it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            "default" in text
            or default in (None, "", False, argparse.SUPPRESS)
            or action.option_strings == []
            or isinstance(default, list)
            and not default
        ):
            return text
        shown = default if not isinstance(default, Path) else str(default)
        return f"{text} (default: {str(shown).replace('%', '%%')})"


def _converter(field: dataclasses.Field, kind: Any, flag: str) -> typing.Callable[[str], Any]:
    def convert(text: str) -> Any:
        try:
            return check_value(field, kind, text, flag)
        except InputError as exc:
            raise argparse.ArgumentTypeError(exc.problem) from None

    convert.__name__ = kind.__name__ if hasattr(kind, "__name__") else "value"
    return convert


def add_config_arguments(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup, cls: type, skip: typing.Collection[str] = ()
) -> None:
    """Add one flag per field of dataclass `cls` (except `skip`), with its aliases."""
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        if field.name in skip or "help" not in field.metadata:
            continue
        meta = field.metadata
        flag = _flag_of(field)
        kind, _ = _base_type(hints[field.name])
        default = _default_of(field)
        help_text = meta["help"]
        bounds: Bounds = meta.get("bounds", Bounds())
        if bounds != Bounds():
            help_text += f"; {bounds.describe()}"
        if meta.get("inert"):
            help_text += f" [accepted, no effect here: {meta['inert']}]"
        kwargs: dict[str, Any] = {"help": help_text, "dest": field.name}
        if kind is bool:
            kwargs.update(action=argparse.BooleanOptionalAction if default else "store_true", default=default)
        else:
            element = _element_type(kind)
            scalar = element if element in (int, float, str, Path) else str
            kwargs.update(type=_converter(field, scalar, flag), default=default)
            if typing.get_origin(kind) is list:
                kwargs.update(action="append", default=None)
            if meta.get("choices"):
                kwargs["metavar"] = "{" + ",".join(map(str, meta["choices"])) + "}"
            if meta.get("required"):
                kwargs.update(required=True, default=None)
        parser.add_argument(flag, *meta.get("aliases", ()), **kwargs)


def config_from_args(cls: Any, args: argparse.Namespace, **overrides: Any) -> Any:
    """Build `cls` from parsed arguments (fields missing from `args` keep defaults); warn
    once for each inert flag that was given."""
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)}
    values.update(overrides)
    for field in dataclasses.fields(cls):
        reason = field.metadata.get("inert")
        if reason and field.name in values and values[field.name] != _default_of(field):
            log.warning("%s has no effect here: %s", _flag_of(field), reason)
    return cls(**values)


def validate_config(config: Any, where: str = "") -> None:
    """Check every field of a config dataclass against its type, range and choices (the
    same checks as the command line); converts values in place (e.g. str -> Path).
    `where` prefixes the name in messages (e.g. 'pipeline.toml [stereo]')."""
    hints = typing.get_type_hints(type(config))
    for field in dataclasses.fields(config):
        if "help" not in field.metadata:
            continue
        kind, optional = _base_type(hints[field.name])
        value = getattr(config, field.name)
        name = f"{where} {field.name}".strip() if where else _flag_of(field)
        if value is None:
            if field.metadata.get("required"):
                raise InputError(name, "is required")
            continue
        if typing.get_origin(kind) is list:
            element = _element_type(kind)
            if not isinstance(value, list):
                value = [value]
            checked: Any = [check_value(field, element, v, name) for v in value]
        elif kind in (int, float, str, Path, bool):
            checked = check_value(field, kind, value, name)
        else:
            continue
        object.__setattr__(config, field.name, checked)
