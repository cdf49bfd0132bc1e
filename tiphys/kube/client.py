"""``Kube``: get, list, watch, create, replace, apply, patch and delete any kind, as plain dicts.

Every call names its kind by ``apiVersion`` and ``kind`` (or passes an object that carries them);
discovery turns that into a plural and a scope, and lightkube's ``AsyncClient`` does the HTTP
through generic resource classes built here, never registered in lightkube's process-global
registry, so two clusters with different versions of one CRD can't collide. What goes in is a
``Mapping``; what comes out is a fresh ``dict``. Errors leave as ``tiphys.kube.errors`` classes.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Self

import httpx2
import lightkube
from lightkube.config.client_adapter import AsyncClient as http_client
from lightkube.config.client_adapter import ConnectionParams
from lightkube.core import resource as lk_resource
from lightkube.generic_resource import (
    GenericGlobalResource,
    GenericGlobalStatus,
    GenericNamespacedResource,
    GenericNamespacedStatus,
)
from lightkube.types import CascadeType
from lightkube.types import PatchType as LightkubePatchType

from .config import load_config
from .discovery import Discovery, ResourceInfo
from .errors import KubeConnectionError, translated

__all__ = ["DEFAULT_FIELD_MANAGER", "EventType", "Kube", "ObjectList", "PatchType", "Propagation", "WatchEvent"]

DEFAULT_FIELD_MANAGER = "tiphys"

#: A label or field selector: ``{"app": "web"}`` (equals), ``{"tier": ["a", "b"]}`` (in), ``{"x": None}`` (exists).
Selector = Mapping[str, str | Sequence[str] | None]


class PatchType(StrEnum):
    """The patch formats, as the Content-Type the server reads them by."""

    MERGE = "application/merge-patch+json"
    JSON = "application/json-patch+json"
    STRATEGIC = "application/strategic-merge-patch+json"


class Propagation(StrEnum):
    """What happens to an object's dependents when it is deleted."""

    BACKGROUND = "Background"  # delete now; the garbage collector removes dependents afterwards
    FOREGROUND = "Foreground"  # the object stays (with deletionTimestamp) until its dependents are gone
    ORPHAN = "Orphan"  # dependents stay, without the ownerReference


class EventType(StrEnum):
    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"
    BOOKMARK = "BOOKMARK"


@dataclass(frozen=True)
class WatchEvent:
    type: EventType
    object: dict[str, Any]


@dataclass(frozen=True)
class ObjectList:
    """The items of a list and the resourceVersion to start a watch from."""

    items: list[dict[str, Any]] = field(default_factory=list)
    resource_version: str | None = None


