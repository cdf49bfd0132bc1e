"""Pod phase -> node phase (spec §8.3, upstream ``assessNodeStatus`` / ``inferFailedReason``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .model import NodePhase

__all__ = ["PodOutcome", "assess_pod"]


@dataclass(frozen=True)
class PodOutcome:
    phase: NodePhase
    message: str = ""
    exit_code: int | None = None
    termination_message: str = ""
    finished_at: str | None = None
    host: str = ""
    ip: str = ""
    sidecars_left: bool = False
    """Main exited while other containers still run: the node is decided, the pod must be deleted."""

    @property
    def main_finished(self) -> bool:
        return self.exit_code is not None


def _terminated(status: Mapping[str, Any]) -> Mapping[str, Any] | None:
    state = status.get("state") or {}
    return state.get("terminated")


def _latest_finish(statuses: list[Mapping[str, Any]]) -> str | None:
    times = [t["finishedAt"] for s in statuses if (t := _terminated(s)) and t.get("finishedAt")]
    return max(times) if times else None


def _failed_reason(pod: Mapping[str, Any]) -> tuple[NodePhase, str]:
    status = pod.get("status") or {}
    if status.get("message"):
        return NodePhase.FAILED, str(status["message"])
    for ctr in status.get("initContainerStatuses") or []:
        t = _terminated(ctr)
        if t and t.get("exitCode", 0) != 0:
            msg = f"{ctr['name']}: {t.get('reason') or 'Error'} (exit code {t.get('exitCode')})"
            return NodePhase.ERROR, msg + (f": {t['message']}" if t.get("message") else "")
    statuses = list(status.get("containerStatuses") or [])
    for ctr in statuses:
        waiting = (ctr.get("state") or {}).get("waiting")
        if waiting:
            return NodePhase.ERROR, (
                f"Pod failed before {ctr['name']} container starts due to "
                f"{waiting.get('reason', '')}: {waiting.get('message', '')}"
            )
    main = next((c for c in statuses if c.get("name") == "main"), None)
    if main is not None:
        t = _terminated(main)
        if t and t.get("exitCode", 0) != 0:
            return NodePhase.FAILED, f"main: {t.get('reason') or 'Error'} (exit code {t.get('exitCode')})"
    for ctr in statuses:
        t = _terminated(ctr)
        if ctr.get("name") != "main" and t and t.get("exitCode", 0) not in (0, 137, 143):
            return NodePhase.FAILED, f"{ctr['name']}: {t.get('reason') or 'Error'} (exit code {t.get('exitCode')})"
    return NodePhase.SUCCEEDED, ""


def assess_pod(pod: Mapping[str, Any]) -> PodOutcome:
    status = pod.get("status") or {}
    statuses = list(status.get("containerStatuses") or [])
    main = next((c for c in statuses if c.get("name") == "main"), None)
    main_term = _terminated(main) if main else None
    exit_code = int(main_term["exitCode"]) if main_term and main_term.get("exitCode") is not None else None
    common = {
        "exit_code": exit_code,
        "termination_message": str((main_term or {}).get("message") or ""),
        "finished_at": _latest_finish(statuses),
        "host": str((pod.get("spec") or {}).get("nodeName") or ""),
        "ip": str(status.get("podIP") or ""),
    }
    phase = status.get("phase") or "Pending"
    if phase == "Pending":
        message = ""
        for ctr in [*(status.get("initContainerStatuses") or []), *statuses]:
            waiting = (ctr.get("state") or {}).get("waiting")
            if waiting and waiting.get("reason"):
                message = waiting["reason"] + (f": {waiting['message']}" if waiting.get("message") else "")
                break
        if not message:
            for cond in status.get("conditions") or []:
                if cond.get("type") == "PodScheduled" and cond.get("status") == "False" and cond.get("reason"):
                    message = f"{cond['reason']}: {cond.get('message', '')}"
        return PodOutcome(NodePhase.PENDING, message, **common)  # type: ignore[arg-type]
    if phase == "Running":
        if exit_code is not None and len(statuses) > 1:
            if exit_code == 0:
                return PodOutcome(NodePhase.SUCCEEDED, sidecars_left=True, **common)  # type: ignore[arg-type]
            message = f"main: {(main_term or {}).get('reason') or 'Error'} (exit code {exit_code})"
            return PodOutcome(NodePhase.FAILED, message, sidecars_left=True, **common)  # type: ignore[arg-type]
        return PodOutcome(NodePhase.RUNNING, **common)  # type: ignore[arg-type]
    if phase == "Succeeded":
        return PodOutcome(NodePhase.SUCCEEDED, **common)  # type: ignore[arg-type]
    if phase == "Failed":
        node_phase, message = _failed_reason(pod)
        return PodOutcome(node_phase, message, **common)  # type: ignore[arg-type]
    return PodOutcome(
        NodePhase.ERROR,
        f"Unexpected pod phase for {(pod.get('metadata') or {}).get('name')}: {phase}",
        **common,  # type: ignore[arg-type]
    )
