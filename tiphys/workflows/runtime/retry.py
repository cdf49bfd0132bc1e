"""``retry``: reset a Failed or Errored Workflow so that only its failed nodes run again (pure).

Upstream's ``FormulateRetryWorkflow`` (``workflow/util/util.go``): every failed or errored
execution node (a pod, a suspend; a retried attempt counts as its Retry node) whose descendants
did not succeed is deleted with everything after it in the graph, and the group nodes on its
path from the root (Steps, StepGroup, DAG, TaskGroup, Retry) are reset to Running. The
workflow-level exit handler is deleted so that it runs again. The workflow goes back to
Running without ``finishedAt``, ``message`` and the ``completed`` label. The caller deletes the
pods of the deleted nodes before it writes the result, so none is mistaken for a new attempt.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

__all__ = ["Retried", "RetryError", "formulate_retry"]

_EXECUTION: Final = frozenset({"Pod", "Container", "Suspend", "HTTP", "Plugin"})
_GROUPS: Final = frozenset({"Steps", "StepGroup", "DAG", "TaskGroup", "Retry", "Plugin"})
_FAILED: Final = frozenset({"Failed", "Error"})
_PHASE_LABEL: Final = "workflows.argoproj.io/phase"
_COMPLETED_LABEL: Final = "workflows.argoproj.io/completed"


class RetryError(ValueError):
    """The workflow cannot be retried (wrong phase); nothing was changed."""


@dataclass(frozen=True)
class Retried:
    workflow: dict[str, Any]
    deleted_nodes: frozenset[str]
    """Ids of the nodes removed from ``status.nodes``; their pods must be deleted."""


def _rfc3339(now: datetime) -> str:
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parents(nodes: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    parents: dict[str, str] = {}
    for node_id in sorted(nodes):
        for child in nodes[node_id].get("children") or []:
            parents.setdefault(str(child), node_id)
    return parents


def _descendants(nodes: Mapping[str, Mapping[str, Any]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for child in nodes.get(todo.pop(), {}).get("children") or []:
            if child not in seen and child in nodes:
                seen.add(child)
                todo.append(child)
    return seen


def _breadth_first(nodes: Mapping[str, Mapping[str, Any]], root: str) -> list[str]:
    order, seen, queue = [], {root}, [root]
    while queue:
        current = queue.pop(0)
        order.append(current)
        for child in nodes.get(current, {}).get("children") or []:
            if child in nodes and child not in seen:
                seen.add(child)
                queue.append(child)
    return order + sorted(set(nodes) - seen)


def _reset(node: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    fresh = dict(node)
    if fresh.get("type") == "Suspend" and isinstance(fresh.get("outputs"), Mapping):
        params = fresh["outputs"].get("parameters") or []
        fresh["outputs"] = {
            **fresh["outputs"],
            "parameters": [{"name": p.get("name"), "valueFrom": {"supplied": {}}} for p in params],
        }
    if fresh.get("phase") != "Skipped":
        fresh["phase"] = "Running"
    fresh.pop("message", None)
    fresh.pop("finishedAt", None)
    fresh["startedAt"] = _rfc3339(now)
    return fresh


def formulate_retry(workflow: Mapping[str, Any], now: datetime) -> Retried:
    """The Workflow to write back for a retry, and the nodes whose pods go."""
    status = workflow.get("status") or {}
    phase = status.get("phase") or ""
    if phase not in _FAILED:
        raise RetryError(f"Cannot retry a workflow in phase {phase or 'Pending'}")
    name = str((workflow.get("metadata") or {}).get("name") or "")
    exit_name = f"{name}.onExit"
    nodes: dict[str, dict[str, Any]] = copy.deepcopy(dict(status.get("nodes") or {}))
    parents = _parents(nodes)

    def succeeded_below(node_id: str) -> bool:
        return any(nodes[d].get("phase") == "Succeeded" for d in _descendants(nodes, node_id))

    failed: set[str] = set()
    for node_id, node in nodes.items():
        if node.get("phase") in _FAILED and node.get("type") in _EXECUTION:
            target = node_id
            if (node.get("nodeFlag") or {}).get("retried") and node_id in parents:
                target = parents[node_id]
            if not succeeded_below(target):
                failed.add(target)

    to_delete: set[str] = set()
    to_reset: set[str] = set()
    for node_id in _breadth_first(nodes, name):
        if node_id not in failed or node_id in to_delete:
            continue
        to_delete |= {node_id, *_descendants(nodes, node_id)}
        ancestor = parents.get(node_id)
        while ancestor is not None:
            if nodes[ancestor].get("type") in _GROUPS:
                to_reset.add(ancestor)
            ancestor = parents.get(ancestor)
    for node_id, node in nodes.items():
        if str(node.get("name", "")).startswith(exit_name):
            to_delete.add(node_id)

    kept: dict[str, dict[str, Any]] = {}
    for node_id, node in nodes.items():
        if node_id in to_delete:
            continue
        fresh = _reset(node, now) if node_id in to_reset else node
        for field in ("children", "outboundNodes"):
            if field in fresh:
                fresh[field] = [c for c in fresh[field] if c not in to_delete]
        kept[node_id] = fresh

    result = copy.deepcopy(dict(workflow))
    meta = result.setdefault("metadata", {})
    labels = dict(meta.get("labels") or {})
    labels.pop(_COMPLETED_LABEL, None)
    labels.pop("workflows.argoproj.io/workflow-archiving-status", None)
    labels[_PHASE_LABEL] = "Running"
    meta["labels"] = labels
    new_status = dict(result.get("status") or {})
    new_status.update(phase="Running", nodes=kept, startedAt=_rfc3339(now))
    for field in ("message", "finishedAt"):
        new_status.pop(field, None)
    conditions = [c for c in new_status.get("conditions") or [] if c.get("type") != "Completed"]
    new_status["conditions"] = [*conditions, {"type": "Completed", "status": "False"}]
    result["status"] = new_status
    spec = dict(result.get("spec") or {})
    spec.pop("shutdown", None)
    if spec.get("activeDeadlineSeconds") == 0:
        spec.pop("activeDeadlineSeconds")  # it was terminated: unset the deadline
    result["spec"] = spec
    return Retried(result, frozenset(to_delete))
