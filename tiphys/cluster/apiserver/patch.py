"""The three non-apply patch types: JSON merge (RFC 7386), JSON patch (RFC 6902) and strategic merge.

Each function takes the stored object and the decoded patch body and returns a new object; the stored
object is never changed. Results may share leaves with the patch body, which the server decodes fresh
for every request. Server-side apply is not here: it is about field ownership and lives in
``managed.py``.

Strategic merge patch follows upstream's ``strategicpatch`` package as the API server runs it (merge
parallel lists, ignore unmatched nulls): list strategies and merge keys come from the kind's schema,
and the ``$patch``, ``$retainKeys``, ``$setElementOrder/`` and ``$deleteFromPrimitiveList/``
directives that kubectl sends are applied and never stored.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import jsonpatch
import orjson

from tiphys.cluster.apiserver import errors
from tiphys.cluster.apiserver import schema as kube_schema

__all__ = ["MAX_JSON_PATCH_OPERATIONS", "json_patch", "merge_patch", "strategic_merge_patch"]

# Upstream's maxJSONPatchOperations (apiserver pkg/endpoints/handlers/patch.go).
MAX_JSON_PATCH_OPERATIONS = 10000

_PATCH = "$patch"
_RETAIN_KEYS = "$retainKeys"
_SET_ORDER = "$setElementOrder/"
_DELETE_FROM = "$deleteFromPrimitiveList/"
_MISSING: Any = object()


def _copy(doc: Any) -> Any:
    # A C-speed deep copy: stored objects are plain JSON, and the caller keeps its own object intact.
    return orjson.loads(orjson.dumps(doc))


# --- RFC 7386 -------------------------------------------------------------------------------------


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, ``null`` deletes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = _copy(target) if isinstance(target, dict) else {}
    _merge_into(result, patch)
    return result


def _merge_into(result: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            current = result.get(key)
            if not isinstance(current, dict):
                # A new or non-object member: merging into {} also drops the nulls inside the value.
                current = result[key] = {}
            _merge_into(current, value)
        else:
            result[key] = value


# --- RFC 6902 -------------------------------------------------------------------------------------


def json_patch(target: dict[str, Any], ops: Any) -> dict[str, Any]:
    """RFC 6902 through ``jsonpatch``: a malformed document is a 400, an operation that fails a 422."""
    if not isinstance(ops, list) or not all(isinstance(op, dict) for op in ops):
        raise errors.bad_request("error decoding patch: a JSON patch must be a list of operation objects")
    if len(ops) > MAX_JSON_PATCH_OPERATIONS:
        raise errors.StatusError(
            413,
            "RequestEntityTooLarge",
            "Request entity too large: The allowed maximum operations in a JSON patch is "
            f"{MAX_JSON_PATCH_OPERATIONS}, got {len(ops)}",
        )
    try:
        patch = jsonpatch.JsonPatch(ops)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as e:
        raise errors.bad_request(f"error decoding patch: {e}") from e
    try:
        result = patch.apply(_copy(target), in_place=True)
    except jsonpatch.InvalidJsonPatch as e:
        # jsonpatch finds a missing "value" or "from" only while applying: still a malformed patch.
        raise errors.bad_request(f"error decoding patch: {e}") from e
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as e:
        raise _operation_failed() from e
    if not isinstance(result, dict):
        raise errors.bad_request("error decoding patch: the patched document is not a JSON object")
    return result


def _operation_failed() -> errors.StatusError:
    # Upstream (patch.go, applyJSPatch) answers a failed operation with
    # NewGenericServerResponse(422, "", GroupResource{}, "", err.Error(), 0, false), which keeps
    # the generic 422 text and drops the library's error from the body, so kubectl prints
    # "The request is invalid: the server rejected our request due to an error in our request".
    # The details carry no name, group, kind or causes, which serializes as {}. Our cause is
    # chained with `from` for the server log.
    return errors.StatusError(
        422, "Invalid", "the server rejected our request due to an error in our request", details={}
    )


# --- strategic merge patch ------------------------------------------------------------------------


def strategic_merge_patch(
    target: dict[str, Any], patch: dict[str, Any], schema: kube_schema.Node | None
) -> dict[str, Any]:
    """Apply a strategic merge patch; ``schema`` is the kind's root schema (None: no list strategies)."""
    if not isinstance(patch, dict):
        raise errors.bad_request("error decoding patch: a strategic merge patch must be a JSON object")
    result = _copy(target) if isinstance(target, dict) else {}
    return _merge_map(result, patch, schema)


