"""Pods for container and script nodes (spec §8.1-§8.2) and how their outputs come back.

No host access is needed: ``outputs.result`` is the main container's stdout (read by the runtime
through the pods/log API), and output parameters from files travel in the termination message.
When a template declares ``valueFrom.path`` outputs or is a script, the main container runs under a
small POSIX ``sh`` wrapper: ``["sh", "-c", WRAPPER, "argo", *user argv]``. The user's argv is passed
as positional arguments, never interpolated; the script source and the output paths travel in
environment variables. After the user's command ends the wrapper writes one record per declared
path (``<index> <bytes>`` then the bytes, or ``<index> -`` when missing) to /dev/termination-log,
and exits with the command's status. Records over 4 KiB (Kubernetes' cap) become ``too-large``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from .model import (
    ANNOTATION_DEFAULT_CONTAINER,
    ANNOTATION_NODE_ID,
    ANNOTATION_NODE_NAME,
    ANNOTATION_POD_GC,
    GROUP_VERSION,
    LABEL_COMPLETED,
    LABEL_ON_EXIT,
    LABEL_WORKFLOW,
)

__all__ = ["OUTPUTS_HEADER", "WRAPPER", "build_pod", "output_paths", "parse_outputs_record"]

OUTPUTS_HEADER = "argo-outputs 1"
MESSAGE_LIMIT = 4096

# $ARGO_SCRIPT (when set) is staged to a file appended to the argv; $ARGO_OUTPUT_PATHS is one path per line;
# $ARGO_TERMINATION_LOG is the container's terminationMessagePath.
WRAPPER = r"""set -f
if [ -n "${ARGO_SCRIPT+x}" ]; then
  script="${TMPDIR:-/tmp}/argo-script"
  printf '%s' "$ARGO_SCRIPT" > "$script"
  set -- "$@" "$script"
fi
"$@"
rc=$?
if [ -n "${ARGO_OUTPUT_PATHS+x}" ]; then
  rec=$(
    printf 'argo-outputs 1\n'
    i=0
    IFS='
'
    for p in $ARGO_OUTPUT_PATHS; do
      if [ -f "$p" ]; then
        printf '%s %s\n' "$i" "$(wc -c < "$p" | tr -d ' ')"
        cat "$p"
        printf '\n'
      else
        printf '%s -\n' "$i"
      fi
      i=$((i+1))
    done
    printf x
  )
  rec=${rec%x}
  size=$(printf '%s' "$rec" | wc -c | tr -d ' ')
  if [ "$size" -gt 4096 ]; then
    rec="argo-outputs 1
too-large $size"
  fi
  printf '%s' "$rec" > "${ARGO_TERMINATION_LOG:-/dev/termination-log}"
