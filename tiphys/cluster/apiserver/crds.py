"""CustomResourceDefinitions: turn a stored CRD into served types and its accepted status."""

from __future__ import annotations

from typing import Any

from .resources import ResourceType

__all__ = ["crd_status", "crd_types"]

Obj = dict[str, Any]
CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"


def crd_types(crd: Obj) -> list[ResourceType]:
    """One ResourceType per served version of the CRD."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group = spec.get("group", "")
    storage = next((v["name"] for v in spec.get("versions") or [] if v.get("storage")), None)
    types = []
    for version in spec.get("versions") or []:
        if not version.get("served", True):
            continue
        subresources = version.get("subresources") or {}
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        types.append(
            ResourceType(
                group=group,
                version=version["name"],
                kind=names.get("kind", ""),
                plural=names.get("plural", ""),
                singular=names.get("singular") or names.get("kind", "").lower(),
                namespaced=spec.get("scope") == "Namespaced",
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                status="status" in subresources,
                scale="scale" in subresources,
                generation=True,
                crd=crd["metadata"]["name"],
                storage_version=storage,
                schema=schema,
                printer_columns=tuple(version.get("additionalPrinterColumns") or ()),
                list_kind=names.get("listKind") or f"{names.get('kind', '')}List",
            )
        )
    return types


def crd_status(crd: Obj, now: str) -> Obj:
    """Accepted names, stored versions and the NamesAccepted/Established conditions."""
    spec = crd.get("spec") or {}
    names = dict(spec.get("names") or {})
    names.setdefault("singular", names.get("kind", "").lower())
    names.setdefault("listKind", f"{names.get('kind', '')}List")
    old = crd.get("status") or {}
    stored = list(old.get("storedVersions") or [])
    for version in spec.get("versions") or []:
        if version.get("storage") and version["name"] not in stored:
            stored.append(version["name"])
    previous = {c.get("type"): c for c in old.get("conditions") or []}

    def condition(kind: str, reason: str, message: str) -> Obj:
        prior = previous.get(kind)
        since = prior["lastTransitionTime"] if prior and prior.get("status") == "True" else now
        return {"type": kind, "status": "True", "lastTransitionTime": since, "reason": reason, "message": message}

    return {
        "conditions": [
            condition("NamesAccepted", "NoConflicts", "no conflicts found"),
            condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        ],
        "acceptedNames": names,
        "storedVersions": stored,
    }
