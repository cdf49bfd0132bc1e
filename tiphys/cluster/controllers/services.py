"""Services: cluster IPs and node ports allocated as the object is stored, and LoadBalancer status.

Allocation is admission (upstream does it in the Service REST storage): a new Service gets a
random free address of ``10.96.0.0/12`` in ``spec.clusterIP``/``clusterIPs`` (``None`` stays
headless, ExternalName gets none) and, for NodePort and LoadBalancer, free ``nodePort``s in
30000-32767; an update keeps what was allocated; a requested address or port that is taken or
out of range is refused with upstream's 422. What is allocated is read from the stored Services,
so an address is never reused while a Service holds it. The controller half gives LoadBalancer
Services the ingress ``127.0.0.1``, as a local load balancer would.
"""

from __future__ import annotations

import copy
import ipaddress
import random
from collections.abc import Hashable, Mapping
from typing import Any

from ..apiserver import errors
from ..apiserver.objects import ObjectAPI
from ..apiserver.resources import ResourceType
from ..apiserver.store import DELETED, Event
from ._client import Client
from ._meta import Obj
from .base import Controller

__all__ = ["CLUSTER_IP_RANGE", "NODE_PORTS", "ServiceController", "allocate_cluster_ip", "allocate_node_port"]

SERVICES = "/services"
CLUSTER_IP_RANGE = ipaddress.ip_network("10.96.0.0/12")
NODE_PORTS = range(30000, 32768)
# Upstream keeps the lowest addresses for static picks (10.96.0.1 is the kubernetes Service).
_STATIC_BAND = min(max(16, CLUSTER_IP_RANGE.num_addresses // 16), 256)
LB_INGRESS = [{"ip": "127.0.0.1", "ipMode": "VIP"}]


def allocate_cluster_ip(used: set[str], rng: random.Random) -> str:
    """A random free address of the dynamic band, else of the static band."""
    first = int(CLUSTER_IP_RANGE.network_address)
    size = CLUSTER_IP_RANGE.num_addresses
    for low, high in ((_STATIC_BAND, size - 1), (2, _STATIC_BAND)):
        for _ in range(64):
            candidate = str(ipaddress.ip_address(first + rng.randrange(low, high)))
            if candidate not in used:
                return candidate
        for offset in range(low, high):
            candidate = str(ipaddress.ip_address(first + offset))
            if candidate not in used:
                return candidate
    raise errors.StatusError(500, "InternalError", "range is full: no cluster IP left in 10.96.0.0/12")


def allocate_node_port(used: set[int], rng: random.Random) -> int:
    free = [p for p in NODE_PORTS if p not in used]
    if not free:
        raise errors.StatusError(500, "InternalError", "range is full: no node port left in 30000-32767")
    return rng.choice(free)


def _needs_node_ports(spec: Mapping[str, Any]) -> bool:
    kind = spec.get("type", "ClusterIP")
    return kind == "NodePort" or (kind == "LoadBalancer" and bool(spec.get("allocateLoadBalancerNodePorts", True)))


class ServiceController(Controller):
    name = "service"
    keys = (SERVICES,)

    def __init__(self, api: ObjectAPI, *, rng: random.Random | None = None) -> None:
        super().__init__(api)
        self.client = Client(api, "service-controller")
        self.rng = rng or random.Random()
        api.admission.append(self.admit)

    # Admission -------------------------------------------------------------------------------

    def _allocated(self, obj: Mapping[str, Any]) -> tuple[set[str], set[int]]:
        meta = obj["metadata"]
        me = (meta.get("namespace", ""), meta.get("name", ""))
        ips: set[str] = set()
        ports: set[int] = set()
        for svc in self.client.objects(SERVICES):
            m = svc["metadata"]
            if (m.get("namespace", ""), m["name"]) == me:
                continue
            spec = svc.get("spec") or {}
            ips.update(ip for ip in spec.get("clusterIPs") or [spec.get("clusterIP")] if ip and ip != "None")
            ports.update(int(p["nodePort"]) for p in spec.get("ports") or () if p.get("nodePort"))
        return ips, ports

    def admit(self, rt: ResourceType, obj: Obj, old: Mapping[str, Any] | None) -> None:
        """Fill ``clusterIP(s)`` and ``nodePort``s before the Service is stored."""
        if rt.key != SERVICES:
            return
        spec = obj.setdefault("spec", {})
        name = obj["metadata"].get("name", "")
        if spec.get("type", "ClusterIP") == "ExternalName":
            return
        old_spec = (old or {}).get("spec") or {}
        if old is not None and spec.get("clusterIP") in (None, "") and old_spec.get("clusterIP"):
            spec["clusterIP"] = old_spec["clusterIP"]
            spec["clusterIPs"] = list(old_spec.get("clusterIPs") or [old_spec["clusterIP"]])
        used_ips, used_ports = self._allocated(obj)
        ip = spec.get("clusterIP") or (spec.get("clusterIPs") or [None])[0]
        if ip in (None, ""):
            ip = allocate_cluster_ip(used_ips, self.rng)
        elif ip != "None" and ip != old_spec.get("clusterIP"):
            self._check_ip(name, ip, used_ips)
        spec["clusterIP"] = ip
        spec["clusterIPs"] = [ip]
        ports = spec.get("ports") or []
        if _needs_node_ports(spec):
            spec.setdefault("externalTrafficPolicy", "Cluster")
            if spec.get("type") == "LoadBalancer":
                spec.setdefault("allocateLoadBalancerNodePorts", True)
            for i, port in enumerate(ports):
                if not port.get("nodePort"):
                    previous = next(
                        (
                            p.get("nodePort")
                            for p in old_spec.get("ports") or ()
                            if p.get("port") == port.get("port")
                            and p.get("protocol", "TCP") == port.get("protocol", "TCP")
                        ),
                        None,
                    )
                    port["nodePort"] = previous or allocate_node_port(used_ports, self.rng)
                elif port["nodePort"] not in {p.get("nodePort") for p in old_spec.get("ports") or ()}:
                    self._check_port(name, i, int(port["nodePort"]), used_ports)
                used_ports.add(int(port["nodePort"]))
        elif spec.get("type", "ClusterIP") == "ClusterIP":
            old_ports = {p.get("nodePort") for p in old_spec.get("ports") or ()}
            for port in ports:
                if port.get("nodePort") and port["nodePort"] in old_ports:
                    del port["nodePort"]  # type changed away from NodePort: the ports are released

    def _check_ip(self, name: str, ip: str, used: set[str]) -> None:
        shown = f'[]string{{"{ip}"}}'
        try:
            inside = ipaddress.ip_address(ip) in CLUSTER_IP_RANGE
        except ValueError:
            inside = False
        if not inside:
            why = (
                f"failed to allocate IP {ip}: the provided IP ({ip}) is not in the valid range. "
                f"The range of valid IPs is {CLUSTER_IP_RANGE}"
            )
        elif ip in used:
            why = f"failed to allocate IP {ip}: provided IP is already allocated"
        else:
            return
        cause = {"reason": "FieldValueInvalid", "field": "spec.clusterIPs", "message": f"Invalid value: {shown}: {why}"}
        raise errors.invalid("Service", "", name, [cause])

    def _check_port(self, name: str, index: int, port: int, used: set[int]) -> None:
        if port not in NODE_PORTS:
            why = "provided port is not in the valid range. The range of valid ports is 30000-32767"
        elif port in used:
            why = "provided port is already allocated"
        else:
            return
        field = f"spec.ports[{index}].nodePort"
        raise errors.invalid(
            "Service",
            "",
            name,
            [{"reason": "FieldValueInvalid", "field": field, "message": f"Invalid value: {port}: {why}"}],
        )

    # Load balancers --------------------------------------------------------------------------

    def on_event(self, event: Event) -> list[Hashable]:
        if event.key != SERVICES or event.type == DELETED:
            return []
        return [(event.namespace, event.entry.obj["metadata"]["name"])]

    def resync(self) -> None:
        for svc in self.client.objects(SERVICES):
            self.enqueue((svc["metadata"].get("namespace", ""), svc["metadata"]["name"]))

    def reconcile(self, key: Hashable) -> None:
        assert isinstance(key, tuple)
        namespace, name = key
        svc = self.client.get(SERVICES, namespace, name)
        if svc is None or svc["metadata"].get("deletionTimestamp"):
            return
        status = copy.deepcopy(dict(svc.get("status") or {}))
        balancer = status.setdefault("loadBalancer", {})
        wants = (svc.get("spec") or {}).get("type") == "LoadBalancer"
        if wants and balancer.get("ingress") != LB_INGRESS:
            self.client.event(svc, "EnsuringLoadBalancer", "Ensuring load balancer")
            balancer["ingress"] = copy.deepcopy(LB_INGRESS)
            self.client.update_status(SERVICES, svc, status)
            self.client.event(svc, "EnsuredLoadBalancer", "Ensured load balancer")
        elif not wants and balancer.get("ingress"):
            self.client.event(svc, "DeletingLoadBalancer", "Deleting load balancer")
            balancer.pop("ingress")
            self.client.update_status(SERVICES, svc, status)
            self.client.event(svc, "DeletedLoadBalancer", "Deleted load balancer")
