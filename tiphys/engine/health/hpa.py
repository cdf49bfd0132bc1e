"""Health of HorizontalPodAutoscalers, autoscaling/v1 and v2 (spec §12.3, ACGE ``health_hpa.go``).

v2 reads ``status.conditions``; v1 keeps them as JSON in an annotation. A condition with a
known failure reason is Degraded whatever its status; else AbleToScale or ScalingLimited True
is Healthy; else the autoscaler is still waiting.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from .. import objects
from ..objects import KubeObject
from ..types import HealthStatus
from ._base import AssessmentError, Fields, HealthResult, require_version

__all__ = ["CONDITIONS_ANNOTATION", "hpa_health"]

CONDITIONS_ANNOTATION: Final = "autoscaling.alpha.kubernetes.io/conditions"

_DEGRADED: Final = {
    ("AbleToScale", "FailedGetScale"),
    ("AbleToScale", "FailedUpdateScale"),
    ("ScalingActive", "FailedGetResourceMetric"),
    ("ScalingActive", "FailedGetObjectMetric"),
    ("ScalingActive", "FailedGetPodsMetric"),
    ("ScalingActive", "FailedGetExternalMetric"),
    ("ScalingActive", "FailedComputeMetricsReplicas"),
    ("ScalingActive", "InvalidSelector"),
}
_HEALTHY_TYPES: Final = ("AbleToScale", "ScalingLimited")
_WAITING: Final = HealthResult(HealthStatus.PROGRESSING, "Waiting to Autoscale")

Condition = dict[str, str]


def _check(conditions: list[Condition]) -> HealthResult:
    for condition in conditions:
        if (condition["type"], condition["reason"]) in _DEGRADED:
            return HealthResult(HealthStatus.DEGRADED, condition["message"])
    for condition in conditions:
        if condition["type"] in _HEALTHY_TYPES and condition["status"] == "True":
            return HealthResult(HealthStatus.HEALTHY, condition["message"])
    return _WAITING


def _from_annotation(text: str) -> list[Condition]:
    """Go's ``json.Unmarshal`` into ``[]hpaCondition``: keys match case-insensitively."""
    try:
        data: Any = json.loads(text)
    except ValueError as e:
        raise AssessmentError(f"failed to convert conditions annotation to typed: {e}") from None
    if data is None:
        return []
    if not isinstance(data, list) or not all(isinstance(item, Mapping) for item in data):
        raise AssessmentError("failed to convert conditions annotation to typed: expected a list of conditions")
    conditions = []
    for item in data:
        lowered = {str(k).lower(): v for k, v in item.items()}
        condition = {field: lowered.get(field, "") for field in ("type", "reason", "message", "status")}
        condition = {field: "" if value is None else value for field, value in condition.items()}
        if not all(isinstance(value, str) for value in condition.values()):
            raise AssessmentError("failed to convert conditions annotation to typed: condition fields must be strings")
        conditions.append(condition)
    return conditions


def hpa_health(obj: KubeObject) -> HealthResult:
    require_version(obj, "HPA", "autoscaling/v1", "autoscaling/v2")
    if objects.api_version(obj) == "autoscaling/v1":
        text = objects.annotations_of(obj).get(CONDITIONS_ANNOTATION)
        conditions = _from_annotation(text) if text is not None else []
        return _check(conditions) if conditions else _WAITING
    fields = Fields(obj, "HPA")
    return _check(
        [{k: c.string(k) for k in ("type", "reason", "message", "status")} for c in fields.each("status", "conditions")]
    )
