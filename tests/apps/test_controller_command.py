"""`tiphys controller`: bad invocations exit 2, an unusable address exits 1, SIGTERM exits 0 and frees the Lease."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import pytest

from .conftest import kube_get, wait_until


def controller(cluster, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "tiphys", "controller", "--kubeconfig", str(cluster.kubeconfig), *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env={**os.environ})


@pytest.mark.parametrize(
    "args, message",
    [
        pytest.param(["--webhook-addr", "nowhere"], "--webhook-addr 'nowhere' is not HOST:PORT", id="address"),
        pytest.param(["--repo-poll", "0"], "--repo-poll must be a positive number of seconds", id="poll"),
        pytest.param(["--concurrency", "0"], "--concurrency must be at least 1", id="concurrency"),
        pytest.param(["--workflow-controller", "maybe"], "maybe", id="workflow-mode"),
    ],
)
def test_bad_invocations_exit_2(cluster, args, message):
    done = controller(cluster, *args)
    assert done.returncode == 2, done.stderr
    assert message in " ".join(done.stderr.split())


def test_a_taken_webhook_address_exits_1(cluster):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = controller(cluster, "--webhook-addr", f"127.0.0.1:{port}")
    assert done.returncode == 1
    assert f"the webhook address 127.0.0.1:{port} could not be served" in " ".join(done.stderr.split())


def test_sigterm_exits_0_and_releases_the_lease(controller_factory, cluster):
    process = controller_factory(identity="term-test").start()
    lease = "/apis/coordination.k8s.io/v1/namespaces/tiphys/leases/tiphys-controller"
    wait_until(
        lambda: (kube_get(cluster, lease) or {}).get("spec", {}).get("holderIdentity") == "term-test",
        30,
        message="it leads",
    )
    os.killpg(process.pid, signal.SIGTERM)
    assert process.process.wait(timeout=30) == 0
    assert kube_get(cluster, lease)["spec"].get("holderIdentity", "") == ""
