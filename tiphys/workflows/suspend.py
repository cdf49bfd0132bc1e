"""Resuming suspend nodes (spec §2 ``suspend``): what ``argo resume`` / ``argo node set`` write.

A suspend node waits in ``Running`` until its duration passes or a client resumes it. Resuming is a
write to the Workflow's status, not a controller action: the node becomes ``Succeeded`` with
``finishedAt``, and output parameters declared ``valueFrom.supplied`` take the values given
(``valueFrom.default`` otherwise). The next reconcile sees a fulfilled node and carries on.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .model import NodePhase, NodeType, format_time, templates_by_name
from .params import param_string

__all__ = ["ResumeError", "resume"]


class ResumeError(ValueError):
    """Nothing to resume, or a supplied parameter without a value; the workflow is unchanged."""


def resume(
    workflow: Mapping[str, Any],
    now: datetime,
    *,
    node_name: str | None = None,
    parameters: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The workflow with its running suspend nodes (or the one named ``node_name``) resumed."""
    wf: dict[str, Any] = copy.deepcopy(dict(workflow))
    nodes = (wf.get("status") or {}).get("nodes") or {}
    templates = templates_by_name(wf.get("spec") or {})
    given = dict(parameters or {})
    targets = [
        n for n in nodes.values()
        if n.get("type") == NodeType.SUSPEND and n.get("phase") == NodePhase.RUNNING
        and (node_name is None or node_name in (n.get("name"), n.get("displayName")))
    ]
    if not targets:
        raise ResumeError("no suspended node to resume" + (f" named {node_name!r}" if node_name else ""))
    for node in targets:
        declared = (templates.get(node.get("templateName", "")) or {}).get("outputs", {}).get("parameters") or []
        values = []
        for param in declared:
            value_from = param.get("valueFrom") or {}
            if param["name"] in given:
                value = given[param["name"]]
            elif value_from.get("default") is not None:
                value = param_string(value_from["default"])
            elif value_from.get("supplied") is not None:
                raise ResumeError(f"output parameter {param['name']!r} of {node['name']} needs a supplied value")
            else:
                continue
            values.append({**param, "value": value})
        if values:
            node.setdefault("outputs", {})["parameters"] = values
        node["phase"] = str(NodePhase.SUCCEEDED)
        node["finishedAt"] = format_time(now)
        node["progress"] = "1/1"
        node.pop("message", None)
    return wf
