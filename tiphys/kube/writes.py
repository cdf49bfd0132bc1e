"""Writes with the query parameters kubectl sends, and container logs.

lightkube's typed calls cannot ask for ``fieldValidation`` (kubectl's ``--validate``) and have no
generic way to name a field manager on a merge patch, which a faithful ``kubectl apply`` needs.
These helpers send such requests directly, over the same connection, TLS and credentials as the
``Kube`` they are given, and raise the same ``tiphys.kube`` errors. Objects stay dicts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .client import Kube
from .discovery import ResourceInfo
from .errors import KubeConnectionError, api_error, status_of, translated

__all__ = ["pod_log", "resource_path", "write"]


def resource_path(info: ResourceInfo, *, namespace: str | None, name: str | None = None, subresource: str = "") -> str:
    """``/apis/apps/v1/namespaces/web/deployments/web``: the URL path of a collection or an object."""
    base = f"/apis/{info.group}/{info.version}" if info.group else f"/api/{info.version}"
    if info.namespaced:
        if not namespace:
            raise ValueError(f"{info.kind} is namespaced: a namespace is required")
        base += f"/namespaces/{namespace}"
    path = f"{base}/{info.plural}"
    if name:
        path += f"/{name}"
    if subresource:
        path += f"/{subresource}"
    return path


async def write(
    kube: Kube,
    method: str,
    info: ResourceInfo,
    *,
    namespace: str | None,
    name: str | None = None,
    body: Mapping[str, Any] | list[Any] | None = None,
    content_type: str = "application/json",
    field_manager: str | None = None,
    field_validation: str | None = None,
    dry_run: bool = False,
    force: bool = False,
) -> dict[str, Any]:
    """POST, PUT, PATCH or DELETE one object (or a collection) and return the server's answer as a dict.

    ``field_validation`` is ``Strict``, ``Warn`` or ``Ignore``; ``dry_run`` asks for ``dryRun=All``;
    ``force`` takes over conflicting fields on a server-side apply.
    """
    params: dict[str, str] = {}
    if field_manager:
        params["fieldManager"] = field_manager
    if field_validation and method != "DELETE":
        params["fieldValidation"] = field_validation
    if dry_run:
        params["dryRun"] = "All"
    if force:
        params["force"] = "true"
    path = resource_path(info, namespace=namespace if info.namespaced else None, name=name)
    content = None if body is None else json.dumps(body, separators=(",", ":")).encode()
    with translated():
        response = await kube._http.request(  # the Kube's own connection: same server, TLS, token
            method,
            path,
            params=params,
            content=content,
            headers={"Content-Type": content_type, "Accept": "application/json"},
        )
        if response.status_code >= 400:
            raise api_error(status_of(response))
        document = response.json()
    if not isinstance(document, dict):
        raise KubeConnectionError(f"{method} {path}: the answer is not a JSON object")
    return document


async def pod_log(
    kube: Kube, name: str, *, namespace: str, container: str | None = None, tail_lines: int | None = None
) -> str:
    """The log of one container of a pod (the last ``tail_lines`` lines when given)."""
    info = await kube.resource("v1", "Pod")
    params: dict[str, str] = {}
    if container:
        params["container"] = container
    if tail_lines is not None:
        params["tailLines"] = str(tail_lines)
    path = resource_path(info, namespace=namespace, name=name, subresource="log")
    with translated():
        response = await kube._http.get(path, params=params)
        if response.status_code >= 400:
            raise api_error(status_of(response))
        return str(response.text)
