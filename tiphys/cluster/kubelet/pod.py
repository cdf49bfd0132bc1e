"""One pod on the node, from admission to its last status: the kubelet's per-pod worker.

The worker admits the pod (hostPath and unsupported volumes are refused: phase Failed), sets
up its volumes and ServiceAccount files (retrying while a source is missing), runs the init
containers in order and then the containers, each restarting per policy. Beside that it
watches for deletion (SIGTERM, SIGKILL after the grace period, then the pod is deleted with
grace 0) and for ``activeDeadlineSeconds`` (phase Failed, reason DeadlineExceeded). A kubelet
shutdown stops the processes without writing anything: the restarted kubelet finds the pods'
last statuses and treats the lost containers as after a node reboot.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..apiserver.objects import now_rfc3339
from ..pki import ServiceAccountIdentity
from .container import ContainerWorker
from .context import NODE_NAME, Context
from .recovery import restore
from .status import TERMINAL, PodFacts, Terminated, Waiting, pod_status
from .volumes import MountError, Refused, VolumePlan, materialize, plan_volume, refusal, service_account_files

__all__ = ["MIN_GRACE", "PodWorker"]

Obj = dict[str, Any]
log = logging.getLogger("tiphys.kubelet")
MIN_GRACE = 2.0  # upstream always gives containers at least this long to stop
_LOST = "The container could not be located when the pod was terminated"


class PodWorker:
    def __init__(self, ctx: Context, pod: Obj) -> None:
        meta = pod["metadata"]
        self.ctx = ctx
        self.pod = pod  # the latest version seen
        self.uid: str = meta["uid"]
        self.namespace: str = meta.get("namespace", "")
        self.name: str = meta["name"]
        self.key = f"{self.namespace}/{self.name}"
        self.dir = ctx.pods_dir / self.uid
        spec = pod.get("spec") or {}
        self.policy: str = spec.get("restartPolicy", "Always")
        self.init = [ContainerWorker(self, c, init=True) for c in spec.get("initContainers") or ()]
        self.regular = [ContainerWorker(self, c, init=False) for c in spec.get("containers") or ()]
        first = "PodInitializing" if self.init else "ContainerCreating"
        for worker in [*self.init, *self.regular]:
            worker.record.state = Waiting(first)
        self.facts = PodFacts()
        self.plans: dict[str, VolumePlan] = {}
        self.volume_dirs: dict[str, Path] = {}
        self.service_account_dir: Path | None = None
        self.stopping = asyncio.Event()  # no container starts or restarts any more
        self.kill_deadline: float | None = None
        self.shutting_down = False  # the kubelet stops: write nothing, the pod outlives us
        self.gone = False  # the pod object was deleted
        self._poke = asyncio.Event()  # something the pod waits for may have appeared
        self._wake = asyncio.Event()  # the supervisor should look again (deletion, deadline change)
        self.task: asyncio.Task[None] | None = None

    @property
    def workers(self) -> list[ContainerWorker]:
        return [*self.init, *self.regular]

    def describe(self) -> str:
        return f"{self.name}_{self.namespace}({self.uid})"

    def event(self, reason: str, message: str, *, warning: bool = False, field_path: str = "") -> None:
        if not self.shutting_down:
            self.ctx.event(self.pod, reason, message, warning=warning, field_path=field_path)

    def changed(self) -> None:
        """Write the status if it changed."""
        if self.shutting_down or self.gone:
            return
        stored = self.ctx.write_status(self.namespace, self.name, self.uid, self._compute)
        if stored is not None:
            self.pod = stored

    def _compute(self, pod: Obj) -> Obj:
        records = [w.record for w in self.init], [w.record for w in self.regular]
        return pod_status(pod, *records, self.facts, now=now_rfc3339())

    # Signals from the kubelet (synchronous) ----------------------------------------------

    def update(self, pod: Obj) -> None:
        self.pod = pod
        meta = pod["metadata"]
        if meta.get("deletionTimestamp"):
            self.request_stop(float(meta.get("deletionGracePeriodSeconds") or 0))
        self._wake.set()

    def removed(self) -> None:
        self.gone = True
        self.request_stop(MIN_GRACE)

    def poke(self) -> None:
        self._poke.set()

    def request_stop(self, grace: float) -> None:
        grace = max(grace, MIN_GRACE)
        deadline = asyncio.get_running_loop().time() + grace
        if self.kill_deadline is not None and self.kill_deadline <= deadline:
            return
        self.kill_deadline = deadline
        self.stopping.set()
        self._wake.set()
        for worker in self.workers:
            worker.stop(grace)

    async def sleep(self, seconds: float | None, *, poke: bool = False, also: asyncio.Event | None = None) -> None:
        """Sleep, ending early when the pod stops, ``also`` is set, or (``poke``) a source may have appeared."""
        events = [self.stopping, *([self._poke] if poke else []), *([also] if also else [])]
        if poke:
            self._poke.clear()
        waiters = [asyncio.ensure_future(e.wait()) for e in events]
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    # The worker --------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            await self._run()
        except Exception:
            log.exception("pod %s: the kubelet's worker failed", self.key)
        finally:
            if self.gone:
                self.cleanup()

    async def _run(self) -> None:
        status = self.pod.get("status") or {}
        if status.get("phase") in TERMINAL:
            return
        self.facts.start_time = status.get("startTime") or now_rfc3339()
        rejected = self._admit()
        if rejected is not None:
            self.facts = PodFacts(self.facts.start_time, phase="Failed", reason=rejected.reason, rejected=True)
            self.facts.message = f"Pod was rejected: {rejected.message}"
            self.event(rejected.reason, rejected.message, warning=True)
            self.changed()
            return
        self._restore(status)
        lifecycle = asyncio.create_task(self._lifecycle(), name=f"pod:{self.key}")
        while not lifecycle.done():
            self._wake.clear()
            wake = asyncio.ensure_future(self._wake.wait())
            await asyncio.wait({lifecycle, wake}, timeout=self._until_deadline(), return_when=asyncio.FIRST_COMPLETED)
            wake.cancel()
            left = self._until_deadline()
            if left is not None and left <= 0:
                self._deadline_exceeded()
        await lifecycle
        if self.shutting_down:
            return
        if self.stopping.is_set():
            self.facts.terminal = True
            for worker in self.workers:
                if not isinstance(worker.record.state, Terminated):
                    worker.record.state = Terminated(137, "ContainerStatusUnknown", "", "", _LOST)
                    worker.record.ready = worker.record.started = False
        self.changed()
        if self.pod["metadata"].get("deletionTimestamp") and not self.gone:
            self.ctx.finalize(self.namespace, self.name, self.uid)

    async def _lifecycle(self) -> None:
        self.changed()
        if not await self._prepare():
            return
        self.facts.sandbox_ready = True
        self.changed()
        sidecars: list[asyncio.Task[bool]] = []
        try:
            initialized = self._initialized()
            for worker in self.init:
                if worker.sidecar:
                    # A sidecar runs for the pod's whole life; the next init container waits for it to start.
                    sidecars.append(asyncio.create_task(worker.run("Always"), name=f"sidecar:{self.key}/{worker.name}"))
                    while not (initialized or worker.record.started or self.stopping.is_set()):
                        await self.sleep(None, also=worker.started)
                elif not initialized and not await worker.run("Never" if self.policy == "Never" else "OnFailure"):
                    return
            await asyncio.gather(*(worker.run(self.policy) for worker in self.regular))
        finally:
            grace = float((self.pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30))
            for worker in reversed([w for w in self.init if w.sidecar]):
                worker.halt(grace)
            if sidecars:
                await asyncio.wait(sidecars)

    def _initialized(self) -> bool:
        """A container has run before (a recovered pod): init containers are not run again."""
        return any(w.record.last is not None or not isinstance(w.record.state, Waiting) for w in self.regular)

    def _until_deadline(self) -> float | None:
        seconds = (self.pod.get("spec") or {}).get("activeDeadlineSeconds")
        if seconds is None or self.stopping.is_set() or not self.facts.start_time:
            return None
        started = datetime.strptime(self.facts.start_time, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        return float(seconds) - (datetime.now(UTC) - started).total_seconds()

    def _deadline_exceeded(self) -> None:
        message = "Pod was active on the node longer than the specified deadline"
        self.facts.phase, self.facts.reason, self.facts.message = "Failed", "DeadlineExceeded", message
        self.event("DeadlineExceeded", message, warning=True)
        self.request_stop(float((self.pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30)))
        self.changed()

    # Admission, volumes, recovery --------------------------------------------------------

    def _admit(self) -> Refused | None:
        for volume in (self.pod.get("spec") or {}).get("volumes") or ():
            refused = refusal(volume, allow_host_path=self.ctx.allow_host_path)
            if refused is not None:
                return refused
        return None

    async def _prepare(self) -> bool:
        delay = 1.0
        while not self.stopping.is_set():
            try:
                self._setup_volumes()
                return True
            except MountError as exc:
                self.event("FailedMount", exc.message, warning=True)
            except Refused as exc:
                self.facts.phase, self.facts.reason, self.facts.message = "Failed", exc.reason, exc.message
                self.event(exc.reason, exc.message, warning=True)
                self.changed()
                return False
            await self.sleep(delay, poke=True)
            delay = min(delay * 2, 10.0)
        return False

    def _setup_volumes(self) -> None:
        spec = self.pod.get("spec") or {}
        lookup = self.ctx.lookup(self.namespace)
        account_name = spec.get("serviceAccountName") or "default"
        account = lookup("ServiceAccount", account_name)

        def token(expiration: int | None = None) -> str:
            if account is None:
                raise MountError("kube-api-access", f'serviceaccount "{account_name}" not found')
            identity = ServiceAccountIdentity(self.namespace, account_name, account["metadata"].get("uid", ""))
            return self.ctx.credentials.issue_service_account_token(identity)

        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "hostname").write_text(f"{self.name}\n")
        roots = () if self.ctx.allow_host_path else (str(self.ctx.pods_dir.parent),)
        for volume in spec.get("volumes") or ():
            name = volume.get("name", "")
            plan = plan_volume(
                self.pod, volume, lookup=lookup, token=token, allocatable=self.ctx.allocatable, allowed_roots=roots
            )
            directory = self.dir / "volumes" / name
            materialize(plan, directory)
            self.plans[name], self.volume_dirs[name] = plan, directory
        automount = spec.get("automountServiceAccountToken")
        if automount is None:
            automount = (account or {}).get("automountServiceAccountToken", True)
        if automount:
            files = service_account_files(token(), self.ctx.credentials.ca_pem, self.namespace)
            self.service_account_dir = self.dir / "serviceaccount"
            materialize(VolumePlan("kube-api-access", files), self.service_account_dir)

    def _restore(self, status: Obj) -> None:
        now = now_rfc3339()
        lost = False
        for group, workers in (("initContainerStatuses", self.init), ("containerStatuses", self.regular)):
            reported = {s.get("name"): s for s in status.get(group) or ()}
            for worker in workers:
                if worker.name in reported:
                    lost = restore(worker.record, reported[worker.name], now=now) or lost
        if lost and self.policy == "Never":
            self.facts.message = (
                f"Node {NODE_NAME} restarted while the pod was running; restartPolicy Never does not restart "
                "its lost containers"
            )

    def cleanup(self) -> None:
        """Remove what the pod left on disk: volumes, service account files, logs."""
        shutil.rmtree(self.dir, ignore_errors=True)
        self.ctx.logs.remove_pod(self.pod)