class Kube:
    """An async client for one cluster; use it as ``async with Kube.from_kubeconfig() as kube:``."""

    def __init__(
        self,
        config: lightkube.KubeConfig | lightkube.SingleConfig,
        *,
        field_manager: str = DEFAULT_FIELD_MANAGER,
        timeout: float = 30.0,
    ) -> None:
        with translated():
            self._client = lightkube.AsyncClient(
                config, field_manager=field_manager, timeout=httpx2.Timeout(timeout), lazy=False
            )
            # Discovery documents are not resources, so they are read with a plain httpx2 client
            # built by lightkube from the same config (same server, TLS and credentials).
            self._http = http_client(self._client.config, ConnectionParams(timeout=httpx2.Timeout(timeout)))
        self.field_manager = field_manager
        self.discovery = Discovery(self._fetch_discovery)

    @classmethod
    def from_kubeconfig(
        cls,
        kubeconfig: str | os.PathLike[str] | None = None,
        *,
        context: str | None = None,
        field_manager: str = DEFAULT_FIELD_MANAGER,
        timeout: float = 30.0,
    ) -> Self:
        """A client for a kubeconfig's context; without arguments, for the embedded cluster."""
        return cls(load_config(kubeconfig, context=context), field_manager=field_manager, timeout=timeout)

    @property
    def namespace(self) -> str:
        """The namespace of the kubeconfig context, used when a call names none."""
        return str(self._client.namespace)

    @property
    def server(self) -> str:
        return str(self._client.config.cluster.server)

    async def close(self) -> None:
        await self._client.close()
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def resource(self, api_version: str, kind: str) -> ResourceInfo:
        """Discovery for one kind; raises ``UnknownKind`` when the server does not serve it."""
        return await self.discovery.resource(api_version, kind)

    async def get(self, api_version: str, kind: str, name: str, *, namespace: str | None = None) -> dict[str, Any]:
        info = await self.resource(api_version, kind)
        with translated():
            obj = await self._client.get(_resource_class(info), name, namespace=self._namespace(info, namespace))
        return _plain(obj)

    async def list(
        self,
        api_version: str,
        kind: str,
        *,
        namespace: str | None = None,
        all_namespaces: bool = False,
        labels: Selector | None = None,
        fields: Selector | None = None,
        chunk_size: int | None = None,
    ) -> ObjectList:
        """All objects that match, fetched ``chunk_size`` at a time when given."""
        info = await self.resource(api_version, kind)
        ns = lightkube.ALL_NS if all_namespaces and info.namespaced else self._namespace(info, namespace)
        with translated():
            pages = self._client.list(
                _resource_class(info),
                namespace=ns,
                labels=_selector(labels),
                fields=_selector(fields),
                chunk_size=chunk_size,
            )
            items = [_plain(obj) async for obj in pages]
        try:
            version: str | None = pages.resourceVersion
        except lightkube.NotReadyError:
            version = None
        return ObjectList(items=items, resource_version=version)

    async def watch(
        self,
        api_version: str,
        kind: str,
        *,
        namespace: str | None = None,
        all_namespaces: bool = False,
        labels: Selector | None = None,
        fields: Selector | None = None,
        resource_version: str | None = None,
        timeout_seconds: int | None = None,
    ) -> AsyncIterator[WatchEvent]:
        """Events from ``resource_version`` on (without one: ADDED for what exists, then changes).

        The stream does not end by itself: when the server closes it (after ``timeout_seconds``),
        it resumes from the last event seen. Stop by leaving the loop. ``Gone`` means the version
        is too old: list again and watch from the list's ``resource_version``. A resume may repeat
        an event already seen (lightkube resumes from the last object's version), so treat events
        as the latest state of an object, not as a delta.
        """
        info = await self.resource(api_version, kind)
        ns = lightkube.ALL_NS if all_namespaces and info.namespaced else self._namespace(info, namespace)
        with translated():
            stream = self._client.watch(
                _resource_class(info),
                namespace=ns,
                labels=_selector(labels),
                fields=_selector(fields),
                resource_version=resource_version,
                server_timeout=timeout_seconds,
            )
            async with _closing(stream):
                async for event_type, obj in stream:
                    yield WatchEvent(_event_type(event_type), _plain(obj))

    async def create(
        self, obj: Mapping[str, Any], *, namespace: str | None = None, dry_run: bool = False
    ) -> dict[str, Any]:
        """Create ``obj`` (``metadata.generateName`` works); raises ``AlreadyExists`` if the name is taken."""
        info = await self._resource_of(obj)
        body = self._placed(info, obj, namespace)
        with translated():
            created = await self._client.create(_resource_class(info)(body), dry_run=dry_run)
        return _plain(created)

    async def replace(
        self, obj: Mapping[str, Any], *, namespace: str | None = None, dry_run: bool = False
    ) -> dict[str, Any]:
        """Replace (PUT) ``obj``; with ``metadata.resourceVersion`` set, a stale copy raises ``Conflict``."""
        info = await self._resource_of(obj)
        body = self._placed(info, obj, namespace)
        _name_of(body)
        with translated():
            replaced = await self._client.replace(_resource_class(info)(body), dry_run=dry_run)
        return _plain(replaced)

    async def apply(
        self,
        obj: Mapping[str, Any],
        *,
        namespace: str | None = None,
        field_manager: str | None = None,
        force: bool = False,
        subresource: str | None = None,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """Server-side apply ``obj`` as ``field_manager`` (default: this client's).

        Raises ``Conflict`` when another manager owns a field that ``obj`` sets differently,
        unless ``force`` takes the field over.
        """
        info = await self._resource_of(obj)
        cls = _resource_class(info, subresource)
        with translated():
            applied = await self._client.patch(
                cls,
                _name_of(obj),
                cls(obj),
                namespace=self._namespace(info, namespace, obj),
                patch_type=LightkubePatchType.APPLY,
                field_manager=field_manager or self.field_manager,
                force=force,
                dry_run=dry_run,
            )
        return _plain(applied)

    async def patch(
        self,
        api_version: str,
        kind: str,
        name: str,
        patch: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        *,
        namespace: str | None = None,
        patch_type: PatchType = PatchType.MERGE,
        subresource: str | None = None,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """Patch one object; a JSON patch is a list of operations, the other types a dict.

        MERGE is the default because it works for every kind; STRATEGIC only for built-in kinds.
        """
        info = await self.resource(api_version, kind)
        body: dict[str, Any] | list[dict[str, Any]] = (
            dict(patch) if isinstance(patch, Mapping) else [dict(op) for op in patch]
        )
        with translated():
            patched = await self._client.patch(
                _resource_class(info, subresource),
                name,
                body,
                namespace=self._namespace(info, namespace),
                patch_type=LightkubePatchType(patch_type.value),
                dry_run=dry_run,
            )
        return _plain(patched)

    async def delete(
        self,
        api_version: str,
        kind: str,
        name: str,
        *,
        namespace: str | None = None,
        propagation: Propagation = Propagation.BACKGROUND,
        grace_period: int | None = None,
        dry_run: bool = False,
    ) -> None:
        """Request deletion; objects with finalizers stay until those are removed.

        ``BACKGROUND`` is the default, as kubectl sends it: without it a Job orphans its Pods.
        """
        info = await self.resource(api_version, kind)
        with translated():
            await self._client.delete(
                _resource_class(info),
                name,
                namespace=self._namespace(info, namespace),
                cascade=CascadeType(propagation.value),
                grace_period=grace_period,
                dry_run=dry_run,
            )

    async def _resource_of(self, obj: Mapping[str, Any]) -> ResourceInfo:
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str) or not api_version or not kind:
            raise ValueError(f"object {_name_or_generate(obj)!r} has no apiVersion and kind")
        return await self.resource(api_version, kind)

    def _placed(self, info: ResourceInfo, obj: Mapping[str, Any], namespace: str | None) -> dict[str, Any]:
        """A shallow copy of ``obj`` whose metadata names the namespace it is written to."""
        body = dict(obj)
        if info.namespaced:
            body["metadata"] = {**(obj.get("metadata") or {}), "namespace": self._namespace(info, namespace, obj)}
        return body

    def _namespace(self, info: ResourceInfo, explicit: str | None, obj: Mapping[str, Any] | None = None) -> str | None:
        """Where a namespaced object lives: the argument, else its metadata, else the context's."""
        if not info.namespaced:
            return None
        own = (obj or {}).get("metadata", {}).get("namespace")
        if explicit and own and explicit != own:
            raise ValueError(
                f"{info.kind} {_name_or_generate(obj or {})!r} is in namespace {own!r}, but namespace {explicit!r} "
                "was requested"
            )
        return explicit or own or self.namespace

    async def _fetch_discovery(self, path: str) -> Mapping[str, Any] | None:
        with translated():
            response = await self._http.get(path, headers={"Accept": "application/json"})
            if response.status_code == 404:
                return None
            response.raise_for_status()
            document = response.json()
        if not isinstance(document, dict):
            raise KubeConnectionError(f"discovery document {path} is not a JSON object")
        return document


@functools.cache
def _resource_class(info: ResourceInfo, subresource: str | None = None) -> type[Any]:
    """A lightkube generic resource class for ``info`` (or one of its subresources); objects decode as dicts."""
    definition = lk_resource.ResourceDef(info.group, info.version, info.kind)
    if subresource is None:
        # Every verb is allowed here: the server, not lightkube, says what a resource supports.
        verbs = ["delete", "deletecollection", "get", "global_list", "global_watch", "list", "patch", "post", "put"]
        api_info = lk_resource.ApiInfo(resource=definition, plural=info.plural, verbs=[*verbs, "watch"])
        base: type[Any] = GenericNamespacedResource if info.namespaced else GenericGlobalResource
        return type(info.kind, (base,), {"_api_info": api_info})
    api_info = lk_resource.ApiInfo(
        resource=definition, parent=definition, plural=info.plural, verbs=["get", "patch", "put"], action=subresource
    )
    base = GenericNamespacedStatus if info.namespaced else GenericGlobalStatus
    return type(f"{info.kind}{subresource.capitalize()}", (base,), {"_api_info": api_info})


def _plain(obj: Any) -> dict[str, Any]:
    return dict(obj)


def _selector(selector: Selector | None) -> dict[str, Any] | None:
    if not selector:
        return None
    return {k: v if v is None or isinstance(v, str) else list(v) for k, v in selector.items()}


def _event_type(raw: str) -> EventType:
    try:
        return EventType(raw)
    except ValueError:
        raise KubeConnectionError(f"the watch stream sent an unknown event type {raw!r}") from None


def _name_of(obj: Mapping[str, Any]) -> str:
    name = obj.get("metadata", {}).get("name")
    if not isinstance(name, str) or not name:
        raise ValueError(f"{obj.get('kind', 'object')} has no metadata.name")
    return name


def _name_or_generate(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return str(meta.get("name") or meta.get("generateName") or "")


def _closing(stream: Any) -> contextlib.AbstractAsyncContextManager[Any]:
    """Close lightkube's watch generator (and its HTTP response) when the caller stops iterating."""
    return contextlib.aclosing(stream) if hasattr(stream, "aclose") else contextlib.nullcontext(stream)
