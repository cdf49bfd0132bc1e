"""The per-write schema walks, over schema nodes compiled once.

Every write walks the object against its kind's schema three times: the decoding check (types
and unknown fields), Go's ``omitempty`` (empty maps and lists are not stored) and the required
fields. Done on raw JSON-schema dicts, each step of each walk re-resolved ``$ref``s and re-read
the node's keywords, and that was most of the cost of a small write. A :class:`Compiled` node
holds what the walks read, worked out on first use and kept for the life of the schema node;
leaf fields (strings, numbers, maps of strings) are checked inline rather than recursed into.
"""

from __future__ import annotations

from typing import Any

from . import schema

__all__ = ["Compiled", "compiled", "decode_walk", "drop_empty", "required_walk"]

Obj = dict[str, Any]
Cause = dict[str, str]

_PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}
_GO_TYPE = {
    "string": "string",
    "integer": "int32",
    "number": "float64",
    "boolean": "bool",
    "object": "map",
    "array": "array",
}
_JSON_TYPE = {str: "string", int: "number", float: "number", bool: "bool", dict: "object", list: "array"}
_SKIP_TOP = frozenset({"apiVersion", "kind", "metadata"})  # implicit in every CRD schema
_NONE: frozenset[str] = frozenset()


def _types(node: schema.Node) -> list[str]:
    t = node.get("type")
    if isinstance(t, list):
        return [x for x in t if x != "null"]
    if isinstance(t, str):
        return [t]
    alternatives = node.get("oneOf") or node.get("anyOf")
    if alternatives:
        found: list[str] = []
        for alt in alternatives:
            found += _types(schema.resolve(alt) or {})
        return found
    if node.get("x-kubernetes-int-or-string"):
        return ["integer", "string"]
    return []


class Compiled:
    """One resolved schema node, as the walks need it. Children are compiled on first use."""

    __slots__ = (
        "accept",
        "bool_ok",
        "containers",
        "extra",
        "extra_dict",
        "extra_open",
        "fast_leaves",
        "fast_maps",
        "go_type",
        "has_extra",
        "items",
        "kids",
        "leaf",
        "leaf_map",
        "node",
        "preserve",
        "props",
        "required",
        "required_kids",
        "required_set",
        "stop",
        "walk_required",
    )

    def __init__(self, node: schema.Node) -> None:
        self.node = node
        types = _types(node)
        # Python types a value may have; bool is an int, so it is only accepted when named.
        self.accept: tuple[type, ...] | None = tuple(t for name in types for t in _PY_TYPES.get(name, ())) or None
        if not types:
            self.accept = None
        elif self.accept is None:
            self.accept = ()  # only unknown type names: nothing matches, as before
        self.bool_ok = "boolean" in types
        self.go_type = _GO_TYPE.get(types[0], types[0]) if types else ""
        props = node.get("properties")
        self.props: dict[str, Any] | None = props if isinstance(props, dict) else None
        self.kids: dict[str, Compiled | None] = {}
        extra = node.get("additionalProperties")
        self.has_extra = "additionalProperties" in node
        self.extra_open = extra is True
        self.extra_dict = isinstance(extra, dict)
        self.extra: Compiled | None = None  # set by _link
        self.items: Compiled | None = None  # set by _link
        self.leaf_map = False  # a map whose values are leaves (labels, data): set by _link
        self.preserve = bool(node.get("x-kubernetes-preserve-unknown-fields"))
        # An open object without properties: the decoding walk stops here.
        self.stop = self.preserve and "properties" not in node
        self.required: tuple[str, ...] = tuple(node.get("required") or ())
        self.required_set = frozenset(self.required)
        has_items = isinstance(node.get("items"), dict)
        # Nothing below this node: only its own type matters.
        self.leaf = not self.stop and self.props is None and not self.extra_dict and not has_items
        # Whether the required-fields walk has anything to look at below this node.
        self.walk_required = bool(self.required) or self.props is not None or has_items
        # The walks' shortcuts over this node's properties: set together by _prepare, on first use.
        self.fast_leaves: dict[str, frozenset[type]] = {}
        self.fast_maps: dict[str, frozenset[type]] = {}
        self.containers: frozenset[str] | None = None
        self.required_kids: frozenset[str] = frozenset()

    def _link(self) -> None:
        """Compile the map-value and list-item schemas (after this node is cached: schemas recurse)."""
        extra, item = self.node.get("additionalProperties"), self.node.get("items")
        self.extra = compiled(extra) if isinstance(extra, dict) else None
        self.items = compiled(item) if isinstance(item, dict) else None
        self.leaf_map = self.props is None and not self.stop and self.extra is not None and self.extra.leaf

    def _prepare(self) -> None:
        """Work out, once, each walk's shortcuts for this object's properties.

        - ``fast_leaves`` (decoding): a scalar property, by the exact classes that certainly pass
          its type check; ``fast_maps``: a map of scalars (labels, data), by the exact classes its
          values may have (None included, which the walk skips). A value of another class takes
          the general path, which decides as before.
        - ``containers`` (omitempty): the properties that may hold a map or a list, all but those
          typed as scalars. A map or list where the schema wants a scalar is a type error that
          decoding answered with 400 before any object reached that walk.
        - ``required_kids`` (required fields): the properties with anything to check below.
        """
        containers, required = set(), set()
        for key in self.props or ():
            sub = self.kid(key)
            if sub is None:
                continue
            if sub.walk_required:
                required.add(key)
            if sub.accept is None:
                containers.add(key)
                continue
            if dict in sub.accept or list in sub.accept:
                containers.add(key)
            if sub.leaf:
                self.fast_leaves[key] = _exact(sub)
            elif sub.leaf_map and dict in sub.accept and sub.extra is not None:
                values = sub.extra
                self.fast_maps[key] = (_exact(values) if values.accept is not None else frozenset()) | {type(None)}
        self.required_kids = frozenset(required)
        self.containers = frozenset(containers)  # set last: it says the rest is ready

    def kid(self, key: str) -> Compiled | None:
        """The compiled property ``key`` (None when its schema resolves to nothing)."""
        try:
            return self.kids[key]
        except KeyError:
            assert self.props is not None
            sub = self.kids[key] = compiled(self.props[key])
            return sub

    def matches(self, value: Any) -> bool:
        accept = self.accept
        if accept is None:
            return True
        return isinstance(value, accept) and (self.bool_ok or value.__class__ is not bool)

    def type_error(self, value: Any, path: str) -> str:
        got = _JSON_TYPE.get(type(value), "value")
        return f"cannot unmarshal {got} into Go struct field {path or '.'} of type {self.go_type}"


