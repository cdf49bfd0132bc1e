"""Discovery: which resource serves an apiVersion and kind, under what plural, and in which scope.

The answer comes from the legacy discovery documents (``/api/v1``, ``/apis/<group>/<version>``),
one per group-version, cached. A lookup that misses re-reads that group-version before it gives up,
so a CRD created a moment ago (by the same sync, say) resolves without any explicit refresh.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import Status as ApiStatus
from .errors import UnknownKind

__all__ = ["Discovery", "ResourceInfo", "parse_resource_list", "split_api_version"]

#: Reads one discovery document by path; ``None`` when the server has no such group-version.
Fetch = Callable[[str], Awaitable[Mapping[str, Any] | None]]


@dataclass(frozen=True)
class ResourceInfo:
    """One served resource: the GVK, its plural, whether it lives in a namespace, and what it allows."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    verbs: frozenset[str] = frozenset()
    subresources: frozenset[str] = frozenset()
    short_names: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def __str__(self) -> str:
        return f"{self.plural}.{self.group}/{self.version}" if self.group else f"{self.plural}/{self.version}"


def split_api_version(api_version: str) -> tuple[str, str]:
    """``"apps/v1"`` → ``("apps", "v1")``; ``"v1"`` → ``("", "v1")``."""
    group, _, version = api_version.rpartition("/")
    if not version or "/" in group:
        raise ValueError(f"apiVersion {api_version!r} is not GROUP/VERSION or VERSION")
    return group, version


def discovery_path(api_version: str) -> str:
    group, version = split_api_version(api_version)
    return f"/apis/{group}/{version}" if group else f"/api/{version}"


def parse_resource_list(api_version: str, document: Mapping[str, Any]) -> tuple[ResourceInfo, ...]:
    """The resources of one ``APIResourceList``, with ``x/status``-style entries folded into ``x``."""
    group, version = split_api_version(api_version)
    entries = [e for e in document.get("resources") or () if isinstance(e, Mapping)]
    subresources: dict[str, set[str]] = {}
    for entry in entries:
        parent, slash, sub = str(entry.get("name", "")).partition("/")
        if slash:
            subresources.setdefault(parent, set()).add(sub)
    return tuple(
        ResourceInfo(
            group=group,
            version=version,
            kind=str(entry["kind"]),
            plural=str(entry["name"]),
            namespaced=bool(entry.get("namespaced")),
            verbs=frozenset(entry.get("verbs") or ()),
            subresources=frozenset(subresources.get(str(entry["name"]), ())),
            short_names=tuple(entry.get("shortNames") or ()),
        )
        for entry in entries
        if "/" not in str(entry.get("name", "")) and entry.get("kind")
    )


class Discovery:
    """A cache of discovery documents, per group-version, re-read when a lookup misses."""

    def __init__(self, fetch: Fetch) -> None:
        self._fetch = fetch
        self._by_group_version: dict[str, tuple[ResourceInfo, ...]] = {}
        self._lock = asyncio.Lock()

    async def resource(self, api_version: str, kind: str) -> ResourceInfo:
        """The resource serving ``kind`` in ``api_version``; raises ``UnknownKind`` if none does."""
        found = await self._lookup(api_version, lambda r: r.kind == kind)
        if found is None:
            raise _unknown(f'no matches for kind "{kind}" in version "{api_version}"')
        return found

    async def resource_for_plural(self, api_version: str, plural: str) -> ResourceInfo:
        """The resource named ``plural`` (``"deployments"``) in ``api_version``."""
        found = await self._lookup(api_version, lambda r: r.plural == plural)
        if found is None:
            raise _unknown(f'the server doesn\'t have a resource type "{plural}" in version "{api_version}"')
        return found

    def forget(self, api_version: str | None = None) -> None:
        """Drop the cached document of one group-version, or all of them."""
        if api_version is None:
            self._by_group_version.clear()
        else:
            self._by_group_version.pop(api_version, None)

    async def _lookup(self, api_version: str, match: Callable[[ResourceInfo], bool]) -> ResourceInfo | None:
        split_api_version(api_version)  # reject a malformed apiVersion before any request
        cached = self._by_group_version.get(api_version)
        if cached is not None and (hit := _first(cached, match)) is not None:
            return hit
        async with self._lock:
            # Another task may have refreshed this group-version while we waited for the lock.
            newer = self._by_group_version.get(api_version)
            if newer is not cached and newer is not None and (hit := _first(newer, match)) is not None:
                return hit
            document = await self._fetch(discovery_path(api_version))
            resources = () if document is None else parse_resource_list(api_version, document)
            self._by_group_version[api_version] = resources
            return _first(resources, match)


def _first(resources: Iterable[ResourceInfo], match: Callable[[ResourceInfo], bool]) -> ResourceInfo | None:
    return next((r for r in resources if match(r)), None)


def _unknown(message: str) -> UnknownKind:
    return UnknownKind(ApiStatus(code=404, reason="NotFound", message=f"{message}; ensure CRDs are installed first"))