fi
exit $rc
"""


def output_paths(template: Mapping[str, Any]) -> list[str]:
    """The ``valueFrom.path`` of each declared output parameter, in order."""
    params = (template.get("outputs") or {}).get("parameters") or []
    return [p["valueFrom"]["path"] for p in params if (p.get("valueFrom") or {}).get("path")]


def parse_outputs_record(message: str, count: int) -> list[bytes | None] | str:
    """The file contents (``None`` = missing) from a termination message, or an error text."""
    data = message.encode()
    header = OUTPUTS_HEADER.encode() + b"\n"
    if not data.startswith(header):
        return "output parameters were not reported (no outputs record in the termination message)"
    pos = len(header)
    if data[pos:].startswith(b"too-large "):
        size = data[pos + len(b"too-large ") :].split(b"\n")[0].decode()
        return (f"output parameters are {size} bytes, over the {MESSAGE_LIMIT}-byte termination message limit; "
                "write smaller outputs")
    out: list[bytes | None] = []
    for _ in range(count):
        end = data.find(b"\n", pos)
        if end < 0:
            return "output parameters record is truncated"
        _, _, size = data[pos:end].decode().partition(" ")
        pos = end + 1
        if size == "-":
            out.append(None)
            continue
        n = int(size)
        if pos + n > len(data):
            return "output parameters record is truncated"
        out.append(data[pos : pos + n])
        pos += n + 1
    return out


def _main_container(template: Mapping[str, Any], *, env: list[dict[str, Any]]) -> dict[str, Any]:
    is_script = template.get("script") is not None
    spec = dict((template.get("script") if is_script else template.get("container")) or {})
    source = spec.pop("source", None)
    container: dict[str, Any] = {k: v for k, v in spec.items() if k != "name"}
    container["name"] = "main"
    argv = [str(a) for a in [*(spec.get("command") or []), *(spec.get("args") or [])]]
    paths = output_paths(template)
    extra_env = list(env)
    if is_script:
        if not spec.get("command"):
            argv = ["sh", *argv]
        extra_env.append({"name": "ARGO_SCRIPT", "value": source or ""})
    if paths:
        extra_env.append({"name": "ARGO_OUTPUT_PATHS", "value": "\n".join(paths)})
        message_path = str(spec.get("terminationMessagePath") or "/dev/termination-log")
        container["terminationMessagePath"] = message_path
        extra_env.append({"name": "ARGO_TERMINATION_LOG", "value": message_path})
    if is_script or paths:
        container["command"] = ["sh", "-c", WRAPPER, "argo", *argv]
        container.pop("args", None)
    container["env"] = [*(spec.get("env") or []), *extra_env]
    return container


def build_pod(
    *,
    workflow: Mapping[str, Any],
    template: Mapping[str, Any],
    pod_name: str,
    node_id: str,
    node_name: str,
    on_exit: bool,
    deadline_seconds: int | None,
) -> dict[str, Any]:
    """The full Pod manifest for one container/script node."""
    meta = workflow.get("metadata") or {}
    spec = workflow.get("spec") or {}
    wf_name = meta.get("name", "")
    pod_meta = spec.get("podMetadata") or {}
    tmpl_meta = template.get("metadata") or {}
    labels = {
        **(pod_meta.get("labels") or {}),
        **(tmpl_meta.get("labels") or {}),
        LABEL_WORKFLOW: wf_name,
        LABEL_COMPLETED: "false",
    }
    if on_exit:
        labels[LABEL_ON_EXIT] = "true"
    annotations = {
        **(pod_meta.get("annotations") or {}),
        **(tmpl_meta.get("annotations") or {}),
        ANNOTATION_NODE_NAME: node_name,
        ANNOTATION_NODE_ID: node_id,
        ANNOTATION_DEFAULT_CONTAINER: "main",
    }
    pod_gc = spec.get("podGC") or {}
    if pod_gc.get("strategy"):
        annotations[ANNOTATION_POD_GC] = f"{pod_gc['strategy']}/{pod_gc.get('deleteDelayDuration', '')}"
    env = [
        {"name": "ARGO_CONTAINER_NAME", "value": "main"},
        {"name": "ARGO_TEMPLATE", "value": json.dumps(_template_env(template), separators=(",", ":"))},
        {"name": "ARGO_NODE_ID", "value": node_id},
        {"name": "ARGO_WORKFLOW_NAME", "value": wf_name},
        {"name": "ARGO_POD_NAME", "value": pod_name},
    ]
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "containers": [_main_container(template, env=env)],
    }
    for key in ("initContainers",):
        if template.get(key):
            pod_spec[key] = list(template[key])
    if template.get("sidecars"):
        pod_spec["containers"].extend(template["sidecars"])
    sa = template.get("serviceAccountName") or spec.get("serviceAccountName")
    if sa:
        pod_spec["serviceAccountName"] = sa
    automount = template.get("automountServiceAccountToken", spec.get("automountServiceAccountToken"))
    if automount is not None:
        pod_spec["automountServiceAccountToken"] = automount
    for key in ("nodeSelector", "tolerations", "affinity", "securityContext", "imagePullSecrets",
                "hostNetwork", "dnsPolicy", "priorityClassName"):
        value = template.get(key, spec.get(key))
        if value is not None:
            pod_spec[key] = value
    if spec.get("podPriorityClassName") and "priorityClassName" not in pod_spec:
        pod_spec["priorityClassName"] = spec["podPriorityClassName"]
    volumes = [*(spec.get("volumes") or []), *(template.get("volumes") or [])]
    if volumes:
        pod_spec["volumes"] = volumes
    if deadline_seconds is not None:
        pod_spec["activeDeadlineSeconds"] = max(1, deadline_seconds)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": pod_name,
            "namespace": meta.get("namespace") or "default",
            "labels": labels,
            "annotations": annotations,
            "ownerReferences": [
                {
                    "apiVersion": GROUP_VERSION,
                    "kind": "Workflow",
                    "name": wf_name,
                    "uid": meta.get("uid", ""),
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": pod_spec,
    }


def _template_env(template: Mapping[str, Any]) -> dict[str, Any]:
    """ARGO_TEMPLATE: the template minus input parameter values (upstream strips them)."""
    out = {k: v for k, v in template.items() if k != "inputs"}
    return out


def positional(argv: Sequence[str]) -> list[str]:
    """The user's argv as the wrapper receives it (for tests)."""
    return ["sh", "-c", WRAPPER, "argo", *argv]
