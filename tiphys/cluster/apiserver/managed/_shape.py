"""Schema navigation for field ownership: map, set and atomic lists, list-map keys, element names."""

from __future__ import annotations

import functools
from typing import Any

import orjson

from .. import errors
from .. import schema as kube_schema
from ._common import _KEY_DEFAULTS, _OBJECT_META, _ZERO_FIELDS, Node, Path, _json
from ._fieldpath import _path_string

# --- schema navigation -----------------------------------------------------------------------------


class _Shape:
    """What the walkers need from one schema node, worked out once: writes walk the same nodes often."""

    __slots__ = ("_children", "_items", "atomic_map", "definition", "keys", "list_type", "node", "props")

    def __init__(self, node: Node | None) -> None:
        resolved = kube_schema.resolve(node)
        props = resolved.get("properties") if resolved else None
        list_type, keys = kube_schema.list_keys(resolved)
        self.node = resolved
        self.props: dict[str, Any] = props if isinstance(props, dict) else {}
        self.atomic_map = resolved is not None and resolved.get("x-kubernetes-map-type") == "atomic"
        self.list_type = "atomic" if list_type == "map" and not keys else list_type
        self.keys = keys
        self.definition = _zero_definitions().get(id(resolved)) if resolved is not None else None
        self._children: dict[str, _Shape] = {}
        self._items: _Shape | None = None

    def child(self, key: str) -> _Shape:
        shape = self._children.get(key)
        if shape is None:
            node = kube_schema.child(self.node, key)
            # An annotation written beside a $ref sits on the property, which child() resolves away
            # (PersistentVolumeSpec.claimRef is an atomic map).
            prop = self.props.get(key)
            if node is not None and isinstance(prop, dict) and "x-kubernetes-map-type" in prop:
                node = {**node, "x-kubernetes-map-type": prop["x-kubernetes-map-type"]}
            shape = self._children[key] = _shape(node)
        return shape

    @property
    def items(self) -> _Shape:
        if self._items is None:
            self._items = _shape(kube_schema.items(self.node))
        return self._items


# Shapes by node identity. An entry keeps its node alive, so an id is never reused while cached;
# the bound only matters for clusters that keep replacing CRD schemas.
_SHAPES: dict[int, tuple[Node | None, _Shape]] = {}
_ROOTS: dict[int, tuple[Node | None, _Shape]] = {}
_SHAPES_LIMIT = 50_000


def _shape(node: Node | None) -> _Shape:
    cached = _SHAPES.get(id(node))
    if cached is not None and cached[0] is node:
        return cached[1]
    if len(_SHAPES) >= _SHAPES_LIMIT:
        _SHAPES.clear()
    shape = _Shape(node)
    _SHAPES[id(node)] = (node, shape)
    return shape


def _root(node: Node | None) -> _Shape:
    """The kind's root, with ``metadata`` typed as ObjectMeta even for CRDs and schemaless kinds."""
    cached = _ROOTS.get(id(node))
    if cached is not None and cached[0] is node:
        return cached[1]
    if len(_ROOTS) >= _SHAPES_LIMIT:
        _ROOTS.clear()
    shape = _Shape(node)
    shape._children["metadata"] = _shape(kube_schema.definitions().get(_OBJECT_META))
    _ROOTS[id(node)] = (node, shape)
    return shape


@functools.cache
def _zero_definitions() -> dict[int, str]:
    defs = kube_schema.definitions()
    return {id(defs[name]): name for name in _ZERO_FIELDS if name in defs}


def _element(item: Any, shape: _Shape, index: int, *, strict: bool, path: Path = ()) -> str:
    """The path element of an item of the list ``shape``: ``k:{...}`` in a map list, ``v:...`` in a set.

    ``strict`` (an applied configuration) rejects items without their keys, as upstream does;
    otherwise (stored objects) the missing keys are left out.
    """
    if shape.list_type == "set":
        return "v:" + _json(item)
    if not isinstance(item, dict):
        if strict:
            raise _untyped(path, f"element {index}: associative list with keys may not have non-map elements")
        return f"i:{index}"
    key: dict[str, Any] = {}
    for name in shape.keys:
        if name in item:
            key[name] = item[name]
            continue
        prop = shape.items.props.get(name)
        if isinstance(prop, dict) and "default" in prop:
            key[name] = prop["default"]
        elif name in _KEY_DEFAULTS:
            key[name] = _KEY_DEFAULTS[name]
        elif strict:
            raise _untyped(
                path,
                f"element {index}: associative list with keys has an element that omits key field "
                f'"{name}" (and doesn\'t have default value)',
            )
    return "k:" + orjson.dumps(key, option=orjson.OPT_SORT_KEYS).decode()


def _untyped(path: Path, why: str) -> errors.StatusError:
    # Upstream fails ObjectToTyped with this text (as a 500); the intent is at fault, so we say 400.
    return errors.bad_request(f"failed to create typed patch object: {_path_string(path)}: {why}")
