"""Annotation names and the tolerant way Argo CD reads them (spec §1).

Argo CD never rejects a manifest for a bad annotation: an unknown hook type is dropped, an
unparseable wave counts as 0. Tiphys reads them the same way, and reports what it tolerated as
an ``AnnotationWarning`` so that a typo is visible in the plan and the result instead of silently
changing what a sync does. Everything is case-sensitive, as in Argo CD.

Import names from here (``from tiphys.engine.annotations import HOOK``): a module-level
``annotations`` name collides with ``from __future__ import annotations``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Final

from . import objects
from .objects import KubeObject, ResourceKey

__all__ = [
    "APP_DELETION_FINALIZERS",
    "CSA_MIGRATION_MANAGER",
    "DELETION_APPROVED",
    "HELM_HOOK",
    "HELM_HOOK_DELETE_POLICY",
    "HELM_HOOK_WEIGHT",
    "HELM_RESOURCE_POLICY",
    "HOOK",
    "HOOK_DELETE_POLICY",
    "HOOK_FINALIZER",
    "HOOK_TIMEOUT",
    "IGNORE_HEALTHCHECK",
    "IGNORE_RESTART_POLICY",
    "SSA_FIELD_MANAGER",
    "SYNC_OPTIONS",
    "SYNC_WAVE",
    "AnnotationWarning",
    "csv",
    "has_option",
    "int_annotation",
    "invalid_int_annotation",
    "option_value",
    "parse_int",
]

HOOK: Final = "argocd.argoproj.io/hook"
HOOK_DELETE_POLICY: Final = "argocd.argoproj.io/hook-delete-policy"
SYNC_WAVE: Final = "argocd.argoproj.io/sync-wave"
SYNC_OPTIONS: Final = "argocd.argoproj.io/sync-options"
DELETION_APPROVED: Final = "argocd.argoproj.io/deletion-approved"  # on the Application, RFC 3339
IGNORE_RESTART_POLICY: Final = "argocd.argoproj.io/ignore-restart-policy"  # "true": Pod health only
IGNORE_HEALTHCHECK: Final = "argocd.argoproj.io/ignore-healthcheck"  # "true": left out of app health
HOOK_FINALIZER: Final = "argocd.argoproj.io/hook-finalizer"  # a finalizer, not an annotation

HELM_HOOK: Final = "helm.sh/hook"
HELM_HOOK_WEIGHT: Final = "helm.sh/hook-weight"
HELM_HOOK_DELETE_POLICY: Final = "helm.sh/hook-delete-policy"
HELM_RESOURCE_POLICY: Final = "helm.sh/resource-policy"  # "keep": not deleted with the Application

HOOK_TIMEOUT: Final = "tiphys.io/hook-timeout"  # Tiphys extension: "90s", "5m"

APP_DELETION_FINALIZERS: Final = (
    "pre-delete-finalizer.argocd.argoproj.io",
    "pre-delete-finalizer.argocd.argoproj.io/cleanup",
    "post-delete-finalizer.argocd.argoproj.io",
    "post-delete-finalizer.argocd.argoproj.io/cleanup",
)
SSA_FIELD_MANAGER: Final = "argocd-controller"
CSA_MIGRATION_MANAGER: Final = "kubectl-client-side-apply"


def csv(obj: KubeObject, key: str) -> list[str]:
    """Items of a comma-separated annotation: trimmed, empty ones dropped, de-duplicated in order."""
    text = objects.annotations_of(obj).get(key)
    return list(csv_items(text)) if text else []


@functools.lru_cache(maxsize=4096)
def csv_items(text: str) -> tuple[str, ...]:
    """``csv`` of one annotation value (cached: every step of a sync asks again for every object)."""
    items: list[str] = []
    for raw in text.split(","):
        item = raw.strip()
        if item and item not in items:
            items.append(item)
    return tuple(items)


def has_option(obj: KubeObject, key: str, value: str) -> bool:
    """Whether the annotation lists ``value`` exactly, e.g. ``has_option(o, SYNC_OPTIONS, "Prune=false")``."""
    return value in csv(obj, key)


def option_value(obj: KubeObject, key: str, option: str) -> str | None:
    """The text after ``option=`` of the first item that has it, or None."""
    prefix = option + "="
    for item in csv(obj, key):
        if item.startswith(prefix):
            return item[len(prefix) :]
    return None


_GO_INT = re.compile(r"[+-]?[0-9]+")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


@functools.lru_cache(maxsize=4096)
def parse_int(text: str) -> int | None:
    """Go's ``strconv.Atoi``: optional sign and ASCII digits only, within int64; None otherwise.

    Python's ``int()`` would accept ``" 5"`` and ``"1_0"``, which Argo CD does not.
    """
    if _GO_INT.fullmatch(text) is None:
        return None
    value = int(text)
    return value if _INT64_MIN <= value <= _INT64_MAX else None


def int_annotation(obj: KubeObject, key: str) -> int | None:
    """The annotation as a strict integer; None when it is absent or does not parse."""
    text = objects.annotations_of(obj).get(key)
    return None if text is None else parse_int(text)


def invalid_int_annotation(obj: KubeObject, key: str) -> str | None:
    """The raw value when the annotation is present but not an integer, else None."""
    text = objects.annotations_of(obj).get(key)
    return text if text is not None and parse_int(text) is None else None


@dataclass(frozen=True)
class AnnotationWarning:
    """Something Argo CD tolerates silently that Tiphys tolerates the same way, but reports."""

    resource: ResourceKey
    annotation: str
    value: str
    message: str

    @classmethod
    def of(cls, obj: KubeObject, annotation: str, message: str) -> AnnotationWarning:
        value = objects.annotations_of(obj).get(annotation, "")
        return cls(objects.resource_key(obj), annotation, value, message)

    def __str__(self) -> str:
        return f"{self.resource}: {self.message}"
