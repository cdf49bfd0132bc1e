"""DAG templates (spec §7.3): tasks start when their dependencies are fulfilled and the expression holds.

The DAG's phase follows upstream's ``assessDAGPhase`` (branch phases carried through skipped and
omitted tasks to the targets); ``failFast`` behaves as upstream's code does, not as its docs say:
it only ends the DAG early when a target could not even be created (parallelism).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import _execute, _steps, conditions, graph, loops, naming
from . import template as tpl
from ._context import Ctx, Invocation
from .model import NodePhase, NodeType, is_failed, is_fulfilled
from .params import node_scope
from .scoping import template_outputs

__all__ = ["execute_dag"]

OMITTED_MESSAGE = "omitted: depends condition not met"
FAIL_FAST_MESSAGE = "template has failed or errored children and failFast enabled"


def execute_dag(ctx: Ctx, inv: Invocation) -> dict[str, Any]:
    node = inv.node(ctx, NodeType.DAG)
    template, hooked = inv.template, inv.hooked
    dag = template.get("dag") or {}
    tasks = {str(t.get("name")): t for t in dag.get("tasks") or []}
    try:
        shape = graph.plan(dag)
    except graph.GraphError as e:
        return ctx.mark(node, NodePhase.ERROR, str(e))
    scope = inv.scope(ctx)
    run = _DagRun(ctx, node, dag, tasks, shape, scope)
    run.hooked = hooked
    if template.get("parallelism") is not None:
        run.dag_parallelism = int(template["parallelism"])
    for name in shape.order:
        run.task(name)
    return run.assess(template)


class _DagRun:
    def __init__(
        self,
        ctx: Ctx,
        node: dict[str, Any],
        dag: Mapping[str, Any],
        tasks: dict[str, Mapping[str, Any]],
        shape: graph.Plan,
        scope: dict[str, Any],
    ) -> None:
        self.ctx, self.node, self.dag, self.tasks, self.scope = ctx, node, dag, tasks, scope
        self.trees = shape.trees
        self.shape = shape
        self.hooks_done: dict[str, bool] = {}
        self.blocked = False
        self._ancestors: dict[str, set[str]] = {}
        self._scopes: dict[str, dict[str, Any]] = {}

    def ancestors(self, task: str) -> set[str]:
        if task not in self._ancestors:
            found: set[str] = set()
            for dep in self.deps(task):
                if dep in self.tasks:
                    found.add(dep)
                    found |= self.ancestors(dep)
            self._ancestors[task] = found
        return self._ancestors[task]

    def name_of(self, task: str) -> str:
        return f"{self.node['name']}.{task}"

    def task_node(self, task: str) -> dict[str, Any] | None:
        return self.ctx.get(self.name_of(task))

    def deps(self, task: str) -> list[str]:
        return self.shape.deps.get(task, [])

    def task_scope(self, task: str) -> dict[str, Any]:
        scope = {**self.scope, **self.ctx.globals}
        for other in self.ancestors(task) | {task}:
            scope.update(self.own_scope(other))
        scope["tasks.name"] = task
        return scope

    def own_scope(self, task: str) -> dict[str, Any]:
        """``tasks.<task>.*``; memoised once the task is fulfilled (its variables no longer change)."""
        if task in self._scopes:
            return self._scopes[task]
        node = self.task_node(task)
        if node is None:
            return {}
        declared = (self.ctx.templates.get(str(self.tasks[task].get("template") or "")) or {}).get("outputs")
        if node["type"] == NodeType.TASK_GROUP:
            children = [self.ctx.nodes[c] for c in node.get("children", []) if c in self.ctx.nodes]
            scope = node_scope(f"tasks.{task}", node, expansions=children)
        else:
            scope = node_scope(f"tasks.{task}", node, declared)
        if is_fulfilled(node["phase"]):
            self._scopes[task] = scope
        return scope

    def link(self, task: str, child_id: str) -> None:
        deps = self.deps(task)
        if not deps:
            self.ctx.add_child(self.node, child_id)
            return
        for dep in deps:
            dep_node = self.task_node(dep)
            if dep_node is None:
                continue
            for parent in self.ctx.outbound(dep_node):
                if parent != child_id:
                    self.ctx.add_child(self.ctx.nodes[parent], child_id)

    def results(self, dep: str) -> dict[str, bool]:
        node = self.task_node(dep)
        if node is None:
            return {}
        phase = node["phase"]
        flags = {
            "Succeeded": phase == NodePhase.SUCCEEDED,
            "Failed": phase == NodePhase.FAILED,
            "Errored": phase == NodePhase.ERROR,
            "Skipped": phase == NodePhase.SKIPPED,
            "Omitted": phase == NodePhase.OMITTED,
            "Daemoned": False,
        }
        if node["type"] == NodeType.TASK_GROUP:
            children = [self.ctx.nodes[c]["phase"] for c in node.get("children", []) if c in self.ctx.nodes]
            flags["AnySucceeded"] = any(p == NodePhase.SUCCEEDED for p in children)
            flags["AllFailed"] = bool(children) and all(p == NodePhase.FAILED for p in children)
        return flags

    def settled(self, task: str) -> bool:
        """Fulfilled, and its exit hook too."""
        node = self.task_node(task)
        return node is not None and is_fulfilled(node["phase"]) and self.hooks_done.get(task, True)

    def task(self, task: str) -> None:
        ctx = self.ctx
        spec = self.tasks[task]
        name = self.name_of(task)
        node = ctx.get(name)
        if node is not None and is_fulfilled(node["phase"]):
            self.hooks_done[task] = self.hook(task, node)
            return
        if not all(self.settled(dep) for dep in self.deps(task)):
            return
        scope = self.task_scope(task)
        if node is None:
            tree = self.trees.get(task)
            results = {d: self.results(d) for d in self.deps(task)}
            if tree is not None and not conditions.evaluate_depends(tree, results):
                omitted = ctx.init_node(name, NodeType.SKIPPED, boundary_id=self.node["id"],
                                        template_name=str(spec.get("template", "")), phase=NodePhase.OMITTED,
                                        message=OMITTED_MESSAGE)
                self.link(task, omitted["id"])
                return
        if loops.has_loop(spec):
            node = self.loop(task, spec, name, node, scope)
        else:
            node = self.single(spec, name, node, scope)
        if node is None:
            self.blocked = True
            return
        self.link(task, node["id"])
        self.hooks_done[task] = self.hook(task, node)

    def hook(self, task: str, node: dict[str, Any]) -> bool:
        spec = self.tasks[task]
        if _execute.exit_hook_of(spec) is None:
            return True
        return _execute.run_exit_hook(self.ctx, node, spec, self.task_scope(task), self.node["id"], self.hooked)

    def can_start(self) -> bool:
        """Upstream ``checkParallelism``: only a DAG with parallelism limits, and only then is failFast felt."""
        limit = self.dag_parallelism
        if limit is None:
            return True
        children = [
            n for n in self.ctx.nodes.values()
            if n.get("boundaryID") == self.node["id"] and n["type"] != NodeType.TASK_GROUP
        ]
        if self.dag.get("failFast", True) is not False and any(is_failed(n["phase"]) for n in children):
            return False
        active = sum(1 for n in children if n["type"] == NodeType.POD and not is_fulfilled(n["phase"]))
        return active < limit

    dag_parallelism: int | None = None
    hooked = False

    def start(self, spec: Mapping[str, Any], run_name: str, scope: Any) -> dict[str, Any] | None:
        ctx = self.ctx
        when = spec.get("when")
        if when not in (None, ""):
            try:
                resolved = tpl.substitute_text(str(when), scope, wait_roots=("tasks.",))
                if not conditions.evaluate_when(resolved):
                    return ctx.init_node(run_name, NodeType.SKIPPED, boundary_id=self.node["id"],
                                         template_name=str(spec.get("template", "")), phase=NodePhase.SKIPPED,
                                         message=f"when '{resolved}' evaluated false")
            except tpl.Unresolved:
                return None
            except (conditions.WhenError, tpl.SubstitutionError) as e:
                return ctx.init_node(run_name, NodeType.SKIPPED, boundary_id=self.node["id"],
                                     template_name=str(spec.get("template", "")), phase=NodePhase.ERROR,
                                     message=str(e))
        if not self.can_start():
            return None
        return self.advance(spec, run_name, scope)

    def advance(self, spec: Mapping[str, Any], run_name: str, scope: Any) -> dict[str, Any] | None:
        try:
            args = _steps.arguments(spec, scope)
        except tpl.Unresolved:
            return None
        except tpl.SubstitutionError as e:
            existing = self.ctx.get(run_name)
            if existing is not None:
                return self.ctx.mark(existing, NodePhase.ERROR, str(e))
            return self.ctx.init_node(run_name, NodeType.SKIPPED, boundary_id=self.node["id"],
                                      phase=NodePhase.ERROR, message=str(e))
        ref: str | Mapping[str, Any] = (
            spec["inline"] if spec.get("inline") is not None else str(spec.get("template") or "")
        )
        return _execute.execute(self.ctx, run_name, ref, self.node["id"], args, hooked=self.hooked)

    def single(self, spec: Mapping[str, Any], name: str, node: dict[str, Any] | None, scope: Any) -> Any:
        if node is None:
            return self.start(spec, name, scope)
        return self.advance(spec, name, scope)

    def loop(self, task: str, spec: Mapping[str, Any], name: str, node: dict[str, Any] | None, scope: Any) -> Any:
        ctx = self.ctx
        if node is not None and node["type"] != NodeType.TASK_GROUP:
            return node
        try:
            items = loops.expand(spec, scope)
        except tpl.Unresolved:
            return None
        except (loops.LoopError, tpl.SubstitutionError) as e:
            resolved = loops.false_when(spec, scope)
            if node is None and resolved is not None:
                return ctx.init_node(name, NodeType.SKIPPED, boundary_id=self.node["id"],
                                     template_name=str(spec.get("template", "")), phase=NodePhase.SKIPPED,
                                     message=f"when '{resolved}' evaluated false")
            if node is not None:
                return ctx.mark(node, NodePhase.ERROR, str(e))
            return ctx.init_node(name, NodeType.SKIPPED, boundary_id=self.node["id"],
                                 template_name=str(spec.get("template", "")), phase=NodePhase.ERROR, message=str(e))
        if node is None and not items:
            return ctx.init_node(name, NodeType.SKIPPED, boundary_id=self.node["id"],
                                 template_name=str(spec.get("template", "")), phase=NodePhase.SKIPPED,
                                 message="Skipped, empty params")
        if node is None:
            node = ctx.init_node(name, NodeType.TASK_GROUP, boundary_id=self.node["id"],
                                 template_name=str(spec.get("template", "")))
        pending = False
        for k, item in enumerate(items):
            run_name = naming.loop_node_name(name, k, item)
            run_scope = {**scope, **loops.item_scope(item)}
            child = ctx.get(run_name)
            if child is None:
                child = self.start(spec, run_name, run_scope)
            elif not is_fulfilled(child["phase"]):
                child = self.advance(spec, run_name, run_scope)
            if child is None:
                pending = True
                continue
            ctx.add_child(node, child["id"])
            pending = pending or not is_fulfilled(child["phase"])
        if pending:
            return node
        phases = [ctx.nodes[c]["phase"] for c in node.get("children", []) if c in ctx.nodes]
        failed = next((p for p in phases if p in (NodePhase.FAILED, NodePhase.ERROR)), None)
        return ctx.mark(node, NodePhase(failed) if failed else NodePhase.SUCCEEDED)

    # --- the DAG's own phase ------------------------------------------------------------------------

    def continues(self, task: str, phase: str) -> bool:
        cont = self.tasks[task].get("continueOn") or {}
        return bool(cont.get("failed") and phase == NodePhase.FAILED) or bool(
            cont.get("error") and phase == NodePhase.ERROR
        )

    def branch_phase(self, task: str, memo: dict[str, str]) -> str:
        if task in memo:
            return memo[task]
        node = self.task_node(task)
        phase = node["phase"] if node is not None else NodePhase.SUCCEEDED
        if phase in (NodePhase.SKIPPED, NodePhase.OMITTED):
            inherited = [self.branch_phase(dep, memo) for dep in self.deps(task)]
            phase = next((p for p in inherited if p in (NodePhase.FAILED, NodePhase.ERROR)), NodePhase.SUCCEEDED)
        elif self.continues(task, phase):
            phase = NodePhase.SUCCEEDED
        memo[task] = phase
        return phase

    def assess(self, template: Mapping[str, Any]) -> dict[str, Any]:
        ctx = self.ctx
        created = [self.task_node(t) for t in self.tasks]
        if any(n is not None and not is_fulfilled(n["phase"]) for n in created):
            return self.node
        if not all(self.hooks_done.get(t, True) for t in self.tasks):
            return self.node
        target_names = [t for t in self.shape.targets if t in self.tasks]
        missing = [t for t in target_names if self.task_node(t) is None]
        if missing:
            fail_fast = self.dag.get("failFast", True) is not False
            failed = any(
                n is not None and is_failed(n["phase"]) and not self.continues(t, n["phase"])
                for t, n in zip(self.tasks, created, strict=True)
            )
            if fail_fast and failed:
                return ctx.mark(self.node, NodePhase.FAILED, FAIL_FAST_MESSAGE)
            return self.node
        memo: dict[str, str] = {}
        phase = NodePhase.SUCCEEDED
        for target in target_names:
            branch = self.branch_phase(target, memo)
            if branch in (NodePhase.FAILED, NodePhase.ERROR):
                phase = NodePhase(branch)
                break
        outbound: list[str] = []
        for target in target_names:
            node = self.task_node(target)
            if node is not None:
                outbound.extend(ctx.outbound(node))
        self.node["outboundNodes"] = outbound
        if phase == NodePhase.SUCCEEDED:
            scope = dict(self.scope)
            for task in self.tasks:
                scope.update({k: v for k, v in self.task_scope(task).items() if k.startswith("tasks.")})
            try:
                outputs = template_outputs(template, scope)
            except tpl.SubstitutionError as e:
                return ctx.mark(self.node, NodePhase.ERROR, str(e))
            if outputs:
                self.node["outputs"] = outputs
        return ctx.mark(self.node, phase)
