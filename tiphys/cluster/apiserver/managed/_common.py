"""Shared names of the managedFields implementation: paths, field sets, untracked fields."""

from __future__ import annotations

from typing import Any

import orjson

from .. import schema as kube_schema

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


def _json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
