"""Frozen records made as fast as plain ones, for values the gate makes per item.

A frozen dataclass sets each field through ``object.__setattr__``, which looks the
field's slot up on the class every time: about three times the cost of a plain
assignment. The gate makes several such records per item (matches, bases, reasons,
decisions), so ``quick_init`` gives a frozen, slotted dataclass an ``__init__`` that
sets each slot through its descriptor, found once: the same signature, the same
values, still frozen.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

__all__ = ["quick_init"]

_T = TypeVar("_T")


def quick_init(cls: type[_T]) -> type[_T]:
    """``cls`` (a frozen dataclass with slots, whose fields take plain defaults and
    which has no ``__post_init__``) with a faster ``__init__`` of the same signature."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"quick_init needs a frozen dataclass with slots, not {cls.__name__}")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"quick_init cannot keep {cls.__name__}.__post_init__")
    scope: dict[str, Any] = {}
    arguments, body = [], []
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    for k, f in enumerate(fields):
        if f.default_factory is not dataclasses.MISSING or not f.init or f.kw_only:
            raise TypeError(f"quick_init cannot make {cls.__name__}.{f.name}")
        scope[f"_set{k}"] = cls.__dict__[f.name].__set__
        if f.default is dataclasses.MISSING:
            arguments.append(f.name)
        else:
            scope[f"_default{k}"] = f.default
            arguments.append(f"{f.name}=_default{k}")
        body.append(f"    _set{k}(self, {f.name})")
    source = f"def __init__(self, {', '.join(arguments)}):\n" + "\n".join(body or ["    pass"])
    exec(source, scope)  # noqa: S102 - code made above from the class's own field names
    init = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = cls.__init__.__doc__
    setattr(cls, "__init__", init)  # noqa: B010 - replacing a method mypy sees as fixed
    return cls
