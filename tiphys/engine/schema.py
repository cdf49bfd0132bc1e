"""Strategic-merge list semantics of built-in kinds: merge keys and patch strategies (static data).

``kubectl apply`` merges lists like ``containers`` by a key (``name``) instead of replacing them;
which lists and by which key is declared in the Kubernetes OpenAPI definitions. Tiphys reads
them from the definitions ``kubernetes-validate`` ships (Kubernetes 1.31), once, the first time a
patch is computed: read-only package data, the same for every call, so the functions using it
stay pure. Kinds without a definition (custom resources) have no list semantics: JSON merge
patch replaces their lists, as kubectl does for them.
"""

from __future__ import annotations

from typing import Final

from .. import schemas

__all__ = ["KUBE_VERSION", "Node", "child", "is_builtin", "items", "list_strategy", "root"]

KUBE_VERSION: Final = schemas.KUBE_VERSION
Node = schemas.Node
child = schemas.child
items = schemas.items
_resolve = schemas.resolve


def is_builtin(group: str, version: str, kind: str) -> bool:
    """Whether Kubernetes itself defines the kind (and so accepts strategic merge patches for it)."""
    return schemas.definition_name(group, version, kind) is not None


def root(group: str, version: str, kind: str) -> Node | None:
    name = schemas.definition_name(group, version, kind)
    return _resolve(schemas.definitions().get(name)) if name else None


def list_strategy(node: Node | None) -> tuple[str | None, bool]:
    """(merge key, merges) of a list field: a key for lists of objects, or True for sets of scalars."""
    node = _resolve(node)
    if node is None:
        return None, False
    strategies = str(node.get("x-kubernetes-patch-strategy", "")).split(",")
    key = node.get("x-kubernetes-patch-merge-key")
    return (key if isinstance(key, str) else None), "merge" in strategies
