"""``"py:package.module:function"``: a job's own converter, imported at compile time.

Only functions of importable modules can be named (a job file never contains code).
The function is called with the value (and the table's options as keyword arguments
when written ``{ "py:pkg.mod:func" = { country = "FR" } }``) and returns the new value,
or None for 'no value'.  It refuses a value by raising ``ValueError`` (or
``legacy_bridge.errors.MappingError``) whose message completes "FIELD 'value' ...".
"""

from __future__ import annotations

import functools
import importlib
import inspect
import re
from collections.abc import Callable
from typing import Any

_NAME = re.compile(r"py:([A-Za-z_][\w.]*):([A-Za-z_]\w*)")


def resolve(name: str, arg: Any) -> Callable[[Any], Any]:
    """The function named ``py:module:function``, or a config problem (ValueError)."""
    m = _NAME.fullmatch(name)
    if m is None:
        raise ValueError(f"{name!r} is not a function reference; write \"py:package.module:function\"")
    module_name, func_name = m.groups()
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # ImportError, or the module failed while importing
        raise ValueError(f"cannot import module {module_name!r} for {name}: {type(exc).__name__}: {exc}") from None
    func = getattr(module, func_name, None)
    if func is None:
        raise ValueError(f"module {module_name!r} has no function {func_name!r}")
    if not (inspect.isfunction(func) or inspect.isbuiltin(func)):
        raise ValueError(f"{name} is a {type(func).__name__}, not a function")
    if arg is None:
        return func  # type: ignore[no-any-return]
    if not isinstance(arg, dict):
        raise ValueError(f"options for {name} must be a table of keyword arguments, got {arg!r}")
    return functools.partial(func, **arg)
