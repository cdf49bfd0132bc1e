"""The workflow-level step (upstream ``operate``): first-reconcile checks, the entrypoint, the exit
handler, the workflow's phase (spec §6, §7.6), progress, labels, podGC and ttlStrategy."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import orjson

from . import _execute, naming
from . import template as tpl
from ._context import Ctx, seconds_between
from ._validate import validate_workflow
from .model import (
    ANNOTATION_POD_NAME_FORMAT,
    LABEL_COMPLETED,
    LABEL_PHASE,
    NodePhase,
    NodeType,
    WorkflowPhase,
    format_time,
    is_failed,
    is_fulfilled,
    parse_seconds,
    parse_time,
)
from .params import global_scope
from .world import Observed, Reconciled

__all__ = ["operate"]

POD_GC_STRATEGIES = ("OnPodCompletion", "OnPodSuccess", "OnWorkflowCompletion", "OnWorkflowSuccess")


def operate(workflow: Mapping[str, Any], observed: Observed, now: datetime) -> Reconciled:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    wf: dict[str, Any] = orjson.loads(orjson.dumps(workflow))  # a deep copy, several times faster
    meta = wf.setdefault("metadata", {})
    status = wf.get("status") or {}
    wf["status"] = status
    phase = WorkflowPhase(status.get("phase") or "")
    if phase.completed:
        return _after_completion(wf, observed, now)
    if phase in (WorkflowPhase.UNKNOWN, WorkflowPhase.PENDING):
        meta.setdefault("annotations", {}).setdefault(ANNOTATION_POD_NAME_FORMAT, "v2")
        errors = validate_workflow(wf)
        if errors:
            return _finish_early(wf, now, errors[0])
        try:
            global_scope(wf)
        except ValueError as e:
            return _finish_early(wf, now, f"failed to set global parameters: {e}")
        status["phase"] = str(WorkflowPhase.RUNNING)
        status["startedAt"] = format_time(now)
    try:
        scope = global_scope(wf)
    except ValueError as e:
        return _finish_early(wf, now, f"failed to set global parameters: {e}")
    nodes: dict[str, dict[str, Any]] = status.setdefault("nodes", {})
    ctx = Ctx(workflow=wf, observed=observed, now=now, nodes=nodes, globals=scope)
    scope["workflow.status"] = str(WorkflowPhase.RUNNING)
    scope["workflow.duration"] = _duration(status.get("startedAt"), now)
    scope.update(global_outputs(nodes))
    spec = ctx.spec
    arguments = [
        {"name": p["name"], "value": scope[f"workflow.parameters.{p['name']}"]}
        for p in (spec.get("arguments") or {}).get("parameters") or []
    ]
    entry = _execute.execute(ctx, ctx.name, str(spec.get("entrypoint") or ""), "", arguments)
    final: WorkflowPhase | None = None
    message = ""
    if entry is not None and is_fulfilled(entry["phase"]):
        entry_phase = _workflow_phase(entry["phase"])
        final, message = entry_phase, entry.get("message", "") if entry_phase != WorkflowPhase.SUCCEEDED else ""
        exit_ref, exit_args = _exit_handler(spec)
        exit_args = [*arguments, *exit_args]  # the workflow's arguments reach the exit handler too (upstream)
        if exit_ref and ctx.shutdown != "Terminate":
            scope["workflow.status"] = str(entry_phase)
            scope["workflow.failures"] = _failures(ctx)
            try:
                exit_args = tpl.substitute_object(exit_args, scope)
            except tpl.SubstitutionError as e:
                exit_args = []
                status["message"] = f"error in exit template execution: {e}"
            exit_node = _execute.execute(ctx, f"{ctx.name}.onExit", exit_ref, "", exit_args, hooked=True)
            if exit_node is not None:
                exit_node.setdefault("nodeFlag", {})["hooked"] = True
            if exit_node is None or not is_fulfilled(exit_node["phase"]):
                final = None
            elif entry_phase == WorkflowPhase.SUCCEEDED and is_failed(exit_node["phase"]):
                final = _workflow_phase(exit_node["phase"])
                message = exit_node.get("message", "")
    if final is not None:
        if ctx.shutdown:
            final, message = WorkflowPhase.FAILED, f"Stopped with strategy '{ctx.shutdown}'"
        elif final != WorkflowPhase.SUCCEEDED and not message and ctx.past_deadline():
            message = "Step exceeded its deadline"
        status["phase"] = str(final)
        status["finishedAt"] = format_time(now)
        if message:
            status["message"] = message
        else:
            status.pop("message", None)
    elif ctx.deadline is not None and not ctx.past_deadline():
        ctx.wake(ctx.deadline)
    exported = global_outputs(nodes)
    if exported:
        status["outputs"] = {"parameters": [
            {"name": key.removeprefix("workflow.outputs.parameters."), "value": value}
            for key, value in exported.items()
        ]}
    _bookkeeping(ctx, status)
    if final is not None:
        return _after_completion(wf, observed, now, ctx=ctx)
    return _result(ctx)


def global_outputs(nodes: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """``workflow.outputs.parameters.<globalName>`` from every finished node that exports one (latest wins)."""
    exported: dict[str, str] = {}
    finished = sorted((n for n in nodes.values() if n.get("finishedAt")), key=lambda n: (n["finishedAt"], n["id"]))
    for node in finished:
        for param in (node.get("outputs") or {}).get("parameters") or []:
            if param.get("globalName") and "value" in param:
                exported[f"workflow.outputs.parameters.{param['globalName']}"] = str(param["value"])
    return exported


def _workflow_phase(node_phase: str) -> WorkflowPhase:
    if node_phase == NodePhase.FAILED:
        return WorkflowPhase.FAILED
    if node_phase == NodePhase.ERROR:
        return WorkflowPhase.ERROR
    return WorkflowPhase.SUCCEEDED


def _exit_handler(spec: Mapping[str, Any]) -> tuple[str, list[Any]]:
    hook = (spec.get("hooks") or {}).get("exit") or {}
    if hook.get("template"):
        return str(hook["template"]), list((hook.get("arguments") or {}).get("parameters") or [])
    return str(spec.get("onExit") or ""), []


def _duration(started: str | None, now: datetime) -> str:
    return f"{seconds_between(started, now):.6f}".rstrip("0").rstrip(".") or "0"


def _failures(ctx: Ctx) -> str:
    """``workflow.failures``: a JSON text inside a JSON string (upstream's double encoding)."""
    failed = sorted(
        (n for n in ctx.nodes.values() if n["phase"] in (NodePhase.FAILED, NodePhase.ERROR)),
        key=lambda n: (n.get("startedAt", ""), n["name"]),
    )
    items = [
        {
            "displayName": n.get("displayName", n["name"]),
            "message": n.get("message", ""),
            "templateName": n.get("templateName", ""),
            "phase": n["phase"],
            "podName": naming.pod_name(ctx.name, n["name"], n.get("templateName", ""), version=ctx.pod_name_version),
            "finishedAt": n.get("finishedAt", ""),
        }
        for n in failed
    ]
    return json.dumps(json.dumps(items or None, separators=(",", ":")))


def _progress(ctx: Ctx) -> str:
    leaves = [n for n in ctx.nodes.values() if NodeType(n["type"]).executable]
    done = sum(1 for n in leaves if n["phase"] == NodePhase.SUCCEEDED)
    return f"{done}/{len(leaves)}"


def _node_progress(ctx: Ctx) -> None:
    """Steps/DAG/Retry nodes: the sum of the executable nodes inside them."""
    parents: dict[str, list[str]] = {}
    for node in ctx.nodes.values():
        if node.get("boundaryID"):
            parents.setdefault(node["boundaryID"], []).append(node["id"])
        if node["type"] == NodeType.RETRY:
            parents.setdefault(node["id"], []).extend(node.get("children", []))

    def count(node_id: str, seen: set[str]) -> tuple[int, int]:
        done = total = 0
        for child_id in parents.get(node_id, []):
            if child_id in seen or child_id not in ctx.nodes:
                continue
            seen.add(child_id)
            child = ctx.nodes[child_id]
            if NodeType(child["type"]).executable:
                total += 1
                done += child["phase"] == NodePhase.SUCCEEDED
            d, t = count(child_id, seen)
            done, total = done + d, total + t
        return done, total

    for node in ctx.nodes.values():
        if node["type"] in (NodeType.STEPS, NodeType.DAG, NodeType.RETRY):
            done, total = count(node["id"], set())
            node["progress"] = f"{done}/{total}"


def _bookkeeping(ctx: Ctx, status: dict[str, Any]) -> None:
    _node_progress(ctx)
    status["progress"] = _progress(ctx)
    phase = status.get("phase", "")
    done = WorkflowPhase(phase).completed
    labels = ctx.workflow["metadata"].setdefault("labels", {})
    labels[LABEL_PHASE] = phase
    labels[LABEL_COMPLETED] = "true" if done else "false"
    running = any(n["type"] == NodeType.POD and n["phase"] == NodePhase.RUNNING for n in ctx.nodes.values())
    conditions = [{"type": "PodRunning", "status": "True" if running else "False"}]
    if done:
        conditions.append({"type": "Completed", "status": "True"})
    status["conditions"] = conditions


def _finish_early(wf: dict[str, Any], now: datetime, message: str) -> Reconciled:
    status = wf["status"]
    status["phase"] = str(WorkflowPhase.FAILED)
    status.setdefault("startedAt", format_time(now))
    status["finishedAt"] = format_time(now)
    status["message"] = message
    status.setdefault("progress", "0/0")
    labels = wf["metadata"].setdefault("labels", {})
    labels[LABEL_PHASE] = str(WorkflowPhase.FAILED)
    labels[LABEL_COMPLETED] = "true"
    status["conditions"] = [{"type": "Completed", "status": "True"}]
    return Reconciled(workflow=wf)


def _result(ctx: Ctx, *, delete_workflow: bool = False) -> Reconciled:
    _pod_gc(ctx)
    return Reconciled(
        workflow=ctx.workflow,
        create_pods=ctx.create_pods,
        delete_pods=list(dict.fromkeys(ctx.delete_pods)),
        resource_actions=ctx.resource_actions,
        needs_logs=list(dict.fromkeys(ctx.needs_logs)),
        requeue_at=min(ctx.wakeups) if ctx.wakeups else None,
        delete_workflow=delete_workflow,
    )


def _pod_gc(ctx: Ctx) -> None:
    gc = ctx.spec.get("podGC") or {}
    strategy = gc.get("strategy")
    if not strategy:
        return
    phase = (ctx.workflow.get("status") or {}).get("phase", "")
    delay = parse_seconds(gc["deleteDelayDuration"]) if gc.get("deleteDelayDuration") else timedelta(0)
    selector = (gc.get("labelSelector") or {}).get("matchLabels") or {}
    for node in ctx.nodes.values():
        if node["type"] != NodeType.POD or not is_fulfilled(node["phase"]):
            continue
        pod = naming.pod_name(ctx.name, node["name"], node.get("templateName", ""), version=ctx.pod_name_version)
        live = ctx.observed.pods.get(pod)
        if live is None:
            continue
        labels = (live.get("metadata") or {}).get("labels") or {}
        if any(labels.get(k) != v for k, v in selector.items()):
            continue
        if strategy == "OnPodCompletion":
            wanted, since = True, node.get("finishedAt")
        elif strategy == "OnPodSuccess":
            wanted, since = node["phase"] == NodePhase.SUCCEEDED, node.get("finishedAt")
        elif strategy == "OnWorkflowCompletion":
            wanted, since = WorkflowPhase(phase).completed, (ctx.workflow["status"].get("finishedAt"))
        else:
            wanted, since = phase == WorkflowPhase.SUCCEEDED, ctx.workflow["status"].get("finishedAt")
        if not wanted:
            continue
        due = (parse_time(since) or ctx.now) + delay
        if due <= ctx.now:
            ctx.delete_pods.append(pod)
        else:
            ctx.wake(due)


def _after_completion(
    wf: dict[str, Any], observed: Observed, now: datetime, *, ctx: Ctx | None = None
) -> Reconciled:
    """A completed workflow only ages: podGC and ttlStrategy."""
    status = wf["status"]
    if ctx is None:
        ctx = Ctx(workflow=wf, observed=observed, now=now, nodes=status.get("nodes") or {}, globals={})
    ttl = (wf.get("spec") or {}).get("ttlStrategy") or {}
    seconds = ttl.get("secondsAfterCompletion")
    if status.get("phase") == WorkflowPhase.SUCCEEDED and ttl.get("secondsAfterSuccess") is not None:
        seconds = ttl["secondsAfterSuccess"]
    failed = status.get("phase") in (WorkflowPhase.FAILED, WorkflowPhase.ERROR)
    if failed and ttl.get("secondsAfterFailure") is not None:
        seconds = ttl["secondsAfterFailure"]
    delete = False
    if seconds is not None:
        due = (parse_time(status.get("finishedAt")) or now) + timedelta(seconds=int(seconds))
        if due <= now:
            delete = True
        else:
            ctx.wake(due)
    return _result(ctx, delete_workflow=delete)
