"""Parameters (spec §3.1-§3.2, §4.4): global scope, template inputs, and the variables a node exports.

``global_scope`` builds the ``workflow.*`` variables; ``process_inputs`` resolves a template's inputs
from the caller's arguments (upstream ``ProcessArgs``) and substitutes them into the template;
``node_scope`` turns a finished step or task into its ``steps.<S>.*`` / ``tasks.<T>.*`` variables.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from . import template as tpl
from ._context import TemplateError
from .model import NodePhase, format_time, parse_time

__all__ = [
    "aggregate_outputs",
    "argument_value",
    "global_scope",
    "node_scope",
    "param_string",
    "process_inputs",
]


def param_string(value: Any) -> str:
    """YAML scalars become strings (``5`` -> ``"5"``, ``true`` -> ``"true"``); structures become JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


def argument_value(param: Mapping[str, Any]) -> str | None:
    if "value" in param and param["value"] is not None:
        return param_string(param["value"])
    value_from = param.get("valueFrom") or {}
    if "default" in value_from:
        return param_string(value_from["default"])
    return None


def global_scope(workflow: Mapping[str, Any]) -> dict[str, str]:
    """The ``workflow.*`` variables (spec §3.3); raises ValueError with upstream's detail on a bad argument."""
    meta = workflow.get("metadata") or {}
    spec = workflow.get("spec") or {}
    scope: dict[str, str] = {
        "workflow.name": meta.get("name", ""),
        "workflow.namespace": meta.get("namespace") or "default",
        "workflow.uid": meta.get("uid", ""),
        "workflow.serviceAccountName": spec.get("serviceAccountName", ""),
        "workflow.mainEntrypoint": spec.get("entrypoint", ""),
    }
    created = parse_time(meta.get("creationTimestamp"))
    if created is not None:
        scope.update(_timestamp_vars(created))
    for kind in ("labels", "annotations"):
        values = meta.get(kind) or {}
        scope[f"workflow.{kind}.json"] = json.dumps(values, separators=(",", ":"), sort_keys=True)
        for key, value in values.items():
            scope[f"workflow.{kind}.{key}"] = str(value)
    if spec.get("priority") is not None:
        scope["workflow.priority"] = str(spec["priority"])
    params = ((spec.get("arguments") or {}).get("parameters")) or []
    resolved = []
    for param in params:
        value = argument_value(param)
        if value is None:
            raise ValueError(f"spec.arguments.{param.get('name')}.value is required")
        enum = param.get("enum")
        if enum and value not in [param_string(e) for e in enum]:
            raise ValueError(f"spec.arguments.{param.get('name')}.value should be present in spec.arguments."
                             f"{param.get('name')}.enum list")
        scope[f"workflow.parameters.{param['name']}"] = value
        resolved.append({**param, "value": value})
    scope["workflow.parameters"] = json.dumps(resolved, separators=(",", ":"))
    scope["workflow.parameters.json"] = scope["workflow.parameters"]
    return scope


_STRFTIME = "aAbBcCdDeFgGhHIjklmMnprRsStTuUVwWxXyYzZ"


def _timestamp_vars(created: datetime) -> dict[str, str]:
    out = {
        "workflow.creationTimestamp": format_time(created),
        "workflow.creationTimestamp.RFC3339": format_time(created),
        "workflow.creationTimestamp.unix": str(int(created.timestamp())),
    }
    for char in _STRFTIME:
        try:
            out[f"workflow.creationTimestamp.{char}"] = created.strftime(f"%{char}")
        except ValueError:
            continue
    return out