def _merge_map(original: dict[str, Any], patch: dict[str, Any], node: kube_schema.Node | None) -> dict[str, Any]:
    """Merge ``patch`` into ``original`` (owned by us, changed in place) and return the result."""
    props = _properties(node)
    if _PATCH in patch and _PATCH not in props:
        directive = patch[_PATCH]
        if directive == "replace":
            return _merge_map({}, {k: v for k, v in patch.items() if k != _PATCH}, node)
        if directive == "delete":
            # Upstream's handleDirectiveInMergeMap returns an empty map, not a missing one.
            return {}
        raise errors.bad_request(f"unknown patch type: {directive} in map: {_show(patch)}")

    orders: dict[str, Any] = {}
    deletions: dict[str, Any] = {}
    for key, value in patch.items():
        if key.startswith("$") and key not in props:
            if key.startswith(_SET_ORDER):
                orders[key[len(_SET_ORDER) :]] = value
            elif key.startswith(_DELETE_FROM):
                deletions[key[len(_DELETE_FROM) :]] = value
            elif key == _RETAIN_KEYS:
                _retain_keys(original, patch, value)
            else:
                raise errors.bad_request(f"unknown patch directive {key!r} in map: {_show(patch)}")

    # The original order of each reordered list, captured before merging changes it.
    before = {name: original.get(name) for name in orders}

    for key, value in patch.items():
        if key.startswith("$") and key not in props:
            continue
        if value is None:
            original.pop(key, None)
            continue
        original[key] = _merge_value(original.get(key, _MISSING), value, node, key)

    for name, values in deletions.items():
        if not isinstance(values, list):
            raise errors.bad_request("invalid patch format of primitive list")
        current = original.get(name)
        if isinstance(current, list):
            drop = {_scalar_key(v) for v in values if _hashable(v)}
            original[name] = [v for v in current if not (_hashable(v) and _scalar_key(v) in drop)]

    for name, order in orders.items():
        _set_element_order(original, name, order, before[name], node, patch.get(name))
    return original


def _merge_value(original: Any, value: Any, parent: kube_schema.Node | None, key: str) -> Any:
    node, merge_key, strategies = _field(parent, key)
    if isinstance(value, dict):
        if "replace" in strategies or not isinstance(original, dict):
            return _merge_map({}, value, node)
        return _merge_map(original, value, node)
    if isinstance(value, list):
        item_node = kube_schema.items(node)
        if "merge" in strategies:
            return _merge_list(original if isinstance(original, list) else [], value, item_node, merge_key)
        # Lists without the merge strategy are replaced whole; items still lose any directives.
        return [_merge_map({}, v, item_node) if isinstance(v, dict) else v for v in value]
    return value


def _merge_list(
    original: list[Any], patch: list[Any], item_node: kube_schema.Node | None, merge_key: str | None
) -> list[Any]:
    if not original and not patch:
        return original
    if not any(isinstance(v, dict) for v in (*original, *patch)):
        # A primitive list with the merge strategy (finalizers): a set union.
        merged: list[Any] = []
        seen: set[Hashable] = set()
        for v in (*original, *patch):
            k = _scalar_key(v) if _hashable(v) else id(v)
            if k not in seen:
                seen.add(k)
                merged.append(v)
        return _ordered(merged, patch, original, _value_key)

    if not merge_key:
        raise errors.bad_request("cannot merge lists without merge key")
    items: list[dict[str, Any]] = []
    replace = False
    for p in patch:
        if not isinstance(p, dict):
            raise errors.bad_request(f"invalid patch: list item {_show(p)} is not an object")
        if _PATCH not in p:
            items.append(p)
            continue
        directive = p[_PATCH]
        if directive == "delete":
            if merge_key not in p:
                raise errors.bad_request(f"map: {_show(p)} does not contain declared merge key: {merge_key}")
            gone = p[merge_key]
            original = [o for o in original if not (isinstance(o, dict) and o.get(merge_key) == gone)]
        elif directive == "replace":
            replace = True
        elif directive == "merge":
            raise errors.bad_request("merging lists cannot yet be specified in the patch")
        else:
            raise errors.bad_request(f"unknown patch type: {directive} in map: {_show(p)}")
    if replace:
        # `{"$patch": "replace"}` in a list: the other patch items become the whole list.
        original, items = [_merge_map({}, p, item_node) for p in items], []

    def key_of(v: Any) -> Any:
        return _scalar_key(v.get(merge_key)) if isinstance(v, dict) and _hashable(v.get(merge_key)) else None

    server_order = list(original)
    position = {key_of(o): i for i, o in reversed(list(enumerate(original))) if key_of(o) is not None}
    for p in items:
        if merge_key not in p:
            raise errors.bad_request(f"map: {_show(p)} does not contain declared merge key: {merge_key}")
        at = position.get(key_of(p))
        if at is not None and isinstance(original[at], dict):
            original[at] = _merge_map(original[at], p, item_node)
        else:
            position[key_of(p)] = len(original)
            original.append(_merge_map({}, p, item_node))
    return _ordered(original, items, server_order, key_of)


