"""One container of a pod: configure, start, probe, stop, and restart it per policy with back-off.

A container with a ``command`` runs sandboxed (:mod:`.runtime`); one without is simulated and
an Event says so. Every state change lands in the container's :class:`.status.ContainerRecord`
and the pod worker writes the status. Nothing here raises into the kubelet: a container that
cannot start ends ``terminated`` with reason ``StartError`` and the runtime's message.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import shutil
import signal
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..apiserver.objects import now_rfc3339
from .envvars import ConfigError, container_environment, expand, pod_command
from .policy import Backoff, Simulation, exit_reason, go_duration, isolated_network, parse_simulation, restart_wanted
from .probes import ProbeLoop, ProbeResult, check
from .runtime import ContainerProcess, SandboxProcess, SimulatedProcess, run_captured
from .sandbox import DEFAULT_PATH, Mount, Sandbox, resolve_command
from .status import ContainerRecord, Running, Terminated, Waiting
from .volumes import container_mounts

if TYPE_CHECKING:
    from .pod import PodWorker

__all__ = ["SERVICE_ACCOUNT_PATH", "ContainerWorker"]

Obj = dict[str, Any]
log = logging.getLogger("tiphys.kubelet")
SERVICE_ACCOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
CONFIG_RETRY = 5.0  # seconds between attempts while a ConfigMap or Secret is missing (or sooner on change)
_MESSAGE_LIMIT = 4096


class ContainerWorker:
    def __init__(self, pod: PodWorker, spec: Obj, *, init: bool) -> None:
        self.pod = pod
        self.spec = spec
        self.name: str = spec["name"]
        self.record = ContainerRecord(self.name, spec.get("image", ""))
        self.backoff = Backoff()
        self.field_path = f"spec.{'initContainers' if init else 'containers'}{{{self.name}}}"
        self.sidecar = init and spec.get("restartPolicy") == "Always"
        self.started = asyncio.Event()  # set whenever the container counts as started
        self.halted = asyncio.Event()  # a sidecar whose pod's containers are done: stop, no restart
        self.dir = pod.dir / "containers" / self.name
        self.process: ContainerProcess | None = None
        self.finished_at = 0.0  # loop time of the last exit, for back-off
        self._sandbox: Sandbox | None = None
        self._kill_timer: asyncio.TimerHandle | None = None
        self._kill_at: float | None = None
        self._probes: list[asyncio.Task[None]] = []

    @property
    def simulated(self) -> bool:
        return not self.spec.get("command")

    def _event(self, reason: str, message: str, *, warning: bool = False) -> None:
        self.pod.event(reason, message, warning=warning, field_path=self.field_path)

    # The restart loop --------------------------------------------------------------------

    async def run(self, policy: str) -> bool:
        """Run until the policy stops restarting (or the pod stops); True if it last exited 0."""
        try:
            return await self._run(policy)
        except Exception as exc:  # a bug must not take the kubelet down: say so in the status
            log.exception("container %s of pod %s failed", self.name, self.pod.key)
            self._start_failed(f"internal error in the tiphys kubelet: {exc}")
            return False

    async def _run(self, policy: str) -> bool:
        loop = asyncio.get_running_loop()
        while not (self.pod.stopping.is_set() or self.halted.is_set()):
            state = self.record.state
            if isinstance(state, Terminated):
                if not restart_wanted(policy, state.exit_code):
                    return state.exit_code == 0
                delay = self.backoff.delay(finished=self.finished_at, now=loop.time())
                self.record.last = state
                if delay > 0:
                    pod = self.pod.describe()
                    wait = go_duration(self.backoff.current())
                    message = f"back-off {wait} restarting failed container={self.name} pod={pod}"
                    self.record.state = Waiting("CrashLoopBackOff", message)
                    self.pod.changed()
                    self._event(
                        "BackOff", f"Back-off restarting failed container {self.name} in pod {pod}", warning=True
                    )
                    await self.pod.sleep(delay, also=self.halted)
                    if self.pod.stopping.is_set() or self.halted.is_set():
                        break
                self.backoff.restarted(loop.time())
                self.record.restart_count += 1
            if not await self._start():
                await self.pod.sleep(CONFIG_RETRY, poke=True, also=self.halted)
                continue
            await self._supervise()
        state = self.record.state
        return isinstance(state, Terminated) and state.exit_code == 0

    # Start -------------------------------------------------------------------------------

    def _configure(self) -> Sandbox | Simulation:
        pod = self.pod.pod
        ctx = self.pod.ctx
        environment = container_environment(
            pod,
            self.spec,
            lookup=ctx.lookup(self.pod.namespace),
            service_env=ctx.service_env(),
            allocatable=ctx.allocatable,
        )
        for warning in environment.warnings:
            self._event("InvalidEnvironmentVariableNames", warning, warning=True)
        base = {"PATH": DEFAULT_PATH, "HOSTNAME": self.pod.name, "HOME": "/tmp"}
        variables = {**base, **environment.variables}
        if self.simulated:
            restart_policy = (pod.get("spec") or {}).get("restartPolicy", "Always")
            return parse_simulation(pod["metadata"].get("annotations") or {}, restart_policy)
        mounts = container_mounts(self.spec, self.pod.plans, self.pod.volume_dirs, variables)
        if self.pod.service_account_dir is not None and not any(
            m.dest.rstrip("/") == SERVICE_ACCOUNT_PATH for m in mounts
        ):
            mounts.append(Mount(SERVICE_ACCOUNT_PATH, str(self.pod.service_account_dir)))
        mounts.append(Mount("/tmp", str(self.dir / "tmp"), writable=True))
        mounts.append(Mount("/etc/hostname", str(self.pod.dir / "hostname")))
        message_path = self.spec.get("terminationMessagePath") or "/dev/termination-log"
        mounts.append(Mount(message_path, str(self.dir / "termination-log"), writable=True))
        return Sandbox(
            argv=tuple(pod_command(self.spec, variables)),
            env=tuple(variables.items()),
            cwd=self.spec.get("workingDir") or "/",
            mounts=tuple(mounts),
            hidden=ctx.hidden,
            network=not isolated_network(pod["metadata"].get("annotations") or {}),
            hostname=self.pod.name,
        )

    async def _start(self) -> bool:
        """Start one run; False when it cannot be configured yet (the caller retries)."""
        try:
            config = self._configure()
        except ConfigError as exc:
            changed = self.record.state != Waiting(exc.reason, exc.message)
            self.record.state = Waiting(exc.reason, exc.message)
            if changed:
                self._event("Failed", f"Error: {exc.message}", warning=True)
            self.pod.changed()
            return False
        ctx = self.pod.ctx
        log_path = ctx.logs.path(self.pod.pod, self.name, self.record.restart_count)
        log_path.unlink(missing_ok=True)
        started_at = now_rfc3339()
        process: ContainerProcess
        if isinstance(config, Simulation):
            if config.error:
                self._event("InvalidSimulation", f"{config.error}; simulating the default instead", warning=True)
            how = "until it is stopped" if config.after is None else f"exits {config.exit_code} after {config.after:g}s"
            self._event(
                "Simulated",
                f'Container {self.name} has no command, so image "{self.record.image}" is not run: '
                f"the container is simulated ({how})",
            )
            process = SimulatedProcess(config, logs=ctx.logs, log_path=log_path)
        else:
            self._sandbox = config
            error = resolve_command(config, ctx.fs) if ctx.bwrap else _NO_BWRAP
            if error:
                self._start_failed(error)
                return True
            shutil.rmtree(self.dir / "tmp", ignore_errors=True)
            (self.dir / "tmp").mkdir(parents=True, mode=0o1777)
            (self.dir / "tmp").chmod(0o1777)
            (self.dir / "termination-log").write_bytes(b"")
            self._event("Pulled", f'Container image "{self.record.image}" is not pulled: the command runs on the host')
            self._event("Created", f"Created container {self.name}")
            try:
                assert ctx.bwrap is not None
                process = await SandboxProcess.start(
                    config, logs=ctx.logs, log_path=log_path, fs=ctx.fs, bwrap=ctx.bwrap
                )
            except OSError as exc:
                self._start_failed(str(exc))
                return True
        self.process = process
        if self.pod.stopping.is_set() and self.pod.kill_deadline is not None:
            self.stop(self.pod.kill_deadline - asyncio.get_running_loop().time())
        self.record.container_id = f"tiphys://{secrets.token_hex(32)}"
        self.record.state = Running(started_at)
        self.record.started = self.simulated or not self.spec.get("startupProbe")
        self.record.ready = self.record.started and (self.simulated or not self.spec.get("readinessProbe"))
        if self.record.started:
            self.started.set()
        self._event("Started", f"Started container {self.name}")
        self.pod.changed()
        return True

    def _start_failed(self, error: str) -> None:
        now = now_rfc3339()
        message = f"unable to start container process: {error}"
        self.record.container_id = f"tiphys://{secrets.token_hex(32)}"
        self.record.state = Terminated(128, "StartError", now, now, message, self.record.container_id)
        self.record.ready = self.record.started = False
        self.finished_at = asyncio.get_running_loop().time()
        log_path = self.pod.ctx.logs.path(self.pod.pod, self.name, self.record.restart_count)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.touch()  # it was created, it never wrote: `kubectl logs` shows nothing rather than "waiting"
        self._event("Failed", f"Error: {message}", warning=True)
        self.pod.changed()

    # Supervision -------------------------------------------------------------------------

    async def _supervise(self) -> None:
        process = self.process
        state = self.record.state
        if process is None or not isinstance(state, Running):
            return
        if not self.simulated:
            if self.spec.get("startupProbe"):
                self._probe("Startup", self.spec["startupProbe"])
            else:
                self._start_probes()
        try:
            end = await process.wait()
        finally:
            for task in self._probes:
                task.cancel()
            if self._probes:
                await asyncio.wait(self._probes, timeout=2)
            self._probes = []
            if self._kill_timer is not None:
                self._kill_timer.cancel()
            self._kill_timer = self._kill_at = None
            self.process = None
            self.started.clear()
        self.finished_at = asyncio.get_running_loop().time()
        finished = now_rfc3339()
        cid = self.record.container_id
        if not end.started:
            message = f"unable to start container process: {end.error}"
            self.record.state = Terminated(128, "StartError", state.started_at, finished, message, cid)
            self._event("Failed", f"Error: {message}", warning=True)
        else:
            message = self._termination_message(end.code)
            self.record.state = Terminated(end.code, exit_reason(end.code), state.started_at, finished, message, cid)
        self.record.ready = self.record.started = False
        self.pod.changed()

    def _termination_message(self, code: int) -> str:
        try:
            with open(self.dir / "termination-log", "rb") as f:
                text = f.read(_MESSAGE_LIMIT).decode("utf-8", "replace")
        except OSError:
            text = ""
        if not text and code != 0 and self.spec.get("terminationMessagePolicy") == "FallbackToLogsOnError":
            path = self.pod.ctx.logs.path(self.pod.pod, self.name, self.record.restart_count)
            text = self.pod.ctx.logs.tail(path)
        return text

    def stop(self, grace: float) -> None:
        """SIGTERM now and SIGKILL after ``grace`` seconds; a later call may only shorten it."""
        if self.process is None:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, grace)
        if self._kill_at is not None and self._kill_at <= deadline:
            return
        if self._kill_at is None:
            self._event("Killing", f"Stopping container {self.name}")
            self.process.signal(signal.SIGTERM if grace > 0 else signal.SIGKILL)
        if self._kill_timer is not None:
            self._kill_timer.cancel()
        self._kill_at = deadline
        self._kill_timer = loop.call_at(deadline, self._force)

    def halt(self, grace: float) -> None:
        """Stop for good (a sidecar once the pod's containers are done)."""
        self.halted.set()
        self.stop(grace)

    def _force(self) -> None:
        if self.process is not None:
            self.process.signal(signal.SIGKILL)

    # Probes ------------------------------------------------------------------------------

    def _probe(self, kind: str, probe: Obj) -> None:
        if "grpc" in probe:
            message = f"{kind} probe of container {self.name}: gRPC probes are not supported here; treated as passing"
            self._event("UnsupportedProbe", message, warning=True)

        async def once() -> ProbeResult:
            return await check(probe, container=self.spec, run=self._exec, client=self.pod.ctx.http)

        loop = ProbeLoop(kind, probe, once, on_verdict=self._verdict, on_failure=self._failed)
        self._probes.append(asyncio.create_task(loop.run(), name=f"probe:{self.pod.key}/{self.name}/{kind}"))

    def _start_probes(self) -> None:
        for kind, key in (("Readiness", "readinessProbe"), ("Liveness", "livenessProbe")):
            if self.spec.get(key):
                self._probe(kind, self.spec[key])

    async def _exec(self, command: Sequence[str], timeout: float) -> tuple[int | None, str]:
        if self._sandbox is None or self.pod.ctx.bwrap is None:
            return 1, "no sandbox to run the probe in"
        variables = dict(self._sandbox.env)
        argv = tuple(expand(part, variables) for part in command)
        sandbox = replace(self._sandbox, argv=argv, status_fd=None)
        return await run_captured(sandbox, fs=self.pod.ctx.fs, bwrap=self.pod.ctx.bwrap, timeout=timeout)

    def _failed(self, kind: str, message: str) -> None:
        self._event("Unhealthy", f"{kind} probe failed: {message}", warning=True)

    def _verdict(self, kind: str, ok: bool, message: str) -> None:
        if self.process is None:
            return
        if kind == "Readiness":
            self.record.ready = ok
        elif ok:
            if kind == "Startup":
                self.record.started = True
                self.started.set()
                self.record.ready = not self.spec.get("readinessProbe")
                self._start_probes()
        else:
            probe = self.spec.get("livenessProbe" if kind == "Liveness" else "startupProbe") or {}
            self._event("Killing", f"Container {self.name} failed {kind.lower()} probe, will be restarted")
            grace = probe.get("terminationGracePeriodSeconds")
            if grace is None:
                grace = (self.pod.pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
            self.stop(float(grace))
        self.pod.changed()


_NO_BWRAP = (
    "bubblewrap (bwrap) is not installed on this machine, so containers with a command cannot run "
    "(install the bubblewrap package, or run `make setup`)"
)
