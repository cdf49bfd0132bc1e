"""Kubernetes 1.31's built-in schemas (from ``kubernetes-validate``) and how to walk them.

Read-only package data, loaded once: the embedded API server validates, patches and documents
with it, and the sync engine computes kubectl's three-way merges with it. Nodes are JSON-schema
dicts whose references (``$ref`` into the definitions) are followed by :func:`resolve`.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import orjson

__all__ = ["KUBE_VERSION", "Node", "child", "definition_name", "definitions", "items", "resolve"]

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
