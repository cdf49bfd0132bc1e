"""Custom resources: ``Name`` plus the CRD's ``additionalPrinterColumns`` (JSONPath evaluated)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import orjson

from ..resources import ResourceType
from ._columns import _AGE, _NAME, CellsFn, _column_definitions, _describe
from ._format import Cells, Obj, _Clock, _name, _parse_time, _path, human_duration

# --- custom resources: additionalPrinterColumns ----------------------------------------------------

_Step = tuple[str, Any]  # ("key", name) | ("index", n) | ("all", None) | ("filter", (keys, value))
_FILTER = re.compile(r"\?\(@((?:\.[^.=!<>\s]+)+)\s*==\s*(?:\"([^\"]*)\"|'([^']*)'|(\S+?))\s*\)")


@lru_cache(maxsize=512)
def _parse_json_path(path: str) -> tuple[_Step, ...] | None:
    """The simple JSONPath forms CRD columns use: ``.a.b[0].c``, ``.a\\.b``, ``[*]``, ``[?(@.k=="v")]``."""
    path = path.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1]
    steps: list[_Step] = []
    i, n = 0, len(path)
    while i < n:
        ch = path[i]
        if ch == ".":
            i += 1
            key: list[str] = []
            while i < n and path[i] not in ".[":
                if path[i] == "\\" and i + 1 < n:
                    i += 1
                key.append(path[i])
                i += 1
            if key:
                steps.append(("key", "".join(key)))
        elif ch == "[":
            end = path.find(")]", i) + 1 if path.startswith("[?(", i) else path.find("]", i)
            if end <= 0:
                return None
            inner = path[i + 1 : end].strip()
            i = end + 1
            if inner == "*":
                steps.append(("all", None))
            elif re.fullmatch(r"-?\d+", inner):
                steps.append(("index", int(inner)))
            elif len(inner) >= 2 and inner[0] == inner[-1] and inner[0] in "'\"":
                steps.append(("key", inner[1:-1]))
            elif m := _FILTER.fullmatch(inner):
                literal = m.group(4)
                value: Any = m.group(2) if m.group(2) is not None else m.group(3)
                if literal is not None:
                    is_json = re.fullmatch(r"-?\d+(\.\d+)?|true|false", literal)
                    value = orjson.loads(literal) if is_json else literal
                steps.append(("filter", (tuple(m.group(1)[1:].split(".")), value)))
            else:
                return None
        else:
            return None  # every step starts with "." or "["
    return tuple(steps)


def _walk(values: list[Any], step: _Step) -> list[Any]:
    kind, arg = step
    out: list[Any] = []
    for value in values:
        if kind == "key":
            if isinstance(value, Mapping) and arg in value:
                out.append(value[arg])
        elif not isinstance(value, list):
            continue
        elif kind == "index":
            if -len(value) <= arg < len(value):
                out.append(value[arg])
        elif kind == "all":
            out.extend(value)
        else:
            keys, wanted = arg
            out.extend(item for item in value if _path(item, *keys) == wanted)
    return out


def _go_text(value: Any) -> str:
    """How the jsonpath printer renders one value: strings raw, JSON for maps and lists."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    if isinstance(value, (dict, list)):
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    return str(value)


def _custom_cell(column_type: str, value: Any, clock: _Clock) -> Any:
    """cellForJSONValue: a value of the wrong type prints as an empty cell."""
    if value is None:
        return None
    if column_type == "string":
        return _go_text(value)
    if column_type == "integer" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    if column_type == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if column_type == "boolean" and isinstance(value, bool):
        return value
    if column_type == "date" and isinstance(value, str):
        t = _parse_time(value)
        return "<invalid>" if t is None else human_duration(clock.now - t)
    return None


_CR_AGE = {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}


def _custom_printer(rt: ResourceType) -> tuple[list[dict[str, Any]], CellsFn]:
    columns = list(rt.printer_columns) or [{**_CR_AGE, "description": _describe(_AGE.doc)}]
    definitions = [_column_definitions((_NAME,))[0]]
    paths: list[tuple[str, tuple[_Step, ...] | None]] = []
    for col in columns:
        json_path = str(col.get("jsonPath", ""))
        definitions.append(
            {
                "name": col.get("name", ""),
                "type": col.get("type", "string"),
                "format": col.get("format", ""),
                "description": col.get("description")
                or f"Custom resource definition column (in JSONPath format): {json_path}",
                "priority": col.get("priority", 0),
            }
        )
        paths.append((str(col.get("type", "string")), _parse_json_path(json_path)))

    def cells(obj: Obj, clock: _Clock) -> Cells:
        row: Cells = [_name(obj)]
        for column_type, steps in paths:
            values: list[Any] = [obj] if steps is not None else []
            for step in steps or ():
                values = _walk(values, step)
            row.append(_custom_cell(column_type, values[0], clock) if values else None)
        return row

    return definitions, cells
