"""What every pod worker shares: the in-process API, the node's facts, and how it writes to them.

Pod status goes through the ``status`` subresource from a fresh copy of the stored pod, and
only when it differs from what is stored; Events go through the controllers' recorder, so
repeated ones are folded into one with a count.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

from ..apiserver.errors import StatusError
from ..apiserver.objects import DeleteOptions, ObjectAPI, WriteOptions
from ..apiserver.resources import ResourceType
from ..controllers.events import record_event
from ..pki import Credentials
from .logs import LogFiles
from .runtime import LocalFS

__all__ = ["COMPONENT", "NODE_NAME", "Context"]

Obj = dict[str, Any]
NODE_NAME = "tiphys-local"
COMPONENT = "kubelet"
log = logging.getLogger("tiphys.kubelet")

_CLUSTER_SCOPED = {"PersistentVolume": "/persistentvolumes"}
_NAMESPACED = {
    "ConfigMap": "/configmaps",
    "Secret": "/secrets",
    "ServiceAccount": "/serviceaccounts",
    "PersistentVolumeClaim": "/persistentvolumeclaims",
}


@dataclass
class Context:
    api: ObjectAPI
    logs: LogFiles
    credentials: Credentials
    pods_dir: Path  # one directory per pod uid: volumes, service account files, container /tmp
    hidden: tuple[str, ...]  # host directories no pod may see (the data dir, the server's $HOME)
    port: int  # the API server's, for KUBERNETES_SERVICE_PORT
    bwrap: str | None  # bubblewrap's path, None when it is not installed
    http: httpx.AsyncClient  # for httpGet probes
    allocatable: dict[str, str]
    allow_host_path: bool = False
    fs: LocalFS = field(default_factory=LocalFS)

    @property
    def pods(self) -> ResourceType:
        rt = self.api.registry.lookup("", "v1", "pods")
        assert rt is not None
        return rt

    def lookup(self, namespace: str) -> Callable[[str, str], Obj | None]:
        """Objects a pod refers to, by kind and name, read from the store (no copy: read-only)."""

        def find(kind: str, name: str) -> Obj | None:
            if kind in _CLUSTER_SCOPED:
                entry = self.api.store.get(_CLUSTER_SCOPED[kind], "", name)
            else:
                entry = self.api.store.get(_NAMESPACED[kind], namespace, name)
            return entry.obj if entry is not None else None

        return find

    def service_env(self) -> dict[str, str]:
        """The ``kubernetes`` service variables every container gets."""
        port = str(self.port)
        address = f"tcp://127.0.0.1:{port}"
        prefix = f"KUBERNETES_PORT_{port}_TCP"
        return {
            "KUBERNETES_SERVICE_HOST": "127.0.0.1",
            "KUBERNETES_SERVICE_PORT": port,
            "KUBERNETES_SERVICE_PORT_HTTPS": port,
            "KUBERNETES_PORT": address,
            prefix: address,
            f"{prefix}_PROTO": "tcp",
            f"{prefix}_PORT": port,
            f"{prefix}_ADDR": "127.0.0.1",
        }

    def current(self, namespace: str, name: str, uid: str) -> Obj | None:
        entry = self.api.store.get("/pods", namespace, name)
        if entry is None or entry.obj["metadata"].get("uid") != uid:
            return None
        return entry.obj

    def write_status(self, namespace: str, name: str, uid: str, compute: Callable[[Obj], Obj]) -> Obj | None:
        """Store ``compute(pod)`` as the pod's status unless it is already stored; the pod, or None if gone."""
        for _ in range(3):
            entry = self.api.store.get("/pods", namespace, name)
            if entry is None or entry.obj["metadata"].get("uid") != uid:
                return None
            status = compute(entry.obj)
            if entry.obj.get("status") == status:
                return entry.obj
            pod = orjson.loads(entry.raw)
            pod["status"] = status
            try:
                return self.api.update(
                    self.pods, namespace, name, pod, WriteOptions(field_manager=COMPONENT), subresource="status"
                )
            except StatusError as exc:
                if exc.code == 404:
                    return None
                if exc.code != 409:
                    log.warning("writing the status of pod %s/%s failed: %s", namespace, name, exc.message)
                    return None
        return None

    def finalize(self, namespace: str, name: str, uid: str) -> None:
        """The kubelet's last word on a deleted pod: delete it with grace period 0."""
        try:
            self.api.delete(self.pods, namespace, name, DeleteOptions(grace_period=0, uid=uid))
        except StatusError as exc:
            if exc.code not in (404, 409):
                log.warning("deleting pod %s/%s failed: %s", namespace, name, exc.message)

    def event(self, pod: Obj, reason: str, message: str, *, warning: bool = False, field_path: str = "") -> None:
        try:
            record_event(
                self.api,
                pod,
                reason=reason,
                message=message,
                type="Warning" if warning else "Normal",
                component=COMPONENT,
                host=NODE_NAME,
                field_path=field_path,
            )
        except StatusError as exc:
            log.debug("event %s for %s not recorded: %s", reason, pod["metadata"].get("name"), exc.message)
