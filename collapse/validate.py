"""Type checks every config dataclass runs first in ``__post_init__``, from its own type hints.

One rule for every field, so a config built from Python, a JSON file or the command line is checked the same way:
an ``int`` field takes integers (NumPy integers too; never bool, never 2.0); a ``float`` field takes finite real
numbers (ints too; never bool, NaN, inf, or beyond ±1e100); a ``Literal`` field one of its values; a
``tuple[X, ...]`` field a tuple or list of such items (stored as a tuple); ``X | None`` also None.
Family-specific ranges stay in each class's ``__post_init__``.
"""

import dataclasses
import math
import numbers
import types
import typing

from collapse.errors import ConfigError

# Larger floats are refused: their squares and products (σ², ‖w*‖²·…) would overflow float64 inside a run.
MAX_MAGNITUDE = 1e100


def check_fields(obj) -> None:
    """Validate (and normalise: NumPy scalars → Python, lists → tuples) every field of a frozen dataclass."""
    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        new = _check(f.name, value, hints[f.name])
        if new is not value:
            object.__setattr__(obj, f.name, new)


def _check(name, value, hint):
    origin = typing.get_origin(hint)
    if isinstance(hint, types.UnionType) or origin is typing.Union:
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        inner = [a for a in options if a is not type(None)]
        if len(inner) == 1:
            return _check(name, value, inner[0])
        return value
    if origin is typing.Literal:
        allowed = typing.get_args(hint)
        if value not in allowed or isinstance(value, bool) != isinstance(allowed[0], bool):
            raise ConfigError(name, value, f"one of {', '.join(map(str, allowed))}")
        return value
    if origin is tuple:
        args = typing.get_args(hint)
        if not isinstance(value, tuple | list):
            raise ConfigError(name, value, "a list (comma-separated on the command line)")
        item = args[0] if args else typing.Any
        return tuple(_check(name, v, item) for v in value)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(name, value, "true or false")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ConfigError(name, value, "an integer")
        return int(value)
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)) \
                or abs(float(value)) > MAX_MAGNITUDE:
            raise ConfigError(name, value, f"a finite number of magnitude at most {MAX_MAGNITUDE:g}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(name, value, "a string")
        return value
    return value
