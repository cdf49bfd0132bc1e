"""The creating manager's ``fieldsV1`` built in one walk of the new object.

On create every tracked field is the creator's, so its entry is the encoding of ``_created``'s
field set. Building that set of path tuples, then a trie, then sorting and emitting it cost more
than the rest of a small create; this walks the object once and emits the same JSON directly,
sorted as upstream sorts it. ``tests/apiserver/test_schema_walks.py`` checks that both agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from ._fieldpath import _element_order, _Trie, _trie
from ._fields import _zero_paths
from ._shape import _element, _Shape

__all__ = ["created_fields_v1"]

_METADATA: tuple[str, ...] = ("f:metadata",)
_NOT_METADATA: _Trie = {"f:metadata": {".": None}}


class _Duplicate(Exception):
    """Two items of a keyed list have the same key: the general path merges them."""


def created_fields_v1(view: Mapping[str, Any], root: _Shape) -> dict[str, Any] | None:
    """``encode(_created(view, root))``, or None when a list repeats a key (use the general path)."""
    if not view or root.atomic_map:
        return {}
    # Nodes that are not the creator's own: the Go zero value's (only ever under spec and
    # status), and metadata as a whole.
    if "spec" in view or "status" in view:
        not_owned = _trie({*_zero_paths(view, root), _METADATA})
    else:
        not_owned = _NOT_METADATA
    try:
        fields_v1 = _children(view, root, not_owned)
    except _Duplicate:
        return None
    return _shared(fields_v1)


# Creates of one kind by one client mostly own the same fields: one fieldsV1 is kept per distinct
# encoding and handed to every object that has it. Stored objects are never changed in place
# (edits copy the nodes they change, _fieldpath._edit), so sharing one is safe, and each created
# object keeps a reference rather than its own tree of dicts to allocate and to be walked by the
# garbage collector. Bounded for servers that see many shapes.
_SHARED: dict[bytes, dict[str, Any]] = {}
_SHARED_LIMIT = 4096


def _shared(fields_v1: dict[str, Any]) -> dict[str, Any]:
    encoded = orjson.dumps(fields_v1)
    found = _SHARED.get(encoded)
    if found is not None:
        return found
    if len(_SHARED) >= _SHARED_LIMIT:
        _SHARED.clear()
    _SHARED[encoded] = fields_v1
    return fields_v1


def _children(value: Any, shape: _Shape, skip: _Trie | None) -> dict[str, Any]:
    """The fieldsV1 entries below ``value``, a non-empty map or list that is not atomic."""
    out: dict[str, Any] = {}
    if isinstance(value, dict):
        for key in sorted(value):  # "f:" elements sort by field name
            element = "f:" + key
            sub = value[key]
            below = skip.get(element) if skip else None
            if below is None:
                if not sub or not isinstance(sub, (dict, list)):
                    out[element] = {}  # an owned leaf, the most common case: no call
                    continue
                if sub.__class__ is dict:
                    for item in sub.values():
                        if item and isinstance(item, (dict, list)):
                            break
                    else:
                        # A map of leaves (labels, data): owned, and each entry an owned leaf.
                        if shape.child(key).atomic_map:
                            out[element] = {}
                        else:
                            leaves: dict[str, Any] = {".": {}}
                            for name in sorted(sub):
                                leaves["f:" + name] = {}
                            out[element] = leaves
                        continue
            node = _node(sub, shape.child(key), below)
            if node is not None:
                out[element] = node
        return out
    item_shape = shape.items
    elements = [(_element(item, shape, i, strict=False), item) for i, item in enumerate(value)]
    if len({element for element, _ in elements}) != len(elements):
        raise _Duplicate
    elements.sort(key=lambda pair: _element_order(pair[0]))
    for element, item in elements:
        node = _node(item, item_shape, skip.get(element) if skip else None)
        if node is not None:
            out[element] = node
    return out


def _node(value: Any, shape: _Shape, skip: _Trie | None) -> dict[str, Any] | None:
    """One node's fieldsV1 value: ``{}`` for an owned leaf, None when nothing in it is owned."""
    owned = skip is None or "." not in skip
    if value and (
        (isinstance(value, dict) and not shape.atomic_map) or (isinstance(value, list) and shape.list_type != "atomic")
    ):
        inner = _children(value, shape, skip)
        if inner:
            return {".": {}, **inner} if owned else inner
    return {} if owned else None
