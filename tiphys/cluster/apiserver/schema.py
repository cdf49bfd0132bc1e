"""Schemas of built-in kinds (from ``kubernetes-validate``'s Kubernetes 1.31 definitions) and CRDs.

One walker serves four jobs: strict field validation, strategic-merge list keys, server-side
apply list keys and the OpenAPI v3 documents kubectl reads. Nodes are JSON-schema dicts; built-in
ones use ``$ref`` into the definitions, CRD ones are inline.
"""

from __future__ import annotations

from ... import schemas

__all__ = ["KUBE_VERSION", "Schemas", "definitions", "list_keys", "patch_strategy"]

KUBE_VERSION = schemas.KUBE_VERSION
Node = schemas.Node
definitions = schemas.definitions
definition_name = schemas.definition_name
resolve = schemas.resolve
child = schemas.child
items = schemas.items


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
        self._roots: dict[tuple[str, str, str], Node | None] = {}  # answers of root(), every write asks

    def set_crd(self, group: str, version: str, kind: str, schema: Node | None) -> None:
        if schema is None:
            self._crd.pop((group, version, kind), None)
        else:
            self._crd[(group, version, kind)] = schema
        self._roots.pop((group, version, kind), None)

    def root(self, group: str, version: str, kind: str) -> Node | None:
        gvk = (group, version, kind)
        try:
            return self._roots[gvk]
        except KeyError:
            pass
        found = self._crd.get(gvk)
        if found is None:
            name = definition_name(group, version, kind)
            found = definitions().get(name) if name else None
        self._roots[gvk] = found
        return found

    def is_builtin(self, group: str, version: str, kind: str) -> bool:
        return (group, version, kind) not in self._crd and definition_name(group, version, kind) is not None
