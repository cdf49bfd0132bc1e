"""Discovery documents: aggregated v2 (``/api``, ``/apis``) and the legacy per-group-version lists."""

from __future__ import annotations

from typing import Any

from .resources import Registry, ResourceType

__all__ = ["AGGREGATED_MEDIA", "aggregated", "api_group", "api_group_list", "api_versions", "resource_list"]

AGGREGATED_MEDIA = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
Obj = dict[str, Any]


def _aggregated_resource(rt: ResourceType) -> Obj:
    res: Obj = {
        "resource": rt.plural,
        "responseKind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
        "scope": "Namespaced" if rt.namespaced else "Cluster",
        "singularResource": rt.singular,
        "verbs": list(rt.verbs),
    }
    if rt.short_names:
        res["shortNames"] = list(rt.short_names)
    if rt.categories:
        res["categories"] = list(rt.categories)
    subs = []
    for sub in rt.subresources:
        if sub == "scale":
            kind = {"group": "autoscaling", "version": "v1", "kind": "Scale"}
            verbs = ["get", "patch", "update"]
        elif sub == "log":
            kind = {"group": "", "version": "v1", "kind": "Pod"}
            verbs = ["get"]
        else:
            kind = {"group": rt.group, "version": rt.version, "kind": rt.kind}
            verbs = ["get", "patch", "update"]
        subs.append({"subresource": sub, "responseKind": kind, "verbs": verbs})
    if subs:
        res["subresources"] = subs
    return res


def aggregated(registry: Registry, *, core: bool) -> Obj:
    """``APIGroupDiscoveryList`` for ``/api`` (core only) or ``/apis`` (every named group)."""
    items = []
    for group, versions in registry.groups():
        if (group == "") != core:
            continue
        item_versions = []
        for version in versions:
            types = sorted(registry.in_group_version(group, version), key=lambda t: t.plural)
            item_versions.append(
                {
                    "version": version,
                    "resources": [_aggregated_resource(rt) for rt in types],
                    "freshness": "Current",
                }
            )
        items.append({"metadata": {"name": group, "creationTimestamp": None}, "versions": item_versions})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items}


def api_versions(server_address: str) -> Obj:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _group(group: str, versions: list[str]) -> Obj:
    listed = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": listed, "preferredVersion": listed[0]}


def api_group_list(registry: Registry) -> Obj:
    groups = [_group(g, vs) for g, vs in registry.groups() if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(registry: Registry, group: str) -> Obj | None:
    for g, versions in registry.groups():
        if g == group and g:
            return {"kind": "APIGroup", "apiVersion": "v1", **_group(g, versions)}
    return None


def resource_list(registry: Registry, group: str, version: str) -> Obj | None:
    types = sorted(registry.in_group_version(group, version), key=lambda t: t.plural)
    if not types:
        return None
    resources: list[Obj] = []
    for rt in types:
        res: Obj = {
            "name": rt.plural,
            "singularName": rt.singular,
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": list(rt.verbs),
        }
        if rt.short_names:
            res["shortNames"] = list(rt.short_names)
        if rt.categories:
            res["categories"] = list(rt.categories)
        resources.append(res)
        for sub in rt.subresources:
            entry: Obj = {
                "name": f"{rt.plural}/{sub}",
                "singularName": "",
                "namespaced": rt.namespaced,
                "kind": rt.kind,
                "verbs": ["get", "patch", "update"],
            }
            if sub == "scale":
                entry.update({"group": "autoscaling", "version": "v1", "kind": "Scale"})
            if sub == "log":
                entry.update({"kind": "Pod", "verbs": ["get"]})
            resources.append(entry)
    group_version = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}
