"""Endpoints and EndpointSlices: which pods back each Service with a selector.

As upstream's endpoints and endpointslice controllers: pods that match the selector and have
an IP (not finished; not being deleted, for Endpoints) are listed with the ports their
``targetPort``s resolve to; ready pods under ``addresses``, the rest under ``notReadyAddresses``
(or ``publishNotReadyAddresses`` lists them all). The Endpoints object shares the Service's name
and labels; the EndpointSlice (one IPv4 slice per Service) is owned by the Service.
"""

from __future__ import annotations

import copy
from collections.abc import Hashable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ..apiserver.objects import ObjectAPI
from ..apiserver.store import Event
from ._client import Client
from ._meta import Obj, controller_ref, format_time, map_selector_matches
from ._pods import is_ready, is_terminal
from .base import Controller

__all__ = ["EndpointsController", "endpoint_subsets", "slice_endpoints"]

SERVICES, PODS, ENDPOINTS, SLICES = "/services", "/pods", "/endpoints", "discovery.k8s.io/endpointslices"
MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
SLICE_MANAGER = "endpointslice-controller.k8s.io"
SERVICE_NAME = "kubernetes.io/service-name"
HEADLESS = "service.kubernetes.io/headless"
TRIGGER = "endpoints.kubernetes.io/last-change-trigger-time"
Pod = Mapping[str, Any]


