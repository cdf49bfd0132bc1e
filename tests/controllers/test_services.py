"""Services: allocation at creation (through kubectl and HTTP), LoadBalancer status, Endpoints."""

from __future__ import annotations

import ipaddress
from typing import Any

import yaml

from .helpers import Kube, pod_template, wait_for


def service(
    name: str, *, kind: str = "ClusterIP", selector: dict[str, str] | None = None, **spec: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": {"team": "a"}},
        "spec": {"type": kind, "ports": [{"name": "http", "port": 80, "targetPort": 8080}], **spec},
    }
    if selector is not None:
        body["spec"]["selector"] = selector
    return body


def services(ns: str) -> str:
    return f"/api/v1/namespaces/{ns}/services"


def test_cluster_ips_are_unique_addresses_of_the_service_range(kube: Kube, ns: str):
    ips = set()
    for i in range(5):
        svc = kube.create(services(ns), service(f"s{i}"))
        ip = svc["spec"]["clusterIP"]
        assert ipaddress.ip_address(ip) in ipaddress.ip_network("10.96.0.0/12")
        assert svc["spec"]["clusterIPs"] == [ip]
        ips.add(ip)
    assert len(ips) == 5


def test_headless_and_external_name_services_get_no_address(kube: Kube, ns: str):
    headless = kube.create(services(ns), service("headless", clusterIP="None"))
    assert headless["spec"]["clusterIP"] == "None" and headless["spec"]["clusterIPs"] == ["None"]
    external = kube.create(
        services(ns),
        {"metadata": {"name": "ext"}, "spec": {"type": "ExternalName", "externalName": "example.com"}},
    )
    assert "clusterIP" not in external["spec"]


def test_an_update_keeps_the_allocated_address(kube: Kube, ns: str, kubectl):
    first = kube.create(services(ns), service("keep"))
    manifest = yaml.safe_dump(service("keep") | {"metadata": {"name": "keep", "labels": {"team": "b"}}})
    kubectl("apply", "-n", ns, "-f", "-", input=manifest)
    live = kube.get(f"{services(ns)}/keep")
    assert live["spec"]["clusterIP"] == first["spec"]["clusterIP"]
    assert live["metadata"]["labels"] == {"team": "b"}


def test_a_taken_address_is_refused_as_upstream_does(kube: Kube, ns: str, kubectl):
    taken = kube.create(services(ns), service("first"))["spec"]["clusterIP"]
    result = kubectl.run(
        "apply", "-n", ns, "-f", "-", input=yaml.safe_dump(service("second", clusterIP=taken)), check=False
    )
    assert result.returncode == 1
    assert (
        f'The Service "second" is invalid: spec.clusterIPs: Invalid value: []string{{"{taken}"}}: '
        f"failed to allocate IP {taken}: provided IP is already allocated"
    ) in result.stderr


def test_node_ports_and_load_balancer_ingress(kube: Kube, ns: str):
    node_port = kube.create(services(ns), service("np", kind="NodePort"))
    port = node_port["spec"]["ports"][0]["nodePort"]
    assert 30000 <= port <= 32767
    assert node_port["spec"]["externalTrafficPolicy"] == "Cluster"
    r = kube.http.post(services(ns), json=service("np2", kind="NodePort", ports=[{"port": 81, "nodePort": port}]))
    assert r.status_code == 422
    assert r.json()["message"] == (
        f'Service "np2" is invalid: spec.ports[0].nodePort: Invalid value: {port}: provided port is already allocated'
    )
    lb = kube.create(services(ns), service("lb", kind="LoadBalancer"))
    assert lb["spec"]["ports"][0]["nodePort"] not in (None, port)
    ingress = wait_for(lambda: kube.get(f"{services(ns)}/lb")["status"]["loadBalancer"].get("ingress"))
    assert ingress == [{"ip": "127.0.0.1", "ipMode": "VIP"}]
    events = kube.events(ns, "lb")
    assert {
        ("EnsuringLoadBalancer", "Ensuring load balancer"),
        ("EnsuredLoadBalancer", "Ensured load balancer"),
    } <= set(events)


def test_endpoints_list_ready_pods_and_follow_their_readiness(kube: Kube, ns: str):
    kube.create(services(ns), service("web", selector={"app": "web"}))
    template = pod_template({"app": "web"})
    template["spec"]["containers"][0]["ports"] = [{"name": "http", "containerPort": 8080}]
    for name in ("web-a", "web-b"):
        kube.create(
            f"/api/v1/namespaces/{ns}/pods",
            {"metadata": {"name": name, **template["metadata"]}, "spec": template["spec"]},
        )
    a = kube.get(f"/api/v1/namespaces/{ns}/pods/web-a")
    b = kube.get(f"/api/v1/namespaces/{ns}/pods/web-b")
    kube.set_pod(a, "Running", ready=True)
    kube.set_pod(b, "Running", ready=False)

    def subsets() -> list[dict[str, Any]] | None:
        ep = kube.get(f"/api/v1/namespaces/{ns}/endpoints/web")
        return ep.get("subsets") if ep else None

    found = wait_for(lambda: (s := subsets()) and "notReadyAddresses" in s[0] and s)
    [subset] = found
    assert [x["targetRef"]["name"] for x in subset["addresses"]] == ["web-a"]
    assert [x["targetRef"]["name"] for x in subset["notReadyAddresses"]] == ["web-b"]
    assert subset["addresses"][0]["ip"] == "127.0.0.1"
    assert subset["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    ep = kube.get(f"/api/v1/namespaces/{ns}/endpoints/web")
    assert ep["metadata"]["labels"] == {"team": "a"}
    [slice_] = kube.items(f"/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices", "kubernetes.io/service-name=web")
    assert slice_["metadata"]["name"].startswith("web-") and slice_["addressType"] == "IPv4"
    assert slice_["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == "endpointslice-controller.k8s.io"
    assert sorted((e["targetRef"]["name"], e["conditions"]["ready"]) for e in slice_["endpoints"]) == [
        ("web-a", True),
        ("web-b", False),
    ]
    kube.set_pod(b, "Running", ready=True)
    wait_for(lambda: (s := subsets()) and len(s[0].get("addresses", [])) == 2)
    kube.delete(services(ns) + "/web")
    wait_for(lambda: kube.get(f"/api/v1/namespaces/{ns}/endpoints/web") is None)
