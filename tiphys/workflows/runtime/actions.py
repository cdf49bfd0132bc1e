"""What ``tiphys workflow`` asks of a cluster beyond one call: wait for a Workflow to finish, retry one.

Both follow watches, never poll. ``retry`` deletes the pods of the nodes it removes and waits until
they are gone before it writes the reset Workflow (conditionally on its resourceVersion), so the
controller never takes an old pod for a new attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import Any, Final

from tiphys.kube import Conflict, EventType, Kube, KubeError, NotFound

from . import crd
from .retry import formulate_retry
from .runner import WORKFLOW_LABEL

__all__ = ["TERMINAL", "require_crd", "retry", "wait"]

TERMINAL: Final = frozenset({"Succeeded", "Failed", "Error"})


async def require_crd(kube: Kube) -> None:
    if not await crd.is_served(kube):
        raise KubeError(
            f"the cluster does not serve {crd.API_VERSION} Workflows: run Tiphys's workflow controller "
            "(python -m tiphys.workflows --kubeconfig ...) or install Argo Workflows"
        )


async def wait(kube: Kube, namespace: str, name: str) -> dict[str, Any]:
    """The Workflow once its phase is final (a watch; the stream resumes by itself)."""
    current = await kube.get(crd.API_VERSION, crd.KIND, name, namespace=namespace)
    if (current.get("status") or {}).get("phase") in TERMINAL:
        return current
    version = (current.get("metadata") or {}).get("resourceVersion")
    async for event in kube.watch(
        crd.API_VERSION, crd.KIND, namespace=namespace, fields={"metadata.name": name}, resource_version=version
    ):
        if event.type is EventType.DELETED:
            raise KubeError(f"Workflow {name!r} was deleted before it finished")
        if (event.object.get("status") or {}).get("phase") in TERMINAL:
            return event.object
    raise KubeError(f"the watch of Workflow {name!r} ended")


async def retry(kube: Kube, namespace: str, name: str) -> dict[str, Any]:
    """Delete the failed nodes' pods (and wait until they are gone), then write the reset Workflow."""
    for _ in range(10):
        workflow = await kube.get(crd.API_VERSION, crd.KIND, name, namespace=namespace)
        retried = formulate_retry(workflow, datetime.now(UTC))  # RetryError: the wrong phase
        pods = (await kube.list("v1", "Pod", namespace=namespace, labels={WORKFLOW_LABEL: name})).items
        doomed = [
            str(p["metadata"]["name"])
            for p in pods
            if ((p["metadata"].get("annotations") or {}).get("workflows.argoproj.io/node-id") in retried.deleted_nodes)
        ]
        for pod_name in doomed:
            with contextlib.suppress(NotFound):
                await kube.delete("v1", "Pod", pod_name, namespace=namespace, grace_period=0)
        await _gone(kube, namespace, doomed)
        try:
            return await kube.replace(retried.workflow)
        except Conflict:
            continue
    raise KubeError(f"Workflow {name!r} kept changing; try again")


async def _gone(kube: Kube, namespace: str, names: list[str]) -> None:
    """Wait until the named pods no longer exist (a watch, not a poll)."""
    left = set(names)
    if not left:
        return
    found = await kube.list("v1", "Pod", namespace=namespace)
    left &= {str(p["metadata"]["name"]) for p in found.items}
    if not left:
        return
    async with asyncio.timeout(120):
        async for event in kube.watch("v1", "Pod", namespace=namespace, resource_version=found.resource_version):
            if event.type is EventType.DELETED:
                left.discard(str(event.object["metadata"]["name"]))
                if not left:
                    return
