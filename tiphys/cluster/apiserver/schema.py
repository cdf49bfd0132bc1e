"""Schemas of built-in kinds (from ``kubernetes-validate``'s Kubernetes 1.31 definitions) and CRDs.

One walker serves four jobs: strict field validation, strategic-merge list keys, server-side
apply list keys and the OpenAPI v3 documents kubectl reads. Nodes are JSON-schema dicts; built-in
ones use ``$ref`` into the definitions, CRD ones are inline.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import orjson

__all__ = ["KUBE_VERSION", "Schemas", "definitions", "list_keys", "patch_strategy"]

KUBE_VERSION = "1.31.0"
Node = dict[str, Any]


@cache
def definitions() -> dict[str, Node]:
    """All built-in definitions by name (``io.k8s.api.core.v1.ConfigMap``)."""
    ref = (
        resources.files("kubernetes_validate")
        / "kubernetes-json-schema"
        / f"v{KUBE_VERSION}-local"
        / "_definitions.json"
    )
    data: dict[str, Any] = orjson.loads(ref.read_bytes())
    defs: dict[str, Node] = data["$defs"]
    return defs


@cache
def _gvk_index() -> dict[tuple[str, str, str], str]:
    index: dict[tuple[str, str, str], str] = {}
    for name, node in definitions().items():
        for gvk in node.get("x-kubernetes-group-version-kind", ()):
            index.setdefault((gvk["group"], gvk["version"], gvk["kind"]), name)
    return index


def definition_name(group: str, version: str, kind: str) -> str | None:
    return _gvk_index().get((group, version, kind))


_resolved: dict[int, tuple[Node, Node | None]] = {}


def resolve(node: Node | None) -> Node | None:
    """Follow ``$ref`` (and a lone ``allOf``) to the node that has the content (memoized per node)."""
    if node is None:
        return None
    hit = _resolved.get(id(node))
    if hit is not None and hit[0] is node:
        return hit[1]
    found = _resolve(node)
    _resolved[id(node)] = (node, found)  # keeping ``node`` alive keeps its id from being reused
    return found


def _resolve(node: Node | None) -> Node | None:
    while node is not None:
        ref = node.get("$ref")
        if ref:
            node = definitions().get(ref.rsplit("/", 1)[-1])
            continue
        all_of = node.get("allOf")
        if all_of and len(all_of) == 1 and "properties" not in node:
            node = all_of[0]
            continue
        return node
    return None


def child(node: Node | None, key: str) -> Node | None:
    """The schema of ``key`` inside an object node (a property, or additionalProperties)."""
    node = resolve(node)
    if node is None:
        return None
    props = node.get("properties")
    if props and key in props:
        return resolve(props[key])
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        return resolve(extra)
    return None


def items(node: Node | None) -> Node | None:
    node = resolve(node)
    if node is None:
        return None
    item = node.get("items")
    return resolve(item) if isinstance(item, dict) else None


def patch_strategy(node: Node | None) -> tuple[str | None, list[str]]:
    """(merge key, strategies) of a list field for strategic merge patch."""
    node = resolve(node)
    if node is None:
        return None, []
    strategy = node.get("x-kubernetes-patch-strategy", "")
    return node.get("x-kubernetes-patch-merge-key"), [s for s in strategy.split(",") if s]


def list_keys(node: Node | None) -> tuple[str, list[str]]:
    """(list type, map keys) of a list field for server-side apply: ``atomic`` unless declared."""
    node = resolve(node)
    if node is None:
        return "atomic", []
    list_type = node.get("x-kubernetes-list-type")
    keys = list(node.get("x-kubernetes-list-map-keys") or [])
    if list_type is None:
        # Built-in lists with a patch merge key behave as maps for apply, as upstream's
        # structured-merge-diff schemas declare them.
        merge_key = node.get("x-kubernetes-patch-merge-key")
        strategy = node.get("x-kubernetes-patch-strategy", "")
        if merge_key:
            return "map", keys or [merge_key]
        if "merge" in strategy:
            return "set", []
        return "atomic", []
    return list_type, keys


class Schemas:
    """The root schema for each served type; CRDs register their ``openAPIV3Schema`` here."""

    def __init__(self) -> None:
        self._crd: dict[tuple[str, str, str], Node] = {}

    def set_crd(self, group: str, version: str, kind: str, schema: Node | None) -> None:
        if schema is None:
            self._crd.pop((group, version, kind), None)
        else:
            self._crd[(group, version, kind)] = schema

    def root(self, group: str, version: str, kind: str) -> Node | None:
        crd = self._crd.get((group, version, kind))
        if crd is not None:
            return crd
        name = definition_name(group, version, kind)
        return definitions().get(name) if name else None

    def is_builtin(self, group: str, version: str, kind: str) -> bool:
        return (group, version, kind) not in self._crd and definition_name(group, version, kind) is not None
