"""The last lines a failed hook wrote, for its result (Tiphys extension; Argo CD users lose them with the pod).

For a Job the failing pod is its most recent pod with a container that exited non-zero (or the
most recent pod at all); for a Pod hook, the pod itself. The failing container is the one that
terminated with a non-zero exit code, else the last one. Every value of the Secrets the sync
deploys and of the Secrets the pod reads (``secretKeyRef``, ``envFrom``) is masked as
``++++++++`` before the text leaves this module.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from tiphys.engine import FetchLogs, Outcome
from tiphys.kube import Kube, KubeError
from tiphys.kube.writes import pod_log

__all__ = ["TAIL_LINES", "fetch_logs", "mask", "pod_secrets"]

TAIL_LINES: Final = 20
MASK: Final = "++++++++"


def mask(text: str, secrets: Iterable[str]) -> str:
    for value in sorted({s for s in secrets if s and s.strip()}, key=len, reverse=True):
        text = text.replace(value, MASK)
    return text


def _failed_container(pod: Mapping[str, Any]) -> str | None:
    status = pod.get("status") or {}
    statuses = [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]
    for container in statuses:
        for state in (container.get("state") or {}, container.get("lastState") or {}):
            terminated = state.get("terminated") or {}
            if terminated.get("exitCode"):
                return str(container.get("name"))
    containers = (pod.get("spec") or {}).get("containers") or []
    return str(containers[-1]["name"]) if containers else None


def _pod_secret_names(pod: Mapping[str, Any]) -> set[str]:
    names: set[str] = set()
    spec = pod.get("spec") or {}
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        for env in container.get("env") or []:
            ref = ((env.get("valueFrom") or {}).get("secretKeyRef") or {}).get("name")
            if ref:
                names.add(str(ref))
        for source in container.get("envFrom") or []:
            ref = (source.get("secretRef") or {}).get("name")
            if ref:
                names.add(str(ref))
    for volume in spec.get("volumes") or []:
        ref = (volume.get("secret") or {}).get("secretName")
        if ref:
            names.add(str(ref))
    return names


async def pod_secrets(kube: Kube, namespace: str, pod: Mapping[str, Any]) -> list[str]:
    """Every value of the Secrets ``pod`` reads (env, envFrom, volumes), encoded and decoded, for ``mask``."""
    return await _secret_values(kube, namespace, _pod_secret_names(pod))


async def _secret_values(kube: Kube, namespace: str, names: Iterable[str]) -> list[str]:
    values: list[str] = []
    for name in names:
        try:
            secret = await kube.get("v1", "Secret", name, namespace=namespace)
        except KubeError:
            continue
        for value in (secret.get("data") or {}).values():
            values.append(str(value))
            try:
                values.append(base64.b64decode(str(value), validate=True).decode())
            except (binascii.Error, UnicodeDecodeError):
                continue
    return values


async def _pods(kube: Kube, action: FetchLogs) -> Sequence[Mapping[str, Any]]:
    ref = action.ref
    if ref.kind == "Pod":
        return [await kube.get("v1", "Pod", ref.name, namespace=ref.namespace)]
    found = await kube.list("v1", "Pod", namespace=ref.namespace, labels={"batch.kubernetes.io/job-name": ref.name})
    items = found.items or (await kube.list("v1", "Pod", namespace=ref.namespace, labels={"job-name": ref.name})).items
    failed = [p for p in items if (p.get("status") or {}).get("phase") == "Failed"]
    return sorted(failed or items, key=lambda p: str((p.get("metadata") or {}).get("creationTimestamp", "")))


async def fetch_logs(kube: Kube, action: FetchLogs) -> Outcome:
    """The masked tail of the failing container's log; an empty outcome when there is none."""
    try:
        pods = await _pods(kube, action)
        if not pods:
            return Outcome.done("")
        pod = pods[-1]
        container = _failed_container(pod)
        name = str(pod["metadata"]["name"])
        text = await pod_log(kube, name, namespace=action.ref.namespace, container=container, tail_lines=TAIL_LINES)
        secrets = [*action.mask, *await pod_secrets(kube, action.ref.namespace, pod)]
    except KubeError as e:
        return Outcome.failed(str(e), e)
    return Outcome.done(mask(text.rstrip("\n"), secrets))