def process_inputs(
    template: Mapping[str, Any],
    arguments: Sequence[Mapping[str, Any]],
    scope: Mapping[str, str],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Resolve inputs from arguments, then substitute globals and inputs into the template.

    Returns the substituted template and the node's ``inputs``. Raises TemplateError with upstream's
    ``inputs.parameters.<n> was not supplied`` or enum message.
    """
    by_name = {a.get("name"): a for a in arguments if isinstance(a, Mapping)}
    inputs = template.get("inputs") or {}
    resolved: list[dict[str, Any]] = []
    local: dict[str, str] = {}
    for param in inputs.get("parameters") or []:
        name = param.get("name")
        value: str | None = None
        if param.get("value") is not None:
            value = param_string(param["value"])
        elif param.get("default") is not None:
            value = param_string(param["default"])
        arg = by_name.get(name)
        if arg is not None:
            supplied = argument_value(arg)
            if supplied is not None:
                value = supplied
        if value is None and (param.get("valueFrom") or {}).get("default") is not None:
            value = param_string(param["valueFrom"]["default"])
        if value is None:
            raise TemplateError(f"inputs.parameters.{name} was not supplied")
        enum = param.get("enum")
        if enum and value not in [param_string(e) for e in enum]:
            raise TemplateError(f"inputs.parameters.{name}.value should be present in inputs.parameters.{name}.enum")
        entry = {k: v for k, v in param.items() if k not in ("value", "default")}
        entry["value"] = value
        if param.get("default") is not None:
            entry["default"] = param_string(param["default"])
        resolved.append(entry)
        local[f"inputs.parameters.{name}"] = value
    node_inputs: dict[str, Any] = {}
    if resolved:
        node_inputs["parameters"] = resolved
        local["inputs.parameters"] = json.dumps(resolved, separators=(",", ":"))
    if inputs.get("artifacts"):
        raise TemplateError("input artifacts are not supported (they need an artifact repository)")
    body = {k: v for k, v in template.items() if k != "inputs"}
    try:
        substituted = tpl.substitute_object(body, {**scope, **local}, lenient=True)
    except tpl.SubstitutionError as e:
        raise TemplateError(str(e)) from e
    if "inputs" in template:
        substituted["inputs"] = {**inputs, **({"parameters": resolved} if resolved else {})}
    return substituted, node_inputs


def _outputs_keys(prefix: str, outputs: Mapping[str, Any]) -> dict[str, str | tpl.Absent]:
    out: dict[str, str | tpl.Absent] = {}
    if "result" in outputs:
        out[f"{prefix}.outputs.result"] = str(outputs["result"])
    if "exitCode" in outputs:
        out[f"{prefix}.exitCode"] = str(outputs["exitCode"])
    params = outputs.get("parameters") or []
    for param in params:
        if "value" in param:
            out[f"{prefix}.outputs.parameters.{param['name']}"] = str(param["value"])
    return out


def node_scope(
    prefix: str,
    node: Mapping[str, Any],
    declared_outputs: Mapping[str, Any] | None = None,
    expansions: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, str | tpl.Absent]:
    """``<prefix>.status``, ``.id``, ``.outputs.*``… for a step or task node (``prefix`` = ``tasks.A``)."""
    scope: dict[str, str | tpl.Absent] = {
        f"{prefix}.id": node["id"],
        f"{prefix}.status": node.get("phase", ""),
        f"{prefix}.startedAt": node.get("startedAt", ""),
        f"{prefix}.finishedAt": node.get("finishedAt", ""),
    }
    if node.get("podIP"):
        scope[f"{prefix}.ip"] = node["podIP"]
    if node.get("hostNodeName"):
        scope[f"{prefix}.hostNodeName"] = node["hostNodeName"]
    phase = NodePhase(node.get("phase", "Pending"))
    if expansions is not None:
        scope.update(aggregate_outputs(prefix, expansions))
    elif phase in (NodePhase.SKIPPED, NodePhase.OMITTED):
        scope[f"{prefix}.outputs.result"] = tpl.ABSENT
        for param in (declared_outputs or {}).get("parameters") or []:
            default = (param.get("valueFrom") or {}).get("default")
            scope[f"{prefix}.outputs.parameters.{param['name']}"] = (
                tpl.ABSENT if default is None else param_string(default)
            )
    else:
        scope.update(_outputs_keys(prefix, node.get("outputs") or {}))
    return scope


def aggregate_outputs(prefix: str, children: Sequence[Mapping[str, Any]]) -> dict[str, str | tpl.Absent]:
    """Loop outputs (§4.4): JSON arrays over the succeeded expansions, in index order."""
    done = [c for c in children if c.get("phase") == NodePhase.SUCCEEDED]
    scope: dict[str, str | tpl.Absent] = {}
    results = [c["outputs"]["result"] for c in done if "result" in (c.get("outputs") or {})]
    if results:
        parsed = []
        for r in results:
            try:
                parsed.append(json.loads(r))
            except json.JSONDecodeError:
                parsed.append(r)
        scope[f"{prefix}.outputs.result"] = json.dumps(parsed, separators=(",", ":"))
    maps: list[dict[str, str]] = []
    values: dict[str, list[str]] = {}
    for child in done:
        params = (child.get("outputs") or {}).get("parameters") or []
        entry = {p["name"]: str(p.get("value", "")) for p in params}
        if entry:
            maps.append(entry)
        for name, value in entry.items():
            values.setdefault(name, []).append(value)
    if maps:
        scope[f"{prefix}.outputs.parameters"] = json.dumps(maps, separators=(",", ":"))
    for name, vals in values.items():
        try:
            decoded = [json.loads(v) for v in vals]
            structured = all(isinstance(d, (dict, list)) for d in decoded)
        except json.JSONDecodeError:
            structured = False
        scope[f"{prefix}.outputs.parameters.{name}"] = json.dumps(
            decoded if structured else vals, separators=(",", ":")
        )
    return scope
