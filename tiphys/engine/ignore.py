"""``spec.ignoreDifferences``: fields left out of the comparison, and kept as live when ``RespectIgnoreDifferences``.

A rule names objects (group, kind — ``*`` matches any —, optionally name and namespace) and the
fields to ignore in three ways, as Argo CD's: JSON pointers (RFC 6901), jq path expressions
(evaluated with libjq, as Argo CD evaluates them with gojq) and managed-fields managers (every
field that one of those managers owns in the live object). ``strip`` removes the ignored fields
for a diff; ``respect`` gives the target the live values of the ignored fields (or drops them
where the live object has none), which is what Argo CD does to a target before a sync with
``RespectIgnoreDifferences=true``. ``status`` is never touched by ``respect``.
"""

from __future__ import annotations

import copy
import fnmatch
import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import jq

from . import objects
from .objects import KubeObject

__all__ = ["IgnoreRule", "ignored_paths", "respect", "strip"]

Path = tuple[str | int, ...]
_MISSING: Final = object()


@dataclass(frozen=True)
class IgnoreRule:
    group: str = ""
    kind: str = ""
    name: str = ""
    namespace: str = ""
    json_pointers: tuple[str, ...] = ()
    jq_path_expressions: tuple[str, ...] = ()
    managed_fields_managers: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> IgnoreRule:
        """One entry of ``spec.ignoreDifferences`` (Argo CD's field names)."""

        def strings(key: str) -> tuple[str, ...]:
            value = data.get(key) or ()
            return tuple(str(item) for item in value)

        return cls(
            group=str(data.get("group") or ""),
            kind=str(data.get("kind") or ""),
            name=str(data.get("name") or ""),
            namespace=str(data.get("namespace") or ""),
            json_pointers=strings("jsonPointers"),
            jq_path_expressions=strings("jqPathExpressions"),
            managed_fields_managers=strings("managedFieldsManagers"),
        )

    def problems(self) -> list[str]:
        """What makes the rule unusable: a pointer that is not RFC 6901, a jq expression that does not compile."""
        found = [f"jsonPointer {p!r} must start with '/'" for p in self.json_pointers if p and not p.startswith("/")]
        for expression in self.jq_path_expressions:
            try:
                _compiled(expression)
            except ValueError as e:
                found.append(f"jqPathExpression {expression!r}: {e}")
        return found

    def matches(self, obj: KubeObject) -> bool:
        key = objects.resource_key(obj)
        return (
            _glob(self.group, key.group)
            and _glob(self.kind, key.kind)
            and (not self.name or self.name == key.name)
            and (not self.namespace or self.namespace == key.namespace)
        )


def _glob(pattern: str, value: str) -> bool:
    return pattern == value or (pattern != "" and fnmatch.fnmatchcase(value, pattern))


@functools.lru_cache(maxsize=256)
def _compiled(expression: str) -> Any:
    return jq.compile(f"[path({expression})]")


def _pointer_path(pointer: str) -> Path:
    if pointer in ("", "/"):
        return ()
    parts: list[str | int] = []
    for token in pointer.lstrip("/").split("/"):
        text = token.replace("~1", "/").replace("~0", "~")
        parts.append(int(text) if text.isdigit() else text)
    return tuple(parts)


def _jq_paths(expression: str, obj: KubeObject) -> list[Path]:
    try:
        found = _compiled(expression).input_value(json.loads(json.dumps(obj, default=str))).first()
    except ValueError:
        return []  # an expression that fails on this object ignores nothing in it (Argo CD logs and goes on)
    return [tuple(path) for path in found or () if isinstance(path, list)]


def _managed_paths(live: KubeObject, managers: Sequence[str]) -> list[Path]:
    """Leaf paths owned by ``managers`` in the live object's managedFields (fieldsV1)."""
    paths: list[Path] = []
    entries = objects.meta(live).get("managedFields")
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, Mapping) and entry.get("manager") in managers:
            _walk_fields(entry.get("fieldsV1") or {}, live, (), paths)
    return paths