def target_port(pod: Pod, port: Mapping[str, Any]) -> int | None:
    """``podutil.FindPort``: a number, or the container port of that name."""
    target = port.get("targetPort", port.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    for container in (pod.get("spec") or {}).get("containers") or ():
        for cport in container.get("ports") or ():
            if cport.get("name") == target and cport.get("protocol", "TCP") == port.get("protocol", "TCP"):
                return int(cport["containerPort"])
    return None


def _address(svc: Mapping[str, Any], pod: Pod) -> Obj:
    meta, spec = pod["metadata"], pod.get("spec") or {}
    address: Obj = {"ip": pod["status"]["podIP"]}
    if spec.get("hostname") and spec.get("subdomain") == svc["metadata"]["name"]:
        address["hostname"] = spec["hostname"]
    if spec.get("nodeName"):
        address["nodeName"] = spec["nodeName"]
    address["targetRef"] = {
        "kind": "Pod",
        "namespace": meta.get("namespace", ""),
        "name": meta["name"],
        "uid": meta["uid"],
    }
    return address


def _ports(svc: Mapping[str, Any], pod: Pod) -> list[Obj] | None:
    """The pod's endpoint ports for the Service, or None when one cannot be resolved."""
    ports = []
    for port in (svc.get("spec") or {}).get("ports") or ():
        number = target_port(pod, port)
        if number is None:
            return None
        entry: Obj = {"port": number, "protocol": port.get("protocol", "TCP")}
        if port.get("name"):
            entry = {"name": port["name"], **entry}
        if port.get("appProtocol"):
            entry["appProtocol"] = port["appProtocol"]
        ports.append(entry)
    return ports


def _selected(svc: Mapping[str, Any], pods: Sequence[Pod], *, terminating: bool) -> list[Pod]:
    """``ShouldPodBeInEndpoints``: selected, with an IP, not finished (nor deleted, unless asked)."""
    selector = (svc.get("spec") or {}).get("selector")
    return [
        p
        for p in pods
        if map_selector_matches(selector, p["metadata"].get("labels"))
        and (p.get("status") or {}).get("podIP")
        and not is_terminal(p)
        and (terminating or not p["metadata"].get("deletionTimestamp"))
    ]


def endpoint_subsets(svc: Mapping[str, Any], pods: Sequence[Pod]) -> list[Obj]:
    """The ``subsets`` of the Endpoints, repacked by port set and sorted as ``RepackSubsets`` does."""
    spec = svc.get("spec") or {}
    publish = bool(spec.get("publishNotReadyAddresses"))
    groups: dict[str, tuple[list[Obj], list[Obj], list[Obj]]] = {}
    for pod in _selected(svc, pods, terminating=False):
        ports = _ports(svc, pod)
        if ports is None or (not ports and spec.get("clusterIP") != "None"):
            continue
        key = repr(sorted(sorted(p.items()) for p in ports))
        ready, not_ready, _ = groups.setdefault(key, ([], [], ports))
        (ready if publish or is_ready(pod) else not_ready).append(_address(svc, pod))
    subsets = []
    for ready, not_ready, ports in groups.values():
        subset: Obj = {}
        order = lambda a: (a["ip"], a["targetRef"]["uid"])  # noqa: E731
        if ready:
            subset["addresses"] = sorted(ready, key=order)
        if not_ready:
            subset["notReadyAddresses"] = sorted(not_ready, key=order)
        if ports:
            subset["ports"] = sorted(ports, key=lambda p: (p.get("name", ""), p["port"]))
        subsets.append(subset)
    return sorted(subsets, key=repr)


def slice_endpoints(svc: Mapping[str, Any], pods: Sequence[Pod]) -> tuple[list[Obj], list[Obj]]:
    """(endpoints, ports) of the Service's EndpointSlice; terminating pods stay, marked so."""
    endpoints, ports = [], None
    publish = bool((svc.get("spec") or {}).get("publishNotReadyAddresses"))
    for pod in _selected(svc, pods, terminating=True):
        pod_ports = _ports(svc, pod)
        if pod_ports is None:
            continue
        ports = pod_ports if ports is None else ports
        address = _address(svc, pod)
        terminating = bool(pod["metadata"].get("deletionTimestamp"))
        serving = publish or is_ready(pod)
        endpoint: Obj = {
            "addresses": [address["ip"]],
            "conditions": {"ready": serving and not terminating, "serving": serving, "terminating": terminating},
            "targetRef": address["targetRef"],
        }
        for key in ("hostname", "nodeName"):
            if key in address:
                endpoint[key] = address[key]
        endpoints.append(endpoint)
    endpoints.sort(key=lambda e: (e["addresses"][0], e["targetRef"]["uid"]))
    slice_ports = [{"name": p.get("name", ""), **{k: v for k, v in p.items() if k != "name"}} for p in ports or []]
    return endpoints, slice_ports


class EndpointsController(Controller):
    name = "endpoints"
    keys = (SERVICES, PODS)

    def __init__(self, api: ObjectAPI) -> None:
        super().__init__(api)
        self.client = Client(api, "endpoint-controller")
        self.slices = Client(api, "endpoint-slice-controller")

    def on_event(self, event: Event) -> list[Hashable]:
        if event.key == SERVICES:
            return [(event.namespace, event.entry.obj["metadata"]["name"])]
        if event.key != PODS:
            return []
        labels = [event.entry.obj["metadata"].get("labels")]
        if event.prev is not None:
            labels.append(event.prev.obj["metadata"].get("labels"))
        return [
            (event.namespace, svc["metadata"]["name"])
            for svc in self.client.objects(SERVICES, event.namespace)
            if any(map_selector_matches((svc.get("spec") or {}).get("selector"), ls) for ls in labels)
        ]

    def resync(self) -> None:
        for svc in self.client.objects(SERVICES):
            self.enqueue((svc["metadata"].get("namespace", ""), svc["metadata"]["name"]))

    def reconcile(self, key: Hashable) -> None:
        assert isinstance(key, tuple)
        namespace, name = key
        svc = self.client.get(SERVICES, namespace, name)
        existing = self.client.get(ENDPOINTS, namespace, name)
        if svc is None or svc["metadata"].get("deletionTimestamp"):
            if existing is not None:
                self.client.delete(ENDPOINTS, existing)
            return
        if not (svc.get("spec") or {}).get("selector"):
            return  # endpoints of a Service without a selector are the user's
        pods = self.client.objects(PODS, namespace)
        labels = dict(svc["metadata"].get("labels") or {})
        if (svc.get("spec") or {}).get("clusterIP") == "None":
            labels[HEADLESS] = ""
        self._endpoints(svc, existing, endpoint_subsets(svc, pods), labels)
        self._slice(svc, pods, labels)

    def _endpoints(
        self, svc: Mapping[str, Any], existing: Mapping[str, Any] | None, subsets: list[Obj], labels: Obj
    ) -> None:
        namespace, name = svc["metadata"].get("namespace", ""), svc["metadata"]["name"]
        if (
            existing is not None
            and existing.get("subsets", []) == subsets
            and (existing["metadata"].get("labels") or {}) == labels
        ):
            return
        body: Obj = copy.deepcopy(dict(existing)) if existing is not None else {"apiVersion": "v1", "kind": "Endpoints"}
        meta = body.setdefault("metadata", {"name": name})
        if labels:
            meta["labels"] = labels
        else:
            meta.pop("labels", None)
        meta.setdefault("annotations", {})[TRIGGER] = format_time(datetime.now(UTC))
        if subsets:
            body["subsets"] = subsets
        else:
            body.pop("subsets", None)
        if existing is None:
            self.client.create(ENDPOINTS, namespace, body)
        else:
            self.client.update(ENDPOINTS, body)

    def _slice(self, svc: Mapping[str, Any], pods: Sequence[Pod], labels: Obj) -> None:
        namespace, name = svc["metadata"].get("namespace", ""), svc["metadata"]["name"]
        endpoints, ports = slice_endpoints(svc, pods)
        slice_labels = {**labels, SERVICE_NAME: name, MANAGED_BY: SLICE_MANAGER}
        mine = [
            s
            for s in self.slices.objects(SLICES, namespace)
            if (s["metadata"].get("labels") or {}).get(SERVICE_NAME) == name
            and (s["metadata"].get("labels") or {}).get(MANAGED_BY) == SLICE_MANAGER
        ]
        for extra in mine[1:]:
            self.slices.delete(SLICES, extra)
        current = mine[0] if mine else None
        if current is not None and (
            current.get("endpoints", []) == endpoints
            and current.get("ports", []) == ports
            and (current["metadata"].get("labels") or {}) == slice_labels
        ):
            return
        body: Obj = (
            copy.deepcopy(dict(current))
            if current is not None
            else {
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {
                    "generateName": f"{name}-",
                    "ownerReferences": [controller_ref({**svc, "apiVersion": "v1", "kind": "Service"})],
                },
                "addressType": "IPv4",
            }
        )
        body["metadata"]["labels"] = slice_labels
        body["metadata"].setdefault("annotations", {})[TRIGGER] = format_time(datetime.now(UTC))
        body["endpoints"] = endpoints
        body["ports"] = ports
        if current is None:
            self.slices.create(SLICES, namespace, body)
        else:
            self.slices.update(SLICES, body)
