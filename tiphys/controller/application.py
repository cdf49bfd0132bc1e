"""The Application resource (``tiphys.io/v1alpha1``, Argo CD's field names) and where a sync keeps its state.

Applications live in the ``tiphys`` namespace of the cluster they deploy to; their CRD and that
namespace are created the first time a sync needs them (and only after the revision validated,
so a bad input changes nothing). ``status.operationState`` holds the operation exactly as Argo CD
stores it; Tiphys writes it after every step, which is what makes a sync resumable. The CRD keeps
no status subresource, as Argo CD's does not, so spec and status are one object.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from tiphys import engine
from tiphys.kube import AlreadyExists, Conflict, Kube, KubeApiError, NotFound, PatchType, UnknownKind

__all__ = [
    "API_VERSION",
    "APP_NAMESPACE",
    "KIND",
    "application_crd",
    "application_name",
    "ensure_crd",
    "get_application",
    "manifest",
    "operation_state",
    "save_application",
    "write_status",
]

GROUP: Final = "tiphys.io"
API_VERSION: Final = f"{GROUP}/v1alpha1"
KIND: Final = "Application"
APP_NAMESPACE: Final = "tiphys"
DEFAULT_SERVER: Final = "https://kubernetes.default.svc"

_OPEN: Final = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


def application_crd() -> dict[str, Any]:
    """The CRD of ``applications.tiphys.io``: Argo CD's shape, validated loosely like its own."""
    columns = [
        {"name": "Sync Status", "type": "string", "jsonPath": ".status.sync.status"},
        {"name": "Health Status", "type": "string", "jsonPath": ".status.health.status"},
        {"name": "Operation", "type": "string", "jsonPath": ".status.operationState.phase"},
        {"name": "Revision", "type": "string", "priority": 10, "jsonPath": ".status.sync.revision"},
    ]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"applications.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": KIND,
                "listKind": "ApplicationList",
                "plural": "applications",
                "singular": "application",
                "shortNames": ["app", "apps"],
            },
            "versions": [
                {
                    "name": "v1alpha1",
                    "served": True,
                    "storage": True,
                    "additionalPrinterColumns": columns,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "required": ["spec"],
                            "properties": {"spec": _OPEN, "status": _OPEN, "operation": _OPEN},
                        }
                    },
                }
            ],
        },
    }


def application_name(text: str) -> str:
    """A DNS-1123 label made from a path or URL's last part: ``git@h:team/Web_App.git`` → ``web-app``."""
    last = re.split(r"[/:]", text.rstrip("/"))[-1] or "app"
    last = last.removesuffix(".git").lower()
    label = re.sub(r"[^a-z0-9-]+", "-", last).strip("-")[:63].strip("-")
    return label or "app"


async def ensure_crd(kube: Kube) -> None:
    """Create the Application CRD and the ``tiphys`` namespace unless they exist; wait until served."""
    try:
        await kube.resource(API_VERSION, KIND)
    except UnknownKind:
        with contextlib.suppress(AlreadyExists):
            await kube.create(application_crd())
        for _ in range(300):  # the API server establishes a CRD in well under a second
            try:
                await kube.resource(API_VERSION, KIND)
                break
            except UnknownKind:
                await asyncio.sleep(0.01)
    try:
        await kube.get("v1", "Namespace", APP_NAMESPACE)
    except NotFound:
        with contextlib.suppress(AlreadyExists):
            await kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": APP_NAMESPACE}})


async def get_application(kube: Kube, name: str) -> dict[str, Any] | None:
    """The Application, or None when it (or its CRD) does not exist yet."""
    try:
        return await kube.get(API_VERSION, KIND, name, namespace=APP_NAMESPACE)
    except NotFound:
        return None


def manifest(
    name: str, *, source: Mapping[str, Any], namespace: str, sync_options: Sequence[str] = ()
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "project": "default",
        "source": dict(source),
        "destination": {"server": DEFAULT_SERVER, "namespace": namespace},
    }
    if sync_options:
        spec["syncPolicy"] = {"syncOptions": list(sync_options)}
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": name, "namespace": APP_NAMESPACE},
        "spec": spec,
    }


async def save_application(kube: Kube, app: Mapping[str, Any]) -> dict[str, Any]:
    """Create the Application, or update its spec when it exists (the status is left as it is)."""
    name = app["metadata"]["name"]
    try:
        created = await kube.create({**app, "status": {}})
        return created
    except AlreadyExists:
        return await kube.patch(API_VERSION, KIND, name, {"spec": app["spec"]}, namespace=APP_NAMESPACE)


def operation_state(app: Mapping[str, Any] | None) -> engine.OperationState | None:
    """The stored ``status.operationState``, or None when there is none (or it cannot be read)."""
    status = (app or {}).get("status") or {}
    stored = status.get("operationState") if isinstance(status, Mapping) else None
    if not isinstance(stored, Mapping):
        return None
    try:
        return engine.OperationState.from_json(stored)
    except ValueError:
        return None


async def write_status(
    kube: Kube, name: str, fields: Mapping[str, Any], *, based_on: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Replace the given ``status`` fields (``operationState``, ``history``…) whole, keeping the others.

    With ``based_on`` (the Application as last read) the whole status is written only if the
    Application has not changed since (a JSON patch ``test`` of its resourceVersion); otherwise
    ``Conflict``, so that a termination request written meanwhile is never overwritten.
    """
    if based_on is not None:
        version = (based_on.get("metadata") or {}).get("resourceVersion")
        status = {**(based_on.get("status") or {}), **fields}
        ops: list[dict[str, Any]] = [
            {"op": "test", "path": "/metadata/resourceVersion", "value": version},
            {"op": "add", "path": "/status", "value": status},
        ]
        try:
            return await kube.patch(API_VERSION, KIND, name, ops, namespace=APP_NAMESPACE, patch_type=PatchType.JSON)
        except KubeApiError as e:
            if e.status.code in (409, 422, 500):
                raise Conflict(e.status) from e
            raise
    each: list[dict[str, Any]] = [{"op": "add", "path": f"/status/{k}", "value": v} for k, v in fields.items()]
    try:
        return await kube.patch(API_VERSION, KIND, name, each, namespace=APP_NAMESPACE, patch_type=PatchType.JSON)
    except KubeApiError as e:
        if e.status.code not in (400, 422, 500):
            raise
        # No /status at all (an Application written by someone else): a merge patch creates it.
        return await kube.patch(API_VERSION, KIND, name, {"status": dict(fields)}, namespace=APP_NAMESPACE)
