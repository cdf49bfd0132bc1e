"""Resource templates (spec §2 ``resource``): the action to ask for and the conditions on the object.

Upstream runs ``argoexec resource`` in a pod; here the runtime performs the action through the API
and reports the object. The node records what was acted on in ``resourceRef`` (a Tiphys field) so
later polls get the object by name even after a restart. Conditions are upstream's label-selector-
like requirements over the object's fields: ``status.succeeded > 0,status.failed == 0``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml

from .model import GROUP_VERSION, NodePhase
from .world import ResourceAction

if TYPE_CHECKING:
    from ._context import Ctx

__all__ = ["ResourceError", "ResourceStep", "advance", "condition_matches", "parse_manifest"]

ACTIONS = ("get", "create", "apply", "delete", "replace", "patch")
POLL_SECONDS = 2.0


class ResourceError(Exception):
    """A bad resource template; the node ends ``Error``."""


@dataclass(frozen=True)
class ResourceStep:
    phase: NodePhase
    message: str = ""
    action: ResourceAction | None = None
    poll_after: float | None = None


def parse_manifest(resource: Mapping[str, Any]) -> dict[str, Any]:
    text = resource.get("manifest")
    if text is None:
        raise ResourceError("resource.manifest is required (manifestFrom needs artifacts, which are not supported)")
    try:
        docs = [d for d in yaml.safe_load_all(str(text)) if d is not None]
    except yaml.YAMLError as e:
        raise ResourceError(f"resource.manifest is not valid YAML: {e}") from e
    if len(docs) != 1 or not isinstance(docs[0], dict):
        raise ResourceError("resource.manifest must hold exactly one object")
    obj: dict[str, Any] = docs[0]
    meta = obj.get("metadata") or {}
    if resource.get("action") != "patch" and not (meta.get("name") or meta.get("generateName")):
        raise ResourceError("resource.manifest must have metadata.name or metadata.generateName")
    return obj


def _field(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(obj, Mapping):
            obj = obj.get(part)
        elif isinstance(obj, list) and part.isdigit() and int(part) < len(obj):
            obj = obj[int(part)]
        else:
            return None
    return obj


_REQUIREMENT = re.compile(r"^\s*(!?)([A-Za-z0-9_.\-/\[\]]+)\s*(==|=|!=|>=|<=|>|<|\s+in\s+|\s+notin\s+)?\s*(.*?)\s*$")


def _split(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for c in text:
        depth += c == "("
        depth -= c == ")"
        if c == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += c
    parts.append(current)
    return [p for p in parts if p.strip()]


def _num(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def condition_matches(condition: str, obj: Mapping[str, Any]) -> bool:
    """Every comma-separated requirement holds for ``obj``."""
    for requirement in _split(condition):
        m = _REQUIREMENT.match(requirement)
        if m is None:
            raise ResourceError(f"invalid condition requirement {requirement!r}")
        negate, path, op, raw = m.group(1), m.group(2), (m.group(3) or "").strip(), m.group(4)
        value = _field(obj, path)
        if not op:
            if bool(negate) == (value is not None):
                return False
            continue
        actual = value if isinstance(value, str) else json.dumps(value) if value is not None else ""
        if op in ("in", "notin"):
            options = [o.strip() for o in raw.strip("()").split(",")]
            if (actual in options) != (op == "in"):
                return False
            continue
        if op in (">", "<", ">=", "<="):
            a, b = _num(value), _num(raw)
            if a is None or b is None:
                return False
            if not {">": a > b, "<": a < b, ">=": a >= b, "<=": a <= b}[op]:
                return False
            continue
        equal = actual == raw or (_num(value) is not None and _num(value) == _num(raw))
        if equal != (op in ("=", "==")):
            return False
    return True


def _outputs(outputs: Mapping[str, Any], obj: Mapping[str, Any]) -> list[dict[str, Any]]:
    params = []
    for param in outputs.get("parameters") or []:
        value_from = param.get("valueFrom") or {}
        entry = dict(param)
        path = value_from.get("jsonPath")
        if path:
            value = _field(obj, str(path).strip("{}").lstrip("."))
            entry["value"] = value if isinstance(value, str) else json.dumps(value)
        elif value_from.get("default") is not None:
            entry["value"] = str(value_from["default"])
        params.append(entry)
    return params


def advance(ctx: Ctx, node: dict[str, Any], resource: Mapping[str, Any], outputs: Mapping[str, Any]) -> ResourceStep:
    """Where a resource node stands, and the action to ask for (if any)."""
    action = str(resource.get("action") or "")
    if action not in ACTIONS:
        raise ResourceError(f"resource.action {action!r} is not one of {', '.join(ACTIONS)}")
    manifest = parse_manifest(resource)
    meta = manifest.setdefault("metadata", {})
    meta.setdefault("namespace", ctx.namespace)
    owner = {"apiVersion": GROUP_VERSION, "kind": "Workflow", "name": ctx.name, "uid": ctx.uid,
             "controller": True, "blockOwnerDeletion": True}
    ref = node.get("resourceRef")
    seen = ctx.observed.resources.get(node["id"])
    if seen is None:
        if ref:  # already performed: poll the object named in the record
            poll = {"apiVersion": ref["apiVersion"], "kind": ref["kind"],
                    "metadata": {"name": ref["name"], "namespace": ref.get("namespace", ctx.namespace)}}
            return ResourceStep(NodePhase.RUNNING, action=ResourceAction(node["id"], "get", poll, poll=True))
        return ResourceStep(
            NodePhase.PENDING,
            action=ResourceAction(
                node["id"], action, manifest,
                merge_strategy=str(resource.get("mergeStrategy") or "strategic"),
                set_owner_reference=bool(resource.get("setOwnerReference")),
                owner_reference=owner,
                flags=tuple(str(f) for f in resource.get("flags") or ()),
            ),
        )
    if seen.error:
        return ResourceStep(NodePhase.FAILED, seen.error)
    obj = seen.object
    if obj is None:
        if action == "delete":
            return ResourceStep(NodePhase.SUCCEEDED)
        return ResourceStep(NodePhase.FAILED, f"{manifest.get('kind')} {meta.get('name', '')} not found")
    obj_meta = obj.get("metadata") or {}
    node["resourceRef"] = {"apiVersion": obj.get("apiVersion", manifest.get("apiVersion")),
                           "kind": obj.get("kind", manifest.get("kind")),
                           "namespace": obj_meta.get("namespace", meta["namespace"]), "name": obj_meta.get("name")}
    failure, success = resource.get("failureCondition"), resource.get("successCondition")
    params = _outputs(outputs, obj)
    if params:
        node["outputs"] = {"parameters": params}
    if failure and condition_matches(str(failure), obj):
        return ResourceStep(NodePhase.FAILED, f"failure condition '{failure}' matched")
    if success and not condition_matches(str(success), obj):
        return ResourceStep(NodePhase.RUNNING, f"waiting for success condition '{success}'", poll_after=POLL_SECONDS)
    return ResourceStep(NodePhase.SUCCEEDED)
