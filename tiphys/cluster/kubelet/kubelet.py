"""The kubelet of node ``tiphys-local``: the scheduler, the Node, and one worker per bound pod.

Store events arrive synchronously; the kubelet only routes them (a worker per pod uid, pokes
for pods waiting on a ConfigMap, Secret, ServiceAccount or claim) and never does I/O in the
callback. At start it adopts every pod bound to the node, so pods whose processes were lost
with the previous server are handled like after a node reboot, and removes the files of pods
deleted meanwhile. At stop every pod's processes are stopped (SIGTERM, SIGKILL shortly after)
and nothing is written, so the next start finds the pods as they were.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import httpx

from ...home import Home
from ..apiserver.objects import ObjectAPI
from ..apiserver.store import DELETED, Event
from ..pki import Credentials
from .context import NODE_NAME, Context
from .logs import LogFiles
from .node import NodeAgent, machine_capacity
from .pod import MIN_GRACE, PodWorker
from .scheduler import Scheduler

__all__ = ["Kubelet"]

Obj = dict[str, Any]
log = logging.getLogger("tiphys.kubelet")
_SOURCES = ("/configmaps", "/secrets", "/serviceaccounts", "/persistentvolumeclaims", "/persistentvolumes")
_SYSTEM_DIRS = ("/", "/usr", "/etc", "/bin", "/lib", "/opt", "/var", "/tmp")


def _hidden(home: Home) -> tuple[str, ...]:
    """Host directories pods never see: the home directory of whoever runs the server, and the data dir."""
    hidden: list[str] = []
    user_home = os.path.realpath(os.path.expanduser("~"))
    if user_home not in _SYSTEM_DIRS and os.path.isdir(user_home):
        hidden.append(user_home)
    root = str(home.root)
    if not any(root == h or root.startswith(h + "/") for h in hidden):
        hidden.append(root)
    return tuple(hidden)


def _kill_orphans(pods_dir: Path) -> None:
    """Kill sandboxes a crashed predecessor left behind (its death can race bwrap's --die-with-parent).

    Every sandbox's command line binds a directory under ``pods_dir``; nothing of this cluster runs yet.
    """
    needle = os.fsencode(str(pods_dir) + "/")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "cmdline").read_bytes():
                os.kill(int(entry.name), signal.SIGKILL)
                log.warning("killed process %s, a sandbox left behind by the previous server", entry.name)
        except OSError:
            continue


def _runtime_version(bwrap: str | None) -> str:
    if bwrap is None:
        return "bubblewrap://not-installed"
    try:
        out = subprocess.run([bwrap, "--version"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return "bubblewrap://unknown"
    return "bubblewrap://" + (out.split()[-1] if out.split() else "unknown")


class Kubelet:
    def __init__(
        self,
        api: ObjectAPI,
        *,
        credentials: Credentials,
        home: Home,
        logs: LogFiles,
        port: int,
        allow_host_path: bool = False,
    ) -> None:
        self.api = api
        logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per HTTP probe is noise
        bwrap = shutil.which("bwrap")
        capacity = machine_capacity(home.cluster_dir)
        self.ctx = Context(
            api=api,
            logs=logs,
            credentials=credentials,
            pods_dir=home.pods_dir,
            hidden=_hidden(home),
            port=port,
            bwrap=bwrap,
            http=httpx.AsyncClient(
                verify=False, trust_env=False, follow_redirects=False
            ),  # probes, as upstream: no verification
            allocatable=capacity,
            allow_host_path=allow_host_path,
        )
        self.node = NodeAgent(api, capacity=capacity, runtime_version=_runtime_version(bwrap))
        self.scheduler = Scheduler(api)
        self.workers: dict[str, PodWorker] = {}
        self._stopping = False
        self._listening = False
        api.store.listen(self._listen, keys=("/pods", *_SOURCES))

    def start(self) -> None:
        if self.ctx.bwrap is None:
            log.warning("bubblewrap (bwrap) is not installed: containers with a command will fail to start")
        self.ctx.pods_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        _kill_orphans(self.ctx.pods_dir)
        self.node.start()
        self.scheduler.start()
        self._listening = True
        live: set[str] = set()
        for entry in self.api.store.scan("/pods"):
            live.add(entry.obj["metadata"].get("uid", ""))
            if (entry.obj.get("spec") or {}).get("nodeName") == NODE_NAME:
                self._ensure(entry.obj)
        self._remove_orphans(live)

    def _remove_orphans(self, live: set[str]) -> None:
        for path in self._children(self.ctx.pods_dir):
            if path.name not in live:
                shutil.rmtree(path, ignore_errors=True)
        for path in self._children(self.ctx.logs.root):
            if path.name.rsplit("_", 1)[-1] not in live:
                shutil.rmtree(path, ignore_errors=True)

    @staticmethod
    def _children(directory: Path) -> list[Path]:
        try:
            return list(directory.iterdir())
        except OSError:
            return []

    def _listen(self, event: Event) -> None:
        if not self._listening:
            return
        try:
            if event.key == "/pods":
                self._on_pod(event)
            elif event.key in _SOURCES:
                for worker in self.workers.values():
                    if worker.namespace == event.namespace or not event.namespace:
                        worker.poke()
        except Exception:  # the listener runs inside API writes: never let it fail them
            log.exception("kubelet: handling %s %s failed", event.type, event.key)

    def _on_pod(self, event: Event) -> None:
        pod = event.entry.obj
        uid = pod["metadata"].get("uid", "")
        if event.type == DELETED:
            worker = self.workers.pop(uid, None)
            if worker is None:
                if (pod.get("spec") or {}).get("nodeName") == NODE_NAME:
                    shutil.rmtree(self.ctx.pods_dir / uid, ignore_errors=True)
                    self.ctx.logs.remove_pod(pod)
                return
            worker.update(pod)
            worker.removed()
            if worker.task is None or worker.task.done():
                worker.cleanup()
        elif (pod.get("spec") or {}).get("nodeName") == NODE_NAME:
            self._ensure(pod)

    def _ensure(self, pod: Obj) -> None:
        uid = pod["metadata"]["uid"]
        worker = self.workers.get(uid)
        if worker is None:
            if self._stopping:
                return
            worker = PodWorker(self.ctx, pod)
            self.workers[uid] = worker
            worker.task = asyncio.create_task(worker.run(), name=f"kubelet:pod:{worker.key}")
        worker.update(pod)

    async def stop(self) -> None:
        """Stop every pod's processes (nothing is written: the pods survive the restart)."""
        self._stopping = True
        workers = list(self.workers.values())
        for worker in workers:
            worker.shutting_down = True
            worker.request_stop(MIN_GRACE)
        tasks = [w.task for w in workers if w.task is not None and not w.task.done()]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=MIN_GRACE + 1)
            for worker in workers:
                for container in worker.workers:
                    if container.process is not None:
                        container.process.signal(signal.SIGKILL)
            if pending:
                _, pending = await asyncio.wait(pending, timeout=2)
            for task in pending:
                task.cancel()
        self._listening = False
        await self.scheduler.stop()
        await self.node.stop()
        with contextlib.suppress(Exception):
            await self.ctx.http.aclose()
