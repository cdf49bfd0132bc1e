"""Which live objects belong to an application, and which hook objects an operation created.

Tracking follows Argo CD's default method since 3.0, the annotation
``argocd.argoproj.io/tracking-id: <app>:<group>/<kind>:<namespace>/<name>`` (the older label method,
``app.kubernetes.io/instance``, is not used: a label value is limited to 63 characters and
copying labels between objects silently moves ownership). An object counts as the app's only when
the id also names the object itself, as Argo CD checks, so a copied annotation does not claim it.

Tiphys adds one annotation of its own to hook objects, ``tiphys.io/sync-operation``, naming the
operation (start time and retry) and phase that created it. A driver killed between creating a
hook and recording that it did finds its own hook on restart and waits for it, instead of taking
it for a leftover of an earlier sync and deleting it (BeforeHookCreation).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from . import objects
from .objects import KubeObject
from .types import SyncPhase

__all__ = [
    "OPERATION_MARK",
    "TRACKING_ID",
    "created_by",
    "is_tracked_by",
    "operation_mark",
    "tracking_id",
    "with_annotations",
]

TRACKING_ID: Final = "argocd.argoproj.io/tracking-id"
OPERATION_MARK: Final = "tiphys.io/sync-operation"


def tracking_id(app: str, obj: KubeObject, *, cluster_scoped: bool = False) -> str:
    """``web:apps/Deployment:prod/web``; a cluster-scoped object has an empty namespace."""
    namespace = "" if cluster_scoped else objects.namespace(obj)
    return f"{app}:{objects.api_group(obj)}/{objects.kind(obj)}:{namespace}/{objects.name(obj)}"


def _parse(value: str) -> tuple[str, str, str, str, str] | None:
    app, sep, rest = value.partition(":")
    group_kind, sep2, namespace_name = rest.partition(":")
    if not (sep and sep2 and "/" in group_kind and "/" in namespace_name):
        return None
    group, _, kind = group_kind.partition("/")
    namespace, _, name = namespace_name.partition("/")
    return app, group, kind, namespace, name


def is_tracked_by(obj: KubeObject, app: str) -> bool:
    """Whether the tracking id names ``app`` and this very object (group, kind, name and namespace)."""
    value = objects.annotations_of(obj).get(TRACKING_ID)
    parsed = _parse(value) if value else None
    if parsed is None:
        return False
    owner, group, kind, namespace, name = parsed
    return (
        owner == app
        and (group, kind, name) == (objects.api_group(obj), objects.kind(obj), objects.name(obj))
        and namespace in ("", objects.namespace(obj))
    )


def operation_mark(started_at: datetime, retry_count: int, phase: SyncPhase) -> str:
    """``1700000000.0.presync``: the operation (start, retry) and phase a hook object was created for."""
    return f"{math.floor(started_at.timestamp())}.{retry_count}.{phase.value.lower()}"


def created_by(obj: KubeObject, mark: str) -> bool:
    """Whether ``obj`` was created by the operation and phase that ``mark`` names."""
    return objects.annotations_of(obj).get(OPERATION_MARK) == mark


def with_annotations(obj: KubeObject, extra: Mapping[str, str]) -> dict[str, Any]:
    """A deep copy of ``obj`` with ``extra`` added to its annotations."""
    copied = copy.deepcopy(dict(obj))
    metadata = copied.get("metadata")
    if not isinstance(metadata, dict):
        metadata = copied["metadata"] = {}
    annotations = metadata.get("annotations")
    metadata["annotations"] = {**(annotations if isinstance(annotations, dict) else {}), **extra}
    return copied
