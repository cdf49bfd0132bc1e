"""Leader election: only the holder of Lease tiphys/tiphys-controller processes Applications."""

from __future__ import annotations

import os
import signal
import uuid

import httpx

from .conftest import ControllerProcess, app_manifest, configmap, kube_get, wait_until

LEASE = "/apis/coordination.k8s.io/v1/namespaces/tiphys/leases/tiphys-controller"


def role(process) -> str:
    try:
        return httpx.get(f"http://127.0.0.1:{process.webhook_port}/healthz", timeout=5).text
    except httpx.HTTPError:
        return "unreachable"


def holder(cluster) -> str:
    return ((kube_get(cluster, LEASE) or {}).get("spec") or {}).get("holderIdentity", "")


def refreshed(process, name: str) -> bool:
    return f"{name}: refreshed" in process.tail(10**7)


def leader_and_standby(
    controller_factory, cluster, leader: str, standby: str
) -> tuple[ControllerProcess, ControllerProcess]:
    """Two controllers (identities ``LEADER-xxxx``, ``STANDBY-xxxx``): the first started and holding the Lease, then
    the second started."""
    first, second = (
        controller_factory(identity=f"{leader}-" + uuid.uuid4().hex[:4]),
        controller_factory(identity=f"{standby}-" + uuid.uuid4().hex[:4]),
    )
    first.start()
    wait_until(lambda: holder(cluster) == first.identity, 30, message="the first controller holds the Lease")
    second.start()
    return first, second


def test_a_second_controller_waits_and_takes_over_when_the_first_stops(git_server, apps, controller_factory, cluster):
    first, second = leader_and_standby(controller_factory, cluster, "first", "second")
    lease = kube_get(cluster, LEASE)
    assert lease["spec"]["leaseDurationSeconds"] == 15
    repo = git_server.repo("leader", {"app/cm.yaml": configmap("x")})
    name = "lead-" + uuid.uuid4().hex[:6]
    apps.create(app_manifest(name, repo=repo.url, path="app", namespace=name))
    wait_until(lambda: refreshed(first, name), 30, message="the leader processes the app")
    assert (role(first), role(second)) == ("leading", "standby")
    assert not refreshed(second, name)
    first.stop()  # SIGTERM: the Lease is released, the standby takes it without waiting for it to expire
    wait_until(lambda: holder(cluster) == second.identity, 10, message="the second controller takes over at once")
    assert role(second) == "leading"
    apps.patch(name, {"metadata": {"annotations": {"argocd.argoproj.io/refresh": "normal"}}})
    wait_until(lambda: refreshed(second, name), 30, message="the new leader processes the app")


def test_a_frozen_leader_stops_processing_once_another_took_over(git_server, apps, controller_factory, cluster):
    first, second = leader_and_standby(controller_factory, cluster, "frozen", "standby")
    os.killpg(first.pid, signal.SIGSTOP)  # no renewals, no release: the Lease has to expire
    try:
        wait_until(lambda: holder(cluster) == second.identity, 60, message="the standby takes the expired Lease")
        repo = git_server.repo("frozen", {"app/cm.yaml": configmap("x")})
        name = "frozen-" + uuid.uuid4().hex[:6]
        apps.create(app_manifest(name, repo=repo.url, path="app", namespace=name))
        wait_until(lambda: refreshed(second, name), 30, message="the new leader processes a new app")
    finally:
        os.killpg(first.pid, signal.SIGCONT)
    wait_until(lambda: "lost the lease" in first.tail(10**7), 30, message="the old leader notices it lost the Lease")
    assert role(first) == "standby"
    assert holder(cluster) == second.identity
    assert not refreshed(first, name)  # it never processed the app created while the other one led
