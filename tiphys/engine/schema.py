"""Strategic-merge list semantics of built-in kinds: merge keys and patch strategies (static data).

``kubectl apply`` merges lists like ``containers`` by a key (``name``) instead of replacing them;
which lists and by which key is declared in the Kubernetes OpenAPI definitions. Tiphys reads
them from the definitions ``kubernetes-validate`` ships (Kubernetes 1.31), once, the first time a
patch is computed: read-only package data, the same for every call, so the functions using it
stay pure. Kinds without a definition (custom resources) have no list semantics: JSON merge
patch replaces their lists, as kubectl does for them.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any, Final

import orjson

__all__ = ["KUBE_VERSION", "Node", "child", "is_builtin", "items", "list_strategy", "root"]

KUBE_VERSION: Final = "1.31.0"
Node = dict[str, Any]


@cache
def _definitions() -> dict[str, Node]:
    ref = resources.files("kubernetes_validate") / "kubernetes-json-schema" / f"v{KUBE_VERSION}-local"
    data: dict[str, Any] = orjson.loads((ref / "_definitions.json").read_bytes())
    definitions: dict[str, Node] = data["$defs"]
    return definitions


@cache
def _by_gvk() -> dict[tuple[str, str, str], str]:
    index: dict[tuple[str, str, str], str] = {}
    for name, node in _definitions().items():
        for gvk in node.get("x-kubernetes-group-version-kind", ()):
            index.setdefault((gvk["group"], gvk["version"], gvk["kind"]), name)
    return index


def _resolve(node: Node | None) -> Node | None:
    while node is not None:
        ref = node.get("$ref")
        if ref:
            node = _definitions().get(ref.rsplit("/", 1)[-1])
            continue
        all_of = node.get("allOf")
        if all_of and len(all_of) == 1 and "properties" not in node:
            node = all_of[0]
            continue
        return node
    return None


def is_builtin(group: str, version: str, kind: str) -> bool:
    """Whether Kubernetes itself defines the kind (and so accepts strategic merge patches for it)."""
    return (group, version, kind) in _by_gvk()


def root(group: str, version: str, kind: str) -> Node | None:
    name = _by_gvk().get((group, version, kind))
    return _resolve(_definitions().get(name)) if name else None


def child(node: Node | None, key: str) -> Node | None:
    """The schema of field ``key`` of an object node, or None when unknown."""
    node = _resolve(node)
    if node is None:
        return None
    properties = node.get("properties")
    if isinstance(properties, dict) and key in properties:
        return _resolve(properties[key])
    extra = node.get("additionalProperties")
    return _resolve(extra) if isinstance(extra, dict) else None


def items(node: Node | None) -> Node | None:
    node = _resolve(node)
    item = node.get("items") if node is not None else None
    return _resolve(item) if isinstance(item, dict) else None


def list_strategy(node: Node | None) -> tuple[str | None, bool]:
    """(merge key, merges) of a list field: a key for lists of objects, or True for sets of scalars."""
    node = _resolve(node)
    if node is None:
        return None, False
    strategies = str(node.get("x-kubernetes-patch-strategy", "")).split(",")
    key = node.get("x-kubernetes-patch-merge-key")
    return (key if isinstance(key, str) else None), "merge" in strategies
