"""``/openapi/v3``: the index of served group-versions and one OpenAPI 3.0 document per group-version.

kubectl reads these documents three ways: ``apply``/``create`` look for a PATCH operation carrying
the object's ``x-kubernetes-group-version-kind`` and a ``fieldValidation`` query parameter
(``query_param_verifier_v3.go``) before sending ``fieldValidation=Strict``; client-side ``apply``
takes strategic-merge keys from ``components.schemas``; ``explain`` finds the kind through a path's
GVK, then walks the component that lists the same GVK.

Built-in schemas come from :mod:`.schema` (JSON Schema with ``#/$defs/`` refs and ``["string",
"null"]`` type lists) and are rewritten to OpenAPI 3.0 the way upstream publishes them: refs under
``#/components/schemas/``, a ref with siblings wrapped in ``allOf``, single types. CRD group-versions
are built from each version's ``openAPIV3Schema``. Documents are cached per group-version until its
fingerprint changes.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

from . import schema
from .resources import Registry, ResourceType

__all__ = ["document", "index"]

Node = dict[str, Any]

# The gitVersion /version reports, so the documents match the server kubectl thinks it talks to.
SERVED_VERSION = "v1.31.9"
COMPONENTS = "#/components/schemas/"
META = "io.k8s.apimachinery.pkg.apis.meta.v1."
OBJECT_META = META + "ObjectMeta"
LIST_META = META + "ListMeta"
DELETE_OPTIONS = META + "DeleteOptions"
STATUS = META + "Status"
PATCH = META + "Patch"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"

_SCHEMA_MAPS = ("properties", "patternProperties")
_SCHEMA_ONE = ("items", "additionalProperties", "not")
_SCHEMA_MANY = ("allOf", "anyOf", "oneOf")

# Upstream's forms for the two scalar unions (api/openapi-spec/v3): no "type", so explain shows the name.
_UNIONS: dict[str, Node] = {
    INT_OR_STRING: {
        "description": "IntOrString holds either an int32 or a string; JSON and YAML carry the inner value.",
        "format": "int-or-string",
        "oneOf": [{"type": "integer"}, {"type": "string"}],
        "x-kubernetes-int-or-string": True,
    },
    QUANTITY: {
        "description": "Quantity is a fixed-point number written as a string with an optional suffix "
        "(such as 100m, 1.5Gi or 2e3), or as a plain JSON number.",
        "oneOf": [{"type": "string"}, {"type": "number"}],
    },
}


def index(registry: Registry) -> dict[str, Any]:
    """``GET /openapi/v3``: one entry per served group-version, CRD ones included."""
    paths = {}
    for group, versions in registry.groups():
        for version in versions:
            key = _gv_path(group, version).lstrip("/")
            paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={registry.fingerprint(group, version)}"}
    return {"paths": paths}


_cache: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
_cache_lock = threading.Lock()


def document(registry: Registry, schemas: schema.Schemas, group: str, version: str) -> dict[str, Any] | None:
    """``GET /openapi/v3/apis/<group>/<version>``, or None for a group-version nobody serves.

    The result is cached and shared between callers: serialize it, never change it.
    """
    types = sorted(registry.in_group_version(group, version), key=lambda rt: rt.plural)
    if not types:
        return None
    fingerprint = registry.fingerprint(group, version)
    with _cache_lock:
        cached = _cache.get((group, version))
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    built = _build(types, schemas, group, version)
    with _cache_lock:
        # Keep one document per group-version: a CRD update replaces it rather than piling up.
        _cache[(group, version)] = (fingerprint, built)
    return built


def _build(types: list[ResourceType], schemas: schema.Schemas, group: str, version: str) -> dict[str, Any]:
    components: dict[str, Node] = {}
    paths: dict[str, Node] = {}
    for rt in types:
        if rt.crd is None and schema.definition_name(rt.group, rt.version, rt.kind):
            kind_name = _builtin(rt, components)
            list_name = schema.definition_name(rt.group, rt.version, rt.kind_list)
            if list_name:
                _add_builtin(list_name, components)
        else:
            kind_name, list_name = _custom(rt, schemas, components)
        paths.update(_paths(rt, kind_name, list_name))
    for name in (DELETE_OPTIONS, STATUS, PATCH):
        _add_builtin(name, components)
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": SERVED_VERSION},
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": dict(sorted(components.items()))},
    }


# --- schemas -----------------------------------------------------------------------------------


def _convert(node: Any, refs: set[str]) -> Any:
    """One JSON-schema node as OpenAPI 3.0, collecting the definitions it refers to in ``refs``."""
    if not isinstance(node, dict):
        return node
    out: Node = {}
    for key, value in node.items():
        if key == "$ref":
            continue
        if key == "type" and isinstance(value, list):
            kinds = [t for t in value if t != "null"]
            if len(kinds) == 1:
                out["type"] = kinds[0]  # OpenAPI 3.0 has no type lists; null is simply left out
        elif key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: _convert(sub, refs) for name, sub in value.items()}
        elif key in _SCHEMA_ONE:
            out[key] = _convert(value, refs)
        elif key in _SCHEMA_MANY and isinstance(value, list):
            out[key] = [_convert(sub, refs) for sub in value]
        else:
            out[key] = value
    ref = node.get("$ref")
    if isinstance(ref, str):
        target = ref.rsplit("/", 1)[-1]
        refs.add(target)
        pointer = {"$ref": COMPONENTS + target}
        # OpenAPI 3.0 ignores siblings of $ref, so upstream wraps the ref to keep the field's description.
        return {"allOf": [pointer], **out} if out else pointer
    return out


@cache
def _definition(name: str) -> tuple[Node, frozenset[str]]:
    """A built-in definition in OpenAPI 3.0 form and the definitions it refers to directly."""
    if name in _UNIONS:
        return _UNIONS[name], frozenset()
    refs: set[str] = set()
    node: Node = _convert(schema.definitions().get(name) or {"type": "object"}, refs)
    props = node.get("properties")
    if props and node.get("x-kubernetes-group-version-kind"):
        # kubernetes-validate pins apiVersion and kind with enums that upstream's documents lack.
        node["properties"] = {
            key: {k: v for k, v in prop.items() if k != "enum"} if key in ("apiVersion", "kind") else prop
            for key, prop in props.items()
        }
    return node, frozenset(refs)


def _add_builtin(name: str, components: dict[str, Node]) -> None:
    """Add a definition and everything it refers to, transitively."""
    pending = [name]
    while pending:
        current = pending.pop()
        if current in components:
            continue
        node, refs = _definition(current)
        components[current] = node
        pending.extend(r for r in refs if r not in components)


def _builtin(rt: ResourceType, components: dict[str, Node]) -> str:
    name = schema.definition_name(rt.group, rt.version, rt.kind)
    assert name is not None  # the caller checked
    _add_builtin(name, components)
    return name


def _friendly_name(group: str, version: str, kind: str) -> str:
    """Upstream's ToRESTFriendlyName for CRD definitions: ``stable.example.com`` → ``com.example.stable``."""
    return ".".join([*reversed(group.split(".")), version, kind]) if group else f"{version}.{kind}"


