"""Command-line flags from config dataclasses: each field's parser, choices and default come from the class."""

import dataclasses
import types
import typing


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _hint(cls, name: str):
    """The field's type with ``X | None`` reduced to X."""
    hint = typing.get_type_hints(cls)[name]
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    return hint


def field_choices(cls, name: str) -> tuple | None:
    """The allowed values of a ``Literal[...]`` field (or of the items of a ``tuple[Literal[...], ...]``)."""
    hint = _hint(cls, name)
    if typing.get_origin(hint) is tuple and typing.get_args(hint):
        hint = typing.get_args(hint)[0]
    return typing.get_args(hint) if typing.get_origin(hint) is typing.Literal else None


def field_default(f: dataclasses.Field):
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def field_type(cls, name: str):
    """A parser for one field's flag. ``tuple[X, ...]`` reads comma-separated values ("10,20,50") and
    ``tuple[tuple[X, ...], ...]`` rows separated by ';' ("1,0.5;0.5,1"). Literal fields parse as their values'
    type (argparse then checks the choices)."""
    hint = _hint(cls, name)
    if typing.get_origin(hint) is tuple and typing.get_args(hint):
        inner = typing.get_args(hint)[0]
        if typing.get_origin(inner) is tuple:
            return _tuple_parser(_tuple_parser(_scalar(typing.get_args(inner)[0]), ","), ";")
        return _tuple_parser(_scalar(inner), ",")
    return _scalar(hint)


def _scalar(hint):
    if typing.get_origin(hint) is typing.Literal:
        return type(typing.get_args(hint)[0])
    if hint is bool:
        return _parse_bool
    if hint is int:
        return _parse_int
    return hint


def _parse_int(text: str) -> int:
    """An integer; '1e3' is accepted when it is one ('2.5' is not)."""
    try:
        return int(text)
    except ValueError:
        value = float(text)
        if not value.is_integer():
            raise
        return int(value)


_parse_int.__name__ = "integer"


def _parse_bool(text: str) -> bool:
    """'true'/'1'/'yes' or 'false'/'0'/'no' (argparse's type=bool would read 'false' as True)."""
    value = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}.get(text.strip().lower())
    if value is None:
        raise ValueError(text)
    return value


_parse_bool.__name__ = "boolean (true/false)"


def _tuple_parser(item, sep: str):
    def parse(text: str) -> tuple:
        return tuple(item(part.strip()) for part in text.split(sep))
    parse.__name__ = f"'{sep}'-separated list"
    return parse
