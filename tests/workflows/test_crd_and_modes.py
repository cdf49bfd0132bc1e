"""The controller process: the CRD it installs, ``--mode off``, and ``auto`` standing aside for Argo's."""

from __future__ import annotations

import json

import pytest

from tiphys.workflows.runtime.detect import is_argo_controller

from .conftest import start_controller, unique, wait_for


def test_the_crd_has_upstreams_shape(wf_controller, kubectl):
    crd = kubectl.json("get", "crd", "workflows.argoproj.io")
    spec = crd["spec"]
    assert spec["group"] == "argoproj.io" and spec["scope"] == "Namespaced"
    assert spec["names"]["shortNames"] == ["wf"] and spec["names"]["plural"] == "workflows"
    version = spec["versions"][0]
    assert version["name"] == "v1alpha1" and version["served"] and version["storage"]
    assert not version.get("subresources")  # no status subresource: status is written with the object
    schema = version["schema"]["openAPIV3Schema"]["properties"]
    assert schema["spec"]["x-kubernetes-preserve-unknown-fields"] is True
    assert schema["status"]["x-kubernetes-preserve-unknown-fields"] is True
    columns = [c["name"] for c in version["additionalPrinterColumns"]]
    assert columns == ["Status", "Age", "Message"]


def test_kubectl_lists_workflows_by_short_name(wf_controller, kubectl):
    namespace = unique("short")
    kubectl("create", "namespace", namespace)
    done = kubectl.run("get", "wf", "-n", namespace)
    assert done.returncode == 0
    assert f"No resources found in {namespace} namespace." in done.stderr
    kubectl("delete", "namespace", namespace, "--wait=false")


def test_mode_off_exits_at_once(cluster, tmp_path):
    controller = start_controller(cluster.kubeconfig, tmp_path / "off.log", mode="off")
    assert controller.process.wait(timeout=60) == 0
    assert "workflow controller: off" in controller.output()


def test_a_bad_mode_is_refused(cluster, tmp_path):
    controller = start_controller(cluster.kubeconfig, tmp_path / "bad.log", mode="sometimes")
    assert controller.process.wait(timeout=60) == 2
    assert "invalid choice: 'sometimes'" in controller.output()


def argo_deployment(name: str, **labels: str) -> dict:
    pod_labels = labels or {"app": "workflow-controller"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": pod_labels},
            "template": {
                "metadata": {"labels": pod_labels},
                "spec": {
                    "containers": [{"name": "workflow-controller", "image": "quay.io/argoproj/workflow-controller"}]
                },
            },
        },
    }


@pytest.mark.parametrize(
    "deployment, expected",
    [
        pytest.param(argo_deployment("workflow-controller"), True, id="plain-manifests"),
        pytest.param(
            argo_deployment(
                "argo-workflows-workflow-controller", **{"app.kubernetes.io/component": "workflow-controller"}
            ),
            True,
            id="helm-chart",
        ),
        pytest.param(argo_deployment("renamed", app="workflow-controller"), True, id="by-pod-label"),
        pytest.param(argo_deployment("web", app="web"), False, id="another-deployment"),
        pytest.param(
            {**argo_deployment("workflow-controller"), "spec": {**argo_deployment("x")["spec"], "replicas": 0}},
            False,
            id="scaled-to-zero",
        ),
    ],
)
def test_which_deployments_are_argo_controllers(deployment, expected):
    assert is_argo_controller(deployment) is expected


def test_auto_stands_aside_while_argos_controller_is_deployed(cluster, kubectl, wf_controller, tmp_path):
    namespace = unique("argo")
    kubectl("create", "namespace", namespace)
    manifest = argo_deployment("workflow-controller")
    manifest["spec"]["template"]["metadata"]["annotations"] = {"tiphys.io/simulate": "run"}
    kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(manifest))
    controller = start_controller(cluster.kubeconfig, tmp_path / "auto.log", mode="auto")
    try:
        wait_for(lambda: "standing aside for Argo's" in controller.output(), what="auto to stand aside")
        assert f"{namespace}/workflow-controller" in controller.output()
        assert "workflow controller: running" not in controller.output()
        kubectl("delete", "deployment", "workflow-controller", "-n", namespace)
        wait_for(lambda: "workflow controller: running" in controller.output(), what="auto to take over")
    finally:
        controller.stop()
        kubectl("delete", "namespace", namespace, "--wait=false")
