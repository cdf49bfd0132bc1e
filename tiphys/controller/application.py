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
from datetime import datetime
from typing import Any, Final

from tiphys import engine
from tiphys.engine.annotations import DELETION_APPROVED
from tiphys.kube import AlreadyExists, Conflict, Kube, KubeApiError, NotFound, PatchType, UnknownKind

__all__ = [
    "API_VERSION",
    "APP_NAMESPACE",
    "KIND",
    "RollbackRefused",
    "application_crd",
    "application_name",
    "ensure_crd",
    "get_application",
    "manifest",
    "operation_state",
    "prune_confirmed",
    "rollback_operation",
    "save_application",
    "set_condition",
    "stored_phase",
    "update_app",
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


def prune_confirmed(app: Mapping[str, Any] | None, started_at: datetime) -> bool:
    """``argocd.argoproj.io/deletion-approved`` on the Application, not older than the operation."""
    approved = (((app or {}).get("metadata") or {}).get("annotations") or {}).get(DELETION_APPROVED)
    if not isinstance(approved, str) or not approved:
        return False
    try:
        at = datetime.fromisoformat(approved.replace("Z", "+00:00"))
    except ValueError:
        return False
    return at.tzinfo is not None and at >= started_at


def stored_phase(app: Mapping[str, Any] | None) -> str:
    """``status.operationState.phase`` as stored ("" when there is none), without reading the rest."""
    status = (app or {}).get("status")
    stored = status.get("operationState") if isinstance(status, Mapping) else None
    phase = stored.get("phase") if isinstance(stored, Mapping) else None
    return phase if isinstance(phase, str) else ""


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
    kube: Kube,
    name: str,
    fields: Mapping[str, Any],
    *,
    based_on: Mapping[str, Any] | None = None,
    clear_operation: bool = False,
) -> dict[str, Any]:
    """Replace the given ``status`` fields (``operationState``, ``history``…) whole, keeping the others.

    With ``based_on`` (the Application as last read) the whole status is written only if the
    Application has not changed since (a JSON patch ``test`` of its resourceVersion); otherwise
    ``Conflict``, so that a termination request written meanwhile is never overwritten.
    ``clear_operation`` also removes the requested ``operation`` (an operation that ended, as
    Argo CD's ``setOperationState`` does); it needs ``based_on``.
    """
    if based_on is not None:
        status = {**(based_on.get("status") or {}), **fields}
        ops: list[dict[str, Any]] = [{"op": "add", "path": "/status", "value": status}]
        if clear_operation and "operation" in based_on:
            ops.append({"op": "remove", "path": "/operation"})
        return await update_app(kube, name, ops, based_on=based_on)
    each: list[dict[str, Any]] = [{"op": "add", "path": f"/status/{k}", "value": v} for k, v in fields.items()]
    try:
        return await kube.patch(API_VERSION, KIND, name, each, namespace=APP_NAMESPACE, patch_type=PatchType.JSON)
    except KubeApiError as e:
        if e.status.code not in (400, 422, 500):
            raise
        # No /status at all (an Application written by someone else): a merge patch creates it.
        return await kube.patch(API_VERSION, KIND, name, {"status": dict(fields)}, namespace=APP_NAMESPACE)


async def update_app(
    kube: Kube, name: str, ops: Sequence[Mapping[str, Any]], *, based_on: Mapping[str, Any]
) -> dict[str, Any]:
    """Apply JSON patch ``ops`` only if the Application is still at ``based_on``'s version, else ``Conflict``."""
    version = (based_on.get("metadata") or {}).get("resourceVersion")
    body = [{"op": "test", "path": "/metadata/resourceVersion", "value": version}, *[dict(op) for op in ops]]
    try:
        return await kube.patch(API_VERSION, KIND, name, body, namespace=APP_NAMESPACE, patch_type=PatchType.JSON)
    except KubeApiError as e:
        if e.status.code in (409, 422, 500):
            raise Conflict(e.status) from e
        raise


def set_condition(app: Mapping[str, Any], kind: str, message: str | None, *, now: str) -> list[dict[str, Any]] | None:
    """``status.conditions`` with the ``kind`` condition set to ``message`` (or cleared: None); None if unchanged."""
    current = [dict(c) for c in ((app.get("status") or {}).get("conditions") or []) if isinstance(c, Mapping)]
    others = [c for c in current if c.get("type") != kind]
    if message is None:
        return None if len(others) == len(current) else others
    if any(c.get("type") == kind and c.get("message") == message for c in current):
        return None
    return [*others, {"type": kind, "message": message, "lastTransitionTime": now}]


class RollbackRefused(ValueError):
    """A rollback Argo CD would refuse (its ``FailedPrecondition``/``InvalidArgument`` messages)."""


def rollback_operation(
    app: Mapping[str, Any], history_id: int, *, prune: bool = False, dry_run: bool = False, username: str = ""
) -> dict[str, Any]:
    """The ``operation`` that ``argocd app rollback APP ID`` requests: a sync of that history entry's
    source and revision with the ``apply`` strategy (no hooks); ``RollbackRefused`` as Argo CD refuses."""
    metadata = app.get("metadata") or {}
    spec = app.get("spec") or {}
    if metadata.get("deletionTimestamp"):
        raise RollbackRefused("application is deleting")
    automated = (spec.get("syncPolicy") or {}).get("automated")
    if isinstance(automated, Mapping) and automated.get("enabled") is not False:
        raise RollbackRefused("rollback cannot be initiated when auto-sync is enabled")
    entry = next((h for h in (app.get("status") or {}).get("history") or [] if h.get("id") == history_id), None)
    if entry is None:
        raise RollbackRefused(f"application {metadata.get('name')} does not have deployment with id {history_id}")
    if not entry.get("source") and not entry.get("sources"):
        raise RollbackRefused(
            "cannot rollback to revision deployed with Argo CD v0.11 or lower. sync to revision instead."
        )
    sync = engine.SyncOperation(
        revision=str(entry.get("revision") or ""),
        revisions=tuple(entry.get("revisions") or ()),
        prune=prune,
        dry_run=dry_run,
        sync_options=tuple((spec.get("syncPolicy") or {}).get("syncOptions") or ()),
        sync_strategy=engine.SyncStrategy(engine.SyncStrategyType.APPLY),
        source=entry.get("source"),
        sources=tuple(entry.get("sources") or ()),
    )
    operation = engine.Operation(sync=sync, initiated_by=engine.OperationInitiator(username=username))
    return operation.to_json()
