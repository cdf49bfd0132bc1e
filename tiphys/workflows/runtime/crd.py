"""The ``workflows.argoproj.io`` CRD in upstream's shape, installed when a cluster has none.

Upstream's CRD has no status subresource and leaves ``spec`` and ``status`` schemaless, so the
controller writes ``status`` with a normal update of the whole object; ours is the same, so a
cluster can move between Tiphys's controller and a real Argo Workflows one without migrating
anything. Ours carries ``app.kubernetes.io/managed-by: tiphys`` so that it can be told apart.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Final

from tiphys.kube import AlreadyExists, Kube, UnknownKind

__all__ = ["API_VERSION", "CRD_NAME", "GROUP", "KIND", "MANAGED_BY", "ensure_crd", "is_served", "workflow_crd"]

GROUP: Final = "argoproj.io"
API_VERSION: Final = f"{GROUP}/v1alpha1"
KIND: Final = "Workflow"
CRD_NAME: Final = f"workflows.{GROUP}"
MANAGED_BY: Final = {"app.kubernetes.io/managed-by": "tiphys"}

_OPEN: Final = {"type": "object", "x-kubernetes-map-type": "atomic", "x-kubernetes-preserve-unknown-fields": True}


def workflow_crd() -> dict[str, Any]:
    """Upstream's minimal CRD (``manifests/base/crds/minimal``): printer columns Status, Age, Message."""
    columns = [
        {"name": "Status", "type": "string", "description": "Status of the workflow", "jsonPath": ".status.phase"},
        {
            "name": "Age",
            "type": "date",
            "format": "date-time",
            "description": "When the workflow was started",
            "jsonPath": ".status.startedAt",
        },
        {
            "name": "Message",
            "type": "string",
            "description": "Human readable message indicating details about why the workflow is in this condition.",
            "jsonPath": ".status.message",
        },
    ]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": CRD_NAME, "labels": dict(MANAGED_BY)},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": KIND,
                "listKind": "WorkflowList",
                "plural": "workflows",
                "singular": "workflow",
                "shortNames": ["wf"],
            },
            "versions": [
                {
                    "name": "v1alpha1",
                    "served": True,
                    "storage": True,
                    "additionalPrinterColumns": columns,
                    "subresources": {},
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "required": ["metadata", "spec"],  # as upstream's
                            "properties": {
                                "apiVersion": {"type": "string"},
                                "kind": {"type": "string"},
                                "metadata": {"type": "object"},
                                "spec": _OPEN,
                                "status": _OPEN,
                            },
                        }
                    },
                }
            ],
        },
    }


async def is_served(kube: Kube) -> bool:
    """Whether the server serves ``argoproj.io/v1alpha1`` Workflows (discovery re-reads on a miss)."""
    try:
        await kube.resource(API_VERSION, KIND)
    except UnknownKind:
        return False
    return True


async def ensure_crd(kube: Kube, *, timeout: float = 30.0) -> bool:
    """Create the CRD unless Workflows are served already; True when this call created it.

    Returns once the API server serves the kind (it establishes a CRD well within a second).
    """
    try:
        await kube.resource(API_VERSION, KIND)
        return False
    except UnknownKind:
        pass
    created = False
    with contextlib.suppress(AlreadyExists):
        await kube.create(workflow_crd())
        created = True
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    delay = 0.01
    while not await is_served(kube):
        if loop.time() > deadline:
            raise TimeoutError(f"the API server did not start serving {CRD_NAME} within {timeout:g} s")
        await asyncio.sleep(delay)  # no event tells when discovery changes; back off briefly
        delay = min(delay * 2, 0.5)
    return created
