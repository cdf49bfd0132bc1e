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
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from typing import Any

import orjson

from .. import errors
from ._common import _BEFORE_FIRST_APPLY, _MISSING, FieldSet, Node, Path, _Ident, _json
from ._create import created_fields_v1
from ._fieldpath import _edit, _has, _iter_paths, _path_string, _Trie, _trie, decode, encode
from ._fields import _created, _Diff, _diff, _view, fields_of
from ._shape import _element, _root, _Shape

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
    meta = new.get("metadata")
    if old is None and isinstance(meta, dict) and meta.get("managedFields") is None:
        entries: list[dict[str, Any]] = []  # a create that brings no managedFields: none to start from
    else:
        entries = incoming(old, new, subresource=subresource)
    root = _root(schema)
    after = _view(new, status_subresource=status_subresource, subresource=subresource)
    if old is None and not entries:
        # A plain create: one entry, the creator's, owning every field (built in one walk).
        fields_v1 = created_fields_v1(after, root)
        if fields_v1 is not None:
            return _created_entries(manager, api_version, now, subresource, fields_v1) if fields_v1 else []
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


# The managedFields of the creates of the current second, by creator: creates by one client in
# one second, owning the same (shared) fieldsV1, get one list, as stored objects are never changed
# in place. Only the current second's are kept.
_CREATED: dict[tuple[str, str, str, str | None, int], tuple[dict[str, Any], list[dict[str, Any]]]] = {}
_created_at = ""


def _created_entries(
    manager: str, api_version: str, now: str, subresource: str | None, fields_v1: dict[str, Any]
) -> list[dict[str, Any]]:
    global _created_at
    if now != _created_at:
        _CREATED.clear()
        _created_at = now
    key = (manager, api_version, now, subresource, id(fields_v1))
    hit = _CREATED.get(key)
    if hit is not None and hit[0] is fields_v1:
        return hit[1]
    entries = [_created_entry(manager, api_version, now, subresource, fields_v1)]
    _CREATED[key] = (fields_v1, entries)
    return entries


def _created_entry(
    manager: str, api_version: str, now: str, subresource: str | None, fields_v1: dict[str, Any]
) -> dict[str, Any]:
    # The same entry, key for key, as _Owner.rebuilt makes for a new owner.
    entry: dict[str, Any] = {"manager": manager, "operation": "Update", "apiVersion": api_version}
    if now:
        entry["time"] = now
    entry["fieldsType"] = "FieldsV1"
    entry["fieldsV1"] = fields_v1
    if subresource:
        entry["subresource"] = subresource
    return entry


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
    subresource: str | None = None,
) -> dict[str, Any]:
    """Server-side apply of ``intent`` by ``manager``: the new object, with its managedFields.

    ``live`` (None: create) is not changed. Raises upstream's 409 ``Conflict`` when the intent
    changes a field another manager owns, unless ``force``. With ``status_subresource`` the intent's
    ``.status`` is ignored and the live status kept, as on every main-resource write; an apply to
    the ``status`` subresource (``subresource="status"``) applies only the intent's ``.status``.
    """
    _check_intent(intent, api_version)
    root = _root(schema)
    on_status = subresource == "status"
    if on_status:
        intent = {k: v for k, v in intent.items() if k in ("apiVersion", "kind", "status")}
        applied = {p for p in fields_of(intent, schema) if p[:1] == ("f:status",)}
    else:
        applied = fields_of(intent, schema, status_subresource=status_subresource)
    view = functools.partial(_view, status_subresource=status_subresource, subresource=subresource)

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
    me: _Ident = (manager, "Apply", "", subresource or "")
    mine = next((o for o in owners if o.ident == me), None)
    others = [o for o in owners if o is not mine]

    base: dict[str, Any] = orjson.loads(orjson.dumps(live)) if live is not None else {}
    meta = base.get("metadata")
    if isinstance(meta, dict):
        meta.pop("managedFields", None)
    if on_status:
        merging = {"status": intent["status"]} if "status" in intent else {}
    else:
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
