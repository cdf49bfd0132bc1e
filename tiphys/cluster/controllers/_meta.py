"""What every built-in controller reads the same way: selectors, owner references, times, hashes.

All pure. The hashes reproduce upstream's shape (FNV-32 of the object, the decimal digest spelled
with ``rand.SafeEncodeString``'s alphabet) over canonical JSON, since Go's struct dump cannot be
reproduced; they are stable for a given object, which is what names and labels need.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

__all__ = [
    "MANAGER",
    "Obj",
    "canonical",
    "controller_of",
    "controller_ref",
    "fnv32",
    "fnv32a",
    "format_time",
    "get_condition",
    "int_or_percent",
    "is_controlled_by",
    "map_selector_matches",
    "parse_time",
    "safe_encode",
    "selector_matches",
    "template_hash",
]

Obj = dict[str, Any]
# The field manager upstream's controllers write with.
MANAGER = "kube-controller-manager"
_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str] | None) -> bool:
    """``metav1.LabelSelectorAsSelector``: a missing selector selects nothing, an empty one everything."""
    if selector is None:
        return False
    labels = labels or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or ():
        key, op, values = expr.get("key", ""), expr.get("operator"), expr.get("values") or ()
        if op == "In":
            ok = key in labels and labels[key] in values
        elif op == "NotIn":
            ok = labels.get(key) not in values
        elif op == "Exists":
            ok = key in labels
        elif op == "DoesNotExist":
            ok = key not in labels
        else:
            ok = False
        if not ok:
            return False
    return True


def map_selector_matches(selector: Mapping[str, str] | None, labels: Mapping[str, str] | None) -> bool:
    """A Service's ``spec.selector``: every pair must match; an empty one selects nothing here."""
    if not selector:
        return False
    labels = labels or {}
    return all(labels.get(k) == v for k, v in selector.items())


def controller_ref(owner: Mapping[str, Any]) -> Obj:
    """``metav1.NewControllerRef``."""
    meta = owner["metadata"]
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def controller_of(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for ref in obj["metadata"].get("ownerReferences") or ():
        if ref.get("controller"):
            return ref  # type: ignore[no-any-return]
    return None


def is_controlled_by(obj: Mapping[str, Any], uid: str) -> bool:
    ref = controller_of(obj)
    return ref is not None and ref.get("uid") == uid


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_time(when: datetime) -> str:
    """``metav1.Time`` on the wire: RFC 3339 in UTC, whole seconds."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def get_condition(status: Mapping[str, Any] | None, type_: str) -> Mapping[str, Any] | None:
    for cond in (status or {}).get("conditions") or ():
        if cond.get("type") == type_:
            return cond  # type: ignore[no-any-return]
    return None


def fnv32a(data: bytes) -> int:
    h = 0x811C9DC5
    for byte in data:
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


def fnv32(data: bytes) -> int:
    h = 0x811C9DC5
    for byte in data:
        h = ((h * 0x01000193) & 0xFFFFFFFF) ^ byte
    return h


def safe_encode(text: str) -> str:
    """``rand.SafeEncodeString``: no vowels, no look-alike digits, so no accidental words."""
    return "".join(_ALPHANUMS[ord(ch) % len(_ALPHANUMS)] for ch in text)


def canonical(obj: Any) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)


def template_hash(template: Mapping[str, Any], collision_count: int | None = None) -> str:
    """``controller.ComputeHash``: the ``pod-template-hash`` of a Deployment's or DaemonSet's template."""
    data = canonical(template)
    if collision_count is not None:
        data += (collision_count & 0xFFFFFFFF).to_bytes(4, "little") + b"\0\0\0\0"
    return safe_encode(str(fnv32a(data)))


def int_or_percent(value: Any, total: int, *, round_up: bool) -> int:
    """``intstr.GetScaledValueFromIntOrPercent``: ``"25%"`` of ``total``, rounded as asked."""
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.endswith("%"):
        scaled = int(text[:-1]) * total / 100
        return math.ceil(scaled) if round_up else math.floor(scaled)
    return int(text)
