"""Shared pieces of the Table printers: column specs, ages, the clock and small formatters."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

Obj = Mapping[str, Any]
Cells = list[Any]


class _Col(NamedTuple):
    name: str
    type: str = "string"
    doc: str = ""  # literal text, or "@<definition>.<field>" to borrow the schema's description
    priority: int = 0
    format: str = ""


def human_duration(d: timedelta) -> str:
    """k8s.io/apimachinery's ``duration.HumanDuration``: ~2-3 significant figures."""
    us = (d.days * 86400 + d.seconds) * 1_000_000 + d.microseconds
    seconds = us // 1_000_000 if us >= 0 else -(-us // 1_000_000)  # Go truncates towards zero
    if seconds < -1:
        return "<invalid>"  # more than the 2 s of clock skew upstream tolerates
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        s = seconds % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if dy == 0 else f"{hours // 24 // 365}y{dy}d"
    return f"{hours // 24 // 365}y"


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


class _Clock:
    """``now`` plus a per-table cache: a list of 10,000 objects shares few distinct timestamps."""

    __slots__ = ("_ages", "now")

    def __init__(self, now: datetime) -> None:
        self.now = now if now.tzinfo else now.replace(tzinfo=UTC)
        self._ages: dict[str, str] = {}

    def since(self, value: Any) -> str:
        """Upstream's ``translateTimestampSince``: ``<unknown>`` for a zero time."""
        if not isinstance(value, str) or not value:
            return "<unknown>"
        age = self._ages.get(value)
        if age is None:
            t = _parse_time(value)
            age = "<unknown>" if t is None else human_duration(self.now - t)
            self._ages[value] = age
        return age


# --- shared formatting helpers (upstream's printers.go names in comments) --------------------------


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def _name(obj: Obj) -> str:
    return str(_meta(obj).get("name", ""))


def _age(obj: Obj, clock: _Clock) -> str:
    return clock.since(_meta(obj).get("creationTimestamp"))


def _path(obj: Obj, *keys: str) -> Any:
    node: Any = obj
    for key in keys:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def _format_labels(labels: Mapping[str, str] | None) -> str:
    """labels.FormatLabels."""
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) if labels else "<none>"


def _selector_string(selector: Obj | None) -> str:
    """metav1.LabelSelectorAsSelector(...).String(): requirements sorted by key."""
    if not selector:
        return ""
    reqs = [(k, f"{k}={v}") for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or ():
        key, op, values = expr.get("key", ""), expr.get("operator", ""), sorted(set(expr.get("values") or ()))
        text = {
            "In": f"{key} in ({','.join(values)})",
            "NotIn": f"{key} notin ({','.join(values)})",
            "Exists": key,
            "DoesNotExist": f"!{key}",
        }.get(op)
        if text is None:
            return "<error>"
        reqs.append((key, text))
    return ",".join(text for _, text in sorted(reqs, key=lambda r: r[0]))


def _format_selector(selector: Obj | None) -> str:
    """metav1.FormatLabelSelector."""
    return _selector_string(selector) or "<none>"


def _containers(pod_spec: Obj | None) -> tuple[str, str]:
    """layoutContainerCells: names and images, comma-joined."""
    containers = (pod_spec or {}).get("containers") or ()
    return ",".join(c.get("name", "") for c in containers), ",".join(c.get("image", "") for c in containers)


def _template_spec(obj: Obj) -> Obj | None:
    spec: Obj | None = _path(obj, "spec", "template", "spec")
    return spec


def _lb_status(status: Obj | None) -> str:
    """loadBalancerStatusStringer with wide on: sorted unique IPs or hostnames."""
    seen = {i.get("ip") or i.get("hostname") for i in (status or {}).get("ingress") or ()}
    return ",".join(sorted(s for s in seen if s))


def _bool(value: Any) -> str:
    """printBoolPtr."""
    return "<unset>" if value is None else ("True" if value else "False")


def _more(items: list[str], total: int, limit: int) -> str:
    text = ",".join(items[:limit])
    return f"{text} + {total - limit} more..." if total > limit else text


def _has_condition(conditions: Iterable[Obj] | None, kind: str) -> bool:
    """hasPodReadyCondition: any condition of ``kind`` is True."""
    return any(c.get("status") == "True" for c in conditions or () if c.get("type") == kind)


def _first_condition_true(conditions: Iterable[Obj] | None, kind: str) -> bool:
    """hasJobCondition, isPodInitializedConditionTrue: the first condition of ``kind`` decides."""
    for c in conditions or ():
        if c.get("type") == kind:
            return bool(c.get("status") == "True")
    return False
