"""A message for a failed Workflow that has none (a Tiphys extension, pure).

Upstream leaves ``status.message`` empty when a DAG fails (DAG nodes carry no message), so Argo
CD's hook result for such a Workflow says nothing about what went wrong. When a Workflow ends
Failed or Error with no message, Tiphys writes one naming the first failed node and its reason:
``task-2 failed: main: Error (exit code 1)``. A message upstream would write (the entrypoint's,
the exit handler's, a validation error) is never replaced.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

__all__ = ["failure_message", "with_failure_message"]

_FAILED: Final = ("Failed", "Error")
_GROUPS: Final = frozenset({"DAG", "Steps", "StepGroup", "TaskGroup", "Retry"})


def failure_message(workflow: Mapping[str, Any]) -> str:
    """``<node> failed: <its message>`` for the earliest failed node that is not a group, else ``""``."""
    nodes: Mapping[str, Mapping[str, Any]] = (workflow.get("status") or {}).get("nodes") or {}
    failed = [
        n
        for n in nodes.values()
        if n.get("phase") in _FAILED and n.get("type") not in _GROUPS and not (n.get("nodeFlag") or {}).get("hooked")
    ]
    if not failed:
        return ""
    first = min(failed, key=lambda n: (str(n.get("finishedAt") or "~"), str(n.get("name") or "")))
    name = first.get("displayName") or first.get("name")
    text = f"{name} {str(first.get('phase')).lower()}"
    return f"{text}: {first['message']}" if first.get("message") else text


def with_failure_message(workflow: dict[str, Any]) -> dict[str, Any]:
    """``workflow`` with a failure message added when it ended Failed or Error without one."""
    status = workflow.get("status") or {}
    if status.get("phase") not in _FAILED or status.get("message"):
        return workflow
    message = failure_message(workflow)
    if not message:
        return workflow
    return {**workflow, "status": {**status, "message": message}}
