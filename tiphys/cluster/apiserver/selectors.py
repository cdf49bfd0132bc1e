"""Label and field selectors, parsed once per request into a predicate over an object."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .errors import bad_request

__all__ = ["FIELDS", "parse_field_selector", "parse_label_selector"]

Obj = dict[str, Any]
Predicate = Callable[[Obj], bool]

_SET_RE = re.compile(r"^\s*(!?)\s*([A-Za-z0-9_./-]+)\s*(?:(in|notin)\s*\((.*?)\))?\s*$")
_OP_RE = re.compile(r"^\s*([A-Za-z0-9_./-]+)\s*(==|=|!=)\s*([A-Za-z0-9_.-]*)\s*$")


def _split_requirements(text: str) -> list[str]:
    """Split on commas that are not inside ``in (...)`` parentheses."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p for p in parts if p.strip()]


def _equality(key: str, value: str, *, negate: bool) -> Callable[[dict[str, str]], bool]:
    return lambda labels: (labels.get(key) == value) != negate


def _membership(key: str, members: frozenset[str], *, negate: bool) -> Callable[[dict[str, str]], bool]:
    if negate:
        return lambda labels: labels.get(key) not in members
    return lambda labels: key in labels and labels[key] in members


def _existence(key: str, *, negate: bool) -> Callable[[dict[str, str]], bool]:
    return lambda labels: (key in labels) != negate


def parse_label_selector(text: str | None) -> Predicate | None:
    """Equality (``k=v``, ``k!=v``) and set-based (``k in (a,b)``, ``k``, ``!k``) requirements, ANDed."""
    if not text or not text.strip():
        return None
    checks: list[Callable[[dict[str, str]], bool]] = []
    for req in _split_requirements(text):
        m = _OP_RE.match(req)
        if m:
            key, op, value = m.groups()
            checks.append(_equality(key, value, negate=op == "!="))
            continue
        m = _SET_RE.match(req)
        if m:
            negate, key, op, values = m.groups()
            if op and negate:
                raise bad_request(f"unable to parse requirement: {req.strip()}")
            if op:
                members = frozenset(v.strip() for v in values.split(",") if v.strip())
                checks.append(_membership(key, members, negate=op == "notin"))
            else:
                checks.append(_existence(key, negate=bool(negate)))
            continue
        raise bad_request(f"unable to parse requirement: found '{req.strip()}', expected: in, notin, =, ==, !=, gt, lt")

    def match(obj: Obj) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(check(labels) for check in checks)

    return match


def _path(*parts: str) -> Callable[[Obj], str]:
    def get(obj: Obj) -> str:
        value: Any = obj
        for part in parts:
            if not isinstance(value, dict):
                return ""
            value = value.get(part)
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    return get


_COMMON = {"metadata.name": _path("metadata", "name"), "metadata.namespace": _path("metadata", "namespace")}

# Field selectors each kind supports, as upstream registers them.
FIELDS: dict[str, dict[str, Callable[[Obj], str]]] = {
    "/pods": {
        "spec.nodeName": _path("spec", "nodeName"),
        "spec.restartPolicy": _path("spec", "restartPolicy"),
        "spec.schedulerName": _path("spec", "schedulerName"),
        "spec.serviceAccountName": _path("spec", "serviceAccountName"),
        "spec.hostNetwork": lambda o: "true" if o.get("spec", {}).get("hostNetwork") else "false",
        "status.phase": _path("status", "phase"),
        "status.podIP": _path("status", "podIP"),
        "status.nominatedNodeName": _path("status", "nominatedNodeName"),
    },
    "/events": {
        **{
            f"involvedObject.{f}": _path("involvedObject", f)
            for f in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")
        },
        "reason": _path("reason"),
        "reportingComponent": _path("reportingComponent"),
        "source": _path("source", "component"),
        "type": _path("type"),
    },
    "/secrets": {"type": _path("type")},
    "/namespaces": {"status.phase": _path("status", "phase")},
    "batch/jobs": {"status.successful": _path("status", "succeeded")},
    "/nodes": {"spec.unschedulable": lambda o: "true" if o.get("spec", {}).get("unschedulable") else "false"},
}


def _field_check(getter: Callable[[Obj], str], value: str, *, negate: bool) -> Predicate:
    return lambda obj: (getter(obj) == value) != negate


def parse_field_selector(text: str | None, key: str) -> Predicate | None:
    """``=``/``==``/``!=`` on the fields the kind supports; others are a 400 as upstream."""
    if not text or not text.strip():
        return None
    fields = {**_COMMON, **FIELDS.get(key, {})}
    checks: list[Predicate] = []
    for req in text.split(","):
        if not req.strip():
            continue
        m = re.match(r"^\s*([^!=\s]+)\s*(==|=|!=)\s*(.*?)\s*$", req)
        if not m:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{req}'")
        name, op, value = m.groups()
        getter = fields.get(name)
        if getter is None:
            raise bad_request(f"field label not supported: {name}")
        checks.append(_field_check(getter, value, negate=op == "!="))
    return lambda obj: all(check(obj) for check in checks)
