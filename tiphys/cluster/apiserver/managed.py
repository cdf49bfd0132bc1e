"""Field ownership: ``metadata.managedFields`` and server-side apply (spec §5.5).

Upstream records, per writer ("manager"), the fields it set, using structured-merge-diff. This module
reimplements the part that kubectl and the client libraries can see:

* a field set is a ``set`` of paths, and a path is a tuple of upstream's ``fieldsV1`` keys
  (``f:spec``, ``k:{"name":"main"}``, ``v:"example.com/finalizer"``, ``i:0``). ``encode`` and
  ``decode`` walk a trie, and set algebra is Python's own;
* ``apply`` merges an intent into the live object, prunes what the manager stopped applying and
  raises upstream's conflict ``Status``;
* ``record_update`` keeps ownership current after POST, PUT and non-apply PATCH.

Everything here is pure: objects go in, objects come out, and ``now`` is a parameter. List and map
semantics come from the kind's schema (``schema.list_keys``); without a schema, maps are granular
and lists atomic, as upstream's deduced type has them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

import orjson

from tiphys.cluster.apiserver import errors
from tiphys.cluster.apiserver import schema as kube_schema

__all__ = [
    "FieldSet",
    "Path",
    "apply",
    "attach",
    "decode",
    "encode",
    "fields_of",
    "incoming",
    "is_reset",
    "record_update",
]

Path = tuple[str, ...]
FieldSet = set[Path]
Node = kube_schema.Node
_Ident = tuple[str, str, str, str]  # manager, operation, apiVersion (Update only), subresource

_OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
# Upstream's stripMetaManager never records these.
_UNTRACKED_ROOT = frozenset({"apiVersion", "kind"})
_UNTRACKED_META = frozenset(
    {"name", "namespace", "creationTimestamp", "selfLink", "uid", "clusterName", "generation"}
    | {"managedFields", "resourceVersion"}
)
# Upstream reads key defaults from the schema (`+default="TCP"` on ports); the bundled schema lacks
# them, and without one a port applied without `protocol` would have no key.
_KEY_DEFAULTS: dict[str, Any] = {"protocol": "TCP"}
# Fields that the Go zero value of a built-in kind already has (non-pointer structs, non-omitempty
# slices and pointers, all null or empty). Upstream records a create as a diff from that zero
# object, so these nodes are not "added" and get no "." in the creating manager's entry.
_ZERO_FIELDS: dict[str, tuple[str, ...]] = {
    _OBJECT_META: ("creationTimestamp",),
    "io.k8s.api.core.v1.PodTemplateSpec": ("metadata", "spec"),
    "io.k8s.api.core.v1.PodSpec": ("containers",),
    "io.k8s.api.core.v1.PersistentVolumeClaimSpec": ("resources",),
    "io.k8s.api.apps.v1.DeploymentSpec": ("template", "strategy"),
    "io.k8s.api.apps.v1.ReplicaSetSpec": ("template",),
    "io.k8s.api.apps.v1.StatefulSetSpec": ("template", "updateStrategy"),
    "io.k8s.api.apps.v1.DaemonSetSpec": ("template", "updateStrategy"),
    "io.k8s.api.batch.v1.JobSpec": ("template",),
    "io.k8s.api.batch.v1.CronJobSpec": ("jobTemplate",),
    "io.k8s.api.batch.v1.JobTemplateSpec": ("metadata", "spec"),
}
# Upstream's manager for the fields of an object that had no managedFields before its first apply.
_BEFORE_FIRST_APPLY = "before-first-apply"
_MISSING: Any = object()


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


def _json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


# --- which fields an object has ------------------------------------------------------------------


def _view(obj: Mapping[str, Any] | None, *, status_subresource: bool, subresource: str | None) -> dict[str, Any]:
    """The tracked part of an object: a shallow filter, nothing is copied."""
    if not obj:
        return {}
    if subresource == "status":
        return {"status": obj["status"]} if "status" in obj else {}
    view = {k: v for k, v in obj.items() if k not in _UNTRACKED_ROOT}
    if status_subresource:
        view.pop("status", None)
    meta = view.get("metadata")
    if isinstance(meta, dict):
        view["metadata"] = {k: v for k, v in meta.items() if k not in _UNTRACKED_META}
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


# --- managedFields entries -----------------------------------------------------------------------


class _Owner:
    """One managedFields entry while a write is worked out.

    Ownership is read and edited in the encoded ``fieldsV1`` form, so a write that moves a few
    fields costs a few lookups rather than decoding and re-encoding every entry.
    """

    def __init__(self, ident: _Ident, entry: dict[str, Any], fields_v1: dict[str, Any]) -> None:
        self.ident = ident
        self.entry = entry
        self.fields_v1 = fields_v1
        self.dirty = False  # fields_v1 changed: the entry is rebuilt
        self._fields: FieldSet | None = None

    @property
    def fields(self) -> FieldSet:
        if self._fields is None:
            self._fields = decode(self.fields_v1)
        return self._fields

    def owned(self, paths: AbstractSet[Path]) -> FieldSet:
        return {p for p in paths if _has(self.fields_v1, p)}

    def edit(self, add: AbstractSet[Path], remove: AbstractSet[Path]) -> None:
        if not self.fields_v1:
            self.replace(add)  # a new entry, as on every create
            return
        self.fields_v1 = _edit(self.fields_v1, _trie(add), _trie(remove))
        self._fields = None
        self.dirty = True

    def replace(self, fields: AbstractSet[Path]) -> None:
        self.fields_v1 = encode(fields)
        self._fields = set(fields)
        self.dirty = True

    def rebuilt(self, time: str | None) -> dict[str, Any]:
        manager, operation, api_version, subresource = self.ident
        entry: dict[str, Any] = {"manager": manager, "operation": operation}
        entry["apiVersion"] = api_version or self.entry.get("apiVersion", "")
        if time:
            entry["time"] = time
        entry["fieldsType"] = "FieldsV1"
        entry["fieldsV1"] = self.fields_v1
        if subresource:
            entry["subresource"] = subresource
        return entry


def _ident(entry: Mapping[str, Any]) -> _Ident:
    # Upstream's BuildManagerIdentifier: an applier keeps one entry whatever version it applies.
    operation = str(entry.get("operation") or "")
    api_version = "" if operation == "Apply" else str(entry.get("apiVersion") or "")
    return (str(entry.get("manager") or ""), operation, api_version, str(entry.get("subresource") or ""))


def _valid(entries: Any) -> list[dict[str, Any]] | None:
    """The entries if upstream could decode them all, else None."""
    if not isinstance(entries, list) or not entries:
        return None
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("fieldsType") != "FieldsV1":
            return None
        if not isinstance(entry.get("fieldsV1"), dict) or not isinstance(entry.get("manager", ""), str):
            return None
    return entries


def _entries_of(obj: Mapping[str, Any] | None) -> Any:
    meta = obj.get("metadata") if obj else None
    return meta.get("managedFields") if isinstance(meta, dict) else None


def is_reset(entries: Any) -> bool:
    """True for ``[{}]``: a client asking to clear managedFields (any list of only empty entries)."""
    return (
        isinstance(entries, list)
        and bool(entries)
        and all(isinstance(e, dict) and not any(e.values()) for e in entries)
    )


def incoming(
    old: Mapping[str, Any] | None, new: Mapping[str, Any], *, subresource: str | None = None
) -> list[dict[str, Any]]:
    """The managedFields a write starts from (upstream's ``decodeLiveOrNew``).

    A client may write managedFields itself (kubectl's client-side-apply migration does, with a
    JSON patch): ``[{}]`` clears them, a valid list replaces them, and anything else (missing, empty,
    undecodable, or a subresource write) keeps the stored ones.
    """
    stored = _valid(_entries_of(old)) or []
    if subresource:
        return stored
    written = _entries_of(new)
    if is_reset(written):
        return []
    return _valid(written) or stored


def attach(obj: dict[str, Any], entries: list[dict[str, Any]]) -> None:
    """Store ``entries`` as ``metadata.managedFields``, omitting the field when there are none."""
    meta = obj.setdefault("metadata", {})
    if entries:
        meta["managedFields"] = entries
    else:
        meta.pop("managedFields", None)


def _owners(entries: list[dict[str, Any]]) -> list[_Owner]:
    return [_Owner(_ident(e), e, e["fieldsV1"]) for e in entries]


def _finish(owners: list[_Owner], times: Mapping[_Ident, str]) -> list[dict[str, Any]]:
    out = []
    for owner in owners:
        if not owner.fields_v1:
            continue  # upstream drops managers that own nothing
        if owner.dirty:
            owner.entry = owner.rebuilt(times.get(owner.ident, owner.entry.get("time")))
        out.append(owner.entry)
    # Upstream's sortEncodedManagedFields: Apply before Update, then time, manager, version, subresource.
    out.sort(
        key=lambda e: (
            str(e.get("operation", "")),
            str(e.get("time", "")),
            str(e.get("manager", "")),
            str(e.get("apiVersion", "")),
            str(e.get("subresource", "")),
        )
    )
    return out


# --- non-apply writes ------------------------------------------------------------------------------


def record_update(
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any],
    *,
    manager: str,
    schema: Node | None,
    api_version: str,
    now: str,
    subresource: str | None = None,
    status_subresource: bool = False,  # the main resource ignores .status when the kind has /status
) -> list[dict[str, Any]]:
    """managedFields after a POST (``old`` is None), PUT or non-apply PATCH by ``manager``.

    The manager's ``Update`` entry gains every field the write changed (all fields on create),
    and other managers lose them. Entries that don't change come back as the same dicts.
    """
    entries = incoming(old, new, subresource=subresource)
    root = _root(schema)
    after = _view(new, status_subresource=status_subresource, subresource=subresource)
    if old is None:
        diff = _Diff(_created(after, root), set(), set())
    else:
        diff = _diff(_view(old, status_subresource=status_subresource, subresource=subresource), after, root)
    changed = diff.added | diff.modified
    if not changed and not diff.removed:
        return list(entries)

    owners = _owners(entries)
    me: _Ident = (manager, "Update", api_version, subresource or "")
    mine = next((o for o in owners if o.ident == me), None)
    touched = changed | diff.removed
    for owner in owners:
        lost = owner.owned(touched) if owner is not mine else set()
        if lost:
            owner.edit(set(), lost)
    times: dict[_Ident, str] = {}
    if changed:
        if mine is None:
            mine = _Owner(me, {}, {})
            owners.append(mine)
        mine.edit(changed, diff.removed)
        times[me] = now
    elif mine is not None and (lost := mine.owned(diff.removed)):
        mine.edit(set(), lost)
    return _finish(owners, times)


# --- server-side apply -----------------------------------------------------------------------------


def apply(
    live: Mapping[str, Any] | None,
    intent: Mapping[str, Any],
    *,
    manager: str,
    force: bool,
    schema: Node | None,
    api_version: str,
    now: str,
    status_subresource: bool,
) -> dict[str, Any]:
    """Server-side apply of ``intent`` by ``manager``: the new object, with its managedFields.

    ``live`` (None: create) is not changed. Raises upstream's 409 ``Conflict`` when the intent
    changes a field another manager owns, unless ``force``. With ``status_subresource`` the intent's
    ``.status`` is ignored and the live status kept, as on every main-resource write.
    """
    _check_intent(intent, api_version)
    root = _root(schema)
    applied = fields_of(intent, schema, status_subresource=status_subresource)
    view = functools.partial(_view, status_subresource=status_subresource, subresource=None)

    stored = _valid(_entries_of(live)) or []
    owners = _owners(stored)
    times: dict[_Ident, str] = {}
    if live is not None and not owners:
        # An object without managedFields: upstream hands its fields to "before-first-apply" first,
        # so the first apply conflicts with values it did not set.
        first = _Owner((_BEFORE_FIRST_APPLY, "Update", api_version, ""), {}, {})
        first.replace(_created(view(live), root))
        times[first.ident] = now
        owners.append(first)
    me: _Ident = (manager, "Apply", "", "")
    mine = next((o for o in owners if o.ident == me), None)
    others = [o for o in owners if o is not mine]

    base: dict[str, Any] = orjson.loads(orjson.dumps(live)) if live is not None else {}
    meta = base.get("metadata")
    if isinstance(meta, dict):
        meta.pop("managedFields", None)
    merging = {k: v for k, v in intent.items() if not (status_subresource and k == "status")}
    merged: dict[str, Any] = _merge(base, merging, root)

    if mine is not None and not mine.fields <= applied:
        # Upstream's prune: drop what this manager applied last time and nobody owns any more.
        kept = set(applied)
        for owner in others:
            kept |= owner.fields
        if not mine.fields <= kept:
            gone = _with_named_parents(mine.fields) - _with_named_parents(kept)
            _prune(merged, _trie(gone), root)

    diff = _diff(view(live), view(merged), root)
    changed = diff.added | diff.modified
    taken = {o.ident: o.owned(changed) for o in others}
    conflicts = {ident: paths for ident, paths in taken.items() if paths}
    if conflicts and not force:
        raise _conflict_error(conflicts)
    for owner in others:
        lost = taken[owner.ident] | owner.owned(diff.removed)
        if lost:
            owner.edit(set(), lost)

    unchanged = live is not None and _without_entries(live) == _without_entries(merged)
    if mine is None:
        mine = _Owner(me, {}, {})
        owners.append(mine)
        times[me] = now
    elif not unchanged:
        times[me] = now
    if me in times or mine.entry.get("apiVersion") != api_version or mine.fields != applied:
        mine.replace(applied)
        mine.entry = {**mine.entry, "apiVersion": api_version}
    attach(merged, _finish(owners, times))
    return merged


def _check_intent(intent: Mapping[str, Any], api_version: str) -> None:
    # Upstream's structuredmerge Apply rejects both before merging.
    if intent.get("apiVersion") != api_version:
        raise errors.bad_request(
            "Incorrect version specified in apply patch. Specified patch version: "
            f"{intent.get('apiVersion') or ''}, expected: {api_version}"
        )
    meta = intent.get("metadata")
    if isinstance(meta, Mapping) and meta.get("managedFields") is not None:
        raise errors.bad_request("metadata.managedFields must be nil")


def _without_entries(obj: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(obj)
    meta = out.get("metadata")
    if isinstance(meta, dict) and "managedFields" in meta:
        out["metadata"] = {k: v for k, v in meta.items() if k != "managedFields"}
    return out


def _merge(live: Any, intent: Any, shape: _Shape) -> Any:
    """Upstream's ``TypedValue.Merge``: the intent wins, granular maps and keyed lists merge."""
    if isinstance(intent, dict):
        if shape.atomic_map:
            return intent
        out = live if isinstance(live, dict) else {}  # `live` is our own copy
        for key, value in intent.items():
            if value is None:
                # A null in an applied configuration is owned but never stored (typed objects drop it).
                out.pop(key, None)
            else:
                out[key] = _merge(out.get(key, _MISSING), value, shape.child(key))
        return out
    if isinstance(intent, list):
        if shape.list_type == "atomic":
            return intent
        before = live if isinstance(live, list) else []
        return _merge_items(
            before,
            intent,
            [_element(v, shape, i, strict=False) for i, v in enumerate(before)],
            [_element(v, shape, i, strict=False) for i, v in enumerate(intent)],
            shape.items,
        )
    return intent


def _merge_items(
    live: list[Any], intent: list[Any], live_keys: list[str], intent_keys: list[str], item: _Shape
) -> list[Any]:
    """Merge a keyed list the way upstream orders it.

    Items that only the live list has keep their place. Items in the intent come in the intent's
    order, and new ones go in where the intent puts them.
    """
    live_at: dict[str, int] = {}
    for i, k in enumerate(live_keys):
        live_at.setdefault(k, i)
    wanted = set(intent_keys)
    shared = [k for k in intent_keys if k in live_at]
    nxt = 0
    done: set[str] = set()
    out: list[Any] = []
    li = ri = 0

    def take(k: str, value: Any) -> None:
        nonlocal nxt
        out.append(_merge(live[live_at[k]] if k in live_at else _MISSING, value, item))
        done.add(k)
        if nxt < len(shared) and shared[nxt] == k:
            nxt += 1

    while li < len(live) or ri < len(intent):
        if li < len(live) and ri < len(intent) and live_keys[li] == intent_keys[ri]:
            take(intent_keys[ri], intent[ri])
            li += 1
            ri += 1
            continue
        if li < len(live):
            k = live_keys[li]
            if k not in wanted:
                out.append(live[li])
                li += 1
                continue
            if k in done or (ri < len(intent) and (nxt >= len(shared) or shared[nxt] != k)):
                li += 1  # a shared item that the intent places later
                continue
        if ri < len(intent):
            take(intent_keys[ri], intent[ri])
            ri += 1
    return out


def _with_named_parents(fields: AbstractSet[Path]) -> FieldSet:
    # Upstream's EnsureNamedFieldsAreMembers: owning `.data.a` also owns `.data`, so pruning the last
    # entry of a field removes the field itself. metadata is never pruned as a whole.
    out = set(fields)
    for path in fields:
        for i in range(1, len(path)):
            if path[i - 1].startswith("f:"):
                out.add(path[:i])
    out.discard(("f:metadata",))
    return out


def _prune(value: Any, trie: _Trie, shape: _Shape) -> None:
    if isinstance(value, dict):
        for element, sub in trie.items():
            key = element[2:]
            if not element.startswith("f:") or key not in value:
                continue
            if "." in sub:
                del value[key]
            else:
                _prune(value[key], sub, shape.child(key))
    elif isinstance(value, list) and shape.list_type != "atomic":
        kept = []
        for i, item in enumerate(value):
            sub = trie.get(_element(item, shape, i, strict=False))
            if sub is not None and "." in sub:
                continue
            if sub:
                _prune(item, sub, shape.items)
            kept.append(item)
        value[:] = kept


# --- conflicts -------------------------------------------------------------------------------------


def _conflict_error(conflicts: Mapping[_Ident, FieldSet]) -> errors.StatusError:
    """Upstream's NewConflictError: one cause per field, the message grouped by manager."""
    ordered = [(ident, path) for ident in sorted(conflicts) for path in _iter_paths(conflicts[ident])]
    causes = [
        {"reason": "FieldManagerConflict", "message": f"conflict with {_who(ident)}", "field": _path_string(path)}
        for ident, path in ordered
    ]
    if len(ordered) == 1:
        ident, path = ordered[0]
        message = f"Apply failed with 1 conflict: conflict with {_who(ident)}: {_path_string(path)}"
    else:
        lines: list[str] = []
        for ident in sorted(conflicts):
            lines.append(f"conflicts with {_who(ident)}:")
            lines.extend(f"- {_path_string(path)}" for path in _iter_paths(conflicts[ident]))
        message = f"Apply failed with {len(ordered)} conflicts: " + "\n".join(lines)
    return errors.StatusError(409, "Conflict", message, details={"causes": causes})


def _who(ident: _Ident) -> str:
    # Upstream's printManager: an Update manager is tied to the version it wrote with.
    manager, operation, api_version, subresource = ident
    who = _json(manager)
    if subresource:
        who += f" with subresource {_json(subresource)}"
    if operation == "Update":
        who += f" using {api_version}"
    return who


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
