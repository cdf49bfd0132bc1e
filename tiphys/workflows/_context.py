"""One reconcile's working state: the node map being updated, the clock, and what the step will ask for.

Everything persistent is in ``nodes`` (the Workflow's ``status.nodes``); the lists below are the
step's requests to the runtime and are rebuilt from scratch on every reconcile.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from . import naming
from .model import NodePhase, NodeType, format_time, is_fulfilled, parse_seconds, parse_time, templates_by_name
from .world import Observed, ResourceAction

__all__ = ["Ctx", "Invocation", "TemplateError", "parse_seconds", "seconds_between"]


class TemplateError(Exception):
    """A problem executing a template (not a node failure): the node ends ``Error`` with this message."""


@dataclass(frozen=True)
class Invocation:
    """One template invocation, passed whole to the executor of its type instead of the same seven arguments."""

    node_name: str
    tmpl_name: str
    template: dict[str, Any]  # resolved: inputs substituted
    inputs: dict[str, Any]
    boundary_id: str
    hooked: bool = False  # an exit hook: runs despite the deadline and a ``Stop`` shutdown
    retries: int | None = None  # the attempt's index under a retry node, for ``{{retries}}``

    def init_node(
        self, ctx: Ctx, node_type: NodeType, phase: NodePhase = NodePhase.RUNNING, message: str = ""
    ) -> dict[str, Any]:
        """Create this invocation's node, carrying its template and inputs."""
        return ctx.init_node(self.node_name, node_type, boundary_id=self.boundary_id, template_name=self.tmpl_name,
                             phase=phase, message=message, inputs=self.inputs)

    def node(self, ctx: Ctx, node_type: NodeType) -> dict[str, Any]:
        """The node as recorded, or a new running one (steps and DAG nodes)."""
        node = ctx.get(self.node_name)
        return node if node is not None else self.init_node(ctx, node_type)

    def scope(self, ctx: Ctx) -> dict[str, Any]:
        """The globals with this invocation's ``inputs.parameters.*``: what its steps or tasks may refer to."""
        scope: dict[str, Any] = dict(ctx.globals)
        for param in self.inputs.get("parameters") or []:
            scope[f"inputs.parameters.{param['name']}"] = param["value"]
        return scope


