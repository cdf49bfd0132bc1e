"""The ``fieldsV1`` encoding: paths to and from upstream's JSON trie, edits in place, path strings."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from collections.abc import Set as AbstractSet
from typing import Any

import orjson

from ._common import FieldSet, Path, _json

# --- fieldsV1 --------------------------------------------------------------------------------------


def encode(fields: AbstractSet[Path]) -> dict[str, Any]:
    """Upstream's ``fieldsV1`` JSON: ``"."`` marks a node that is owned itself and has owned children."""
    return _emit(_trie(fields))


def decode(fields_v1: Mapping[str, Any]) -> FieldSet:
    out: FieldSet = set()

    def walk(level: Mapping[str, Any], prefix: Path) -> None:
        for key, sub in level.items():
            if key == ".":
                if prefix:
                    out.add(prefix)
            elif isinstance(sub, Mapping) and sub:
                walk(sub, (*prefix, key))
            else:
                out.add((*prefix, key))

    walk(fields_v1, ())
    return out


# A trie of paths shaped like fieldsV1 itself: element -> sub-trie, and "." when the path is a member.
_Trie = dict[str, Any]


def _trie(fields: AbstractSet[Path]) -> _Trie:
    root: _Trie = {}
    for path in fields:
        level = root
        for element in path:
            sub = level.get(element)
            if sub is None:
                sub = level[element] = {}
            level = sub
        level["."] = None
    return root


def _emit(level: _Trie) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for element in sorted((k for k in level if k != "."), key=_element_order):
        sub = level[element]
        inner = _emit(sub) if len(sub) > ("." in sub) else {}
        out[element] = {".": {}, **inner} if inner and "." in sub else inner
    return out


def _has(fields_v1: Mapping[str, Any], path: Path) -> bool:
    level: Any = fields_v1
    for element in path:
        level = level.get(element) if isinstance(level, Mapping) else None
        if level is None:
            return False
    return not level or (isinstance(level, Mapping) and "." in level)


_NOTHING: _Trie = {}


def _edit(level: Mapping[str, Any], add: _Trie, remove: _Trie) -> dict[str, Any]:
    """A fieldsV1 node with the paths of ``add`` owned and those of ``remove`` not.

    Copies only the nodes on the edited paths; untouched subtrees are shared with ``level``.
    """
    out = dict(level)
    grew = False
    for element in add.keys() | remove.keys():
        if element == ".":
            continue
        more, less = add.get(element, _NOTHING), remove.get(element, _NOTHING)
        current = out.get(element)
        if isinstance(current, Mapping):
            member = not current or "." in current  # `{}` is an owned leaf
        elif more:
            current, member, grew = {}, False, True
        else:
            continue
        children = {k: v for k, v in current.items() if k != "."}
        if len(more) > ("." in more) or len(less) > ("." in less):
            children = _edit(children, more, less)
        member = "." in more or (member and "." not in less)
        if children:
            out[element] = {".": {}, **children} if member else children
        elif member:
            out[element] = {}
        else:
            out.pop(element, None)
    if grew:
        out = {k: out[k] for k in sorted(out, key=_element_order)}
    return out


@functools.lru_cache(maxsize=8192)
def _element_order(element: str) -> tuple[Any, ...]:
    # Upstream's PathElement.Compare: field names, then keys, then values, then indexes.
    kind, body = element[:2], element[2:]
    try:
        if kind == "f:":
            return (0, body)
        if kind == "k:":
            key = orjson.loads(body)
            return (1, tuple((k, _value_order(v)) for k, v in sorted(key.items())))
        if kind == "v:":
            return (2, _value_order(orjson.loads(body)))
        if kind == "i:":
            return (3, int(body))
    except (orjson.JSONDecodeError, ValueError, AttributeError):
        pass
    return (4, element)


def _value_order(value: Any) -> tuple[Any, ...]:
    if isinstance(value, bool):
        return (2, value)
    if isinstance(value, (int, float)):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    return (3, orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode())


def _path_string(path: Path) -> str:
    """Upstream's fieldpath.Path.String: ``.spec.containers[name="main"].image``."""
    return "".join(_element_string(element) for element in path)


def _element_string(element: str) -> str:
    kind, body = element[:2], element[2:]
    try:
        if kind == "k:":
            key = orjson.loads(body)
            return "[" + ",".join(f"{k}={_go_value(v)}" for k, v in sorted(key.items())) + "]"
        if kind == "v:":
            return f"[={_go_value(orjson.loads(body))}]"
    except (orjson.JSONDecodeError, AttributeError):
        return element
    if kind == "i:":
        return f"[{body}]"
    if kind == "f:":
        return "." + body
    return element


def _go_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return _json(value)


def _iter_paths(fields: AbstractSet[Path]) -> Iterator[Path]:
    """Paths in upstream's set order: a node's own members first, then its children, each sorted."""

    def walk(level: _Trie, prefix: Path) -> Iterator[Path]:
        ordered = sorted((k for k in level if k != "."), key=_element_order)
        for element in ordered:
            if "." in level[element]:
                yield (*prefix, element)
        for element in ordered:
            if len(level[element]) > ("." in level[element]):
                yield from walk(level[element], (*prefix, element))

    return walk(_trie(fields), ())
