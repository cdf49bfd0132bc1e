"""Client-side apply as ``kubectl apply`` computes it: a three-way merge patch, and applying one locally.

``three_way_patch(original, modified, current)`` is kubectl's ``CreateThreeWayMergePatch``: the
changes from the live object (``current``) to the manifest (``modified``), plus the deletion of
every field the last applied configuration (``original``) had and the manifest no longer has.
Fields only the server set (defaults, status, controller-written metadata) are left alone, which
is the whole point of the three-way form. For built-in kinds the patch is a strategic merge patch:
lists with a merge key (``containers`` by ``name``) merge element by element, removed elements get
``$patch: delete``, and sets of scalars (``finalizers``) use ``$deleteFromPrimitiveList``. For other
kinds it is a JSON merge patch and lists are replaced whole. ``apply_patch`` applies either kind
locally, to predict the live object (``diff``). Ordering directives (``$setElementOrder``) are not
sent: a new list element goes after the existing ones.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, Final

from . import schema
from .schema import Node

__all__ = ["DELETE_FROM_PRIMITIVE_LIST", "apply_patch", "three_way_patch"]

DELETE_FROM_PRIMITIVE_LIST: Final = "$deleteFromPrimitiveList/"
_MISSING: Any = object()


def _scalars(values: Sequence[Any]) -> bool:
    return all(not isinstance(v, Mapping | list) for v in values)


def _keyed(values: Sequence[Any], key: str) -> bool:
    return all(isinstance(v, Mapping) and key in v for v in values)


def three_way_patch(
    original: Mapping[str, Any] | None,
    modified: Mapping[str, Any],
    current: Mapping[str, Any],
    *,
    node: Node | None = None,
    strategic: bool = False,
) -> dict[str, Any]:
    """The patch taking ``current`` to ``modified`` while deleting what ``original`` had and ``modified`` dropped."""
    return _map(original or {}, modified, current, node, strategic)


def _map(
    original: Mapping[str, Any], modified: Mapping[str, Any], current: Mapping[str, Any], node: Node | None, smp: bool
) -> dict[str, Any]:
    patch: dict[str, Any] = {}
    for key, want in modified.items():
        have = current.get(key, _MISSING)
        was = original.get(key, _MISSING)
        sub = schema.child(node, key) if smp else None
        if want is None:
            if have is not _MISSING:
                patch[key] = None
        elif isinstance(want, Mapping) and isinstance(have, Mapping):
            change = _map(was if isinstance(was, Mapping) else {}, want, have, sub, smp)
            if change:
                patch[key] = change
        elif smp and isinstance(want, list) and isinstance(have, list):
            _list(patch, key, was if isinstance(was, list) else [], want, have, sub)
        elif want != have:
            patch[key] = copy.deepcopy(want)
    for key in original:
        if key not in modified:
            patch[key] = None
    return patch


def _list(
    patch: dict[str, Any], field: str, was: list[Any], want: list[Any], have: list[Any], node: Node | None
) -> None:
    key, merges = schema.list_strategy(node)
    if key and _keyed(want, key) and _keyed(have, key) and _keyed(was, key):
        by_key = {item[key]: item for item in have}
        old = {item[key]: item for item in was}
        item_node = schema.items(node)
        changes: list[Any] = []
        for item in want:
            live = by_key.get(item[key])
            if live is None:
                changes.append(copy.deepcopy(item))
            else:
                change = _map(old.get(item[key], {}), item, live, item_node, True)
                if change:
                    changes.append({key: item[key], **change})
        wanted = {item[key] for item in want}
        changes += [{key: item[key], "$patch": "delete"} for item in was if item[key] not in wanted]
        if changes:
            patch[field] = changes
    elif merges and _scalars(want) and _scalars(have) and _scalars(was):
        added = [v for v in want if v not in have]
        removed = [v for v in was if v not in want]
        if added:
            patch[field] = added
        if removed:
            patch[DELETE_FROM_PRIMITIVE_LIST + field] = removed
    elif want != have:
        patch[field] = copy.deepcopy(want)


def apply_patch(
    target: Mapping[str, Any], patch: Mapping[str, Any], *, node: Node | None = None, strategic: bool = False
) -> dict[str, Any]:
    """``target`` with ``patch`` applied as the server would (strategic merge or JSON merge patch)."""
    return _apply_map(target, patch, node, strategic)


def _apply_map(target: Mapping[str, Any], patch: Mapping[str, Any], node: Node | None, smp: bool) -> dict[str, Any]:
    result = copy.deepcopy(dict(target))
    for key, value in patch.items():
        if smp and key.startswith(DELETE_FROM_PRIMITIVE_LIST):
            field = key[len(DELETE_FROM_PRIMITIVE_LIST) :]
            current = result.get(field)
            if isinstance(current, list):
                result[field] = [v for v in current if v not in value]
            continue
        if smp and key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
            continue
        current = result.get(key)
        sub = schema.child(node, key) if smp else None
        if isinstance(value, Mapping):
            result[key] = _apply_map(current if isinstance(current, Mapping) else {}, value, sub, smp)
        elif smp and isinstance(value, list):
            result[key] = _apply_list(current if isinstance(current, list) else [], value, sub)
        else:
            result[key] = copy.deepcopy(value)
    return result


def _apply_list(current: list[Any], patch: list[Any], node: Node | None) -> list[Any]:
    key, merges = schema.list_strategy(node)
    if key and _keyed(patch, key) and _keyed(current, key):
        result = copy.deepcopy(current)
        item_node = schema.items(node)
        for item in patch:
            index = next((i for i, live in enumerate(result) if live[key] == item[key]), None)
            if item.get("$patch") == "delete":
                result = [live for live in result if live[key] != item[key]]
            elif index is None:
                result.append({k: copy.deepcopy(v) for k, v in item.items() if not k.startswith("$")})
            else:
                result[index] = _apply_map(result[index], item, item_node, True)
        return result
    if merges and _scalars(patch) and _scalars(current):
        return [*current, *(v for v in patch if v not in current)]
    return copy.deepcopy(patch)
