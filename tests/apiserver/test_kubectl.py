"""The machine's real kubectl against the embedded cluster: the commands users type, exactly.

Each test runs kubectl as a subprocess with a private HOME and cache dir (see conftest), so the
dispatcher's /version probe, discovery, OpenAPI validation and every request body are real.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid

import pytest
import yaml


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def ns(kubectl) -> str:
    name = unique("k")
    kubectl("create", "namespace", name)
    return name


def deployment(name: str, image: str = "nginx:1.27", replicas: int = 1, env: dict | None = None) -> str:
    container: dict = {"name": "web", "image": image, "ports": [{"containerPort": 80}]}
    if env:
        container["env"] = [{"name": k, "value": v} for k, v in env.items()]
    return yaml.safe_dump(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "labels": {"app": name}},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": name}},
                "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container]}},
            },
        }
    )


def test_version_is_served_as_1_31_so_the_dispatcher_runs_kubectl_1_31(kubectl):
    out = json.loads(kubectl("version", "-o", "json"))
    assert out["serverVersion"]["minor"] == "31"
    assert out["clientVersion"]["minor"] == "31"


def test_get_namespaces_table(kubectl):
    out = kubectl("get", "namespaces")
    header = out.splitlines()[0].split()
    assert header == ["NAME", "STATUS", "AGE"]
    assert any(line.split()[:2] == ["default", "Active"] for line in out.splitlines())


def test_create_get_describe_configmap(kubectl, ns):
    assert kubectl("create", "configmap", "cfg", "-n", ns, "--from-literal=a=1").strip() == "configmap/cfg created"
    got = kubectl.json("get", "configmap", "cfg", "-n", ns)
    assert got["data"] == {"a": "1"}
    described = kubectl("describe", "configmap", "cfg", "-n", ns)
    assert "Name:" in described and "cfg" in described


def test_apply_client_side_created_configured_unchanged(kubectl, ns):
    manifest = deployment("web")
    assert kubectl("apply", "-n", ns, "-f", "-", input=manifest).strip() == "deployment.apps/web created"
    assert kubectl("apply", "-n", ns, "-f", "-", input=manifest).strip() == "deployment.apps/web unchanged"
    changed = deployment("web", image="nginx:1.28", env={"MODE": "blue"})
    assert kubectl("apply", "-n", ns, "-f", "-", input=changed).strip() == "deployment.apps/web configured"
    live = kubectl.json("get", "deployment", "web", "-n", ns)
    container = live["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "nginx:1.28"
    assert container["env"] == [{"name": "MODE", "value": "blue"}]
    assert live["metadata"]["generation"] == 2
    assert "kubectl.kubernetes.io/last-applied-configuration" in live["metadata"]["annotations"]


def test_apply_server_side_and_conflicts(kubectl, ns):
    cm = yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {"k": "1"}})
    assert (
        kubectl("apply", "--server-side", "-n", ns, "-f", "-", input=cm).strip() == "configmap/ssa serverside-applied"
    )
    kubectl("patch", "configmap", "ssa", "-n", ns, "--type=merge", "-p", '{"data":{"k":"2"}}')
    conflict = kubectl.run("apply", "--server-side", "-n", ns, "-f", "-", input=cm, check=False)
    assert conflict.returncode != 0
    assert 'conflict with "kubectl-patch"' in conflict.stderr
    assert ".data.k" in conflict.stderr
    forced = kubectl("apply", "--server-side", "--force-conflicts", "-n", ns, "-f", "-", input=cm)
    assert "serverside-applied" in forced
    live = kubectl.json("get", "configmap", "ssa", "-n", ns, "--show-managed-fields")
    assert live["data"] == {"k": "1"}
    managers = {entry["manager"] for entry in live["metadata"]["managedFields"]}
    assert "kubectl" in managers


def test_diff_exit_codes(kubectl, ns):
    manifest = deployment("d")
    kubectl("apply", "-n", ns, "-f", "-", input=manifest)
    same = kubectl.run("diff", "-n", ns, "-f", "-", input=manifest, check=False)
    assert same.returncode == 0, same.stderr
    different = kubectl.run("diff", "-n", ns, "-f", "-", input=deployment("d", image="nginx:2"), check=False)
    assert different.returncode == 1, different.stderr
    assert "nginx:2" in different.stdout
    # The replicas field is owned by kubectl-client-side-apply: without --force-conflicts this conflicts.
    server_side = kubectl.run(
        "diff",
        "--server-side",
        "--force-conflicts",
        "-n",
        ns,
        "-f",
        "-",
        input=deployment("d", replicas=3),
        check=False,
    )
    assert server_side.returncode == 1, server_side.stderr
    assert kubectl.json("get", "deployment", "d", "-n", ns)["spec"]["replicas"] == 1


@pytest.mark.parametrize(
    "patch_type, patch, expected",
    [
        pytest.param("merge", '{"data":{"b":"2"}}', {"a": "1", "b": "2"}, id="merge"),
        pytest.param("json", '[{"op":"replace","path":"/data/a","value":"9"}]', {"a": "9"}, id="json"),
        pytest.param("strategic", '{"data":{"a":null,"c":"3"}}', {"c": "3"}, id="strategic"),
    ],
)
def test_patch_all_three_types(kubectl, ns, patch_type, patch, expected):
    kubectl("create", "configmap", "p", "-n", ns, "--from-literal=a=1")
    out = kubectl("patch", "configmap", "p", "-n", ns, f"--type={patch_type}", "-p", patch)
    assert out.strip() == "configmap/p patched"
    assert kubectl.json("get", "configmap", "p", "-n", ns)["data"] == expected
    again = kubectl("patch", "configmap", "p", "-n", ns, f"--type={patch_type}", "-p", patch)
    if patch_type != "json":
        assert again.strip() == "configmap/p patched (no change)"


def test_strategic_patch_merges_containers_by_name(kubectl, ns):
    kubectl("apply", "-n", ns, "-f", "-", input=deployment("smp"))
    patch = '{"spec":{"template":{"spec":{"containers":[{"name":"side","image":"busybox"}]}}}}'
    kubectl("patch", "deployment", "smp", "-n", ns, "-p", patch)
    names = [
        c["name"] for c in kubectl.json("get", "deployment", "smp", "-n", ns)["spec"]["template"]["spec"]["containers"]
    ]
    assert sorted(names) == ["side", "web"]


def test_label_annotate(kubectl, ns):
    kubectl("create", "configmap", "l", "-n", ns)
    assert kubectl("label", "configmap", "l", "-n", ns, "tier=web").strip() == "configmap/l labeled"
    assert kubectl("annotate", "configmap", "l", "-n", ns, "note=hi").strip() == "configmap/l annotated"
    meta = kubectl.json("get", "configmap", "l", "-n", ns)["metadata"]
    assert meta["labels"] == {"tier": "web"} and meta["annotations"] == {"note": "hi"}
    assert kubectl("label", "configmap", "l", "-n", ns, "tier-").strip() == "configmap/l unlabeled"
    assert "labels" not in kubectl.json("get", "configmap", "l", "-n", ns)["metadata"]
    assert kubectl("get", "configmap", "-n", ns, "-l", "tier=web", "-o", "name").strip() == ""


def test_replace_and_delete(kubectl, ns):
    kubectl("create", "configmap", "r", "-n", ns, "--from-literal=a=1")
    live = kubectl.json("get", "configmap", "r", "-n", ns)
    live["data"] = {"a": "2"}
    assert kubectl("replace", "-f", "-", input=json.dumps(live)).strip() == "configmap/r replaced"
    assert kubectl.json("get", "configmap", "r", "-n", ns)["data"] == {"a": "2"}
    assert kubectl("delete", "configmap", "r", "-n", ns).strip() == 'configmap "r" deleted'
    missing = kubectl.run("get", "configmap", "r", "-n", ns, check=False)
    assert missing.returncode == 1
    assert 'configmaps "r" not found' in missing.stderr


def test_wait_for_condition_and_delete(kubectl, cluster, ns):
    crd_free_job = yaml.safe_dump(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "w"},
            "spec": {
                "suspend": True,
                "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "m", "image": "busybox"}]}},
            },
        }
    )
    kubectl("apply", "-n", ns, "-f", "-", input=crd_free_job)
    waiter = subprocess.Popen(
        [
            "kubectl",
            f"--cache-dir={kubectl.home / 'cache'}",
            "wait",
            "--for=condition=complete",
            "job/w",
            "-n",
            ns,
            "--timeout=30s",
        ],
        env={"HOME": str(kubectl.home), "KUBECONFIG": str(kubectl.kubeconfig), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1)
    status = {"status": {"conditions": [{"type": "Complete", "status": "True"}], "succeeded": 1}}
    kubectl("patch", "job", "w", "-n", ns, "--subresource=status", "--type=merge", "-p", json.dumps(status))
    out, err = waiter.communicate(timeout=40)
    assert waiter.returncode == 0, err
    assert out.strip() == "job.batch/w condition met"

    kubectl("create", "configmap", "fin", "-n", ns)
    kubectl("patch", "configmap", "fin", "-n", ns, "--type=merge", "-p", '{"metadata":{"finalizers":["x.io/f"]}}')
    kubectl("delete", "configmap", "fin", "-n", ns, "--wait=false")
    waiter = subprocess.Popen(
        [
            "kubectl",
            f"--cache-dir={kubectl.home / 'cache'}",
            "wait",
            "--for=delete",
            "configmap/fin",
            "-n",
            ns,
            "--timeout=30s",
        ],
        env={"HOME": str(kubectl.home), "KUBECONFIG": str(kubectl.kubeconfig), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1)
    kubectl("patch", "configmap", "fin", "-n", ns, "--type=merge", "-p", '{"metadata":{"finalizers":null}}')
    out, err = waiter.communicate(timeout=40)
    assert waiter.returncode == 0, err
    assert out.strip() == "configmap/fin condition met"


def test_get_watch_streams_changes(kubectl, ns):
    kubectl("create", "configmap", "w1", "-n", ns)
    watcher = subprocess.Popen(
        [
            "kubectl",
            f"--cache-dir={kubectl.home / 'cache'}",
            "get",
            "configmaps",
            "-n",
            ns,
            "-w",
            "--request-timeout=5s",
        ],
        env={"HOME": str(kubectl.home), "KUBECONFIG": str(kubectl.kubeconfig), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.5)
    kubectl("create", "configmap", "w2", "-n", ns)
    out, _ = watcher.communicate(timeout=30)
    names = [line.split()[0] for line in out.splitlines()[1:] if line.strip()]
    assert "w1" in names and "w2" in names


def test_api_resources_and_versions(kubectl):
    resources = kubectl("api-resources")
    rows = {line.split()[0]: line.split() for line in resources.splitlines()[1:]}
    assert rows["deployments"][1] == "deploy"
    assert "customresourcedefinitions" in rows
    versions = kubectl("api-versions").split()
    assert {"v1", "apps/v1", "batch/v1", "apiextensions.k8s.io/v1"} <= set(versions)


def test_explain_uses_real_schema_descriptions(kubectl):
    out = kubectl("explain", "deployment.spec.replicas")
    assert "Number of desired pods" in out
    out = kubectl("explain", "configmap")
    assert "ConfigMap holds configuration data" in out


def test_apply_with_validation_rejects_unknown_fields(kubectl, ns):
    bad = yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "v"}, "spex": {}})
    result = kubectl.run("apply", "-n", ns, "-f", "-", input=bad, check=False)
    assert result.returncode == 1
    assert 'unknown field "spex"' in result.stderr


CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "additionalPrinterColumns": [{"name": "Size", "type": "integer", "jsonPath": ".spec.size"}],
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "properties": {"size": {"type": "integer"}, "color": {"type": "string"}},
                            },
                            "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}},
                        },
                    }
                },
            }
        ],
    },
}


def test_custom_resources_of_a_fresh_crd(kubectl, ns):
    kubectl("apply", "-f", "-", input=yaml.safe_dump(CRD))
    kubectl("wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=10s")
    widget = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w1"},
        "spec": {"size": 3, "color": "red"},
    }
    assert (
        kubectl("apply", "-n", ns, "-f", "-", input=yaml.safe_dump(widget)).strip() == "widget.example.com/w1 created"
    )
    widget["spec"]["size"] = 5
    assert (
        kubectl("apply", "-n", ns, "-f", "-", input=yaml.safe_dump(widget)).strip()
        == "widget.example.com/w1 configured"
    )
    table = kubectl("get", "wd", "-n", ns)
    assert table.splitlines()[0].split() == ["NAME", "SIZE"]
    assert table.splitlines()[1].split() == ["w1", "5"]
    kubectl("patch", "widget", "w1", "-n", ns, "--type=merge", "-p", '{"spec":{"color":"blue"}}')
    ssa = dict(widget, spec={"size": 7})
    assert "serverside-applied" in kubectl(
        "apply", "--server-side", "--force-conflicts", "-n", ns, "-f", "-", input=yaml.safe_dump(ssa)
    )
    assert kubectl.json("get", "widget", "w1", "-n", ns)["spec"]["size"] == 7
    kubectl("label", "widget", "w1", "-n", ns, "x=y")
    kubectl("annotate", "widget", "w1", "-n", ns, "a=b")
    diff = kubectl.run("diff", "-n", ns, "-f", "-", input=yaml.safe_dump(dict(widget, spec={"size": 9})), check=False)
    assert diff.returncode == 1
    kubectl("delete", "widget", "w1", "-n", ns)
    assert kubectl("get", "widgets", "-n", ns, "-o", "name").strip() == ""
    kubectl("apply", "-n", ns, "-f", "-", input=yaml.safe_dump(widget))
    kubectl("delete", "crd", "widgets.example.com")
    gone = kubectl.run("get", "widgets", "-n", ns, check=False)
    assert gone.returncode != 0


def test_logs_of_a_real_container(kubectl, ns):
    """kubectl logs reads what the embedded kubelet captured from the container's stdout and stderr."""
    script = "echo first line; echo second line >&2"
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "lg"},
        "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "main", "image": "busybox", "command": ["sh", "-c", script]}],
        },
    }
    kubectl("apply", "-n", ns, "-f", "-", input=yaml.safe_dump(pod))
    kubectl("wait", "-n", ns, "--for=jsonpath={.status.phase}=Succeeded", "pod/lg", "--timeout=60s")
    assert sorted(kubectl("logs", "lg", "-n", ns).splitlines()) == ["first line", "second line"]
    assert len(kubectl("logs", "lg", "-n", ns, "--tail=1").splitlines()) == 1
    stamped = kubectl("logs", "lg", "-n", ns, "--timestamps").splitlines()[0]
    stamp, _, text = stamped.partition(" ")
    assert stamp.endswith("Z") and "T" in stamp and text in ("first line", "second line")
    wrong = kubectl.run("logs", "lg", "-n", ns, "-c", "nope", check=False)
    assert wrong.returncode == 1 and "container nope is not valid for pod lg" in wrong.stderr
