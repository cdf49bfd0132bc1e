"""A tiny stand-in for the runtime and the kubelet, for driving ``reconcile`` in pure tests.

``Sim`` keeps the Workflow and the pods the step asked for; ``finish(pod, ...)`` turns a created pod
into a terminal one the way the embedded kubelet reports it (exit code, termination message, log).
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from typing import Any

import yaml

from tiphys.workflows.reconcile import Observed, Reconciled, reconcile

T0 = datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)


def load(text: str, name: str = "wf") -> dict[str, Any]:
    wf = yaml.safe_load(text)
    wf.setdefault("metadata", {})
    wf["metadata"].pop("generateName", None)
    wf["metadata"].setdefault("name", name)
    wf["metadata"].setdefault("namespace", "default")
    wf["metadata"].setdefault("uid", "uid-1")
    return wf


def run_wrapper(pod: dict[str, Any]) -> tuple[int, str, str]:
    """Really run the main container's argv with the host sh; the termination message goes to a temp file."""
    main = pod["spec"]["containers"][0]
    env = {e["name"]: e.get("value", "") for e in main.get("env", [])}
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "termination-log")
        open(log, "w").close()
        if "ARGO_TERMINATION_LOG" in env:
            env["ARGO_TERMINATION_LOG"] = log
        env = {"PATH": f"{os.path.dirname(sys.executable)}:/usr/bin:/bin", "TMPDIR": tmp, **env}
        proc = subprocess.run(main["command"] + main.get("args", []), env=env, capture_output=True, text=True,
                              timeout=60, check=False, cwd=tmp)
        with open(log) as f:
            message = f.read()
    return proc.returncode, proc.stdout, message


class Sim:
    def __init__(self, workflow: dict[str, Any], now: datetime = T0) -> None:
        self.wf = workflow
        self.now = now
        self.pods: dict[str, dict[str, Any]] = {}
        self.stdout: dict[str, str] = {}  # what each finished pod printed
        self.logs: dict[str, str] = {}  # what the runtime read because a step asked (needs_logs)
        self.resources: dict[str, Any] = {}
        self.last: Reconciled | None = None
        self.created: list[str] = []
        self.deleted: list[str] = []

    # --- stepping ---------------------------------------------------------------------------------
    def step(self, advance: float = 1.0) -> Reconciled:
        self.now += timedelta(seconds=advance)
        observed = Observed(pods=copy.deepcopy(self.pods), logs=dict(self.logs), resources=dict(self.resources))
        self.resources = {}
        out = reconcile(self.wf, observed, self.now)
        again = reconcile(self.wf, observed, self.now)
        assert again == out, "reconcile must be deterministic"
        self.wf = out.workflow
        for name in out.needs_logs:
            self.logs[name] = self.stdout[name]
        for pod in out.create_pods:
            name = pod["metadata"]["name"]
            if name not in self.pods:
                self.created.append(name)
                self.pods[name] = copy.deepcopy(pod) | {"status": {"phase": "Pending"}}
        for name in out.delete_pods:
            if name in self.pods:
                self.deleted.append(name)
                self.pods.pop(name)
        self.last = out
        return out

    # --- the kubelet side -------------------------------------------------------------------------
    def start(self, name: str) -> None:
        pod = self.pods[name]
        pod["spec"]["nodeName"] = "tiphys"
        pod["status"] = {"phase": "Running", "podIP": "10.0.0.1",
                         "containerStatuses": [{"name": "main", "state": {"running": {}}}]}

    def finish(self, name: str, code: int = 0, stdout: str = "", message: str = "",
               phase: str | None = None, pod_message: str | None = None) -> None:
        pod = self.pods[name]
        pod["spec"]["nodeName"] = "tiphys"
        terminated = {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                      "finishedAt": (self.now).strftime("%Y-%m-%dT%H:%M:%SZ")}
        if message:
            terminated["message"] = message
        pod["status"] = {"phase": phase or ("Succeeded" if code == 0 else "Failed"), "podIP": "10.0.0.1",
                         "containerStatuses": [{"name": "main", "state": {"terminated": terminated}}]}
        if pod_message:
            pod["status"]["message"] = pod_message
        self.stdout[name] = stdout

    def execute(self, name: str) -> tuple[int, str]:
        """Run the pod's argv for real on the host and finish it with the outcome."""
        code, out, message = run_wrapper(self.pods[name])
        self.finish(name, code, out, message)
        return code, out

    def running(self) -> list[str]:
        return [n for n, p in self.pods.items() if p["status"]["phase"] in ("Pending", "Running")]

    # --- reading ----------------------------------------------------------------------------------
    @property
    def status(self) -> dict[str, Any]:
        return self.wf["status"]

    def node(self, name: str) -> dict[str, Any]:
        for node in self.status["nodes"].values():
            if node["name"] == name or node["displayName"] == name:
                return node
        raise KeyError(name)

    def phases(self) -> dict[str, str]:
        return {n["displayName"]: n["phase"] for n in self.status.get("nodes", {}).values()}

    def pod_for(self, display: str) -> str:
        node = self.node(display)
        for name, pod in self.pods.items():
            if pod["metadata"]["annotations"]["workflows.argoproj.io/node-id"] == node["id"]:
                return name
        raise KeyError(display)

    def complete(self, display: str, code: int = 0, stdout: str = "", message: str = "") -> None:
        self.finish(self.pod_for(display), code, stdout, message)

    def run_all(self, outcomes: dict[str, int] | None = None, stdout: dict[str, str] | None = None,
                limit: int = 100) -> Reconciled:
        """Finish every pending pod (exit 0 unless `outcomes` by displayName says otherwise) until done."""
        outcomes = outcomes or {}
        stdout = stdout or {}
        out = self.step()
        for _ in range(limit):
            if self.status.get("phase") in ("Succeeded", "Failed", "Error"):
                return out
            pending = self.running()
            for pod in pending:
                node_id = self.pods[pod]["metadata"]["annotations"]["workflows.argoproj.io/node-id"]
                display = self.status["nodes"][node_id]["displayName"]
                self.finish(pod, outcomes.get(display, 0), stdout.get(display, ""))
            out = self.step()
            if not pending and not (out.create_pods or out.needs_logs) and out.requeue_at is None:
                return out
            if not pending and out.requeue_at is not None:
                self.now = max(self.now, out.requeue_at - timedelta(seconds=1))
        return out
