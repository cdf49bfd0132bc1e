"""Which fields an object has, and which a write changed (structured-merge-diff's view)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._common import _MISSING, _UNTRACKED_META, _UNTRACKED_ROOT, _ZERO_FIELDS, FieldSet, Node, Path
from ._fieldpath import _path_string
from ._shape import _element, _root, _Shape, _untyped

# --- which fields an object has ------------------------------------------------------------------


def _view(obj: Mapping[str, Any] | None, *, status_subresource: bool, subresource: str | None) -> dict[str, Any]:
    """The tracked part of an object: a shallow filter, nothing is copied."""
    if not obj:
        return {}
    if subresource == "status":
        return {"status": obj["status"]} if "status" in obj else {}
    view = dict(obj)  # copies and key-set intersections: a create asks for its view once more
    for key in view.keys() & _UNTRACKED_ROOT:
        del view[key]
    if status_subresource:
        view.pop("status", None)
    meta = view.get("metadata")
    if isinstance(meta, dict):
        meta = view["metadata"] = dict(meta)
        for key in meta.keys() & _UNTRACKED_META:
            del meta[key]
    return view


def fields_of(obj: Mapping[str, Any], schema: Node | None, *, status_subresource: bool = False) -> FieldSet:
    """The fields an applied configuration owns (upstream's ``TypedValue.ToFieldSet``)."""
    out: FieldSet = set()
    _owned(_view(obj, status_subresource=status_subresource, subresource=None), _root(schema), (), out)
    out.discard(("f:metadata",))
    return out


def _owned(value: Any, shape: _Shape, path: Path, out: FieldSet) -> None:
    if isinstance(value, dict):
        if shape.atomic_map:
            out.add(path)
            return
        for key, sub in value.items():
            p = (*path, "f:" + key)
            _owned(sub, shape.child(key), p, out)
            # A struct field is owned through its leaves; a map entry, null or empty map is a leaf itself.
            if sub is None or sub == {} or key not in shape.props:
                out.add(p)
    elif isinstance(value, list):
        if shape.list_type == "atomic":
            out.add(path)
            return
        seen: set[str] = set()
        for i, item in enumerate(value):
            element = _element(item, shape, i, strict=True, path=path)
            if element in seen:
                raise _untyped(path, f"duplicate entries for key {_path_string((element,))}")
            seen.add(element)
            p = (*path, element)
            _owned(item, shape.items, p, out)
            out.add(p)
    else:
        out.add(path)


def _every(value: Any, shape: _Shape, path: Path, out: FieldSet) -> None:
    """Every node of a value: what upstream's compare reports when one side is missing."""
    if path:
        out.add(path)
    if isinstance(value, dict) and value and not shape.atomic_map:
        for key, sub in value.items():
            _every(sub, shape.child(key), (*path, "f:" + key), out)
    elif isinstance(value, list) and value and shape.list_type != "atomic":
        for i, item in enumerate(value):
            _every(item, shape.items, (*path, _element(item, shape, i, strict=False)), out)


@dataclass
class _Diff:
    added: FieldSet
    modified: FieldSet
    removed: FieldSet


def _diff(old: Any, new: Any, root: _Shape) -> _Diff:
    diff = _Diff(set(), set(), set())
    _compare(old, new, root, (), diff)
    for s in (diff.added, diff.modified, diff.removed):
        s.discard(())
        s.discard(("f:metadata",))
    return diff


def _compare(old: Any, new: Any, shape: _Shape, path: Path, diff: _Diff) -> None:
    if old is new:
        return  # shared subtrees (copies of copies) are equal without a walk
    if isinstance(old, dict) and isinstance(new, dict):
        if shape.atomic_map:
            if old != new:
                diff.modified.add(path)
            return
        for key in old.keys() | new.keys():
            p = (*path, "f:" + key)
            if key not in new:
                _every(old[key], shape.child(key), p, diff.removed)
            elif key not in old:
                _every(new[key], shape.child(key), p, diff.added)
            else:
                _compare(old[key], new[key], shape.child(key), p, diff)
        return
    if isinstance(old, list) and isinstance(new, list):
        if shape.list_type == "atomic" or not (old or new):
            if old != new:
                diff.modified.add(path)
            return
        before, after = _index(old, shape), _index(new, shape)
        for element in before.keys() | after.keys():
            p = (*path, element)
            if element not in after:
                _every(before[element], shape.items, p, diff.removed)
            elif element not in before:
                _every(after[element], shape.items, p, diff.added)
            else:
                _compare(before[element], after[element], shape.items, p, diff)
        return
    if old == new and (type(old) is bool) == (type(new) is bool):
        return
    # Different scalars, or a value that changed shape: the node is modified, its insides come and go.
    if isinstance(old, (dict, list)):
        _every(old, shape, path, diff.removed)
    if isinstance(new, (dict, list)):
        _every(new, shape, path, diff.added)
    diff.removed.discard(path)
    diff.added.discard(path)
    diff.modified.add(path)


def _index(items: list[Any], shape: _Shape) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i, item in enumerate(items):
        out.setdefault(_element(item, shape, i, strict=False), item)
    return out


def _zero_paths(view: Mapping[str, Any], root: _Shape) -> FieldSet:
    """Nodes of a new built-in object that its Go zero value already has (see ``_ZERO_FIELDS``)."""
    out: FieldSet = set()
    if root.node is None or "x-kubernetes-group-version-kind" not in root.node:
        return out  # CRDs and schemaless kinds start from an empty object

    def walk(value: Any, shape: _Shape, path: Path, fields: tuple[str, ...]) -> None:
        for name in fields:
            # A zero leaf is null: a set value differs from it, and upstream records it as modified.
            sub = value.get(name, _MISSING) if isinstance(value, dict) else _MISSING
            if sub is None or isinstance(sub, (dict, list)):
                child = shape.child(name)
                out.add((*path, "f:" + name))
                walk(sub, child, (*path, "f:" + name), _ZERO_FIELDS.get(child.definition or "", ()))

    walk(view, root, (), tuple(f for f in ("spec", "status") if f in root.props))
    return out


def _created(view: Mapping[str, Any], root: _Shape) -> FieldSet:
    fields: FieldSet = set()
    _every(view, root, (), fields)
    fields -= _zero_paths(view, root)
    fields.discard(("f:metadata",))
    return fields
