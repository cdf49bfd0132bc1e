"""Kubernetes Events about Applications (``kubectl describe``), as Argo CD's controller records them."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from tiphys.kube import Kube, KubeError

from . import application as apps

__all__ = ["EventRecorder"]

log = logging.getLogger(__name__)


class EventRecorder:
    """Kubernetes Events about Applications, in namespace ``tiphys`` (``kubectl describe app``)."""

    def __init__(self, kube: Kube, *, component: str = "tiphys-application-controller") -> None:
        self.kube = kube
        self.component = component

    async def event(self, app: Mapping[str, Any], *, reason: str, message: str, warning: bool = False) -> None:
        meta = app.get("metadata") or {}
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{meta.get('name', 'app')}.", "namespace": apps.APP_NAMESPACE},
            "involvedObject": {
                "apiVersion": apps.API_VERSION,
                "kind": apps.KIND,
                "name": meta.get("name"),
                "namespace": apps.APP_NAMESPACE,
                "uid": meta.get("uid"),
                "resourceVersion": meta.get("resourceVersion"),
            },
            "reason": reason,
            "message": message,
            "type": "Warning" if warning else "Normal",
            "source": {"component": self.component},
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        try:
            await self.kube.create(event)
        except (KubeError, ValueError) as e:  # an event is best effort
            log.debug("event %s for %s not recorded: %s", reason, meta.get("name"), e)
