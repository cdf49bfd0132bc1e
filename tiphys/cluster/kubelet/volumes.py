"""Pod volumes: what each one holds (pure planning) and its files under the pod's directory.

configMap, secret, downwardAPI and projected volumes become files under
``<pods>/<uid>/volumes/<name>/`` and are mounted read-only; emptyDir is a directory there,
mounted writable and shared by the pod's containers; a PVC mounts the local directory of its
bound PersistentVolume. hostPath, and a PV outside the data dir, only when the cluster allows
host paths; other volume types are refused when the pod is admitted.
"""

from __future__ import annotations

import base64
import os
import posixpath
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .envvars import ConfigError, Lookup, expand, field_value
from .quantities import resource_field_value
from .sandbox import Mount

__all__ = [
    "FileEntry",
    "MountError",
    "Refused",
    "VolumePlan",
    "container_mounts",
    "materialize",
    "plan_volume",
    "refusal",
    "service_account_files",
]

Obj = dict[str, Any]
TokenSource = Callable[[int | None], str]  # expirationSeconds -> a ServiceAccount token
_FILE_TYPES = ("configMap", "secret", "downwardAPI", "projected")


class MountError(Exception):
    """A volume cannot be set up yet (``FailedMount``); the kubelet retries."""

    def __init__(self, volume: str, message: str) -> None:
        super().__init__(f'MountVolume.SetUp failed for volume "{volume}" : {message}')
        self.message = str(self)


