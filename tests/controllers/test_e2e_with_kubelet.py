"""End to end with the kubelet: real processes behind Jobs, Deployments and namespaces, via kubectl.

These are the issue's "Done when" checks that need pods to really run; they skip while the
cluster has no node ``tiphys-local`` (no kubelet).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from .helpers import Kube, unique, wait_for


@pytest.fixture(autouse=True)
def _needs_kubelet(kube: Kube) -> None:
    deadline = time.monotonic() + 5
    while kube.get("/api/v1/nodes/tiphys-local") is None:
        if time.monotonic() > deadline:
            pytest.skip("the cluster runs no kubelet (no node tiphys-local)")
        time.sleep(0.1)


def job(name: str, script: str, **spec: Any) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": name},
            "spec": {
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "terminationGracePeriodSeconds": 1,
                        "containers": [{"name": "main", "image": "busybox:1.36", "command": ["sh", "-c", script]}],
                    }
                },
                **spec,
            },
        }
    )


def conditions(obj: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c.get("reason", "")) for c in obj.get("status", {}).get("conditions", [])}


def test_a_job_that_prints_a_line_completes_and_its_log_shows_it(kubectl, ns: str):
    kubectl("apply", "-n", ns, "-f", "-", input=job("hello", "echo hello from tiphys"))
    kubectl("wait", "-n", ns, "--for=condition=complete", "job/hello", "--timeout=60s")
    assert kubectl("logs", "-n", ns, "job/hello").strip() == "hello from tiphys"
    status = kubectl.json("get", "job", "hello", "-n", ns)["status"]
    assert status["succeeded"] == 1
    assert conditions({"status": status})["Complete"] == ("True", "CompletionsReached")


def test_a_job_exiting_3_with_backoff_limit_1_fails_after_two_pods(kubectl, ns: str):
    kubectl("apply", "-n", ns, "-f", "-", input=job("three", "exit 3", backoffLimit=1))
    kubectl("wait", "-n", ns, "--for=condition=failed", "job/three", "--timeout=90s")
    status = kubectl.json("get", "job", "three", "-n", ns)["status"]
    assert status["failed"] == 2
    assert conditions({"status": status})["Failed"] == ("True", "BackoffLimitExceeded")
    pods = kubectl.json("get", "pods", "-n", ns, "-l", "job-name=three")["items"]
    assert len(pods) == 2
    for pod in pods:
        assert pod["status"]["phase"] == "Failed"
        assert pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 3


def test_active_deadline_fails_a_sleeping_job(kubectl, ns: str):
    kubectl("apply", "-n", ns, "-f", "-", input=job("sleepy", "sleep 60", activeDeadlineSeconds=2))
    kubectl("wait", "-n", ns, "--for=condition=failed", "job/sleepy", "--timeout=60s")
    status = kubectl.json("get", "job", "sleepy", "-n", ns)["status"]
    assert conditions({"status": status})["Failed"] == ("True", "DeadlineExceeded")
    wait_for(lambda: not kubectl.json("get", "pods", "-n", ns, "-l", "job-name=sleepy")["items"], timeout=60)


def deployment(env: str) -> str:
    container = {
        "name": "main",
        "image": "busybox:1.36",
        "command": ["sleep", "3600"],
        "env": [{"name": "VERSION", "value": env}],
    }
    return yaml.safe_dump(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"terminationGracePeriodSeconds": 1, "containers": [container]},
                },
            },
        }
    )


def test_a_deployment_becomes_available_rolls_out_and_is_deleted_with_its_pods(kubectl, ns: str):
    kubectl("apply", "-n", ns, "-f", "-", input=deployment("1"))
    kubectl("rollout", "status", "-n", ns, "deployment/web", "--timeout=60s")
    kubectl("wait", "-n", ns, "--for=condition=available", "deployment/web", "--timeout=60s")
    first = {p["metadata"]["name"] for p in kubectl.json("get", "pods", "-n", ns, "-l", "app=web")["items"]}
    assert len(first) == 2

    kubectl("apply", "-n", ns, "-f", "-", input=deployment("2"))
    kubectl("rollout", "status", "-n", ns, "deployment/web", "--timeout=90s")

    def replaced() -> set[str] | None:
        pods = kubectl.json("get", "pods", "-n", ns, "-l", "app=web")["items"]
        names = {p["metadata"]["name"] for p in pods if not p["metadata"].get("deletionTimestamp")}
        return names if len(pods) == 2 and not names & first else None

    second = wait_for(replaced, timeout=60, interval=0.2)
    assert len(second) == 2
    d = kubectl.json("get", "deployment", "web", "-n", ns)
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    assert len(kubectl.json("get", "replicasets", "-n", ns, "-l", "app=web")["items"]) == 2

    kubectl("delete", "deployment", "web", "-n", ns, "--wait=true", "--timeout=60s")

    def emptied() -> bool:
        rs = kubectl.json("get", "replicasets", "-n", ns, "-l", "app=web")["items"]
        pods = kubectl.json("get", "pods", "-n", ns, "-l", "app=web")["items"]
        return not rs and not pods

    wait_for(emptied, timeout=60, interval=0.2)


def test_deleting_a_namespace_removes_a_running_pod_and_the_namespace(kubectl):
    name = unique("gone")
    kubectl("create", "namespace", name)
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "runner"},
        "spec": {
            "terminationGracePeriodSeconds": 2,
            "containers": [{"name": "main", "image": "busybox:1.36", "command": ["sleep", "3600"]}],
        },
    }
    kubectl("apply", "-n", name, "-f", "-", input=yaml.safe_dump(pod))
    kubectl("wait", "-n", name, "--for=condition=ready", "pod/runner", "--timeout=60s")
    kubectl("delete", "namespace", name, "--wait=true", "--timeout=90s")
    result = kubectl.run("get", "namespace", name, "-o", "json", check=False)
    assert result.returncode != 0 and "NotFound" in result.stderr
    listed = json.loads(kubectl("get", "pods", "--all-namespaces", "-o", "json"))["items"]
    assert not [p for p in listed if p["metadata"]["namespace"] == name]


def test_a_pod_writes_into_its_claim_and_the_data_lands_in_the_volume_directory(kubectl, ns: str):
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    kubectl("apply", "-n", ns, "-f", "-", input=yaml.safe_dump(claim))
    writer = yaml.safe_load(job("writer", "echo persisted > /data/proof"))
    pod_spec = writer["spec"]["template"]["spec"]
    pod_spec["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]
    pod_spec["containers"][0]["volumeMounts"] = [{"name": "data", "mountPath": "/data"}]
    kubectl("apply", "-n", ns, "-f", "-", input=yaml.safe_dump(writer))
    kubectl("wait", "-n", ns, "--for=condition=complete", "job/writer", "--timeout=60s")
    bound = kubectl.json("get", "pvc", "data", "-n", ns)
    volume = kubectl.json("get", "pv", bound["spec"]["volumeName"])
    proof = Path(volume["spec"]["hostPath"]["path"]) / "proof"
    assert proof.read_text() == "persisted\n"
