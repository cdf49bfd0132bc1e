"""Resource quantities (``500m``, ``128Mi``, ``1e3``) as exact decimals, and what the kubelet derives.

Two rules read them: the pod's QoS class (upstream ``GetPodQOS``) and ``resourceFieldRef``
values in env and downward API files (upstream ``ExtractContainerResourceValue``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["parse_quantity", "qos_class", "resource_field_value"]

Obj = dict[str, Any]

_SUFFIXES: dict[str, Decimal] = {
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
    "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal(10**3),
    "M": Decimal(10**6),
    "G": Decimal(10**9),
    "T": Decimal(10**12),
    "P": Decimal(10**15),
    "E": Decimal(10**18),
}
_QUANTITY = re.compile(r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))([eE][+-]?[0-9]+|[a-zA-Z]*)$")
_QOS_RESOURCES = ("cpu", "memory")


def parse_quantity(value: str | int | float) -> Decimal:
    """The number a quantity stands for; ``ValueError`` when it is not one."""
    if isinstance(value, int | float):
        return Decimal(str(value))
    match = _QUANTITY.match(value.strip())
    if match is None:
        raise ValueError(f"quantities must match the regular expression '{_QUANTITY.pattern}': {value!r}")
    number, suffix = match.groups()
    try:
        if suffix[:1] in ("e", "E"):
            return Decimal(number + suffix)
        return Decimal(number) * _SUFFIXES[suffix]
    except (KeyError, InvalidOperation) as exc:
        raise ValueError(f"unknown quantity suffix in {value!r}") from exc


def _positive(resources: Mapping[str, Any] | None) -> dict[str, Decimal]:
    found: dict[str, Decimal] = {}
    for name, raw in (resources or {}).items():
        if name not in _QOS_RESOURCES:
            continue
        try:
            quantity = parse_quantity(raw)
        except ValueError:
            continue
        if quantity > 0:
            found[name] = quantity
    return found


def qos_class(spec: Mapping[str, Any]) -> str:
    """Guaranteed, Burstable or BestEffort, as upstream (requests default to limits)."""
    requests: dict[str, Decimal] = {}
    limits: dict[str, Decimal] = {}
    guaranteed = True
    for container in [*(spec.get("initContainers") or ()), *(spec.get("containers") or ())]:
        resources = container.get("resources") or {}
        own_limits = _positive(resources.get("limits"))
        own_requests = {**own_limits, **_positive(resources.get("requests"))}
        for name, quantity in own_requests.items():
            requests[name] = requests.get(name, Decimal(0)) + quantity
        for name, quantity in own_limits.items():
            limits[name] = limits.get(name, Decimal(0)) + quantity
        if not all(name in own_limits for name in _QOS_RESOURCES):
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    matching = all(limits.get(name) == quantity for name, quantity in requests.items())
    if guaranteed and matching and len(requests) == len(limits):
        return "Guaranteed"
    return "Burstable"


def resource_field_value(
    container: Mapping[str, Any], resource: str, divisor: str | int | None, allocatable: Mapping[str, str]
) -> str:
    """``limits.cpu`` and friends, divided and rounded up; unset limits are the node's allocatable."""
    kind, _, name = resource.partition(".")
    resources = container.get("resources") or {}
    raw = (resources.get(kind) or {}).get(name)
    if raw is None and kind == "limits":
        raw = allocatable.get(name)
    quantity = parse_quantity(raw) if raw is not None else Decimal(0)
    unit = parse_quantity(divisor) if divisor not in (None, "") else Decimal(1)
    return str(math.ceil(quantity / (unit or Decimal(1))))
