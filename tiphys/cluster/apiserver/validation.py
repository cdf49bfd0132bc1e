"""Validation as the real server does it, for what users trip on.

Three layers, in upstream's order: decoding (types and unknown fields against the schema,
answered 400), object validation (names, required fields, kind rules, answered 422 Invalid),
and update validation (immutable fields, answered 422 Invalid).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from typing import Any

import orjson

from . import errors, schema, schemawalk
from .resources import ResourceType

__all__ = ["check_decoding", "normalize", "validate_create", "validate_update"]

Obj = dict[str, Any]
Cause = dict[str, str]

DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")

SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
    "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
DNS1035_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
    "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
    "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)

# Kinds whose names are DNS labels rather than subdomains.
_LABEL_NAMED = {("", "Namespace"), ("apps", "StatefulSet"), ("batch", "CronJob")}
_DNS1035_NAMED = {("", "Service")}


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _cause(field: str, kind: str, detail: str, value: Any = None, *, show_value: bool = True) -> Cause:
    reasons = {
        "Required value": "FieldValueRequired",
        "Invalid value": "FieldValueInvalid",
        "Forbidden": "FieldValueForbidden",
        "Unsupported value": "FieldValueNotSupported",
        "Duplicate value": "FieldValueDuplicate",
        "Too long": "FieldValueTooLong",
    }
    if kind in ("Invalid value", "Unsupported value", "Duplicate value") and show_value:
        rendered = f'"{value}"' if isinstance(value, str) else _json(value)
        message = f"{kind}: {rendered}: {detail}" if detail else f"{kind}: {rendered}"
    else:
        message = f"{kind}: {detail}" if detail else kind
    return {"reason": reasons.get(kind, "FieldValueInvalid"), "message": message, "field": field}


# Decoding --------------------------------------------------------------------------------

_KEPT_TOP = frozenset({"metadata", "status", "spec"})


def normalize(rt: ResourceType, root: schema.Node | None, obj: Obj) -> None:
    """Drop what upstream would not store: empty metadata maps and lists, and omitempty fields."""
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        for key in ("labels", "annotations", "finalizers", "ownerReferences", "managedFields"):
            if key in meta and not meta[key]:
                del meta[key]
    if rt.crd is None and root is not None:
        schemawalk.drop_empty(obj, schemawalk.compiled(root), _KEPT_TOP)


def check_decoding(rt: ResourceType, root: schema.Node | None, obj: Obj, field_validation: str) -> list[str]:
    """Type-check ``obj`` against the schema and handle unknown fields per ``fieldValidation``.

    Returns warnings (for ``Warn``); raises 400 for type errors, and for unknown fields under
    ``Strict``; under ``Ignore`` unknown fields are dropped from ``obj``.
    """
    node = schemawalk.compiled(root)
    if node is None:
        return []
    unknown: list[str] = []
    type_errors: list[str] = []
    # Unknown fields never reach storage: Go structs drop them, and CRDs prune them.
    if obj is not None:
        schemawalk.decode_walk(obj, node, "", unknown, type_errors, field_validation != "Strict")
    if not type_errors and not unknown:
        return []
    prefix = f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '
    if type_errors:
        raise errors.bad_request(prefix + "json: " + type_errors[0])
    if field_validation == "Strict":
        detail = ", ".join(f'unknown field "{f}"' for f in unknown)
        raise errors.bad_request(prefix + "strict decoding error: " + detail)
    if field_validation == "Warn":
        return [f'unknown field "{f}"' for f in unknown]
    return []


# Object validation -----------------------------------------------------------------------


def _name_causes(rt: ResourceType, name: str) -> list[Cause]:
    ident = (rt.group, rt.kind)
    if ident in _DNS1035_NAMED:
        pattern, message, limit = DNS1035_LABEL, DNS1035_MSG, 63
    elif ident in _LABEL_NAMED:
        pattern, message, limit = DNS1123_LABEL, LABEL_MSG, 63
    elif rt.kind in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"):
        # RBAC names are path segments: anything but '/', '%' and '.'/'..'.
        if name in (".", "..") or "/" in name or "%" in name:
            return [_cause("metadata.name", "Invalid value", "may not contain '/' or '%'", name)]
        return []
    else:
        pattern, message, limit = DNS1123_SUBDOMAIN, SUBDOMAIN_MSG, 253
    causes = []
    if len(name) > limit:
        causes.append(_cause("metadata.name", "Invalid value", f"must be no more than {limit} characters", name))
    if not pattern.match(name):
        causes.append(_cause("metadata.name", "Invalid value", message, name))
    return causes


# Strings already found valid: most writes repeat the same label keys and values and data keys,
# and the regular expressions are the bulk of checking them. Bounded for long-running servers.
_VALID: dict[str, set[str]] = {"key": set(), "value": set(), "config": set()}
_VALID_LIMIT = 10_000


def _remember(kind: str, text: str) -> None:
    known = _VALID[kind]
    if len(known) >= _VALID_LIMIT:
        known.clear()
    known.add(text)


def _qualified_key_causes(field: str, key: str) -> list[Cause]:
    if key.__class__ is str and key in _VALID["key"]:
        return []
    causes = _key_causes(field, key)
    if not causes:
        _remember("key", key)
    return causes


def _key_causes(field: str, key: str) -> list[Cause]:
    prefix, _, name = key.rpartition("/")
    causes = []
    if prefix and (len(prefix) > 253 or not DNS1123_SUBDOMAIN.match(prefix)):
        causes.append(_cause(field, "Invalid value", "prefix part " + SUBDOMAIN_MSG, key))
    if not name or len(name) > 63 or not QUALIFIED_NAME.match(name):
        causes.append(
            _cause(
                field,
                "Invalid value",
                "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
                "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
                "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
                key,
            )
        )
    return causes


def _meta_causes(meta: Obj) -> list[Cause]:
    causes: list[Cause] = []
    good_values = _VALID["value"]
    for key, value in (meta.get("labels") or {}).items():
        causes += _qualified_key_causes("metadata.labels", key)
        if value.__class__ is str and value in good_values:
            continue
        if isinstance(value, str) and len(value) <= 63 and LABEL_VALUE.match(value):
            _remember("value", value)
        else:
            causes.append(
                _cause(
                    "metadata.labels",
                    "Invalid value",
                    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                    "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
                    "'12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
                    value,
                )
            )
    annotations = meta.get("annotations") or {}
    for key in annotations:
        causes += _qualified_key_causes("metadata.annotations", key)
    total = sum(len(k) + len(v) for k, v in annotations.items() if isinstance(v, str))
    if total > 256 * 1024:
        causes.append(_cause("metadata.annotations", "Too long", "must have at most 262144 bytes"))
    return causes


def _pod_spec_causes(spec: Any, path: str, *, allowed_restart: tuple[str, ...] | None = None) -> list[Cause]:
    if not isinstance(spec, dict):
        return [_cause(path, "Required value", "")]
    causes: list[Cause] = []
    containers = spec.get("containers") or []
    if not containers:
        causes.append(_cause(f"{path}.containers", "Required value", ""))
    seen: set[str] = set()
    for group in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(group) or []):
            if not isinstance(c, dict):
                continue
            name = c.get("name")
            field = f"{path}.{group}[{i}]"
            if not name:
                causes.append(_cause(f"{field}.name", "Required value", ""))
            elif not DNS1123_LABEL.match(name):
                causes.append(_cause(f"{field}.name", "Invalid value", LABEL_MSG, name))
            elif name in seen:
                causes.append(_cause(f"{field}.name", "Duplicate value", "", name))
            else:
                seen.add(name)
            if not c.get("image"):
                causes.append(_cause(f"{field}.image", "Required value", ""))
    policy = spec.get("restartPolicy")
    if allowed_restart and policy not in allowed_restart:
        supported = ", ".join(f'"{p}"' for p in allowed_restart)
        if policy is None:
            causes.append(_cause(f"{path}.restartPolicy", "Required value", f"valid values: {supported}"))
        else:
            causes.append(
                _cause(f"{path}.restartPolicy", "Unsupported value", f"supported values: {supported}", policy)
            )
    return causes


def _selector_matches(selector: Any, labels: dict[str, str]) -> bool:
    if not isinstance(selector, dict):
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or ():
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _workload_causes(obj: Obj) -> list[Cause]:
    spec = obj.get("spec") or {}
    causes: list[Cause] = []
    selector = spec.get("selector")
    template = spec.get("template") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    if not selector:
        causes.append(_cause("spec.selector", "Required value", ""))
    elif not (selector.get("matchLabels") or selector.get("matchExpressions")):
        causes.append(_cause("spec.selector", "Invalid value", "empty selector is invalid for deployment", selector))
    elif not _selector_matches(selector, labels):
        causes.append(
            _cause(
                "spec.template.metadata.labels", "Invalid value", "`selector` does not match template `labels`", labels
            )
        )
    causes += _pod_spec_causes(template.get("spec"), "spec.template.spec", allowed_restart=("Always",))
    replicas = spec.get("replicas")
    if isinstance(replicas, int) and replicas < 0:
        causes.append(_cause("spec.replicas", "Invalid value", "must be greater than or equal to 0", replicas))
    return causes


def _job_causes(obj: Obj) -> list[Cause]:
    spec = obj.get("spec") or {}
    causes = _pod_spec_causes(
        (spec.get("template") or {}).get("spec"), "spec.template.spec", allowed_restart=("OnFailure", "Never")
    )
    for field in ("parallelism", "completions", "backoffLimit", "activeDeadlineSeconds"):
        value = spec.get(field)
        if isinstance(value, int) and value < (1 if field == "activeDeadlineSeconds" else 0):
            limit = "greater than 0" if field == "activeDeadlineSeconds" else "greater than or equal to 0"
            causes.append(_cause(f"spec.{field}", "Invalid value", f"must be {limit}", value))
    return causes


def _cronjob_causes(obj: Obj) -> list[Cause]:
    spec = obj.get("spec") or {}
    causes: list[Cause] = []
    if not spec.get("schedule"):
        causes.append(_cause("spec.schedule", "Required value", ""))
    job_spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    causes += _pod_spec_causes(
        (job_spec.get("template") or {}).get("spec"),
        "spec.jobTemplate.spec.template.spec",
        allowed_restart=("OnFailure", "Never"),
    )
    return causes


def _service_causes(obj: Obj) -> list[Cause]:
    spec = obj.get("spec") or {}
    causes: list[Cause] = []
    kind = spec.get("type", "ClusterIP")
    if kind not in ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"):
        causes.append(
            _cause(
                "spec.type",
                "Unsupported value",
                'supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
                kind,
            )
        )
    if kind == "ExternalName":
        if not spec.get("externalName"):
            causes.append(_cause("spec.externalName", "Required value", ""))
    elif not spec.get("ports") and spec.get("clusterIP") != "None":
        causes.append(_cause("spec.ports", "Required value", ""))
    for i, port in enumerate(spec.get("ports") or []):
        number = port.get("port")
        if not isinstance(number, int) or not 1 <= number <= 65535:
            causes.append(
                _cause(f"spec.ports[{i}].port", "Invalid value", "must be between 1 and 65535, inclusive", number)
            )
    return causes


def _data_key_causes(obj: Obj) -> list[Cause]:
    causes = []
    good = _VALID["config"]
    for field in ("data", "binaryData", "stringData"):
        for key in obj.get(field) or {}:
            if key.__class__ is str and key in good:
                continue
            if CONFIG_KEY.match(key) and len(key) <= 253:
                _remember("config", key)
            else:
                causes.append(
                    _cause(
                        f"{field}[{key}]",
                        "Invalid value",
                        "a valid config key must consist of alphanumeric characters, '-', '_' or '.' "
                        "(e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation "
                        "is '[-._a-zA-Z0-9]+')",
                        key,
                    )
                )
    return causes


def _secret_causes(obj: Obj) -> list[Cause]:
    causes = _data_key_causes(obj)
    for key, value in (obj.get("data") or {}).items():
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError, TypeError):
            causes.append(
                _cause(f"data[{key}]", "Invalid value", "illegal base64 data", "<secret value>", show_value=False)
            )
    return causes


def _crd_causes(obj: Obj) -> list[Cause]:
    spec = obj.get("spec") or {}
    names = spec.get("names") or {}
    group = spec.get("group", "")
    causes: list[Cause] = []
    if not group:
        causes.append(_cause("spec.group", "Required value", ""))
    elif "." not in group:
        causes.append(_cause("spec.group", "Invalid value", "should be a domain with at least one dot", group))
    for field in ("plural", "kind"):
        if not names.get(field):
            causes.append(_cause(f"spec.names.{field}", "Required value", ""))
    if names.get("plural") and group and obj["metadata"].get("name") != f"{names['plural']}.{group}":
        causes.append(
            _cause(
                "metadata.name",
                "Invalid value",
                'must be spec.names.plural+"."+spec.group',
                obj["metadata"].get("name", ""),
            )
        )
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        causes.append(
            _cause(
                "spec.scope", "Unsupported value", 'supported values: "Cluster", "Namespaced"', spec.get("scope", "")
            )
        )
    versions = spec.get("versions") or []
    if not versions or sum(1 for v in versions if v.get("storage")) != 1:
        causes.append(
            _cause(
                "spec.versions", "Invalid value", "must have exactly one version marked as storage version", versions
            )
        )
    return causes


_KIND_RULES: dict[tuple[str, str], Callable[[Obj], list[Cause]]] = {
    ("", "Pod"): lambda o: _pod_spec_causes(o.get("spec"), "spec"),
    ("", "Service"): _service_causes,
    ("", "ConfigMap"): _data_key_causes,
    ("", "Secret"): _secret_causes,
    ("apps", "Deployment"): _workload_causes,
    ("apps", "ReplicaSet"): _workload_causes,
    ("apps", "StatefulSet"): _workload_causes,
    ("apps", "DaemonSet"): _workload_causes,
    ("batch", "Job"): _job_causes,
    ("batch", "CronJob"): _cronjob_causes,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): _crd_causes,
}


def validate_create(rt: ResourceType, root: schema.Node | None, obj: Obj) -> None:
    """Names, metadata, required fields and kind rules; raises 422 Invalid with every cause."""
    meta = obj["metadata"]
    name = meta.get("name", "")
    causes = _name_causes(rt, name) + _meta_causes(meta)
    if rt.crd is None and root is not None:
        required: list[Cause] = []
        # metadata was checked above; schemas that require it (Event) find it present.
        schemawalk.required_walk(obj, schemawalk.compiled(root), "", required, skip="metadata")
        causes += required
    rule = _KIND_RULES.get((rt.group, rt.kind))
    if rule is not None:
        causes += rule(obj)
    elif rt.crd is not None and root is not None:
        required = []
        # The object's own metadata: a CRD schema may list it as required (upstream's Workflow CRD does).
        schemawalk.required_walk(obj, schemawalk.compiled(root), "", required)
        causes += required
    if causes:
        raise errors.invalid(rt.kind, rt.group, name, _dedupe(causes))


def _dedupe(causes: list[Cause]) -> list[Cause]:
    seen: set[tuple[str, str]] = set()
    out = []
    for c in causes:
        ident = (c.get("field", ""), c["message"])
        if ident not in seen:
            seen.add(ident)
            out.append(c)
    return out


# Update validation -----------------------------------------------------------------------

_IMMUTABLE: dict[tuple[str, str], tuple[tuple[str, ...], ...]] = {
    ("batch", "Job"): (("spec", "selector"), ("spec", "template"), ("spec", "completionMode")),
    ("apps", "Deployment"): (("spec", "selector"),),
    ("apps", "ReplicaSet"): (("spec", "selector"),),
    ("apps", "StatefulSet"): (
        ("spec", "selector"),
        ("spec", "serviceName"),
        ("spec", "volumeClaimTemplates"),
        ("spec", "podManagementPolicy"),
    ),
    ("apps", "DaemonSet"): (("spec", "selector"),),
    ("", "Service"): (("spec", "clusterIP"),),
    ("", "PersistentVolumeClaim"): (("spec", "storageClassName"), ("spec", "volumeMode")),
    ("apiextensions.k8s.io", "CustomResourceDefinition"): (("spec", "scope"),),
    ("rbac.authorization.k8s.io", "RoleBinding"): (("roleRef",),),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): (("roleRef",),),
}


def _get(obj: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _pod_update_causes(old: Obj, new: Obj) -> list[Cause]:
    """Pod spec is immutable except container images, activeDeadlineSeconds and tolerations."""

    def mutable_view(spec: Any) -> Any:
        if not isinstance(spec, dict):
            return spec
        view = {
            k: v
            for k, v in spec.items()
            if k not in ("activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds", "nodeName")
        }
        for group in ("containers", "initContainers"):
            if isinstance(view.get(group), list):
                view[group] = [
                    {k: v for k, v in c.items() if k != "image"} if isinstance(c, dict) else c for c in view[group]
                ]
        return view

    old_spec, new_spec = old.get("spec"), new.get("spec")
    causes: list[Cause] = []
    if mutable_view(old_spec) != mutable_view(new_spec):
        causes.append(
            _cause(
                "spec",
                "Forbidden",
                "pod updates may not change fields other than `spec.containers[*].image`,"
                "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to "
                "existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was "
                "previously negative)",
            )
        )
    if (old_spec or {}).get("nodeName") and (old_spec or {}).get("nodeName") != (new_spec or {}).get("nodeName"):
        causes.append(_cause("spec.nodeName", "Forbidden", "field is immutable"))
    return causes


def validate_update(rt: ResourceType, root: schema.Node | None, old: Obj, new: Obj) -> None:
    """Everything :func:`validate_create` checks, plus immutable fields."""
    validate_create(rt, root, new)
    causes: list[Cause] = []
    for path in _IMMUTABLE.get((rt.group, rt.kind), ()):
        before, after = _get(old, path), _get(new, path)
        if rt.kind == "Service" and path == ("spec", "clusterIP") and after in (None, ""):
            continue  # an omitted clusterIP keeps the allocated one
        if before != after:
            causes.append(_cause(".".join(path), "Invalid value", "field is immutable", after))
    if (rt.group, rt.kind) == ("", "Pod"):
        causes += _pod_update_causes(old, new)
    if (rt.group, rt.kind) in (("", "Secret"), ("", "ConfigMap")):
        if old.get("immutable") and (
            old.get("data") != new.get("data") or old.get("binaryData") != new.get("binaryData")
        ):
            causes.append(_cause("data", "Forbidden", "field is immutable when `immutable` is set"))
        if rt.kind == "Secret" and old.get("type") != new.get("type"):
            causes.append(_cause("type", "Invalid value", "field is immutable", new.get("type")))
    if causes:
        raise errors.invalid(rt.kind, rt.group, new["metadata"].get("name", ""), causes)
