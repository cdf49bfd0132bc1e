"""Objects for engine tests: plain dicts, as the engine takes them."""

from __future__ import annotations

from typing import Any


def obj(
    kind: str = "Pod",
    name: str = "my-pod",
    *,
    api_version: str = "v1",
    namespace: str | None = None,
    annotations: dict[str, str] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name} if name else {}
    if namespace is not None:
        metadata["namespace"] = namespace
    if annotations:
        metadata["annotations"] = dict(annotations)
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, **fields}


def annotated(annotations: dict[str, str], kind: str = "Pod", name: str = "my-pod", **kwargs: Any) -> dict[str, Any]:
    """A Pod (or another core kind) with these annotations."""
    return obj(kind, name, annotations=annotations, **kwargs)


def job(name: str = "migrate", **kwargs: Any) -> dict[str, Any]:
    return obj("Job", name, api_version="batch/v1", **kwargs)


def deployment(name: str = "web", **kwargs: Any) -> dict[str, Any]:
    return obj("Deployment", name, api_version="apps/v1", **kwargs)


def namespace(name: str, **kwargs: Any) -> dict[str, Any]:
    return obj("Namespace", name, **kwargs)


def crd(group: str, kind: str, **kwargs: Any) -> dict[str, Any]:
    return obj(
        "CustomResourceDefinition",
        f"{kind.lower()}s.{group}",
        api_version="apiextensions.k8s.io/v1",
        spec={"group": group, "names": {"kind": kind}},
        **kwargs,
    )
