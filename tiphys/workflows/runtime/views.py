"""How ``tiphys workflow get`` and ``list`` print Workflows: plain aligned text, like ``argo``'s tabwriter.

Pure: a Workflow dict and the time in, text out. Columns are never cut, so a pod name can be
copied from the output whatever the terminal's width.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from .. import naming
from .tree import duration_text, node_rows

__all__ = ["columns", "list_text", "summary_text", "tree_text"]


def columns(header: Sequence[str], rows: Sequence[Sequence[str]], *, gap: int = 2) -> str:
    """Left-aligned columns separated by ``gap`` spaces; the last column is not padded."""
    table = [list(header), *[list(r) for r in rows]]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    lines = []
    for row in table:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])] + [row[-1]]
        lines.append((" " * gap).join(cells).rstrip())
    return "\n".join(lines)


def summary_text(workflow: Mapping[str, Any], now: datetime) -> str:
    meta = workflow.get("metadata") or {}
    spec = workflow.get("spec") or {}
    status = workflow.get("status") or {}
    fields = [
        ("Name:", meta.get("name", "")),
        ("Namespace:", meta.get("namespace", "")),
        ("ServiceAccount:", spec.get("serviceAccountName") or "unset"),
        ("Status:", status.get("phase") or "Pending"),
        ("Message:", status.get("message") or ""),
        ("Created:", meta.get("creationTimestamp", "")),
        ("Started:", status.get("startedAt") or ""),
        ("Finished:", status.get("finishedAt") or ""),
        ("Duration:", duration_text(status.get("startedAt"), status.get("finishedAt"), now)),
        ("Progress:", status.get("progress") or ""),
    ]
    shown = [(label, str(value)) for label, value in fields if value]
    params = (spec.get("arguments") or {}).get("parameters") or []
    if params:
        shown.append(("Parameters:", ""))
        shown += [(f"  {p.get('name')}:", str(p.get("value", ""))) for p in params]
    width = max(len(label) for label, _ in shown)
    return "\n".join(f"{label.ljust(width)}  {value}".rstrip() for label, value in shown)


def pod_name(workflow: Mapping[str, Any], node: Mapping[str, Any]) -> str:
    """The pod of a Pod node (v2 names unless the Workflow asks for v1)."""
    if node.get("type") != "Pod":
        return ""
    meta = workflow.get("metadata") or {}
    v1 = (meta.get("annotations") or {}).get("workflows.argoproj.io/pod-name-format") == "v1"
    name, template = str(meta.get("name")), str(node.get("templateName") or "")
    return naming.pod_name(name, str(node.get("name")), template, version="v1" if v1 else "v2")


def tree_text(workflow: Mapping[str, Any], now: datetime) -> str:
    rows = [
        [
            row.label,
            str(row.node.get("templateName") or ""),
            pod_name(workflow, row.node),
            duration_text(row.node.get("startedAt"), row.node.get("finishedAt"), now),
            str(row.node.get("message") or ""),
        ]
        for row in node_rows(workflow)
    ]
    return columns(["STEP", "TEMPLATE", "PODNAME", "DURATION", "MESSAGE"], rows)


def list_text(workflows: Sequence[Mapping[str, Any]], now: datetime, *, namespaces: bool) -> str:
    rows = []
    for wf in workflows:
        meta, status = wf.get("metadata") or {}, wf.get("status") or {}
        cells = [
            str(meta.get("name", "")),
            str(status.get("phase") or "Pending"),
            duration_text(meta.get("creationTimestamp"), None, now),
            duration_text(status.get("startedAt"), status.get("finishedAt"), now),
            str(status.get("progress") or ""),
            str(status.get("message") or ""),
        ]
        rows.append([str(meta.get("namespace", "")), *cells] if namespaces else cells)
    header = ["NAME", "STATUS", "AGE", "DURATION", "PROGRESS", "MESSAGE"]
    return columns(["NAMESPACE", *header] if namespaces else header, rows)