class Refused(Exception):
    """The pod cannot run here at all; the kubelet rejects it (phase Failed)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class FileEntry:
    path: str  # relative to the volume's directory
    data: bytes
    mode: int


@dataclass(frozen=True)
class VolumePlan:
    name: str
    files: tuple[FileEntry, ...] = ()
    kind: str = "files"  # files | emptyDir | host
    host: str = ""  # for kind host: the host path to bind
    host_type: str = ""  # hostPath type: DirectoryOrCreate, FileOrCreate, …


def refusal(volume: Obj, *, allow_host_path: bool) -> Refused | None:
    """Why the kubelet will never mount ``volume``, or None."""
    name = volume.get("name", "")
    if "hostPath" in volume and not allow_host_path:
        return Refused(
            "HostPathNotAllowed",
            f'hostPath volume "{name}" is not allowed: the embedded cluster does not share host paths with pods '
            "(start it with TIPHYS_ALLOW_HOST_PATH=1 to allow them)",
        )
    supported = ("emptyDir", "hostPath", "persistentVolumeClaim", *_FILE_TYPES)
    kinds = [k for k in volume if k != "name"]
    if kinds and not any(k in supported for k in kinds):
        return Refused("UnsupportedVolume", f'volume "{name}": {kinds[0]} volumes are not supported by tiphys-local')
    return None


def _safe(path: str, volume: str) -> str:
    clean = posixpath.normpath(path)
    if clean.startswith(("/", "..")) or not path:
        raise Refused("InvalidVolume", f'volume "{volume}": invalid path "{path}": must be relative, without ".."')
    return clean


def _keyed(
    volume: str, kind: str, obj: Obj | None, source: Obj, *, optional: bool, default_mode: int
) -> list[FileEntry]:
    if obj is None:
        if optional:
            return []
        raise MountError(volume, f'{kind.lower()} "{source.get("name") or source.get("secretName")}" not found')
    if kind == "Secret":
        data = {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}
    else:
        data = {k: v.encode() for k, v in (obj.get("data") or {}).items()}
        data.update({k: base64.b64decode(v) for k, v in (obj.get("binaryData") or {}).items()})
    items = source.get("items")
    if not items:
        return [FileEntry(_safe(k, volume), v, default_mode) for k, v in sorted(data.items())]
    entries = []
    for item in items:
        key = item.get("key", "")
        if key not in data:
            if optional:
                continue
            raise MountError(volume, f"{kind.lower()} references non-existent config key: {key}")
        entries.append(FileEntry(_safe(item.get("path") or key, volume), data[key], item.get("mode", default_mode)))
    return entries


def _downward(
    volume: str, pod: Obj, items: list[Obj], default_mode: int, allocatable: Mapping[str, str]
) -> list[FileEntry]:
    entries = []
    for item in items:
        if "fieldRef" in item:
            try:
                value = field_value(pod, item["fieldRef"].get("fieldPath", ""))
            except ConfigError as exc:
                raise Refused("InvalidVolume", f'volume "{volume}": {exc.message}') from exc
        else:
            ref = item.get("resourceFieldRef") or {}
            containers = {c["name"]: c for c in (pod.get("spec") or {}).get("containers") or ()}
            container = containers.get(ref.get("containerName", ""), {})
            value = resource_field_value(container, ref.get("resource", ""), ref.get("divisor"), allocatable)
        entries.append(FileEntry(_safe(item.get("path", ""), volume), value.encode(), item.get("mode", default_mode)))
    return entries


def plan_volume(
    pod: Obj,
    volume: Obj,
    *,
    lookup: Lookup,
    token: TokenSource,
    allocatable: Mapping[str, str],
    allowed_roots: tuple[str, ...],
) -> VolumePlan:
    """What ``volume`` holds now; :class:`MountError` while a source is missing."""
    name = volume.get("name", "")
    if "emptyDir" in volume:
        return VolumePlan(name, kind="emptyDir")
    if "hostPath" in volume:
        source = volume["hostPath"]
        return VolumePlan(name, kind="host", host=source.get("path", ""), host_type=source.get("type", ""))
    if "persistentVolumeClaim" in volume:
        return VolumePlan(name, kind="host", host=_claimed_path(volume, lookup, allowed_roots))
    files: list[FileEntry] = []
    for kind, key in (("ConfigMap", "configMap"), ("Secret", "secret")):
        if key in volume:
            source = volume[key]
            obj = lookup(kind, source.get("name") or source.get("secretName") or "")
            mode = source.get("defaultMode", 0o644)
            files = _keyed(name, kind, obj, source, optional=bool(source.get("optional")), default_mode=mode)
    if "downwardAPI" in volume:
        source = volume["downwardAPI"]
        files = _downward(name, pod, source.get("items") or [], source.get("defaultMode", 0o644), allocatable)
    if "projected" in volume:
        projected = volume["projected"]
        mode = projected.get("defaultMode", 0o644)
        for part in projected.get("sources") or ():
            for kind, key in (("ConfigMap", "configMap"), ("Secret", "secret")):
                if key in part:
                    source = part[key]
                    obj = lookup(kind, source.get("name", ""))
                    files += _keyed(name, kind, obj, source, optional=bool(source.get("optional")), default_mode=mode)
            if "downwardAPI" in part:
                files += _downward(name, pod, part["downwardAPI"].get("items") or [], mode, allocatable)
            if "serviceAccountToken" in part:
                source = part["serviceAccountToken"]
                data = token(source.get("expirationSeconds")).encode()
                files.append(FileEntry(_safe(source.get("path", "token"), name), data, mode))
    return VolumePlan(name, tuple(files))


def _claimed_path(volume: Obj, lookup: Lookup, allowed_roots: tuple[str, ...]) -> str:
    name = volume.get("name", "")
    claim_name = volume["persistentVolumeClaim"].get("claimName", "")
    claim = lookup("PersistentVolumeClaim", claim_name)
    if claim is None:
        raise MountError(name, f'persistentvolumeclaim "{claim_name}" not found')
    pv_name = (claim.get("spec") or {}).get("volumeName")
    if (claim.get("status") or {}).get("phase") != "Bound" or not pv_name:
        raise MountError(name, f'persistentvolumeclaim "{claim_name}" is not bound')
    pv = lookup("PersistentVolume", pv_name)
    spec = (pv or {}).get("spec") or {}
    path = (spec.get("hostPath") or spec.get("local") or {}).get("path", "")
    if not path:
        raise MountError(name, f'persistentvolume "{pv_name}" has no local or hostPath directory')
    if allowed_roots and not any(path == r or path.startswith(r.rstrip("/") + "/") for r in allowed_roots):
        raise Refused(
            "HostPathNotAllowed", f'volume "{name}": persistentvolume "{pv_name}" points outside the data dir'
        )
    return str(path)


def service_account_files(token: str, ca: bytes, namespace: str) -> tuple[FileEntry, ...]:
    """The files at ``/var/run/secrets/kubernetes.io/serviceaccount/``."""
    return (
        FileEntry("ca.crt", ca, 0o644),
        FileEntry("namespace", namespace.encode(), 0o644),
        FileEntry("token", token.encode(), 0o644),
    )


# I/O ---------------------------------------------------------------------------------------


def materialize(plan: VolumePlan, directory: Path) -> None:
    """Create the volume's directory (and files) under the pod's directory."""
    if plan.kind == "emptyDir":
        directory.mkdir(parents=True, exist_ok=True)
        return
    if plan.kind == "host":
        if plan.host_type == "DirectoryOrCreate":
            Path(plan.host).mkdir(parents=True, exist_ok=True)
        elif plan.host_type == "FileOrCreate" and not os.path.exists(plan.host):
            Path(plan.host).parent.mkdir(parents=True, exist_ok=True)
            Path(plan.host).touch()
        return
    staging = directory.with_name(directory.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for entry in plan.files:
        target = staging / entry.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(entry.data)
        target.chmod(entry.mode & 0o777)
    shutil.rmtree(directory, ignore_errors=True)
    staging.rename(directory)


def container_mounts(
    container: Obj, plans: Mapping[str, VolumePlan], dirs: Mapping[str, Path], variables: Mapping[str, str]
) -> list[Mount]:
    """The container's volumeMounts as sandbox mounts; ``ConfigError`` for a bad one."""
    mounts = []
    for spec in container.get("volumeMounts") or ():
        name = spec.get("name", "")
        plan = plans.get(name)
        if plan is None:
            raise ConfigError(f'unable to find volume "{name}" for volumeMount')
        root = Path(plan.host) if plan.kind == "host" else dirs[name]
        source = root
        sub = spec.get("subPath") or expand(spec.get("subPathExpr") or "", variables)
        if sub:
            source = root / sub
            if plan.kind == "emptyDir" and not source.exists():
                source.mkdir(parents=True, exist_ok=True)
            real, top = os.path.realpath(source), os.path.realpath(root)
            if real != top and not real.startswith(top + "/"):
                raise ConfigError(f'subPath "{sub}" of volume "{name}" points outside the volume')
        writable = plan.kind != "files" and not spec.get("readOnly")
        mounts.append(Mount(spec.get("mountPath", ""), str(source), writable))
    return mounts
