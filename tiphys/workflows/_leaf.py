"""Leaf nodes: a pod per container/script node, suspend nodes, resource nodes (spec §2, §7.5, §8)."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

from . import naming, pods, resources
from . import template as tpl
from ._context import Ctx
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


def _leaf_template(ctx: Ctx, template: dict[str, Any], pod: str, node_name: str, retries: int | None) -> Any:
    local = {**ctx.globals, "pod.name": pod, "node.name": node_name}
    if retries is not None:
        local["retries"] = str(retries)
    for param in (template.get("inputs") or {}).get("parameters") or []:
        local[f"inputs.parameters.{param['name']}"] = param.get("value", "")
    return tpl.substitute_object(template, local)


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


def execute_pod(
    ctx: Ctx,
    node_name: str,
    tmpl_name: str,
    template: dict[str, Any],
    inputs: dict[str, Any],
    boundary_id: str,
    hooked: bool,
    retries: int | None,
) -> dict[str, Any] | None:
    node = ctx.get(node_name)
    pod_name = naming.pod_name(ctx.name, node_name, tmpl_name, version=ctx.pod_name_version)
    if node is None:
        stop = _stopped(ctx, hooked)
        if stop is not None:
            return ctx.init_node(node_name, NodeType.POD, boundary_id=boundary_id, template_name=tmpl_name,
                                 phase=NodePhase.FAILED, message=stop, inputs=inputs)
        if ctx.parallelism is not None and ctx.active_pods >= ctx.parallelism:
            return None
    try:
        leaf = _leaf_template(ctx, template, pod_name, node_name, retries)
    except tpl.SubstitutionError as e:
        if node is not None:
            return ctx.mark(node, NodePhase.ERROR, str(e))
        return ctx.init_node(node_name, NodeType.POD, boundary_id=boundary_id, template_name=tmpl_name,
                             phase=NodePhase.ERROR, message=str(e), inputs=inputs)
    if node is None:
        node = ctx.init_node(node_name, NodeType.POD, boundary_id=boundary_id, template_name=tmpl_name,
                             phase=NodePhase.PENDING, inputs=inputs)
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


def execute_suspend(
    ctx: Ctx,
    node_name: str,
    tmpl_name: str,
    template: dict[str, Any],
    inputs: dict[str, Any],
    boundary_id: str,
    hooked: bool,
) -> dict[str, Any]:
    node = ctx.get(node_name)
    stop = _stopped(ctx, hooked)
    if node is None:
        if stop is not None:
            return ctx.init_node(node_name, NodeType.SUSPEND, boundary_id=boundary_id, template_name=tmpl_name,
                                 phase=NodePhase.FAILED, message=stop, inputs=inputs)
        node = ctx.init_node(node_name, NodeType.SUSPEND, boundary_id=boundary_id, template_name=tmpl_name,
                             inputs=inputs)
    if stop is not None:
        return ctx.mark(node, NodePhase.FAILED, stop)
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
    if ctx.deadline is not None and not hooked:
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


def execute_resource(
    ctx: Ctx,
    node_name: str,
    tmpl_name: str,
    template: dict[str, Any],
    inputs: dict[str, Any],
    boundary_id: str,
    hooked: bool,
    retries: int | None,
) -> dict[str, Any]:
    node = ctx.get(node_name)
    stop = _stopped(ctx, hooked)
    if node is None:
        if stop is not None:
            return ctx.init_node(node_name, NodeType.POD, boundary_id=boundary_id, template_name=tmpl_name,
                                 phase=NodePhase.FAILED, message=stop, inputs=inputs)
        node = ctx.init_node(node_name, NodeType.POD, boundary_id=boundary_id, template_name=tmpl_name,
                             phase=NodePhase.PENDING, inputs=inputs)
    elif stop is not None:
        return ctx.mark(node, NodePhase.FAILED, stop)
    pod = naming.pod_name(ctx.name, node_name, tmpl_name, version=ctx.pod_name_version)
    try:
        leaf = _leaf_template(ctx, template, pod, node_name, retries)
        step = resources.advance(ctx, node, leaf["resource"], leaf.get("outputs") or {})
    except (tpl.SubstitutionError, resources.ResourceError) as e:
        return ctx.mark(node, NodePhase.ERROR, str(e))
    if step.action is not None:
        ctx.resource_actions.append(step.action)
    if step.poll_after is not None:
        ctx.wake(ctx.now + timedelta(seconds=step.poll_after))
    return ctx.mark(node, step.phase, step.message)
