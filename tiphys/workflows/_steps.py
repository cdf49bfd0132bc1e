"""Steps templates (spec §7.2): groups in order, the steps of a group together, ``steps.<S>.*`` variables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import _execute, conditions, loops, naming
from . import template as tpl
from ._context import Ctx, Invocation
from .model import NodePhase, NodeType, is_failed, is_fulfilled
from .params import node_scope
from .scoping import template_outputs

__all__ = ["execute_steps"]

WAIT = ("steps.",)


class _GroupError(Exception):
    """A step's ``when`` cannot be evaluated: the step group ends ``Error`` with this message."""


def execute_steps(ctx: Ctx, inv: Invocation) -> dict[str, Any]:
    node = inv.node(ctx, NodeType.STEPS)
    template, hooked = inv.template, inv.hooked
    scope = inv.scope(ctx)
    groups = template.get("steps") or []
    previous: dict[str, Any] | None = None
    for index, group in enumerate(groups):
        group_name = f"{inv.node_name}[{index}]"
        group_node = ctx.get(group_name)
        if group_node is None:
            group_node = ctx.init_node(group_name, NodeType.STEP_GROUP, boundary_id=node["id"],
                                       display_name=f"[{index}]")
            if previous is None:
                ctx.add_child(node, group_node["id"])
            else:
                for parent in _group_outbound(ctx, previous):
                    ctx.add_child(ctx.nodes[parent], group_node["id"])
        if not is_fulfilled(group_node["phase"]):
            _execute_group(ctx, node, group_node, list(group or []), scope, template, hooked)
        if not is_fulfilled(group_node["phase"]):
            return node
        scope.update(ctx.globals)  # global outputs exported by this group
        for step in group or []:
            scope.update(_step_scope(ctx, group_node, step))
        if is_failed(group_node["phase"]):
            return ctx.mark(node, NodePhase.FAILED, group_node.get("message", ""))
        previous = group_node
    if previous is not None:
        node["outboundNodes"] = _group_outbound(ctx, previous)
    try:
        outputs = template_outputs(template, scope)
    except tpl.SubstitutionError as e:
        return ctx.mark(node, NodePhase.ERROR, str(e))
    if outputs:
        node["outputs"] = outputs
    return ctx.mark(node, NodePhase.SUCCEEDED)


def _group_outbound(ctx: Ctx, group: dict[str, Any]) -> list[str]:
    children = [ctx.nodes[c] for c in group.get("children", []) if c in ctx.nodes]
    if not children:
        return [group["id"]]
    out: list[str] = []
    for child in children:
        out.extend(ctx.outbound(child))
    return out


def _expansions(ctx: Ctx, group: dict[str, Any], step_node_name: str) -> list[dict[str, Any]]:
    prefix = step_node_name + "("
    children = [ctx.nodes[c] for c in group.get("children", []) if c in ctx.nodes]
    return [c for c in children if c["name"].startswith(prefix)]


def _step_scope(ctx: Ctx, group: dict[str, Any], step: Mapping[str, Any]) -> dict[str, Any]:
    name = f"{group['name']}.{step.get('name')}"
    prefix = f"steps.{step.get('name')}"
    node = ctx.get(name)
    declared = (ctx.templates.get(str(step.get("template") or "")) or {}).get("outputs")
    if loops.has_loop(step) and (node is None or node.get("type") != NodeType.SKIPPED):
        expansions = _expansions(ctx, group, name)
        fake = {"id": group["id"], "phase": group["phase"], "startedAt": group.get("startedAt", "")}
        return node_scope(prefix, fake, expansions=expansions)
    if node is None:
        return {}
    return node_scope(prefix, node, declared)


