"""The Workflow vocabulary: phases, node types, template types, wire keys and small readers of a spec."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from ..engine import parse_duration

__all__ = [
    "ANNOTATION_NODE_ID",
    "ANNOTATION_NODE_NAME",
    "ANNOTATION_POD_NAME_FORMAT",
    "LABEL_COMPLETED",
    "LABEL_ON_EXIT",
    "LABEL_PHASE",
    "LABEL_WORKFLOW",
    "SUPPORTED_TYPES",
    "UNSUPPORTED_TYPES",
    "NodePhase",
    "NodeType",
    "WorkflowPhase",
    "format_time",
    "is_failed",
    "is_fulfilled",
    "merged_template",
    "parse_seconds",
    "parse_time",
    "template_type",
    "templates_by_name",
]

GROUP_VERSION = "argoproj.io/v1alpha1"
LABEL_WORKFLOW = "workflows.argoproj.io/workflow"
LABEL_PHASE = "workflows.argoproj.io/phase"
LABEL_COMPLETED = "workflows.argoproj.io/completed"
LABEL_ON_EXIT = "workflows.argoproj.io/on-exit"
ANNOTATION_NODE_NAME = "workflows.argoproj.io/node-name"
ANNOTATION_NODE_ID = "workflows.argoproj.io/node-id"
ANNOTATION_POD_NAME_FORMAT = "workflows.argoproj.io/pod-name-format"
ANNOTATION_POD_GC = "workflows.argoproj.io/pod-gc-strategy"
ANNOTATION_DEFAULT_CONTAINER = "kubectl.kubernetes.io/default-container"


class NodePhase(StrEnum):
    PENDING = "Pending"  # pod not running yet
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    SKIPPED = "Skipped"  # its own `when` was false, or its loop list was empty
    FAILED = "Failed"  # main exited non-zero, or a child failed
    ERROR = "Error"  # infrastructure or template problem
    OMITTED = "Omitted"  # DAG: its `depends` was false

    @property
    def fulfilled(self) -> bool:
        return self not in (NodePhase.PENDING, NodePhase.RUNNING)

    @property
    def completed(self) -> bool:
        return self in (NodePhase.SUCCEEDED, NodePhase.FAILED, NodePhase.ERROR)

    @property
    def failed(self) -> bool:
        return self in (NodePhase.FAILED, NodePhase.ERROR)


_UNFINISHED = frozenset({"Pending", "Running"})
_FAILED = frozenset({"Failed", "Error"})


def is_fulfilled(phase: str) -> bool:
    """``NodePhase(phase).fulfilled`` without the enum lookup (the hot path of every reconcile)."""
    return phase not in _UNFINISHED


def is_failed(phase: str) -> bool:
    return phase in _FAILED


class NodeType(StrEnum):
    POD = "Pod"
    STEPS = "Steps"
    STEP_GROUP = "StepGroup"
    DAG = "DAG"
    TASK_GROUP = "TaskGroup"
    RETRY = "Retry"
    SKIPPED = "Skipped"
    SUSPEND = "Suspend"
    HTTP = "HTTP"
    CONTAINER = "Container"
    PLUGIN = "Plugin"

    @property
    def executable(self) -> bool:
        """Counted by ``status.progress``."""
        return self in (NodeType.POD, NodeType.CONTAINER, NodeType.SUSPEND, NodeType.HTTP, NodeType.PLUGIN)


class WorkflowPhase(StrEnum):
    UNKNOWN = ""
    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    ERROR = "Error"

    @property
    def completed(self) -> bool:
        return self in (WorkflowPhase.SUCCEEDED, WorkflowPhase.FAILED, WorkflowPhase.ERROR)


SUPPORTED_TYPES = ("container", "script", "dag", "steps", "suspend", "resource")
UNSUPPORTED_TYPES = ("http", "data", "containerSet", "plugin")


def template_type(template: Mapping[str, Any]) -> list[str]:
    """Every type field the template sets (one is valid)."""
    return [t for t in (*SUPPORTED_TYPES, *UNSUPPORTED_TYPES) if template.get(t) is not None]


def _merge(defaults: Any, overrides: Any) -> Any:
    if isinstance(defaults, Mapping) and isinstance(overrides, Mapping):
        out = dict(defaults)
        for key, value in overrides.items():
            out[key] = _merge(defaults.get(key), value) if key in defaults else copy.deepcopy(value)
        return out
    return copy.deepcopy(overrides)


def merged_template(template: Mapping[str, Any], defaults: Mapping[str, Any] | None) -> dict[str, Any]:
    """``spec.templateDefaults`` under the template (the template wins, maps merge deeply)."""
    if not defaults:
        return dict(template)  # callers never mutate nested template values
    merged: dict[str, Any] = _merge(dict(defaults), template)
    # Type fields of the defaults only apply to templates of that type (upstream merges the same way).
    for kind in SUPPORTED_TYPES:
        if kind in defaults and kind not in template:
            merged.pop(kind, None)
    if "container" in defaults and "script" in template:
        merged["script"] = _merge(defaults["container"], template["script"])
    return merged


def templates_by_name(spec: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    defaults = spec.get("templateDefaults")
    out: dict[str, dict[str, Any]] = {}
    for template in spec.get("templates") or []:
        if isinstance(template, Mapping) and isinstance(template.get("name"), str):
            out.setdefault(template["name"], merged_template(template, defaults))
    return out


def parse_seconds(value: Any) -> timedelta:
    """A suspend/backoff duration: an integer means seconds, anything else is Go duration syntax."""
    if isinstance(value, bool):
        raise ValueError(f"invalid duration {value!r}")
    if isinstance(value, (int, float)):
        return timedelta(seconds=value)
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return timedelta(seconds=int(text))
    return parse_duration(text)


def format_time(moment: datetime) -> str:
    """RFC3339 UTC with second precision, as upstream writes timestamps."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
