"""What the server serves: one :class:`ResourceType` per group/version/resource.

Built-in kinds come from a table; CustomResourceDefinitions add and remove types at run time.
The registry answers the three lookups every request needs: by URL (group, version, plural),
by GVK, and by short name for discovery.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BUILTINS", "Registry", "ResourceType"]

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
READ_VERBS = ("get", "list", "watch")


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    status: bool = False  # has a status subresource
    scale: bool = False
    log: bool = False
    generation: bool = False  # metadata.generation tracks spec changes
    read_only: bool = False
    crd: str | None = None  # name of the CRD that defines this type
    storage_version: str | None = None  # CRDs: the version objects are stored as
    schema: dict[str, Any] | None = field(default=None, compare=False, hash=False)  # CRDs: openAPIV3Schema
    printer_columns: tuple[dict[str, Any], ...] = field(default=(), compare=False, hash=False)
    list_kind: str = ""

    # Cached: every request reads these (frozen instances keep them valid).
    @functools.cached_property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> str:
        return self.api_version

    @functools.cached_property
    def key(self) -> str:
        """Storage key: objects of one group/resource share storage across versions."""
        return f"{self.group}/{self.plural}"

    @property
    def qualified(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def kind_list(self) -> str:
        return self.list_kind or f"{self.kind}List"

    @property
    def verbs(self) -> tuple[str, ...]:
        return READ_VERBS if self.read_only else ALL_VERBS

    @property
    def subresources(self) -> tuple[str, ...]:
        subs = []
        if self.status:
            subs.append("status")
        if self.scale:
            subs.append("scale")
        if self.log:
            subs.append("log")
        return tuple(subs)


def _t(
    group: str, version: str, kind: str, plural: str, *, short: Iterable[str] = (), cats: Iterable[str] = (), **kw: Any
) -> ResourceType:
    return ResourceType(
        group=group,
        version=version,
        kind=kind,
        plural=plural,
        singular=kind.lower(),
        short_names=tuple(short),
        categories=tuple(cats),
        **kw,
    )


ALL = ("all",)

BUILTINS: tuple[ResourceType, ...] = (
    # core/v1
    _t("", "v1", "Namespace", "namespaces", short=["ns"], namespaced=False, status=True),
    _t("", "v1", "Pod", "pods", short=["po"], cats=ALL, status=True, log=True),
    _t("", "v1", "Service", "services", short=["svc"], cats=ALL, status=True),
    _t("", "v1", "ConfigMap", "configmaps", short=["cm"]),
    _t("", "v1", "Secret", "secrets"),
    _t("", "v1", "ServiceAccount", "serviceaccounts", short=["sa"]),
    _t("", "v1", "Event", "events", short=["ev"]),
    _t("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", short=["pvc"], status=True),
    _t("", "v1", "PersistentVolume", "persistentvolumes", short=["pv"], namespaced=False, status=True),
    _t("", "v1", "Node", "nodes", short=["no"], namespaced=False, status=True),
    _t("", "v1", "Endpoints", "endpoints", short=["ep"]),
    _t("", "v1", "LimitRange", "limitranges", short=["limits"]),
    _t("", "v1", "ResourceQuota", "resourcequotas", short=["quota"], status=True),
    # apps/v1
    _t("apps", "v1", "Deployment", "deployments", short=["deploy"], cats=ALL, status=True, scale=True, generation=True),
    _t("apps", "v1", "ReplicaSet", "replicasets", short=["rs"], cats=ALL, status=True, scale=True, generation=True),
    _t("apps", "v1", "StatefulSet", "statefulsets", short=["sts"], cats=ALL, status=True, scale=True, generation=True),
    _t("apps", "v1", "DaemonSet", "daemonsets", short=["ds"], cats=ALL, status=True, generation=True),
    _t("apps", "v1", "ControllerRevision", "controllerrevisions", generation=False),
    # batch/v1
    _t("batch", "v1", "Job", "jobs", cats=ALL, status=True, generation=True),
    _t("batch", "v1", "CronJob", "cronjobs", short=["cj"], cats=ALL, status=True, generation=True),
    # networking.k8s.io/v1
    _t("networking.k8s.io", "v1", "Ingress", "ingresses", short=["ing"], status=True, generation=True),
    _t("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", short=["netpol"], generation=True),
    _t("networking.k8s.io", "v1", "IngressClass", "ingressclasses", namespaced=False, generation=True),
    # rbac.authorization.k8s.io/v1
    _t("rbac.authorization.k8s.io", "v1", "Role", "roles"),
    _t("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings"),
    _t("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", namespaced=False),
    _t("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", namespaced=False),
    # apiextensions.k8s.io/v1
    _t(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        short=["crd", "crds"],
        namespaced=False,
        status=True,
        generation=True,
    ),
    # coordination.k8s.io/v1
    _t("coordination.k8s.io", "v1", "Lease", "leases"),
    # policy/v1
    _t("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", short=["pdb"], status=True, generation=True),
    # autoscaling/v2
    _t(
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        short=["hpa"],
        cats=ALL,
        status=True,
        generation=True,
    ),
    # storage.k8s.io/v1
    _t("storage.k8s.io", "v1", "StorageClass", "storageclasses", short=["sc"], namespaced=False),
    # scheduling.k8s.io/v1
    _t("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", short=["pc"], namespaced=False),
    # discovery.k8s.io/v1
    _t("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", generation=False),
    # apiregistration.k8s.io/v1: listed so clients can discover it; we aggregate nothing.
    _t(
        "apiregistration.k8s.io",
        "v1",
        "APIService",
        "apiservices",
        namespaced=False,
        status=True,
        read_only=True,
    ),
)

# Order groups are listed in discovery, as upstream does (core first, then by priority).
GROUP_ORDER = [
    "",
    "apiregistration.k8s.io",
    "apps",
    "events.k8s.io",
    "authentication.k8s.io",
    "authorization.k8s.io",
    "autoscaling",
    "batch",
    "certificates.k8s.io",
    "networking.k8s.io",
    "policy",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "scheduling.k8s.io",
    "coordination.k8s.io",
    "node.k8s.io",
    "discovery.k8s.io",
]


class Registry:
    """The served types, indexed for URL and GVK lookups; ``generation`` changes on every CRD change."""

    def __init__(self, builtins: Iterable[ResourceType] = BUILTINS) -> None:
        self._by_url: dict[tuple[str, str, str], ResourceType] = {}
        self._by_gvk: dict[tuple[str, str, str], ResourceType] = {}
        self._by_key: dict[str, ResourceType] = {}
        self._crd_types: dict[str, list[ResourceType]] = {}
        self.generation = 0
        for rt in builtins:
            self._add(rt)

    def _add(self, rt: ResourceType) -> None:
        self._by_url[(rt.group, rt.version, rt.plural)] = rt
        self._by_gvk[(rt.group, rt.version, rt.kind)] = rt
        if rt.storage_version is None or rt.version == rt.storage_version:
            self._by_key[rt.key] = rt

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._by_url.get((group, version, plural))

    def by_gvk(self, group: str, version: str, kind: str) -> ResourceType | None:
        return self._by_gvk.get((group, version, kind))

    def by_api_version(self, api_version: str, kind: str) -> ResourceType | None:
        group, _, version = api_version.rpartition("/")
        return self.by_gvk(group, version, kind)

    def by_key(self, key: str) -> ResourceType | None:
        """The preferred served type for a storage key ``group/plural``."""
        return self._by_key.get(key)

    def __iter__(self) -> Iterator[ResourceType]:
        return iter(list(self._by_url.values()))

    def groups(self) -> list[tuple[str, list[str]]]:
        """(group, versions in preference order), core first then upstream's group order."""
        versions: dict[str, list[str]] = {}
        for rt in self._by_url.values():
            vs = versions.setdefault(rt.group, [])
            if rt.version not in vs:
                vs.append(rt.version)
        for group, vs in versions.items():
            crd_types = [t for types in self._crd_types.values() for t in types if t.group == group]
            if crd_types:
                vs.sort(key=_version_priority, reverse=True)

        def rank(group: str) -> tuple[int, str]:
            return (GROUP_ORDER.index(group), "") if group in GROUP_ORDER else (len(GROUP_ORDER), group)

        return [(g, versions[g]) for g in sorted(versions, key=rank)]

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [rt for rt in self._by_url.values() if rt.group == group and rt.version == version]

    def set_crd(self, crd_name: str, types: list[ResourceType]) -> None:
        """Replace the types served for one CRD (an empty list removes them)."""
        for old in self._crd_types.pop(crd_name, []):
            self._by_url.pop((old.group, old.version, old.plural), None)
            self._by_gvk.pop((old.group, old.version, old.kind), None)
            if self._by_key.get(old.key) is old:
                del self._by_key[old.key]
        if types:
            self._crd_types[crd_name] = types
            for rt in types:
                self._add(rt)
        self.generation += 1

    def fingerprint(self, group: str, version: str) -> str:
        """A hash that changes whenever a group-version's served types change (OpenAPI ``hash=``)."""
        digest = hashlib.sha256()
        for rt in sorted(self.in_group_version(group, version), key=lambda t: t.plural):
            digest.update(repr((rt, rt.schema, rt.printer_columns)).encode())
        return digest.hexdigest()[:32].upper()


def _version_priority(version: str) -> tuple[int, int, int]:
    """Kubernetes version priority: GA > beta > alpha, then by major and minor (``v2`` > ``v1beta3``)."""
    import re

    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if not m:
        return (-1, 0, 0)
    major = int(m.group(1))
    stage = {"alpha": 0, "beta": 1, None: 2}[m.group(2)]
    minor = int(m.group(3) or 0)
    return (stage, major, minor)
