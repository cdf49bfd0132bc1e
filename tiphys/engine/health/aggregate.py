"""An Application's health from its resources' (spec §12.4, Argo CD controller ``health.go``).

Hooks, Skip targets, ignored objects, objects annotated ``argocd.argoproj.io/ignore-healthcheck:
"true"``, the Application itself and kinds without health are left out. A resource not yet in
the cluster does not lower the health (the sync status already says OutOfSync), nor does a
Missing or Unknown child Application; but when no resource is live at all the app is Missing.
Otherwise the app takes the worst health, and the message names its first causes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from .. import hooks, objects
from ..annotations import IGNORE_HEALTHCHECK
from ..objects import KubeObject, ResourceKey
from ..types import HealthStatus, is_worse
from ._base import HealthCheck, HealthResult, go_quote
from .checks import GroupKind, assess

__all__ = ["APPLICATION_GROUPS", "AppHealth", "app_health", "caused_by"]

APPLICATION_GROUPS: Final = ("argoproj.io", "tiphys.io")
"""Groups whose ``Application`` kind is a child app: its Missing/Unknown health is not held against the parent."""

_MAX_CAUSES: Final = 3


@dataclass(frozen=True)
class AppHealth:
    status: HealthStatus
    message: str = ""
    error: str = ""  # the first failed assessment, as Argo CD's controller reports it
    resources: tuple[HealthResult | None, ...] = ()  # each input resource's health, in input order


def caused_by(causes: Sequence[ResourceKey]) -> str:
    """``Caused by apps/Deployment:ns/web, /Pod:… and 2 more``: at most three causes are named."""
    if not causes:
        return ""
    parts = []
    for key in causes[:_MAX_CAUSES]:
        group_kind = f"{key.group}/{key.kind}" if key.group else key.kind
        name = f"{key.namespace}/{key.name}" if key.namespace else key.name
        parts.append(f"{group_kind}:{name}")
    summary = ", ".join(parts)
    if len(causes) > _MAX_CAUSES:
        summary += f" and {len(causes) - _MAX_CAUSES} more"
    return "Caused by " + summary


def _is_self(obj: KubeObject, app: KubeObject | None) -> bool:
    if app is None:
        return False
    uid = objects.meta(obj).get("uid", "")
    return objects.resource_key(obj) == objects.resource_key(app) and uid == objects.meta(app).get("uid", "")


def app_health(
    resources: Sequence[tuple[KubeObject | None, KubeObject | None]],
    *,
    app: KubeObject | None = None,
    overrides: Mapping[GroupKind, HealthCheck] | None = None,
) -> AppHealth:
    """Aggregate ``(target, live)`` pairs of managed resources; ``app`` is the Application itself."""
    status = HealthStatus.HEALTHY
    causes: list[ResourceKey] = []
    error = ""
    has_resources = has_live = False
    healths: list[HealthResult | None] = []
    for target, live in resources:
        health: HealthResult | None = None
        healths.append(None)
        if target is not None and hooks.is_skip(target):
            continue
        if live is not None and (hooks.is_hook(live) or hooks.is_ignored(live)):
            continue
        has_resources = True
        has_live = has_live or live is not None
        if live is not None and objects.annotations_of(live).get(IGNORE_HEALTHCHECK) == "true":
            continue
        if live is None:
            health = HealthResult(HealthStatus.MISSING)
        elif _is_self(live, app):
            continue
        else:
            health = assess(live, overrides=overrides)
            if health is not None and health.assessment_error and not error:
                error = (
                    f"failed to get resource health for {go_quote(objects.kind(live))} with name "
                    f"{go_quote(objects.name(live))} in namespace {go_quote(objects.namespace(live))}: {health.message}"
                )
        if health is None:
            continue
        healths[-1] = health
        if live is None:
            continue  # a resource not created yet shows Missing but does not lower the app's health
        key = objects.resource_key(live)
        if (
            key.kind == "Application"
            and key.group in APPLICATION_GROUPS
            and health.status in (HealthStatus.MISSING, HealthStatus.UNKNOWN)
        ):
            continue
        if is_worse(status, health.status):
            status, causes = health.status, [key]
        elif status == health.status and status is not HealthStatus.HEALTHY:
            causes.append(key)
    if has_resources and not has_live and is_worse(status, HealthStatus.MISSING):
        status, causes = HealthStatus.MISSING, []
    return AppHealth(status, caused_by(causes), error, tuple(healths))