def _exact(c: Compiled) -> frozenset[type]:
    """The exact classes ``c.matches`` accepts (JSON decodes to exactly these; subclasses go the long way)."""
    assert c.accept is not None
    return frozenset(t for t in c.accept if t is not bool or c.bool_ok)


# Compiled nodes by the identity of the resolved node. An entry keeps its node alive, so an id is
# never reused while cached; the bound only matters for clusters that keep replacing CRD schemas.
_COMPILED: dict[int, tuple[schema.Node, Compiled]] = {}
_LIMIT = 50_000


def compiled(node: schema.Node | None) -> Compiled | None:
    hit = _COMPILED.get(id(node))
    if hit is not None and hit[0] is node:  # a node without $ref (a kind's root): its own entry
        return hit[1]
    resolved = schema.resolve(node)
    if resolved is None:
        return None
    hit = _COMPILED.get(id(resolved))
    if hit is not None and hit[0] is resolved:
        return hit[1]
    if len(_COMPILED) >= _LIMIT:
        _COMPILED.clear()
    made = Compiled(resolved)
    _COMPILED[id(resolved)] = (resolved, made)
    made._link()
    return made


# Decoding: types and unknown fields ----------------------------------------------------------


def decode_walk(value: Any, c: Compiled, path: str, unknown: list[str], type_errors: list[str], prune: bool) -> None:
    """Collect type errors and unknown fields under ``value`` (not None); ``prune`` drops the unknown."""
    if c.stop:
        return
    accept = c.accept
    if accept is not None and not (isinstance(value, accept) and (c.bool_ok or value.__class__ is not bool)):
        type_errors.append(c.type_error(value, path))
        return
    if isinstance(value, dict):
        props, extra, kids = c.props, c.extra, c.kids
        closed = props is not None and not c.preserve and not c.extra_open
        drop: list[str] = []
        if c.containers is None:
            c._prepare()
        leaves, maps = c.fast_leaves, c.fast_maps
        for key, item in value.items():
            # The common cases first: a scalar of its exact type, a map of such scalars.
            fast = leaves.get(key)
            if fast is not None and item.__class__ in fast:
                continue
            fast = maps.get(key)
            if fast is not None and item.__class__ is dict and fast.issuperset(map(type, item.values())):
                continue
            if props is not None and key in props:
                sub = kids[key] if key in kids else c.kid(key)
            elif c.extra_dict:
                sub = extra
            else:
                if closed and (path or key not in _SKIP_TOP):
                    unknown.append(f"{path}.{key}" if path else key)
                    drop.append(key)
                continue
            if sub is None or item is None:
                continue
            if sub.leaf:
                # Inline type check of a scalar field (most fields): no call, no path string.
                accept = sub.accept
                if accept is not None and not (
                    isinstance(item, accept) and (sub.bool_ok or item.__class__ is not bool)
                ):
                    type_errors.append(sub.type_error(item, f"{path}.{key}" if path else key))
                continue
            if sub.leaf_map and item.__class__ is dict and sub.matches(item):
                # A map of scalars (labels, data): its values checked here, as the call would.
                values = sub.extra
                assert values is not None
                accept = values.accept
                if accept is not None:
                    for name, element in item.items():
                        if element is not None and not (
                            isinstance(element, accept) and (values.bool_ok or element.__class__ is not bool)
                        ):
                            where = f"{path}.{key}" if path else key
                            type_errors.append(values.type_error(element, f"{where}.{name}" if where else name))
                continue
            decode_walk(item, sub, f"{path}.{key}" if path else key, unknown, type_errors, prune)
        if prune:
            for key in drop:
                del value[key]
    elif isinstance(value, list):
        element = c.items
        if element is not None:
            for i, item in enumerate(value):
                if item is not None:
                    decode_walk(item, element, f"{path}[{i}]", unknown, type_errors, prune)


