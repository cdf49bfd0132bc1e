"""Executing one template invocation (upstream ``executeTemplate``): inputs, retries, then the type's rules.

``execute`` is called for every unfinished node on every reconcile, from the entrypoint down; a
fulfilled node is returned as recorded, an unfinished one is moved forward from what is observed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from . import _dag, _leaf, _steps
from . import template as tpl
from ._context import Ctx, Invocation, TemplateError
from .model import NodePhase, NodeType, is_fulfilled, template_type
from .naming import retry_child_name
from .params import process_inputs
from .retry import RetryVerdict, decide_retry

__all__ = ["execute", "resolve_ref", "run_exit_hook"]

Ref = str | Mapping[str, Any]


def resolve_ref(ctx: Ctx, ref: Ref) -> tuple[str, dict[str, Any]]:
    """A template by name, or an inline template (``inline`` on a step/task)."""
    if isinstance(ref, Mapping):
        return str(ref.get("name") or ""), dict(ref)
    template = ctx.templates.get(ref)
    if template is None:
        raise TemplateError(f"template {ref} not found")
    return ref, template


def execute(
    ctx: Ctx,
    node_name: str,
    ref: Ref,
    boundary_id: str,
    arguments: Sequence[Mapping[str, Any]],
    *,
    hooked: bool = False,
) -> dict[str, Any] | None:
    """Create or advance the node ``node_name``; ``None`` when it may not start yet (parallelism)."""
    node = ctx.get(node_name)
    if node is not None and is_fulfilled(node["phase"]):
        return node
    tmpl_name = ref if isinstance(ref, str) else str(ref.get("name") or "")
    try:
        tmpl_name, template = resolve_ref(ctx, ref)
        scope = {**ctx.globals, "node.name": node_name}
        resolved, inputs = process_inputs(template, arguments, scope)
    except TemplateError as e:
        return _error(ctx, node_name, tmpl_name, boundary_id, str(e))
    inv = Invocation(node_name, tmpl_name, resolved, inputs, boundary_id, hooked)
    strategy = resolved.get("retryStrategy")
    if strategy is None:
        strategy = ctx.spec.get("retryStrategy")
    if strategy is not None:
        return _execute_retry(ctx, inv, strategy)
    return _execute_kind(ctx, inv)


def _error(ctx: Ctx, node_name: str, tmpl_name: str, boundary_id: str, message: str) -> dict[str, Any]:
    """The node ends ``Error``: a recorded one is marked, else a ``Skipped`` node (no inputs) records why."""
    node = ctx.get(node_name)
    if node is not None:
        return ctx.mark(node, NodePhase.ERROR, message)
    return ctx.init_node(node_name, NodeType.SKIPPED, boundary_id=boundary_id, template_name=tmpl_name,
                         phase=NodePhase.ERROR, message=message)


def _execute_kind(ctx: Ctx, inv: Invocation) -> dict[str, Any] | None:
    kinds = template_type(inv.template)
    kind = kinds[0] if len(kinds) == 1 else ""
    if kind in ("container", "script"):
        return _leaf.execute_pod(ctx, inv)
    if kind == "suspend":
        return _leaf.execute_suspend(ctx, inv)
    if kind == "resource":
        return _leaf.execute_resource(ctx, inv)
    if kind == "steps":
        return _steps.execute_steps(ctx, inv)
    if kind == "dag":
        return _dag.execute_dag(ctx, inv)
    message = f"template {inv.tmpl_name} has unsupported template type {kind or 'unspecified'}"
    return _error(ctx, inv.node_name, inv.tmpl_name, inv.boundary_id, message)


def _execute_retry(ctx: Ctx, inv: Invocation, strategy: Mapping[str, Any]) -> dict[str, Any] | None:
    node = ctx.get(inv.node_name)
    if node is None:
        node = inv.init_node(ctx, NodeType.RETRY)
    try:
        strategy = tpl.substitute_object(dict(strategy), ctx.globals)
    except tpl.SubstitutionError as e:
        return ctx.mark(node, NodePhase.ERROR, str(e))
    while True:
        attempts = [ctx.by_id(c) for c in node.get("children", []) if c in ctx.nodes]
        attempts = [a for a in attempts if (a.get("nodeFlag") or {}).get("retried")]
        if attempts and not is_fulfilled(attempts[-1]["phase"]):
            child = _execute_kind(ctx, replace(inv, node_name=attempts[-1]["name"], retries=len(attempts) - 1))
            if child is None or not is_fulfilled(child["phase"]):
                return node
            continue
        if attempts:
            decision = decide_retry(
                strategy, attempts, now=ctx.now,
                deadline_passed=ctx.past_deadline() and not inv.hooked,
                deadline_text=ctx.deadline.strftime("%Y-%m-%d %H:%M:%S +0000 UTC") if ctx.deadline else "",
                shutdown=ctx.shutdown if not (inv.hooked and ctx.shutdown == "Stop") else "",
            )
            if decision.verdict == RetryVerdict.DONE:
                last = attempts[-1]
                if last.get("outputs"):
                    node["outputs"] = last["outputs"]
                assert decision.phase is not None
                return ctx.mark(node, decision.phase, decision.message)
            if decision.verdict == RetryVerdict.WAIT:
                assert decision.wait_until is not None
                ctx.wake(decision.wait_until)
                return ctx.mark(node, NodePhase.RUNNING, decision.message)
        attempt = replace(inv, node_name=retry_child_name(inv.node_name, len(attempts)), retries=len(attempts))
        child = _execute_kind(ctx, attempt)
        if child is None:
            return node
        child.setdefault("nodeFlag", {})["retried"] = True
        ctx.add_child(node, child["id"])
        ctx.mark(node, NodePhase.RUNNING, "")
        if not is_fulfilled(child["phase"]):
            return node


def exit_hook_of(step: Mapping[str, Any]) -> tuple[str | Mapping[str, Any], list[Any]] | None:
    """The template and arguments of a step/task exit hook (``hooks.exit`` or deprecated ``onExit``)."""
    hook = (step.get("hooks") or {}).get("exit")
    if hook:
        ref = hook.get("template") or hook.get("inline") or ""
        return ref, list((hook.get("arguments") or {}).get("parameters") or [])
    if step.get("onExit"):
        return str(step["onExit"]), []
    return None


def run_exit_hook(
    ctx: Ctx,
    node: dict[str, Any],
    step: Mapping[str, Any],
    scope: tpl.Scope,
    boundary_id: str,
    hooked: bool = False,
) -> bool:
    """Run the step/task exit hook once ``node`` completed; True when no hook is pending."""
    hook = exit_hook_of(step)
    if hook is None or not NodePhase(node["phase"]).completed:
        return True
    ref, arguments = hook
    hook_name = f"{node['name']}.onExit"
    existing = ctx.get(hook_name)
    if existing is not None and is_fulfilled(existing["phase"]):
        return True
    try:
        args = tpl.substitute_object(arguments, scope)
    except tpl.SubstitutionError as e:
        args = []
        if existing is None:
            failed = ctx.init_node(hook_name, NodeType.SKIPPED, boundary_id=boundary_id, phase=NodePhase.ERROR,
                                   message=str(e))
            ctx.add_child(node, failed["id"])
            return True
    child = execute(ctx, hook_name, ref, boundary_id, args, hooked=hooked)
    if child is None:
        return False
    child.setdefault("nodeFlag", {})["hooked"] = True
    ctx.add_child(node, child["id"])
    return is_fulfilled(child["phase"])
