"""One reconcile of one Workflow, with its I/O: the runtime's half of ``reconcile``'s contract.

For a key from the queue: read the Workflow and its pods from the watch caches, call the pure
``reconcile``, write the Workflow back with a conditional update (on a conflict: read it again
and reconcile again), then create and delete pods, perform resource actions and read logs, all
concurrently, and schedule the next call. Logs and resource outcomes are kept in memory only
until the next reconcile has folded them into ``status.nodes``; if the process dies before, the
step that asked for them asks again, so nothing essential lives here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Final

from tiphys.kube import AlreadyExists, Conflict, EventType, Kube, KubeApiError, KubeError, NotFound
from tiphys.kube.writes import pod_log

from ..reconcile import reconcile as reconcile_step
from ..world import Observed, Reconciled, ResourceAction, ResourceObservation
from . import crd, resources
from .informer import Informer, Key, key_of
from .queue import WorkQueue
from .summary import with_failure_message

__all__ = ["LOG_LIMIT", "WORKFLOW_LABEL", "Runner"]

log = logging.getLogger(__name__)

WORKFLOW_LABEL: Final = "workflows.argoproj.io/workflow"
LOG_LIMIT: Final = 256 * 1024  # upstream keeps the last 256 KiB of stdout as outputs.result
_CONFLICT_RETRIES: Final = 10
_POD_ERROR_DELAY: Final = 2.0  # seconds before a pod creation that failed for a passing reason is tried again
_PERMANENT: Final = frozenset({400, 403, 404, 422})  # the server refuses this pod for good (bad spec, quota, no SA)
_NODE_ID: Final = "workflows.argoproj.io/node-id"
_API_CONCURRENCY: Final = 32
_POD_DONE: Final = frozenset({"Succeeded", "Failed"})
_SETTLE: Final = 0.1  # seconds a starting pod's events are gathered before its Workflow is reconciled


@dataclass
class _Memory:
    """What one Workflow's next reconcile needs besides the cluster: fetched logs, resource outcomes."""

    uid: str
    logs: dict[str, str] = field(default_factory=dict)
    resources: dict[str, ResourceObservation] = field(default_factory=dict)


def now() -> datetime:
    return datetime.now(UTC)


def _uid(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("uid") or "")


def _completed(workflow: Mapping[str, Any]) -> bool:
    return ((workflow.get("metadata") or {}).get("labels") or {}).get("workflows.argoproj.io/completed") == "true"


def _owned_by(pod: Mapping[str, Any], uid: str) -> bool:
    """A pod of this very Workflow, not of an older one of the same name still being collected."""
    owners = (pod.get("metadata") or {}).get("ownerReferences") or []
    return not owners or any(o.get("uid") == uid for o in owners)


