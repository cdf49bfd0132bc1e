"""Reading Kubernetes objects that stay plain dicts.

The engine never converts objects to classes: it reads the few fields it needs through these
accessors, which tolerate missing or mistyped metadata the way ``unstructured.Unstructured``
getters do (a wrong type reads as empty). ``ResourceKey`` is gitops-engine's identity of an
object, and its ``str`` is the key format used in result keys and messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, TypedDict, cast

__all__ = [
    "KubeObject",
    "ObjectMeta",
    "ResourceKey",
    "annotations_of",
    "api_group",
    "api_version",
    "finalizers",
    "images",
    "kind",
    "meta",
    "name",
    "namespace",
    "resource_key",
    "version",
]

KubeObject = Mapping[str, Any]
"""A Kubernetes object as parsed from YAML or JSON."""


class ObjectMeta(TypedDict, total=False):
    """The parts of ``metadata`` the engine reads."""

    name: str
    generateName: str
    namespace: str
    uid: str
    generation: int
    annotations: dict[str, str]
    labels: dict[str, str]
    finalizers: list[str]
    deletionTimestamp: str


@dataclass(frozen=True, order=True)
class ResourceKey:
    """Group, kind, namespace and name: how gitops-engine identifies an object (version excluded)."""

    group: str
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.group}/{self.kind}/{self.namespace}/{self.name}"


# The accessors run for every object in every step of a sync: plain dicts (what JSON and YAML give)
# take a fast path before the slower ``Mapping`` check, and the costlier answers are remembered per
# object. Objects are values, never changed in place once built; a memo entry holds the object
# itself, so its id cannot be reused by another object while the entry exists.

_MEMO_SIZE: Final = 50_000
_keys: dict[int, tuple[KubeObject, ResourceKey]] = {}
_annotations: dict[int, tuple[KubeObject, Mapping[str, str]]] = {}


def _remember(memo: dict[int, tuple[KubeObject, Any]], obj: KubeObject, value: Any) -> None:
    if len(memo) >= _MEMO_SIZE:
        memo.clear()
    memo[id(obj)] = (obj, value)


def meta(obj: KubeObject) -> ObjectMeta:
    value = obj.get("metadata")
    if type(value) is dict or isinstance(value, Mapping):
        return cast(ObjectMeta, value)
    return ObjectMeta()


def _meta_str(obj: KubeObject, field: str) -> str:
    value = meta(obj).get(field)
    return value if type(value) is str else ""


def name(obj: KubeObject) -> str:
    return _meta_str(obj, "name")


def namespace(obj: KubeObject) -> str:
    return _meta_str(obj, "namespace")


def kind(obj: KubeObject) -> str:
    value = obj.get("kind")
    return value if isinstance(value, str) else ""


def api_version(obj: KubeObject) -> str:
    value = obj.get("apiVersion")
    return value if isinstance(value, str) else ""


def _group_version(obj: KubeObject) -> tuple[str, str]:
    # schema.ParseGroupVersion: "v1" is the core group; more than one slash is invalid (empty).
    text = api_version(obj)
    if "/" not in text:
        return "", text
    group, _, version = text.partition("/")
    if "/" in version:
        return "", ""
    return group, version


def api_group(obj: KubeObject) -> str:
    """The API group: ``"apps"`` for ``apps/v1``, ``""`` for the core group."""
    return _group_version(obj)[0]


def version(obj: KubeObject) -> str:
    return _group_version(obj)[1]


def annotations_of(obj: KubeObject) -> Mapping[str, str]:
    """The string annotations (read-only: the object's own mapping when every entry is a string)."""
    known = _annotations.get(id(obj))
    if known is not None and known[0] is obj:
        return known[1]
    value = meta(obj).get("annotations")
    found: Mapping[str, str]
    if not value or not isinstance(value, Mapping):
        found = {}
    elif all(type(k) is str and type(v) is str for k, v in value.items()):
        found = cast(Mapping[str, str], value)
    else:
        found = {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}
    _remember(_annotations, obj, found)
    return found


def finalizers(obj: KubeObject) -> list[str]:
    value = meta(obj).get("finalizers")
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, str)]


def resource_key(obj: KubeObject) -> ResourceKey:
    known = _keys.get(id(obj))
    if known is not None and known[0] is obj:
        return known[1]
    key = ResourceKey(api_group(obj), kind(obj), namespace(obj), name(obj))
    _remember(_keys, obj, key)
    return key


_CONTAINER_PATHS = (
    ("spec", "containers"),  # Pods
    ("spec", "template", "spec", "containers"),  # workloads with a pod template
    ("spec", "jobTemplate", "spec", "template", "spec", "containers"),  # CronJobs
)


def images(obj: KubeObject) -> list[str]:
    """Container images in the first known containers field, best effort (`GetResourceImages`)."""
    for path in _CONTAINER_PATHS:
        node: Any = obj
        for part in path:
            node = node.get(part) if isinstance(node, Mapping) else None
        if isinstance(node, list):
            return [c["image"] for c in node if isinstance(c, Mapping) and isinstance(c.get("image"), str)]
    return []
