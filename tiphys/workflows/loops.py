"""withItems / withParam / withSequence expansion (spec §4.1-§4.3) and the ``item`` variables."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from . import template as tpl
from .params import param_string

__all__ = ["LoopError", "expand", "false_when", "format_sequence", "has_loop", "item_scope"]


class LoopError(Exception):
    """A loop list that cannot be built; the node ends ``Error`` with this message."""


def has_loop(step: Mapping[str, Any]) -> bool:
    return any(step.get(k) is not None for k in ("withItems", "withParam", "withSequence"))


def _go_printf(fmt: str, value: int) -> str:
    """Go's fmt for one integer verb (``%d``, ``%02X``, ``%x``, ``%o``, ``%5d``)."""
    def repl(m: re.Match[str]) -> str:
        spec = m.group(0)
        return ("%" + spec[1:-1] + spec[-1]) % value if spec[-1] != "v" else str(value)

    return re.sub(r"%[-+ 0#]*\d*[dxXobv]", repl, fmt.replace("%%", "\0")).replace("\0", "%")


def format_sequence(seq: Mapping[str, Any]) -> list[str]:
    """The items of a resolved ``withSequence``: count/end, start, format; counts down when start > end."""
    def number(key: str) -> int | None:
        raw = seq.get(key)
        if raw is None or raw == "":
            return None
        try:
            return int(str(raw).strip())
        except ValueError:
            raise LoopError(f"unable to convert withSequence.{key} {raw!r} to integer") from None

    start = number("start") or 0
    count, end = number("count"), number("end")
    if count is not None and end is not None:
        raise LoopError("only one of count or end can be defined in withSequence")
    if count is not None:
        if count < 0:
            raise LoopError(f"withSequence.count {count} must not be negative")
        values = list(range(start, start + count))
    elif end is not None:
        values = list(range(start, end + 1)) if start <= end else list(range(start, end - 1, -1))
    else:
        raise LoopError("either withSequence.count or withSequence.end must be defined")
    fmt = seq.get("format") or "%d"
    return [_go_printf(str(fmt), v) for v in values]


def expand(step: Mapping[str, Any], scope: tpl.Scope) -> list[Any]:
    """The loop's items after substitution; raises LoopError / template errors as upstream words them."""
    if step.get("withItems") is not None:
        items = tpl.substitute_object(step["withItems"], scope, wait_roots=("tasks.", "steps."))
        if not isinstance(items, list):
            raise LoopError("withItems must be a list")
        return items
    if step.get("withParam") is not None:
        raw = step["withParam"]
        text = raw if isinstance(raw, str) else json.dumps(raw)
        value = tpl.substitute_text(text, scope, wait_roots=("tasks.", "steps."))
        try:
            items = json.loads(value)
        except json.JSONDecodeError as e:
            raise LoopError(f"withParam value could not be parsed as a JSON list: {value}: {e}") from e
        if not isinstance(items, list):
            raise LoopError(f"withParam value could not be parsed as a JSON list: {value}: not a list")
        return items
    seq = tpl.substitute_object(step["withSequence"], scope, wait_roots=("tasks.", "steps."))
    return list(format_sequence(seq))


def false_when(step: Mapping[str, Any], scope: tpl.Scope) -> str | None:
    """The resolved ``when`` when it is false without needing the loop's items (a bad list is then moot)."""
    from .conditions import WhenError, evaluate_when

    when = step.get("when")
    if not when or "item" in str(when):
        return None
    try:
        resolved = tpl.substitute_text(str(when), scope)
        return None if evaluate_when(resolved) else resolved
    except (WhenError, tpl.SubstitutionError):
        return None


def item_scope(item: Any) -> dict[str, str]:
    """``item`` (string form; JSON for maps and lists) and ``item.<key>`` for map items."""
    scope = {"item": param_string(item)}
    if isinstance(item, Mapping):
        for key, value in item.items():
            scope[f"item.{key}"] = param_string(value)
    return scope