@dataclass
class Ctx:
    workflow: dict[str, Any]
    observed: Observed
    now: datetime
    nodes: dict[str, dict[str, Any]]
    globals: dict[str, str]
    create_pods: list[dict[str, Any]] = field(default_factory=list)
    delete_pods: list[str] = field(default_factory=list)
    resource_actions: list[ResourceAction] = field(default_factory=list)
    needs_logs: list[str] = field(default_factory=list)
    wakeups: list[datetime] = field(default_factory=list)
    active_pods: int = 0

    def __post_init__(self) -> None:
        meta = self.workflow.get("metadata") or {}
        self.name: str = meta.get("name", "")
        self.namespace: str = meta.get("namespace") or "default"
        self.uid: str = meta.get("uid", "")
        self.spec: dict[str, Any] = self.workflow.get("spec") or {}
        self.templates = templates_by_name(self.spec)
        self.now_s = format_time(self.now)
        self.pod_name_version = (meta.get("annotations") or {}).get("workflows.argoproj.io/pod-name-format", "v2")
        self.parallelism: int | None = _int_or_none(self.spec.get("parallelism"))
        started = parse_time((self.workflow.get("status") or {}).get("startedAt"))
        deadline = _int_or_none(self.spec.get("activeDeadlineSeconds"))
        self.deadline: datetime | None = (
            started + timedelta(seconds=deadline) if started is not None and deadline is not None else None
        )
        self.shutdown: str = str(self.spec.get("shutdown") or "")
        text = json.dumps(self.spec)
        # Upstream captures stdout only when something reads `outputs.result`; expressions may too.
        self.capture_result = "result" in text or "{{=" in text or "outputs}}" in text
        self.active_pods = sum(
            1 for n in self.nodes.values() if n.get("type") == NodeType.POD and not is_fulfilled(n["phase"])
        )

    # --- time -------------------------------------------------------------------------------------

    def past_deadline(self) -> bool:
        return self.deadline is not None and self.now >= self.deadline

    def wake(self, at: datetime) -> None:
        self.wakeups.append(at)

    # --- nodes ------------------------------------------------------------------------------------

    def node_id(self, node_name: str) -> str:
        return naming.node_id(self.name, node_name)

    def get(self, node_name: str) -> dict[str, Any] | None:
        return self.nodes.get(self.node_id(node_name))

    def by_id(self, node_id: str) -> dict[str, Any]:
        return self.nodes[node_id]

    def init_node(
        self,
        node_name: str,
        node_type: NodeType,
        *,
        boundary_id: str = "",
        template_name: str = "",
        phase: NodePhase = NodePhase.RUNNING,
        message: str = "",
        inputs: Mapping[str, Any] | None = None,
        display_name: str | None = None,
    ) -> dict[str, Any]:
        nid = self.node_id(node_name)
        node: dict[str, Any] = {
            "id": nid,
            "name": node_name,
            "displayName": display_name if display_name is not None else self.display_name(node_name, boundary_id),
            "type": str(node_type),
            "phase": str(phase),
            "startedAt": self.now_s,
        }
        if template_name:
            node["templateName"] = template_name
            node["templateScope"] = f"local/{self.name}"
        if boundary_id:
            node["boundaryID"] = boundary_id
        if inputs:
            node["inputs"] = dict(inputs)
        if message:
            node["message"] = message
        if phase.fulfilled:
            node["finishedAt"] = self.now_s
        if node_type.executable or node_type == NodeType.POD:
            node["progress"] = "1/1" if phase == NodePhase.SUCCEEDED else "0/1"
        self.nodes[nid] = node
        return node

    def display_name(self, node_name: str, boundary_id: str) -> str:
        if not boundary_id or boundary_id not in self.nodes:
            return node_name
        prefix = self.nodes[boundary_id]["name"]
        if not node_name.startswith(prefix):
            return node_name
        rest = node_name[len(prefix) :]
        if rest.startswith("."):
            return rest[1:]
        if rest.startswith("["):
            close = rest.find("].")
            return rest[close + 2 :] if close >= 0 else rest
        return rest

    def mark(self, node: dict[str, Any], phase: NodePhase, message: str | None = None) -> dict[str, Any]:
        if node.get("type") == NodeType.POD and phase.fulfilled and not is_fulfilled(node["phase"]):
            self.active_pods -= 1  # frees a parallelism slot within this same pass
        node["phase"] = str(phase)
        if message is not None:
            if message:
                node["message"] = message
            else:
                node.pop("message", None)
        if phase.fulfilled and not node.get("finishedAt"):
            node["finishedAt"] = self.now_s
        if node.get("type") == NodeType.POD or NodeType(node["type"]).executable:
            node["progress"] = "1/1" if phase == NodePhase.SUCCEEDED else "0/1"
        return node

    def add_child(self, parent: dict[str, Any], child_id: str) -> None:
        children = parent.setdefault("children", [])
        if child_id not in children:
            children.append(child_id)

    def outbound(self, node: dict[str, Any]) -> list[str]:
        """The ids a dependant hangs off (spec §1.4 wiring)."""
        kind = node.get("type")
        if kind == NodeType.RETRY:
            children = [c for c in node.get("children", []) if c in self.nodes]
            attempts = [c for c in children if (self.nodes[c].get("nodeFlag") or {}).get("retried")]
            return self.outbound(self.nodes[attempts[-1]]) if attempts else [node["id"]]
        if kind in (NodeType.STEPS, NodeType.DAG):
            return list(node.get("outboundNodes") or [node["id"]])
        if kind == NodeType.TASK_GROUP:
            out: list[str] = []
            for child in node.get("children", []):
                if child in self.nodes:
                    out.extend(self.outbound(self.nodes[child]))
            return out or [node["id"]]
        return [node["id"]]


def _int_or_none(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def seconds_between(start: str | None, end: datetime) -> float:
    began = parse_time(start)
    return 0.0 if began is None else max(0.0, (end - began).total_seconds())

