"""Leaf nodes: a pod per container/script node, suspend nodes, resource nodes (spec §2, §7.5, §8)."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

from . import naming, pods, resources
from . import template as tpl
from ._context import Ctx, Invocation
from .model import NodePhase, NodeType, parse_seconds, parse_time
from .params import param_string
from .podstatus import PodOutcome, assess_pod

__all__ = ["execute_pod", "execute_resource", "execute_suspend"]

DEADLINE_MESSAGE = "Step exceeded its deadline"
RESULT_LIMIT = 256 * 1024


def _stopped(ctx: Ctx, hooked: bool) -> str | None:
    """Why no new work may start for this node: shutdown or the workflow deadline."""
    if ctx.shutdown and not (hooked and ctx.shutdown == "Stop"):
        return f"Stopped with strategy '{ctx.shutdown}'"
    if ctx.past_deadline() and not hooked:
        return DEADLINE_MESSAGE
    return None


def _leaf_template(ctx: Ctx, inv: Invocation, pod: str) -> Any:
    local = {**ctx.globals, "pod.name": pod, "node.name": inv.node_name}
    if inv.retries is not None:
        local["retries"] = str(inv.retries)
    for param in (inv.template.get("inputs") or {}).get("parameters") or []:
        local[f"inputs.parameters.{param['name']}"] = param.get("value", "")
    return tpl.substitute_object(inv.template, local)


def _open(ctx: Ctx, inv: Invocation, node_type: NodeType, phase: NodePhase) -> tuple[dict[str, Any], bool]:
    """The suspend/resource node, created in ``phase`` if new; True when shutdown or deadline ended it."""
    node = ctx.get(inv.node_name)
    stop = _stopped(ctx, inv.hooked)
    if node is None:
        if stop is not None:
            return inv.init_node(ctx, node_type, NodePhase.FAILED, stop), True
        return inv.init_node(ctx, node_type, phase), False
    if stop is not None:
        return ctx.mark(node, NodePhase.FAILED, stop), True
    return node, False


def _deadline_seconds(ctx: Ctx, template: dict[str, Any], hooked: bool) -> int | None:
    values: list[int] = []
    own = template.get("activeDeadlineSeconds")
    if own is not None and str(own).strip().lstrip("-").isdigit():
        values.append(int(own))
    timeout = template.get("timeout")
    if timeout not in (None, ""):
        with contextlib.suppress(ValueError):  # validation rejects a bad timeout at submit
            values.append(max(1, int(parse_seconds(timeout).total_seconds())))
    if ctx.deadline is not None and not hooked:
        values.append(max(1, int((ctx.deadline - ctx.now).total_seconds())))
    return min(values) if values else None


def _pod_name(ctx: Ctx, inv: Invocation) -> str:
    return naming.pod_name(ctx.name, inv.node_name, inv.tmpl_name, version=ctx.pod_name_version)


def execute_pod(ctx: Ctx, inv: Invocation) -> dict[str, Any] | None:
    node = ctx.get(inv.node_name)
    hooked = inv.hooked
    pod_name = _pod_name(ctx, inv)
    if node is None:
        stop = _stopped(ctx, hooked)
        if stop is not None:
            return inv.init_node(ctx, NodeType.POD, NodePhase.FAILED, stop)
        if ctx.parallelism is not None and ctx.active_pods >= ctx.parallelism:
            return None
    try:
        leaf = _leaf_template(ctx, inv, pod_name)
    except tpl.SubstitutionError as e:
        if node is not None:
            return ctx.mark(node, NodePhase.ERROR, str(e))
        return inv.init_node(ctx, NodeType.POD, NodePhase.ERROR, str(e))
    if node is None:
        node = inv.init_node(ctx, NodeType.POD, NodePhase.PENDING)
        ctx.active_pods += 1
        _create(ctx, leaf, node, pod_name, hooked)
        return node
    observed = ctx.observed.pods.get(pod_name)
    if observed is None:
        if node["phase"] == NodePhase.PENDING and not node.get("hostNodeName"):
            stop = _stopped(ctx, hooked)
            if stop is not None:
                return ctx.mark(node, NodePhase.FAILED, stop)
            _create(ctx, leaf, node, pod_name, hooked)  # never seen: (re)create; AlreadyExists is fine
            return node
        return ctx.mark(node, NodePhase.ERROR, "pod deleted")
    outcome = assess_pod(observed)
    if outcome.host:
        node["hostNodeName"] = outcome.host
    if outcome.ip:
        node["podIP"] = outcome.ip
    if not outcome.phase.fulfilled:
        stop = _stopped(ctx, hooked)
        if stop is not None:
            ctx.delete_pods.append(pod_name)
            return ctx.mark(node, NodePhase.FAILED, stop)
        ctx.mark(node, outcome.phase, outcome.message)
        return node
    return _finish_pod(ctx, node, leaf, pod_name, outcome)


def _create(ctx: Ctx, leaf: dict[str, Any], node: dict[str, Any], pod_name: str, hooked: bool) -> None:
    ctx.create_pods.append(
        pods.build_pod(
            workflow=ctx.workflow, template=leaf, pod_name=pod_name, node_id=node["id"], node_name=node["name"],
            on_exit=hooked, deadline_seconds=_deadline_seconds(ctx, leaf, hooked),
        )
    )


def _finish_pod(
    ctx: Ctx, node: dict[str, Any], leaf: dict[str, Any], pod_name: str, outcome: PodOutcome
) -> dict[str, Any]:
    outputs: dict[str, Any] = {}
    if outcome.exit_code is not None:
        outputs["exitCode"] = str(outcome.exit_code)
    if outcome.main_finished and (ctx.capture_result or leaf.get("script") is not None):
        log = ctx.observed.logs.get(pod_name)
        if log is None:
            ctx.needs_logs.append(pod_name)
            return ctx.mark(node, NodePhase.RUNNING, node.get("message", ""))
        text = log[-RESULT_LIMIT:]
        outputs["result"] = text[:-1] if text.endswith("\n") else text
    phase, message = outcome.phase, outcome.message
    declared = (leaf.get("outputs") or {}).get("parameters") or []
    if declared:
        params, error = _output_parameters(declared, outcome)
        if params:
            outputs["parameters"] = params
        if error and phase == NodePhase.SUCCEEDED:
            phase, message = NodePhase.ERROR, error
    if outputs:
        node["outputs"] = outputs
        for param in outputs.get("parameters") or []:
            if param.get("globalName") and "value" in param:
                ctx.globals[f"workflow.outputs.parameters.{param['globalName']}"] = str(param["value"])
    ctx.mark(node, phase, message)
    if outcome.finished_at:
        node["finishedAt"] = outcome.finished_at
    if outcome.sidecars_left:
        ctx.delete_pods.append(pod_name)  # upstream kills the sidecars once main has exited
    return node


def _output_parameters(declared: list[dict[str, Any]], outcome: PodOutcome) -> tuple[list[dict[str, Any]], str]:
    paths = [p for p in declared if (p.get("valueFrom") or {}).get("path")]
    files: list[bytes | None] | str = []
    if paths:
        files = pods.parse_outputs_record(outcome.termination_message, len(paths)) if outcome.main_finished else []
    out: list[dict[str, Any]] = []
    error = ""
    index = 0
    for param in declared:
        value_from = param.get("valueFrom") or {}
        entry = dict(param)
        if value_from.get("path"):
            content = None if isinstance(files, str) or index >= len(files) else files[index]
            index += 1
            if content is not None:
                text = content.decode(errors="replace")
                entry["value"] = text[:-1] if text.endswith("\n") else text
            elif value_from.get("default") is not None:
                entry["value"] = param_string(value_from["default"])
            elif isinstance(files, str):
                error = error or files
            else:
                error = error or (f"open {value_from['path']}: no such file or directory")
        elif param.get("value") is not None:
            entry["value"] = param_string(param["value"])
        elif value_from.get("default") is not None:
            entry["value"] = param_string(value_from["default"])
        out.append(entry)
    return out, error


def execute_suspend(ctx: Ctx, inv: Invocation) -> dict[str, Any]:
    node, stopped = _open(ctx, inv, NodeType.SUSPEND, NodePhase.RUNNING)
    if stopped:
        return node
    template = inv.template
    duration = (template.get("suspend") or {}).get("duration")
    if duration not in (None, ""):
        try:
            wait = parse_seconds(duration)
        except ValueError as e:
            return ctx.mark(node, NodePhase.ERROR, f"invalid suspend duration {duration!r}: {e}")
        started = parse_time(node.get("startedAt")) or ctx.now
        if ctx.now >= started + wait:
            _supplied_defaults(node, template)
            return ctx.mark(node, NodePhase.SUCCEEDED, "")
        ctx.wake(started + wait)
    if ctx.deadline is not None and not inv.hooked:
        ctx.wake(ctx.deadline)
    return node


def _supplied_defaults(node: dict[str, Any], template: dict[str, Any]) -> None:
    params = []
    for param in (template.get("outputs") or {}).get("parameters") or []:
        value_from = param.get("valueFrom") or {}
        if value_from.get("default") is not None:
            params.append({**param, "value": param_string(value_from["default"])})
    if params:
        node.setdefault("outputs", {})["parameters"] = params


def execute_resource(ctx: Ctx, inv: Invocation) -> dict[str, Any]:
    node, stopped = _open(ctx, inv, NodeType.POD, NodePhase.PENDING)
    if stopped:
        return node
    try:
        leaf = _leaf_template(ctx, inv, _pod_name(ctx, inv))
        step = resources.advance(ctx, node, leaf["resource"], leaf.get("outputs") or {})
    except (tpl.SubstitutionError, resources.ResourceError) as e:
        return ctx.mark(node, NodePhase.ERROR, str(e))
    if step.action is not None:
        ctx.resource_actions.append(step.action)
    if step.poll_after is not None:
        ctx.wake(ctx.now + timedelta(seconds=step.poll_after))
    return ctx.mark(node, step.phase, step.message)