def _execute_group(
    ctx: Ctx,
    steps_node: dict[str, Any],
    group: dict[str, Any],
    steps: list[Mapping[str, Any]],
    scope: Mapping[str, Any],
    template: Mapping[str, Any],
    hooked: bool,
) -> None:
    pending = False
    failures: list[str] = []
    limit = template.get("parallelism")
    for step in steps:
        step_name = f"{group['name']}.{step.get('name')}"
        try:
            runs = _runs(ctx, step, step_name, scope)
        except (loops.LoopError, tpl.SubstitutionError) as e:
            resolved = loops.false_when(step, scope)
            if resolved is not None:
                skipped = ctx.get(step_name) or ctx.init_node(
                    step_name, NodeType.SKIPPED, boundary_id=steps_node["id"],
                    template_name=str(step.get("template", "")), phase=NodePhase.SKIPPED,
                    message=f"when '{resolved}' evaluated false")
                ctx.add_child(group, skipped["id"])
                continue
            ctx.mark(group, NodePhase.ERROR, str(e))
            ctx.mark(steps_node, NodePhase.FAILED, str(e))
            return
        if not runs:
            skipped = ctx.get(step_name) or ctx.init_node(
                step_name, NodeType.SKIPPED, boundary_id=steps_node["id"], template_name=str(step.get("template", "")),
                phase=NodePhase.SKIPPED, message="Skipped, empty params")
            ctx.add_child(group, skipped["id"])
            continue
        for run_name, run_scope in runs:
            child = ctx.get(run_name)
            if child is None:
                if limit is not None and _active_children(ctx, steps_node["id"]) >= int(limit):
                    pending = True
                    continue
                try:
                    child = _start(ctx, step, run_name, run_scope, steps_node["id"], hooked)
                except _GroupError as e:
                    ctx.mark(group, NodePhase.ERROR, str(e))
                    ctx.mark(steps_node, NodePhase.FAILED, str(e))
                    return
            elif not is_fulfilled(child["phase"]):
                child = _advance(ctx, step, run_name, run_scope, steps_node["id"], hooked)
            if child is None:
                pending = True
                continue
            ctx.add_child(group, child["id"])
            own = {**run_scope, **node_scope(f"steps.{step.get('name')}", child)}
            if not is_fulfilled(child["phase"]) or not _execute.run_exit_hook(
                ctx, child, step, own, steps_node["id"], hooked
            ):
                pending = True
                continue
            if is_failed(child["phase"]) and not _continues(step, child):
                failures.append(child["id"])
    if pending:
        return
    if failures:
        ctx.mark(group, NodePhase.FAILED, f"child '{failures[0]}' failed")
    else:
        ctx.mark(group, NodePhase.SUCCEEDED)


def _active_children(ctx: Ctx, boundary_id: str) -> int:
    """Active pods directly inside this invocation (upstream ``getActivePods(boundaryID)``)."""
    return sum(
        1 for n in ctx.nodes.values()
        if n.get("boundaryID") == boundary_id and n["type"] == NodeType.POD and not is_fulfilled(n["phase"])
    )


def _continues(step: Mapping[str, Any], child: Mapping[str, Any]) -> bool:
    cont = step.get("continueOn") or {}
    return bool(cont.get("failed") and child["phase"] == NodePhase.FAILED) or bool(
        cont.get("error") and child["phase"] == NodePhase.ERROR
    )


def _runs(ctx: Ctx, step: Mapping[str, Any], step_name: str, scope: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """One (node name, scope) per run of the step: the loop's expansions, or the step itself."""
    scope = {**scope, "steps.name": str(step.get("name"))}
    if not loops.has_loop(step):
        return [(step_name, scope)]
    if ctx.get(step_name) is not None:  # recorded as Skipped (empty list)
        return []
    items = loops.expand(step, scope)
    return [(naming.loop_node_name(step_name, k, item), {**scope, **loops.item_scope(item)})
            for k, item in enumerate(items)]


def _start(
    ctx: Ctx, step: Mapping[str, Any], run_name: str, scope: Any, boundary_id: str, hooked: bool
) -> dict[str, Any] | None:
    when = step.get("when")
    if when not in (None, ""):
        try:
            resolved = tpl.substitute_text(str(when), scope)
            if not conditions.evaluate_when(resolved):
                return ctx.init_node(run_name, NodeType.SKIPPED, boundary_id=boundary_id,
                                     template_name=str(step.get("template", "")), phase=NodePhase.SKIPPED,
                                     message=f"when '{resolved}' evaluated false")
        except (conditions.WhenError, tpl.SubstitutionError) as e:
            raise _GroupError(str(e)) from e  # upstream errors the whole step group, no node for the step
    return _advance(ctx, step, run_name, scope, boundary_id, hooked)


def _advance(
    ctx: Ctx, step: Mapping[str, Any], run_name: str, scope: Any, boundary_id: str, hooked: bool
) -> dict[str, Any] | None:
    try:
        args = arguments(step, scope)
    except tpl.SubstitutionError as e:
        existing = ctx.get(run_name)
        if existing is not None:
            return ctx.mark(existing, NodePhase.ERROR, str(e))
        return ctx.init_node(run_name, NodeType.SKIPPED, boundary_id=boundary_id, phase=NodePhase.ERROR,
                             message=str(e))
    ref: str | Mapping[str, Any] = step["inline"] if step.get("inline") is not None else str(step.get("template") or "")
    return _execute.execute(ctx, run_name, ref, boundary_id, args, hooked=hooked)


def arguments(step: Mapping[str, Any], scope: tpl.Scope) -> list[dict[str, Any]]:
    """The step/task arguments after substitution; an argument that is only an absent output is dropped."""
    out: list[dict[str, Any]] = []
    for param in (step.get("arguments") or {}).get("parameters") or []:
        value = param.get("value")
        if isinstance(value, str):
            tags = tpl.find_tags(value)
            if len(tags) == 1 and value.strip() == "{{" + tags[0] + "}}" and isinstance(
                scope.get(tags[0].strip()), tpl.Absent
            ):
                continue
        out.append(tpl.substitute_object(dict(param), scope, wait_roots=("tasks.", "steps.")))
    return out
