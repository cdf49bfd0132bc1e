"""The Node object ``tiphys-local``: Ready, with this machine's capacity and address 127.0.0.1.

Registered when the kubelet starts (created, or refreshed after a restart), then its
conditions' ``lastHeartbeatTime`` is renewed every few minutes, as upstream does when nothing
changes. Capacity is read once: CPUs, memory and the data dir's disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import platform
import shutil
from pathlib import Path
from typing import Any

import orjson

from ..apiserver.app import VERSION
from ..apiserver.errors import StatusError
from ..apiserver.objects import ObjectAPI, WriteOptions, now_rfc3339
from .context import COMPONENT, NODE_NAME

__all__ = ["HEARTBEAT", "NodeAgent", "machine_capacity"]

Obj = dict[str, Any]
HEARTBEAT = 300.0  # upstream's nodeStatusReportFrequency when the status does not change
log = logging.getLogger("tiphys.kubelet")
_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le", "s390x": "s390x"}
_CONDITIONS = (
    ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
)


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def machine_capacity(data_dir: Path) -> dict[str, str]:
    memory_kib = 0
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            memory_kib = int(line.split()[1])
    try:
        disk_kib = shutil.disk_usage(data_dir).total // 1024
    except OSError:
        disk_kib = 0
    return {
        "cpu": str(os.cpu_count() or 1),
        "memory": f"{memory_kib}Ki",
        "ephemeral-storage": f"{disk_kib}Ki",
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        "pods": "110",
    }


def _os_image() -> str:
    for line in _read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip('"')
    return platform.system()


class NodeAgent:
    def __init__(self, api: ObjectAPI, *, capacity: dict[str, str], runtime_version: str) -> None:
        self.api = api
        self.capacity = capacity
        self.runtime_version = runtime_version
        self._task: asyncio.Task[None] | None = None

    def _object(self) -> Obj:
        arch = _ARCH.get(platform.machine(), platform.machine())
        labels = {
            "beta.kubernetes.io/arch": arch,
            "beta.kubernetes.io/os": "linux",
            "kubernetes.io/arch": arch,
            "kubernetes.io/hostname": NODE_NAME,
            "kubernetes.io/os": "linux",
            "node-role.kubernetes.io/control-plane": "",
        }
        annotations = {
            "node.alpha.kubernetes.io/ttl": "0",
            "volumes.kubernetes.io/controller-managed-attach-detach": "true",
        }
        return {"metadata": {"name": NODE_NAME, "labels": labels, "annotations": annotations}, "spec": {}}

    def _status(self, previous: Obj, now: str) -> Obj:
        before = {c.get("type"): c for c in previous.get("conditions") or ()}
        conditions = []
        for kind, status, reason, message in _CONDITIONS:
            old = before.get(kind) or {}
            since = old.get("lastTransitionTime") if old.get("status") == status else now
            conditions.append(
                {
                    "type": kind,
                    "status": status,
                    "reason": reason,
                    "message": message,
                    "lastHeartbeatTime": now,
                    "lastTransitionTime": since or now,
                }
            )
        machine_id = _read("/etc/machine-id")
        return {
            "capacity": self.capacity,
            "allocatable": self.capacity,
            "conditions": conditions,
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}, {"type": "Hostname", "address": NODE_NAME}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 0}},
            "nodeInfo": {
                "machineID": machine_id,
                "systemUUID": _read("/sys/class/dmi/id/product_uuid") or machine_id,
                "bootID": _read("/proc/sys/kernel/random/boot_id"),
                "kernelVersion": platform.release(),
                "osImage": _os_image(),
                "containerRuntimeVersion": self.runtime_version,
                "kubeletVersion": VERSION["gitVersion"],
                "kubeProxyVersion": "",
                "operatingSystem": "linux",
                "architecture": _ARCH.get(platform.machine(), platform.machine()),
            },
        }

    def register(self) -> None:
        """Create the Node (or refresh it after a restart) and report it Ready."""
        nodes = self.api.registry.lookup("", "v1", "nodes")
        assert nodes is not None
        opts = WriteOptions(field_manager=COMPONENT)
        entry = self.api.store.get("/nodes", "", NODE_NAME)
        if entry is None:
            self.api.create(nodes, "", self._object(), opts)
            entry = self.api.store.get("/nodes", "", NODE_NAME)
            assert entry is not None
        node = orjson.loads(entry.raw)
        node["status"] = self._status(node.get("status") or {}, now_rfc3339())
        self.api.update(nodes, "", NODE_NAME, node, opts, subresource="status")

    def start(self) -> None:
        self.register()
        self._task = asyncio.create_task(self._heartbeat(), name="kubelet:node-heartbeat")

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT)
            try:
                self.register()
            except StatusError as exc:
                log.warning("node heartbeat failed: %s", exc.message)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
