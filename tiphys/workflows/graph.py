"""The shape of a DAG template: each task's dependencies as a ``depends`` tree, order, targets (spec §7.3)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .conditions import Depends, depends_tasks, parse_depends

__all__ = ["GraphError", "Plan", "ancestors", "dependencies", "dependency_tree", "plan", "targets", "topological_order"]


class GraphError(Exception):
    """An invalid DAG; the message is upstream's (``sorting failed: ...``, ``task result ...``)."""


def dependency_tree(task: Mapping[str, Any], tasks: Mapping[str, Mapping[str, Any]]) -> Depends | None:
    """The task's dependency expression (``dependencies`` become ``A && B`` with continueOn alternatives)."""
    if task.get("depends"):
        try:
            return parse_depends(str(task["depends"]))
        except ValueError as e:
            raise GraphError(str(e)) from e
    deps = list(task.get("dependencies") or [])
    if not deps:
        return None
    tree: Depends | None = None
    for dep in deps:
        term: Depends = ("ref", dep, None)
        cont = (tasks.get(dep) or {}).get("continueOn") or {}
        if cont.get("failed"):
            term = ("or", term, ("ref", dep, "Failed"))
        if cont.get("error"):
            term = ("or", term, ("ref", dep, "Errored"))
        tree = term if tree is None else ("and", tree, term)
    return tree


def dependencies(task: Mapping[str, Any], tasks: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The distinct task names the task waits for, in order of mention."""
    tree = dependency_tree(task, tasks)
    if tree is None:
        return []
    seen: list[str] = []
    for name, _ in depends_tasks(tree):
        if name not in seen:
            seen.append(name)
    return seen


def topological_order(tasks: Sequence[Mapping[str, Any]]) -> list[str]:
    """Task names, dependencies first (stable by declaration order); raises GraphError like upstream."""
    by_name = {str(t.get("name")): t for t in tasks}
    return _order(by_name, {name: dependencies(t, by_name) for name, t in by_name.items()})


def _order(by_name: Mapping[str, Any], deps: Mapping[str, list[str]]) -> list[str]:
    for names in deps.values():
        for dep in names:
            if dep not in by_name:
                raise GraphError(f"sorting failed: invalid dependency {dep}")
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(name: str) -> None:
        mark = state.get(name, 0)
        if mark == 2:
            return
        if mark == 1:
            raise GraphError("sorting failed: graph with cycle")
        state[name] = 1
        for dep in deps[name]:
            visit(dep)
        state[name] = 2
        order.append(name)

    for name in by_name:
        visit(name)
    return order


@dataclass(frozen=True)
class Plan:
    """Everything a DAG step needs about the graph, computed once per step."""

    order: list[str]
    trees: dict[str, Depends | None]
    deps: dict[str, list[str]]
    targets: list[str]


def plan(dag: Mapping[str, Any]) -> Plan:
    """Parse every dependency once; raises GraphError like ``topological_order``."""
    by_name = {str(t.get("name")): t for t in dag.get("tasks") or []}
    trees = {name: dependency_tree(task, by_name) for name, task in by_name.items()}
    deps: dict[str, list[str]] = {}
    for name, tree in trees.items():
        seen: list[str] = []
        for dep, _ in depends_tasks(tree) if tree is not None else []:
            if dep not in seen:
                seen.append(dep)
        deps[name] = seen
    order = _order(by_name, deps)
    if dag.get("target"):
        chosen = str(dag["target"]).split()
    else:
        used = {dep for names in deps.values() for dep in names}
        chosen = [name for name in by_name if name not in used]
    return Plan(order, trees, deps, chosen)


def targets(dag: Mapping[str, Any]) -> list[str]:
    """``dag.target`` (space-separated) or every task nobody depends on."""
    tasks = list(dag.get("tasks") or [])
    if dag.get("target"):
        return str(dag["target"]).split()
    by_name = {str(t.get("name")): t for t in tasks}
    used = {dep for t in tasks for dep in dependencies(t, by_name)}
    return [name for name in by_name if name not in used]


def ancestors(name: str, tasks: Mapping[str, Mapping[str, Any]]) -> set[str]:
    """Every task reachable backwards through dependencies."""
    seen: set[str] = set()
    stack = list(dependencies(tasks[name], tasks)) if name in tasks else []
    while stack:
        dep = stack.pop()
        if dep in seen or dep not in tasks:
            continue
        seen.add(dep)
        stack.extend(dependencies(tasks[dep], tasks))
    return seen