# Go's omitempty -------------------------------------------------------------------------------


def drop_empty(value: Any, c: Compiled | None, required: frozenset[str] = _NONE) -> None:
    """Drop empty maps and optional empty lists that a Go struct would not have stored."""
    if c is None or not isinstance(value, dict):
        return
    if c.containers is None:
        c._prepare()
    containers = c.containers
    assert containers is not None
    needed = c.required_set | required if required else c.required_set
    dropped: list[str] = []
    for key in value.keys() & containers:  # the order is of no matter: drops wait for the end
        item = value[key]
        if isinstance(item, dict):
            sub = c.kid(key)
            if sub is not None and sub.props is not None:
                drop_empty(item, sub, _NONE)
            elif not item and key not in needed and sub is not None and sub.has_extra:
                dropped.append(key)  # an empty Go map; an empty struct (pointer) would stay
        elif isinstance(item, list):
            sub = c.kid(key)
            if sub is None:
                continue
            if not item and key not in needed:
                dropped.append(key)
            elif sub.items is not None and sub.items.props is not None:
                for entry in item:
                    drop_empty(entry, sub.items, _NONE)
    for key in dropped:
        del value[key]


# Required fields ------------------------------------------------------------------------------


def required_walk(value: Any, c: Compiled | None, path: str, out: list[Cause], *, skip: str = "") -> None:
    """A ``Required value`` cause for every required field missing (or null) under ``value``.

    ``skip`` names a field of ``value`` checked elsewhere: taken as present, and not walked into.
    """
    if c is None:
        return
    if isinstance(value, dict):
        for req in c.required:
            if req != skip and value.get(req) is None:
                field = f"{path}.{req}" if path else req
                out.append({"reason": "FieldValueRequired", "message": "Required value", "field": field})
        if c.containers is None:
            c._prepare()
        kids = c.required_kids
        if kids:
            for key, sub in value.items():  # in the object's order: the causes are listed so
                if key in kids and key != skip:
                    required_walk(sub, c.kids[key], f"{path}.{key}" if path else key, out)
    elif isinstance(value, list):
        element = c.items
        if element is not None:
            for i, item in enumerate(value):
                required_walk(item, element, f"{path}[{i}]", out)
