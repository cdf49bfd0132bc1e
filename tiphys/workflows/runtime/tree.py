"""The node tree ``tiphys workflow get`` prints, like ``argo get``: one row per node, in display order.

A node's rows below it are: for a Steps node its step groups, for a DAG the tasks of its
invocation (nodes whose ``boundaryID`` is the DAG, unless they hang under a loop, retry or exit
hook of that DAG), for step groups, loops (TaskGroup) and Retry nodes their ``children``, and for
any node its exit-handler hook. The workflow-level exit handler is a second root. Pure: dicts in,
rows out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

__all__ = ["ICONS", "Row", "duration_text", "node_rows"]

ICONS: Final = {
    "Succeeded": "✔",
    "Failed": "✖",
    "Error": "⚠",
    "Running": "●",
    "Pending": "◷",
    "Skipped": "○",
    "Omitted": "○",
}

_CHILDREN_ARE_ROWS: Final = frozenset({"StepGroup", "TaskGroup", "Retry"})


@dataclass(frozen=True)
class Row:
    prefix: str
    node: Mapping[str, Any]

    @property
    def label(self) -> str:
        phase = str(self.node.get("phase") or "")
        return f"{self.prefix}{ICONS.get(phase, '?')} {self.node.get('displayName') or self.node.get('name')}"


def _time(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def duration_text(started: Any, finished: Any, now: datetime) -> str:
    """``argo``'s short durations: ``4s``, ``1m12s``, ``2h3m``; empty for a node that never started."""
    start = _time(started)
    if start is None:
        return ""
    end = _time(finished) or now
    seconds = max(0, int((end - start).total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60}m"


def _order(node: Mapping[str, Any]) -> tuple[str, str]:
    return str(node.get("startedAt") or "~"), str(node.get("name") or "")


def _below(nodes: Mapping[str, Mapping[str, Any]], node_id: str, claimed: set[str]) -> list[str]:
    node = nodes[node_id]
    kind = node.get("type")
    children = [c for c in node.get("children") or [] if c in nodes]
    hooks = [c for c in children if (nodes[c].get("nodeFlag") or {}).get("hooked")]
    if kind in _CHILDREN_ARE_ROWS:
        rows = [c for c in children if c not in hooks]
    elif kind == "Steps":
        rows = [i for i, n in nodes.items() if n.get("boundaryID") == node_id and n.get("type") == "StepGroup"]
        rows.sort(key=lambda i: _group_index(nodes[i]))
        return rows + hooks
    elif kind == "DAG":
        rows = [i for i, n in nodes.items() if n.get("boundaryID") == node_id and i not in claimed]
    else:
        rows = []
    rows = [r for r in rows if r not in hooks]
    rows.sort(key=lambda i: _order(nodes[i]))
    return rows + hooks


def _group_index(node: Mapping[str, Any]) -> int:
    name = str(node.get("displayName") or node.get("name") or "")
    digits = name.rpartition("[")[2].rstrip("]")
    return int(digits) if digits.isdigit() else 0


def node_rows(workflow: Mapping[str, Any]) -> list[Row]:
    """Every node once, depth first from the root, then the workflow's exit handler."""
    status = workflow.get("status") or {}
    nodes: Mapping[str, Mapping[str, Any]] = status.get("nodes") or {}
    name = str((workflow.get("metadata") or {}).get("name") or "")
    # Nodes shown under a loop, retry or hook, not directly under their DAG.
    claimed = {
        child
        for node_id, node in nodes.items()
        for child in node.get("children") or []
        if node.get("type") in _CHILDREN_ARE_ROWS or (nodes.get(child, {}).get("nodeFlag") or {}).get("hooked")
    }
    roots = [i for i in (name, *sorted(i for i, n in nodes.items() if n.get("name") == f"{name}.onExit")) if i in nodes]
    rows: list[Row] = []
    seen: set[str] = set()

    def walk(node_id: str, prefix: str, last: bool, top: bool) -> None:
        if node_id in seen:
            return
        seen.add(node_id)
        rows.append(Row(prefix if top else prefix + ("└─" if last else "├─"), nodes[node_id]))
        below = [b for b in _below(nodes, node_id, claimed) if b not in seen]
        inner = prefix if top else prefix + ("  " if last else "│ ")
        for index, child in enumerate(below):
            walk(child, inner, index == len(below) - 1, False)

    for root in roots:
        walk(root, "", True, True)
    for node_id in sorted(set(nodes) - seen, key=lambda i: _order(nodes[i])):
        walk(node_id, "", True, True)
    return rows
