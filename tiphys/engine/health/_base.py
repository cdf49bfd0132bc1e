"""What every health check shares: the result type, and reading fields the way Go does.

Argo CD converts most objects to typed Go structs before assessing them: a missing field reads
as its zero value, a field of the wrong type fails the conversion and the health becomes
``Unknown`` with an error. ``Fields`` reproduces that for the fields a check reads; checks that
Argo CD runs on unstructured data (Ingress, Workflow, CronJob) read leniently instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .. import objects
from ..objects import KubeObject
from ..types import HealthStatus

__all__ = [
    "AssessmentError",
    "Fields",
    "HealthCheck",
    "HealthResult",
    "go_quote",
    "lenient_list",
    "lenient_str",
    "require_version",
]


@dataclass(frozen=True)
class HealthResult:
    """A health assessment: ``HealthStatus{Status, Message}`` in gitops-engine."""

    status: HealthStatus
    message: str = ""
    assessment_error: bool = False
    """The check itself failed (bad object, unsupported version): the status is Unknown and the
    message is the error; a hook with it is recorded as ``Error`` (spec §4.3)."""


HealthCheck = Callable[[KubeObject], HealthResult | None]
"""A health check of one kind: None means the kind has no health (it counts as done)."""


class AssessmentError(Exception):
    """Raised inside a check; the dispatcher turns it into an Unknown ``HealthResult``."""


def go_quote(text: str) -> str:
    """Go's ``%q`` for the names that appear in messages."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


def require_version(obj: KubeObject, label: str, *supported: str) -> None:
    """Built-in checks accept only the apiVersions Argo CD converts; others are an error."""
    if objects.api_version(obj) not in supported:
        group, version = objects.api_group(obj), objects.version(obj)
        raise AssessmentError(f"unsupported {label} GVK: {group}/{version}, Kind={objects.kind(obj)}")


class Fields:
    """Typed reads of one object, failing like ``runtime.DefaultUnstructuredConverter`` would."""

    def __init__(self, obj: KubeObject, label: str) -> None:
        self._obj = obj
        self._label = label

    def _fail(self, path: tuple[str, ...], expected: str, value: Any) -> AssessmentError:
        where = "." + ".".join(path)
        return AssessmentError(
            f"failed to convert unstructured {self._label} to typed: {where}: expected {expected}, "
            f"got {type(value).__name__} {value!r}"
        )

    def get(self, *path: str) -> Any:
        node: Any = self._obj
        for depth, part in enumerate(path):
            if node is None:
                return None
            if not isinstance(node, Mapping):
                raise self._fail(path[:depth], "an object", node)
            node = node.get(part)
        return node

    def opt_integer(self, *path: str) -> int | None:
        value = self.get(*path)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
            raise self._fail(path, "an integer", value)
        return int(value)

    def integer(self, *path: str) -> int:
        value = self.opt_integer(*path)
        return 0 if value is None else value

    def string(self, *path: str) -> str:
        value = self.get(*path)
        if value is None:
            return ""
        if not isinstance(value, str):
            raise self._fail(path, "a string", value)
        return value

    def boolean(self, *path: str) -> bool:
        value = self.get(*path)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise self._fail(path, "a boolean", value)
        return value

    def items(self, *path: str) -> list[Mapping[str, Any]]:
        """A list of objects (conditions, container statuses); missing reads as empty."""
        value = self.get(*path)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._fail(path, "a list", value)
        for item in value:
            if not isinstance(item, Mapping):
                raise self._fail(path, "a list of objects", item)
        return value

    def present(self, *path: str) -> bool:
        return self.get(*path) is not None

    def each(self, *path: str) -> list[Fields]:
        """Each object of a list (``status.conditions``, container statuses) as typed fields."""
        return [Fields(item, self._label) for item in self.items(*path)]


def lenient_str(obj: KubeObject, *path: str) -> str:
    """``unstructured.NestedString``, errors ignored: a missing or non-string value reads as empty."""
    node: Any = obj
    for part in path:
        node = node.get(part) if isinstance(node, Mapping) else None
    return node if isinstance(node, str) else ""


def lenient_list(obj: KubeObject, *path: str) -> list[Any]:
    node: Any = obj
    for part in path:
        node = node.get(part) if isinstance(node, Mapping) else None
    return node if isinstance(node, list) else []