def _walk_fields(fields: Mapping[str, Any], value: Any, at: Path, out: list[Path]) -> None:
    leaf = True
    for name, inner in fields.items():
        if name == ".":
            continue
        leaf = False
        if name.startswith("f:"):
            key = name[2:]
            child = value.get(key, _MISSING) if isinstance(value, Mapping) else _MISSING
            _walk_fields(inner or {}, child, (*at, key), out)
        elif name.startswith(("k:", "v:")) and isinstance(value, list):
            wanted = json.loads(name[2:])
            for index, item in enumerate(value):
                if (name[0] == "v" and item == wanted) or (
                    name[0] == "k"
                    and isinstance(item, Mapping)
                    and isinstance(wanted, Mapping)
                    and all(item.get(k) == v for k, v in wanted.items())
                ):
                    _walk_fields(inner or {}, item, (*at, index), out)
    if leaf and at:
        out.append(at)


def ignored_paths(rules: Iterable[IgnoreRule], obj: KubeObject, *, live: KubeObject | None = None) -> list[Path]:
    """The concrete paths the matching rules ignore in ``obj`` (managers are read from ``live``)."""
    paths: list[Path] = []
    for rule in rules:
        if not rule.matches(obj):
            continue
        paths += [_pointer_path(p) for p in rule.json_pointers]
        for expression in rule.jq_path_expressions:
            paths += _jq_paths(expression, obj)
        if rule.managed_fields_managers and live is not None:
            paths += _managed_paths(live, rule.managed_fields_managers)
    return [p for p in paths if p]


def _get(obj: Any, path: Path) -> Any:
    for part in path:
        if isinstance(obj, Mapping) and isinstance(part, str):
            obj = obj.get(part, _MISSING)
        elif isinstance(obj, list) and isinstance(part, int) and 0 <= part < len(obj):
            obj = obj[part]
        else:
            return _MISSING
        if obj is _MISSING:
            return _MISSING
    return obj


def _delete(obj: Any, path: Path) -> None:
    parent = _get(obj, path[:-1])
    last = path[-1]
    if isinstance(parent, dict) and isinstance(last, str):
        parent.pop(last, None)
    elif isinstance(parent, list) and isinstance(last, int) and 0 <= last < len(parent):
        parent[last] = _MISSING  # removed after all paths are handled, so indexes stay valid


def _set(obj: Any, path: Path, value: Any) -> None:
    for index, part in enumerate(path[:-1]):
        nxt = _get(obj, (part,))
        if nxt is _MISSING:
            if not isinstance(obj, dict) or not isinstance(part, str):
                return  # no list element to put it in: leave the target as it is there
            nxt = obj[part] = {} if isinstance(path[index + 1], str) else []
        obj = nxt
    last = path[-1]
    in_map = isinstance(obj, dict) and isinstance(last, str)
    in_list = isinstance(obj, list) and isinstance(last, int) and 0 <= last < len(obj)
    if in_map or in_list:
        obj[last] = copy.deepcopy(value)


def _purge(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _purge(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_purge(v) for v in value if v is not _MISSING]
    return value


def strip(obj: KubeObject, paths: Iterable[Path]) -> dict[str, Any]:
    """A copy of ``obj`` without the fields at ``paths`` (both sides of a diff get the same paths)."""
    result = copy.deepcopy(dict(obj))
    for path in sorted(set(paths), key=len, reverse=True):
        _delete(result, path)
    return dict(_purge(result))


def respect(target: KubeObject, live: KubeObject, rules: Sequence[IgnoreRule]) -> KubeObject:
    """``target`` with the live values of every ignored field (absent in live: absent in target); never status."""
    if not rules:
        return target
    paths = {
        p
        for p in ignored_paths(rules, target, live=live) + ignored_paths(rules, live, live=live)
        if p[0] != "status"
    }
    if not paths:
        return target
    result = copy.deepcopy(dict(target))
    for path in sorted(paths, key=len):
        value = _get(live, path)
        if value is _MISSING:
            _delete(result, path)
        else:
            _set(result, path, value)
    return dict(_purge(result))
