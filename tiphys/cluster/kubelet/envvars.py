"""A container's environment and argv, as upstream's kubelet builds them, without I/O.

``envFrom`` comes first, then ``env`` in order; a ``value`` may refer to variables defined
before it as ``$(NAME)`` (``$$`` escapes), and the final environment expands ``command`` and
``args`` the same way (upstream ``third_party/forked/golang/expansion``). ConfigMaps and Secrets
are read through a ``lookup`` callable; what is missing raises :class:`ConfigError` with the
message the real kubelet shows (``configmap "x" not found``).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .quantities import resource_field_value

__all__ = ["ConfigError", "Environment", "Lookup", "container_environment", "expand", "field_value", "pod_command"]

Obj = dict[str, Any]
Lookup = Callable[[str, str], Obj | None]  # (kind "ConfigMap" | "Secret", name) -> object or None
NODE_IP = "127.0.0.1"
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_SUBSCRIPT = re.compile(r"^metadata\.(labels|annotations)\['(.+)'\]$")


class ConfigError(Exception):
    """The container cannot be configured yet; the kubelet retries (``CreateContainerConfigError``)."""

    reason = "CreateContainerConfigError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Environment:
    variables: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # messages for InvalidEnvironmentVariableNames events


def expand(text: str, variables: Mapping[str, str]) -> str:
    """Replace ``$(NAME)`` with defined variables, ``$$`` with ``$``; leave everything else."""
    out: list[str] = []
    checkpoint = 0
    cursor = 0
    while cursor < len(text):
        if text[cursor] == "$" and cursor + 1 < len(text):
            out.append(text[checkpoint:cursor])
            rest = text[cursor + 1 :]
            if rest[0] == "$":
                out.append("$")
                advance = 1
            elif rest[0] == "(":
                close = rest.find(")", 1)
                if close == -1:
                    out.append("$(")
                    advance = 1
                else:
                    name = rest[1:close]
                    out.append(variables.get(name, f"$({name})"))
                    advance = close + 1
            else:
                out.append("$" + rest[0])
                advance = 1
            cursor += advance
            checkpoint = cursor + 1
        cursor += 1
    return "".join(out) + text[checkpoint:]


def _format_map(values: Mapping[str, str]) -> str:
    """Labels or annotations as a downward API file shows them: sorted ``key="value"`` lines."""
    return "\n".join(f"{k}={_go_quote(values[k])}" for k in sorted(values))


def _go_quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped.replace(chr(13), chr(92) + "r")}"'


def field_value(pod: Obj, path: str) -> str:
    """A ``fieldRef`` of the downward API (env or volume)."""
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    simple = {
        "metadata.name": meta.get("name", ""),
        "metadata.namespace": meta.get("namespace", ""),
        "metadata.uid": meta.get("uid", ""),
        "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", ""),
        "status.hostIP": NODE_IP,
        "status.hostIPs": NODE_IP,
        "status.podIP": NODE_IP,
        "status.podIPs": NODE_IP,
    }
    if path in simple:
        return str(simple[path])
    if path in ("metadata.labels", "metadata.annotations"):
        return _format_map(meta.get(path.split(".", 1)[1]) or {})
    subscript = _SUBSCRIPT.match(path)
    if subscript:
        return str((meta.get(subscript.group(1)) or {}).get(subscript.group(2), ""))
    raise ConfigError(f'unsupported fieldRef "{path}"')


def _data(kind: str, obj: Obj) -> dict[str, str]:
    if kind == "Secret":
        return {k: base64.b64decode(v).decode("utf-8", "surrogateescape") for k, v in (obj.get("data") or {}).items()}
    return dict(obj.get("data") or {})


def _source(lookup: Lookup, cache: dict[tuple[str, str], Obj], kind: str, name: str, optional: bool) -> Obj | None:
    key = (kind, name)
    if key not in cache:
        found = lookup(kind, name)
        if found is None:
            if optional:
                return None
            raise ConfigError(f'{kind.lower()} "{name}" not found')
        cache[key] = found
    return cache[key]


def container_environment(
    pod: Obj,
    container: Obj,
    *,
    lookup: Lookup,
    service_env: Mapping[str, str],
    allocatable: Mapping[str, str],
) -> Environment:
    """The variables a container starts with: base and service variables, envFrom, then env."""
    namespace = pod["metadata"].get("namespace", "")
    env = Environment()
    declared: dict[str, str] = {}
    cache: dict[tuple[str, str], Obj] = {}
    for source in container.get("envFrom") or ():
        prefix = source.get("prefix") or ""
        for kind, ref_key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
            ref = source.get(ref_key)
            if ref is None:
                continue
            obj = _source(lookup, cache, kind, ref.get("name", ""), bool(ref.get("optional")))
            if obj is None:
                continue
            invalid = []
            for key, value in _data(kind, obj).items():
                name = prefix + key
                if not _ENV_NAME.match(name):
                    invalid.append(name)
                    continue
                declared[name] = value
            if invalid:
                env.warnings.append(
                    f"Keys [{', '.join(sorted(invalid))}] from the EnvFrom {kind.lower()} "
                    f"{namespace}/{ref.get('name', '')} were skipped since they are considered invalid "
                    "environment variable names."
                )
    for var in container.get("env") or ():
        name = var.get("name", "")
        value = var.get("value") or ""
        source = var.get("valueFrom")
        if value:
            value = expand(value, {**service_env, **declared})
        elif source:
            if "fieldRef" in source:
                value = field_value(pod, source["fieldRef"].get("fieldPath", ""))
            elif "resourceFieldRef" in source:
                ref = source["resourceFieldRef"]
                target = _container_named(pod, ref.get("containerName") or container.get("name", ""))
                value = resource_field_value(target, ref.get("resource", ""), ref.get("divisor"), allocatable)
            else:
                found = _key_ref(source, lookup=lookup, cache=cache, namespace=namespace)
                if found is None:
                    continue
                value = found
        declared[name] = value
    env.variables = {**declared, **{k: v for k, v in service_env.items() if k not in declared}}
    return env


def _key_ref(source: Obj, *, lookup: Lookup, cache: dict[tuple[str, str], Obj], namespace: str) -> str | None:
    """A configMapKeyRef or secretKeyRef value; None when it is optional and missing."""
    for kind, ref_key in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
        ref = source.get(ref_key)
        if ref is None:
            continue
        optional = bool(ref.get("optional"))
        obj = _source(lookup, cache, kind, ref.get("name", ""), optional)
        data = _data(kind, obj) if obj is not None else {}
        key = ref.get("key", "")
        if key in data:
            return data[key]
        if optional:
            return None
        raise ConfigError(f"couldn't find key {key} in {kind} {namespace}/{ref.get('name', '')}")
    return ""


def _container_named(pod: Obj, name: str) -> Obj:
    spec = pod.get("spec") or {}
    for container in [*(spec.get("containers") or ()), *(spec.get("initContainers") or ())]:
        if container.get("name") == name:
            found: Obj = container
            return found
    raise ConfigError(f"container {name} not found in pod for resourceFieldRef")


def pod_command(container: Obj, variables: Mapping[str, str]) -> list[str]:
    """``command`` + ``args`` with ``$(NAME)`` expanded against the final environment."""
    return [expand(part, variables) for part in [*(container.get("command") or ()), *(container.get("args") or ())]]
