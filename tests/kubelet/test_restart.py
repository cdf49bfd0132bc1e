"""The kubelet across restarts of the embedded cluster: lost pods are handled like after a node reboot.

These tests start clusters of their own (on a temporary data dir) so they can stop, kill and
restart them; their pods carry a marker of their own so the process checks see only them.
"""

from __future__ import annotations

import signal
import subprocess
import uuid

from conftest import start_cluster

from .helpers import Pods, container_status, marked_processes, pod, sh, unique, wait_for


def marked(script: str, marker: str) -> dict:
    spec = sh(script)
    spec["env"].append({"name": "RESTART_TEST", "value": marker})
    return spec


def namespace(client) -> Pods:
    name = unique("rs")
    assert client.post("/api/v1/namespaces", json={"metadata": {"name": name}}).status_code == 201
    return Pods(client, name)


def test_after_a_restart_lost_containers_restart_or_fail_per_restart_policy(tmp_path):
    marker = f"restart-{uuid.uuid4().hex[:8]}"
    cluster = start_cluster(tmp_path / "home")
    try:
        with cluster.client() as client:
            pods = namespace(client)
            pods.create(pod("always", marked("sleep 60", marker), restart="Always"))
            pods.create(pod("never", marked("sleep 60", marker)))
            pods.create(pod("done", marked("echo done", marker)))
            for name in ("always", "never"):
                pods.wait_phase(name, "Running")
            pods.wait_phase("done", "Succeeded")
    finally:
        cluster.stop()
    wait_for(lambda: not marked_processes(marker), timeout=5, what="the pods' processes to end with the server")

    restarted = start_cluster(tmp_path / "home", port=cluster.port)
    try:
        with restarted.client() as client:
            pods.client = client

            def restarted_and_running():
                status = container_status(pods.get("always"))
                return status if status.get("restartCount") == 1 and "running" in status["state"] else None

            status = wait_for(restarted_and_running, what="the Always pod to run again")
            assert status["lastState"]["terminated"]["reason"] == "ContainerStatusUnknown"
            failed = pods.wait_phase("never", "Failed")
            assert "restarted while the pod was running" in failed["status"]["message"]
            terminated = container_status(failed)["state"]["terminated"]
            assert (terminated["exitCode"], terminated["reason"]) == (137, "ContainerStatusUnknown")
            assert pods.status("done")["phase"] == "Succeeded"
            assert pods.logs("done") == "done\n"
            assert len(marked_processes(marker)) > 0  # the Always pod runs again
    finally:
        restarted.stop()
    wait_for(lambda: not marked_processes(marker), timeout=5, what="the pods' processes to end with the server")


def test_no_pod_process_outlives_a_killed_server(tmp_path):
    marker = f"killed-{uuid.uuid4().hex[:8]}"
    cluster = start_cluster(tmp_path / "home")
    try:
        with cluster.client() as client:
            pods = namespace(client)
            pods.create(pod("sleeper", marked("sleep 60 & sleep 60", marker), restart="Always"))
            pods.wait_phase("sleeper", "Running")
            wait_for(lambda: len(marked_processes(marker)) >= 3, what="the pod's processes")
    finally:
        cluster.stop(signal.SIGKILL)
    wait_for(lambda: not marked_processes(marker), timeout=5, what="--die-with-parent to end the sandbox")


def test_a_starting_server_kills_sandboxes_left_behind_by_its_predecessor(tmp_path):
    home = tmp_path / "home"
    # What a sandbox orphaned by a crash looks like from outside: a process naming this cluster's pod dir.
    orphan = subprocess.Popen(["sh", "-c", "sleep 60", str(home / "cluster" / "pods" / "some-uid" / "tmp")])
    cluster = start_cluster(home)
    try:
        wait_for(lambda: orphan.poll() is not None, timeout=5, what="the orphan to be killed")
        assert orphan.returncode == -signal.SIGKILL
    finally:
        orphan.kill()
        cluster.stop()