def _set_element_order(
    original: dict[str, Any],
    name: str,
    order: Any,
    before: Any,
    node: kube_schema.Node | None,
    patch_list: Any,
) -> None:
    """``$setElementOrder/<name>``: the final order; items only the server has keep their place."""
    if not isinstance(order, list):
        raise errors.bad_request("invalid patch format of setElementOrder list")
    _, merge_key, strategies = _field(node, name)
    current = original.get(name)
    if "merge" not in strategies or not isinstance(current, list):
        return  # a replaced (or missing) list is already in the patch's order

    def key_of(v: Any) -> Any:
        if merge_key and isinstance(v, dict):
            v = v.get(merge_key)
        return _scalar_key(v) if _hashable(v) else None

    if merge_key and not all(isinstance(o, dict) and merge_key in o for o in order):
        raise errors.bad_request("invalid patch format of setElementOrder list")
    if isinstance(patch_list, list):
        # Upstream's validatePatchWithSetOrderList: patch items appear in the order list, in order.
        wanted = [key_of(p) for p in patch_list if not (isinstance(p, dict) and _PATCH in p)]
        listed = iter(key_of(o) for o in order)
        if not all(any(k == o for o in listed) for k in wanted):
            raise errors.bad_request(
                f"The order in patch list:\n{_show(patch_list)}\n doesn't match $setElementOrder list:\n"
                f"{_show(order)}\n"
            )
    original[name] = _ordered(current, order, before if isinstance(before, list) else [], key_of)


def _ordered(
    merged: list[Any], patch_order: list[Any], server_order: list[Any], key: Callable[[Any], Any]
) -> list[Any]:
    """Upstream's normalizeElementOrder: patch items in patch order, server-only items in live order.

    Server-only items are woven in front of the first patch item that the live list places after
    them; a patch item the live list lacks goes before any server-only item still waiting.
    """
    patch_at: dict[Any, int] = {}
    for i, v in enumerate(patch_order):
        patch_at.setdefault(key(v), i)
    server_at: dict[Any, int] = {}
    for i, v in enumerate(server_order):
        server_at.setdefault(key(v), i)
    ours = sorted((v for v in merged if key(v) in patch_at), key=lambda v: patch_at[key(v)])
    theirs = sorted((v for v in merged if key(v) not in patch_at), key=lambda v: server_at.get(key(v), -1))
    out: list[Any] = []
    i = j = 0
    while i < len(theirs) or j < len(ours):
        if j >= len(ours):
            out.append(theirs[i])
            i += 1
        elif i >= len(theirs):
            out.append(ours[j])
            j += 1
        else:
            left, right = server_at.get(key(theirs[i])), server_at.get(key(ours[j]))
            if left is not None and right is not None and left < right:
                out.append(theirs[i])
                i += 1
            else:
                out.append(ours[j])
                j += 1
    return out


def _retain_keys(original: dict[str, Any], patch: dict[str, Any], keep: Any) -> None:
    # Upstream applies $retainKeys wherever the patch carries it (applyRetainKeysDirective reads
    # only the patch); the retainKeys strategy in the schema matters only when a client *builds*
    # the patch, as kubectl does for PodSpec.volumes and DeploymentSpec.strategy.
    if not isinstance(keep, list) or not all(isinstance(k, str) for k in keep):
        raise errors.bad_request("invalid patch format of retainKeys")
    allowed = set(keep)
    for key, value in patch.items():
        if value is None or key.startswith("$"):
            continue
        if key not in allowed:
            raise errors.bad_request("invalid patch format of retainKeys")
    for key in [k for k in original if k not in allowed]:
        del original[key]


def _field(parent: kube_schema.Node | None, key: str) -> tuple[kube_schema.Node | None, str | None, list[str]]:
    """(schema, merge key, strategies) of a field."""
    node = kube_schema.child(parent, key)
    merge_key, strategies = kube_schema.patch_strategy(node)
    # A strategy written beside a $ref sits on the property, which child() resolves away
    # (DeploymentSpec.strategy: retainKeys, PodDisruptionBudgetSpec.selector: replace).
    prop = _properties(parent).get(key)
    if isinstance(prop, dict) and "x-kubernetes-patch-strategy" in prop:
        merge_key = prop.get("x-kubernetes-patch-merge-key", merge_key)
        strategies = [s for s in str(prop["x-kubernetes-patch-strategy"]).split(",") if s]
    return node, merge_key, strategies


def _properties(node: kube_schema.Node | None) -> dict[str, Any]:
    resolved = kube_schema.resolve(node)
    props = resolved.get("properties") if resolved else None
    return props if isinstance(props, dict) else {}


def _hashable(value: Any) -> bool:
    return not isinstance(value, (dict, list))


def _scalar_key(value: Any) -> Hashable:
    # JSON true and 1 are different values; Python's == and hash treat them alike.
    return (type(value) is bool, value)


def _value_key(value: Any) -> Hashable:
    return _scalar_key(value) if _hashable(value) else id(value)


def _show(value: Any) -> str:
    return orjson.dumps(value).decode()
