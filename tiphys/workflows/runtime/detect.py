"""Is a real Argo Workflows controller running in this cluster? (``--workflow-controller=auto``)

The rule: a Deployment in any namespace that is Argo's workflow controller, recognised as every
upstream install names it — the plain manifests (``workflow-controller``, pod label
``app: workflow-controller``) and the Helm chart (``<release>-workflow-controller``, label
``app.kubernetes.io/component: workflow-controller``) — and that wants at least one replica.
A Deployment is what an install creates, so the rule holds before its pod starts and while it
restarts; scaling it to zero hands Workflows back to Tiphys. The CRD alone decides nothing:
applying Argo's CRDs without its controller leaves Workflows to us.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

__all__ = ["CONTROLLER_NAME", "is_argo_controller"]

CONTROLLER_NAME: Final = "workflow-controller"


def _labels(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return (obj.get("metadata") or {}).get("labels") or {}


def is_argo_controller(deployment: Mapping[str, Any]) -> bool:
    """True for a Deployment that runs Argo's workflow controller with at least one replica wanted."""
    meta = deployment.get("metadata") or {}
    if meta.get("deletionTimestamp"):
        return False
    spec = deployment.get("spec") or {}
    replicas = spec.get("replicas", 1)
    if isinstance(replicas, int) and replicas < 1:
        return False
    name = str(meta.get("name") or "")
    labels = {**_labels(deployment), **_labels(spec.get("template") or {})}
    return (
        name == CONTROLLER_NAME
        or name.endswith(f"-{CONTROLLER_NAME}")
        or labels.get("app") == CONTROLLER_NAME
        or labels.get("app.kubernetes.io/component") == CONTROLLER_NAME
    )