class Runner:
    def __init__(self, kube: Kube, workers: int = 16) -> None:
        self.kube = kube
        self.workflows = Informer(kube, crd.API_VERSION, crd.KIND, on_change=self._workflow_changed)
        self.pods = Informer(kube, "v1", "Pod", labels={WORKFLOW_LABEL: None}, on_change=self._pod_changed)
        self.queue: WorkQueue[Key] = WorkQueue(self.reconcile, workers=workers, name="workflows")
        self._pods_of: dict[Key, set[Key]] = {}
        self._settling: dict[Key, asyncio.TimerHandle] = {}
        self._memory: dict[Key, _Memory] = {}
        self._limit = asyncio.Semaphore(_API_CONCURRENCY)  # calls in flight for one step's pods and logs
        self.reconciles = 0
        self.writes = 0

    # -- events -----------------------------------------------------------------------------------

    def _workflow_changed(self, kind: object, obj: dict[str, Any]) -> None:
        self.queue.add(key_of(obj))

    def _pod_changed(self, kind: object, pod: dict[str, Any]) -> None:
        wf = self._index(pod)
        if wf is None:
            return
        phase = (pod.get("status") or {}).get("phase")
        if kind is EventType.DELETED or phase in _POD_DONE:
            timer = self._settling.pop(wf, None)
            if timer is not None:
                timer.cancel()
            self.queue.add(wf)
        elif wf not in self._settling:
            # A pod on its way (scheduled, started) changes a node's phase or message only; such
            # events come in bursts a few ms apart, so they are gathered for a moment into one
            # reconcile and one write. A pod that ends is acted on at once.
            self._settling[wf] = asyncio.get_running_loop().call_later(_SETTLE, self._settled, wf)

    def _settled(self, wf: Key) -> None:
        self._settling.pop(wf, None)
        self.queue.add(wf)

    def _index(self, pod: Mapping[str, Any]) -> Key | None:
        """Record which Workflow a pod belongs to (by its label); that Workflow's key."""
        namespace, name = key_of(pod)
        owner = ((pod.get("metadata") or {}).get("labels") or {}).get(WORKFLOW_LABEL)
        if not owner:
            return None
        wf = (namespace, str(owner))
        members = self._pods_of.setdefault(wf, set())
        if self.pods.get((namespace, name)) is None:
            members.discard((namespace, name))
            if not members:
                del self._pods_of[wf]
        else:
            members.add((namespace, name))
        return wf

    async def run(self) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self.pods.run(), name="watch workflow pods")
                await self.pods.synced.wait()  # pods first: a Workflow is never judged without its pods
                group.create_task(self.workflows.run(), name="watch workflows")
                group.create_task(self.queue.run(), name="workflow queue")
        finally:
            log.info("workflow runner stopped: %d reconciles, %d writes", self.reconciles, self.writes)

    # -- one reconcile ----------------------------------------------------------------------------

    def _observed(self, key: Key, workflow: Mapping[str, Any], memory: _Memory) -> Observed:
        uid = _uid(workflow)
        pods = {}
        for pod_key in self._pods_of.get(key, ()):
            pod = self.pods.get(pod_key)
            if pod is not None and _owned_by(pod, uid):
                pods[pod_key[1]] = pod
        return Observed(pods=pods, logs=dict(memory.logs), resources=dict(memory.resources))

    def _memory_for(self, key: Key, workflow: Mapping[str, Any]) -> _Memory:
        memory = self._memory.get(key)
        if memory is None or memory.uid != _uid(workflow):
            memory = self._memory[key] = _Memory(_uid(workflow))
        return memory

    async def reconcile(self, key: Key) -> None:
        workflow = self.workflows.get(key)
        if workflow is None:
            self._memory.pop(key, None)
            self._pods_of.pop(key, None)
            self.queue.forget(key)
            return
        memory = self._memory_for(key, workflow)
        result: Reconciled | None = None
        for _ in range(_CONFLICT_RETRIES):
            observed = self._observed(key, workflow, memory)
            result = reconcile_step(workflow, observed, now())
            self.reconciles += 1
            result = replace(result, workflow=with_failure_message(result.workflow))
            if result.workflow == workflow:
                break
            try:
                written = await self.kube.replace(result.workflow)
            except Conflict:
                try:
                    workflow = await self.kube.get(crd.API_VERSION, crd.KIND, key[1], namespace=key[0])
                except NotFound:
                    return
                self.workflows.put(workflow)
                continue
            except NotFound:
                return
            self.writes += 1
            self.workflows.put(written)
            break
        else:
            log.warning("workflow %s/%s kept changing; trying again later", *key)
            self.queue.add(key)
            return
        assert result is not None
        again = await self._act(key, result, memory)
        if _completed(result.workflow):
            memory.logs.clear()  # folded into status.nodes for good
        if result.delete_workflow:
            await self._delete_workflow(key)
            return
        if again:
            self.queue.add(key)
        if result.requeue_at is not None:
            loop = asyncio.get_running_loop()
            self.queue.add_at(key, loop.time() + (result.requeue_at - now()).total_seconds())

    async def _act(self, key: Key, result: Reconciled, memory: _Memory) -> bool:
        """Do what the step asked, concurrently; True when the next reconcile should come at once."""
        namespace = key[0]
        refused: dict[str, str] = {}
        jobs: list[Awaitable[bool]] = [self._create_pod(key, pod, refused) for pod in result.create_pods]
        jobs += [self._delete_pod(namespace, name) for name in result.delete_pods]
        jobs += [self._resource(memory, action) for action in result.resource_actions]
        jobs += [self._log(namespace, name, memory) for name in result.needs_logs if name not in memory.logs]
        if not jobs:
            return False
        again = any(await asyncio.gather(*jobs))
        if refused:
            await self._fail_nodes(key, refused)
            again = True
        return again

    async def _create_pod(self, key: Key, pod: dict[str, Any], refused: dict[str, str]) -> bool:
        meta = pod.get("metadata") or {}
        try:
            async with self._limit:
                created = await self.kube.create(pod, namespace=key[0])
        except AlreadyExists:
            return False
        except KubeApiError as e:
            if e.status.code in _PERMANENT:
                # As upstream's markNodeError: the server will never take this pod, so its node errs.
                node_id = (meta.get("annotations") or {}).get(_NODE_ID)
                if node_id:
                    refused[str(node_id)] = str(e)
                    return False
            log.warning("workflow %s/%s: creating pod %s failed: %s", *key, meta.get("name"), e)
            self.queue.add_at(key, asyncio.get_running_loop().time() + _POD_ERROR_DELAY)
            return False
        except KubeError as e:
            log.warning("workflow %s/%s: creating pod %s failed: %s", *key, meta.get("name"), e)
            self.queue.add_at(key, asyncio.get_running_loop().time() + _POD_ERROR_DELAY)
            return False
        if self.pods.put(created):
            self._index(created)  # no reconcile for it: the step that asked for this pod knows it is there
        return False

    async def _fail_nodes(self, key: Key, refused: Mapping[str, str]) -> None:
        """Mark the nodes whose pods the server refused as Error (a conditional write; a conflict retries)."""
        workflow = self.workflows.get(key)
        if workflow is None:
            return
        status = dict(workflow.get("status") or {})
        nodes = dict(status.get("nodes") or {})
        stamp = now().strftime("%Y-%m-%dT%H:%M:%SZ")
        for node_id, message in refused.items():
            if node_id in nodes:
                nodes[node_id] = {**nodes[node_id], "phase": "Error", "message": message, "finishedAt": stamp}
        with contextlib.suppress(Conflict, NotFound):
            written = await self.kube.replace({**workflow, "status": {**status, "nodes": nodes}})
            self.workflows.put(written)

    async def _delete_pod(self, namespace: str, name: str) -> bool:
        try:
            async with self._limit:
                await self.kube.delete("v1", "Pod", name, namespace=namespace, grace_period=0)
        except NotFound:
            pass
        except KubeError as e:
            log.warning("deleting pod %s/%s failed: %s", namespace, name, e)
        return False

    async def _resource(self, memory: _Memory, action: ResourceAction) -> bool:
        async with self._limit:
            memory.resources[action.node_id] = await resources.perform(self.kube, action)
        return True

    async def _log(self, namespace: str, name: str, memory: _Memory) -> bool:
        try:
            async with self._limit:
                text = await pod_log(self.kube, name, namespace=namespace, container="main")
        except NotFound:
            text = ""  # the pod is gone (deleted, collected): there is no stdout to read any more
        except KubeError as e:
            log.warning("reading the log of pod %s/%s failed: %s", namespace, name, e)
            return False
        encoded = text.encode()
        if len(encoded) > LOG_LIMIT:
            text = encoded[-LOG_LIMIT:].decode("utf-8", "replace")
        memory.logs[name] = text
        return True

    async def _delete_workflow(self, key: Key) -> None:
        with contextlib.suppress(NotFound):
            await self.kube.delete(crd.API_VERSION, crd.KIND, key[1], namespace=key[0])