def _standard(field: str) -> Node:
    """apiVersion/kind/metadata as every built-in kind documents them."""
    prop = _definition("io.k8s.api.core.v1.ConfigMap")[0]["properties"][field]
    return dict(prop)


def _custom(rt: ResourceType, schemas: schema.Schemas, components: dict[str, Node]) -> tuple[str, str]:
    """A CRD kind's schema from its ``openAPIV3Schema``, plus the matching list schema."""
    refs: set[str] = set()
    root = schemas.root(rt.group, rt.version, rt.kind) or rt.schema
    node: Node = _convert(root, refs) if root else {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    node = dict(node)
    node["properties"] = {
        **(node.get("properties") or {}),
        "apiVersion": _standard("apiVersion"),
        "kind": _standard("kind"),
        "metadata": _standard("metadata"),
    }
    node.setdefault("type", "object")
    node["x-kubernetes-group-version-kind"] = [_gvk(rt.group, rt.version, rt.kind)]
    kind_name = _friendly_name(rt.group, rt.version, rt.kind)
    list_name = _friendly_name(rt.group, rt.version, rt.kind_list)
    components[kind_name] = node
    components[list_name] = {
        "description": f"{rt.kind_list} is a list of {rt.kind}",
        "properties": {
            "apiVersion": _standard("apiVersion"),
            "items": {
                "description": f"List of {rt.plural}. More info: "
                "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md",
                "items": {"$ref": COMPONENTS + kind_name},
                "type": "array",
            },
            "kind": _standard("kind"),
            "metadata": {"allOf": [{"$ref": COMPONENTS + LIST_META}], "description": "Standard list metadata."},
        },
        "required": ["items"],
        "type": "object",
        "x-kubernetes-group-version-kind": [_gvk(rt.group, rt.version, rt.kind_list)],
    }
    for name in (OBJECT_META, LIST_META, *refs):
        _add_builtin(name, components)
    return kind_name, list_name


# --- paths -------------------------------------------------------------------------------------


def _gvk(group: str, version: str, kind: str) -> dict[str, str]:
    return {"group": group, "kind": kind, "version": version}


def _gv_path(group: str, version: str) -> str:
    return f"/apis/{group}/{version}" if group else f"/api/{version}"


def _param(name: str, kind: str, description: str, where: str = "query") -> Node:
    param: Node = {"name": name, "in": where, "description": description, "schema": {"type": kind}}
    if where == "path":
        param["required"] = True
    return param


_P = {
    p["name"]: p
    for p in (
        _param("allowWatchBookmarks", "boolean", "Ask for BOOKMARK events on a watch."),
        _param("continue", "string", "The token from the previous page of a chunked list."),
        _param("dryRun", "string", "All: run every stage of the request but persist nothing."),
        _param("fieldManager", "string", "The name of the actor making the change, for managedFields."),
        _param(
            "fieldValidation",
            "string",
            "How to treat unknown or duplicate fields: Ignore, Warn (the default) or Strict.",
        ),
        _param("fieldSelector", "string", "Only objects whose fields match, e.g. metadata.name=web."),
        _param("force", "boolean", "Server-side apply: take ownership of fields other managers own."),
        _param("gracePeriodSeconds", "integer", "Seconds to wait before the object is deleted."),
        _param("labelSelector", "string", "Only objects whose labels match."),
        _param("limit", "integer", "The most objects to return in one page."),
        _param("orphanDependents", "boolean", "Deprecated: use propagationPolicy."),
        _param("propagationPolicy", "string", "Orphan, Background or Foreground deletion of dependents."),
        _param("resourceVersion", "string", "Which version of the data a read may be served from."),
        _param("resourceVersionMatch", "string", "How resourceVersion applies to a list: Exact or NotOlderThan."),
        _param("sendInitialEvents", "boolean", "Start a watch with the current objects, then a bookmark."),
        _param("timeoutSeconds", "integer", "End the list or watch after this many seconds."),
        _param("watch", "boolean", "Stream changes instead of returning a list."),
    )
}
_LIST_PARAMS = [
    "allowWatchBookmarks",
    "continue",
    "fieldSelector",
    "labelSelector",
    "limit",
    "resourceVersion",
    "resourceVersionMatch",
    "sendInitialEvents",
    "timeoutSeconds",
]
_ACTION_PARAMS: dict[str, list[str]] = {
    "list": [*_LIST_PARAMS, "watch"],
    "post": ["dryRun", "fieldManager", "fieldValidation"],
    "put": ["dryRun", "fieldManager", "fieldValidation"],
    "patch": ["dryRun", "fieldManager", "fieldValidation", "force"],
    "delete": ["dryRun", "gracePeriodSeconds", "orphanDependents", "propagationPolicy"],
    "deletecollection": [*_LIST_PARAMS, "dryRun", "gracePeriodSeconds", "orphanDependents", "propagationPolicy"],
    "get": [],
}
_NAME_PARAM = _param("name", "string", "The name of the object.", "path")
_NAMESPACE_PARAM = _param("namespace", "string", "The namespace of the object.", "path")
_PRETTY_PARAM = _param("pretty", "string", "If 'true', indent the output.")
_PATCH_TYPES = (
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
)


def _operation_group(group: str) -> str:
    """``rbac.authorization.k8s.io`` → ``RbacAuthorization``, as upstream's operation ids spell it."""
    if not group:
        return "Core"
    words = group.removesuffix(".k8s.io").replace("-", ".").split(".")
    return "".join(w[:1].upper() + w[1:] for w in words)


def _content(name: str) -> Node:
    return {"application/json": {"schema": {"$ref": COMPONENTS + name}}}


def _operation(
    rt: ResourceType,
    action: str,
    verb: str,
    *,
    request: Node | None,
    responses: dict[str, str],
) -> Node:
    op: Node = {
        "description": f"{action} {rt.kind}",
        "operationId": verb,
        "parameters": [_P[name] for name in _ACTION_PARAMS[action]],
        "responses": {
            code: {"description": {"200": "OK", "201": "Created", "202": "Accepted"}[code], "content": _content(name)}
            for code, name in responses.items()
        }
        | {"401": {"description": "Unauthorized"}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": _gvk(rt.group, rt.version, rt.kind),
    }
    if request is not None:
        op["requestBody"] = request
    if not op["parameters"]:
        del op["parameters"]
    return op


def _paths(rt: ResourceType, kind_name: str, list_name: str | None) -> dict[str, Node]:
    """The collection and item paths of one resource, as upstream's installer lays them out."""
    base = _gv_path(rt.group, rt.version)
    scope = "Namespaced" if rt.namespaced else ""
    ids = f"{_operation_group(rt.group)}{rt.version[:1].upper()}{rt.version[1:]}"
    collection = f"{base}/namespaces/{{namespace}}/{rt.plural}" if rt.namespaced else f"{base}/{rt.plural}"
    scope_params = [_NAMESPACE_PARAM] if rt.namespaced else []
    body = {"content": {"*/*": {"schema": {"$ref": COMPONENTS + kind_name}}}, "required": True}
    patch_types = _PATCH_TYPES if rt.crd is None else _PATCH_TYPES[:3]  # CRDs take no strategic merge
    patch_body = {"content": {t: {"schema": {"$ref": COMPONENTS + PATCH}} for t in patch_types}, "required": True}
    delete_body = {"content": {"*/*": {"schema": {"$ref": COMPONENTS + DELETE_OPTIONS}}}}
    listed = {"200": list_name} if list_name else {}

    def op(action: str, verb: str, request: Node | None, responses: dict[str, str]) -> Node:
        return _operation(rt, action, f"{verb}{ids}{scope}{rt.kind}", request=request, responses=responses)

    collection_ops: Node = {"get": op("list", "list", None, listed)}
    item_ops: Node = {"get": op("get", "read", None, {"200": kind_name})}
    if not rt.read_only:
        collection_ops["post"] = op("post", "create", body, {"200": kind_name, "201": kind_name})
        collection_ops["delete"] = _operation(
            rt,
            "deletecollection",
            f"delete{ids}Collection{scope}{rt.kind}",
            request=delete_body,
            responses={"200": STATUS},
        )
        item_ops["put"] = op("put", "replace", body, {"200": kind_name, "201": kind_name})
        item_ops["patch"] = op("patch", "patch", patch_body, {"200": kind_name, "201": kind_name})
        item_ops["delete"] = op("delete", "delete", delete_body, {"200": STATUS, "202": STATUS})
    paths = {
        collection: {**collection_ops, "parameters": [*scope_params, _PRETTY_PARAM]},
        f"{collection}/{{name}}": {**item_ops, "parameters": [_NAME_PARAM, *scope_params, _PRETTY_PARAM]},
    }
    if rt.namespaced:
        everywhere = _operation(rt, "list", f"list{ids}{rt.kind}ForAllNamespaces", request=None, responses=listed)
        paths[f"{base}/{rt.plural}"] = {"get": everywhere, "parameters": [_PRETTY_PARAM]}
    return paths
