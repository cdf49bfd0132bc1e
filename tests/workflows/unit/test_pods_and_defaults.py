from tests.workflows.unit.sim import Sim, load

WF = """
metadata:
  name: pods
  annotations: {workflows.argoproj.io/pod-name-format: v2}
spec:
  entrypoint: main
  serviceAccountName: wf-sa
  activeDeadlineSeconds: 100
  podMetadata: {labels: {from: spec}, annotations: {a: b}}
  podGC: {strategy: OnWorkflowCompletion, deleteDelayDuration: 30s}
  templateDefaults:
    container: {image: busybox, env: [{name: DEFAULTED, value: "1"}]}
    timeout: 50s
  retryStrategy: {limit: 1}
  templates:
  - name: main
    metadata: {labels: {tier: t1}}
    serviceAccountName: tmpl-sa
    nodeSelector: {disk: ssd}
    container: {command: [echo, hi]}
"""


def test_pod_manifest_identity_labels_annotations_and_spec():
    sim = Sim(load(WF))
    out = sim.step()
    (pod,) = out.create_pods
    meta = pod["metadata"]
    assert sim.wf["metadata"]["annotations"]["workflows.argoproj.io/pod-name-format"] == "v2"
    assert sim.node("pods")["type"] == "Retry"  # the workflow-level retryStrategy applies to every template
    assert meta["name"] == f"pods-main-{__import__('tiphys.workflows.naming', fromlist=['x']).fnv32a('pods(0)')}"
    assert meta["labels"] == {"from": "spec", "tier": "t1", "workflows.argoproj.io/workflow": "pods",
                              "workflows.argoproj.io/completed": "false"}
    assert meta["annotations"] == {
        "a": "b",
        "workflows.argoproj.io/node-name": "pods(0)",
        "workflows.argoproj.io/node-id": sim.node("pods(0)")["id"],
        "kubectl.kubernetes.io/default-container": "main",
        "workflows.argoproj.io/pod-gc-strategy": "OnWorkflowCompletion/30s",
    }
    assert meta["ownerReferences"] == [{"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "name": "pods",
                                        "uid": "uid-1", "controller": True, "blockOwnerDeletion": True}]
    spec = pod["spec"]
    assert spec["restartPolicy"] == "Never"
    assert spec["serviceAccountName"] == "tmpl-sa"
    assert spec["nodeSelector"] == {"disk": "ssd"}
    assert spec["activeDeadlineSeconds"] == 50  # template timeout (from templateDefaults) < workflow remaining
    main = spec["containers"][0]
    assert main["name"] == "main" and main["image"] == "busybox" and main["command"] == ["echo", "hi"]
    env = {e["name"]: e["value"] for e in main["env"]}
    assert env["DEFAULTED"] == "1" and env["ARGO_NODE_ID"] == sim.node("pods(0)")["id"]


def test_pod_gc_on_workflow_completion_waits_for_the_delay():
    sim = Sim(load(WF))
    sim.step()
    (pod,) = sim.running()
    sim.finish(pod)
    out = sim.step()
    assert sim.status["phase"] == "Succeeded"
    assert out.delete_pods == [] and out.requeue_at is not None
    out = sim.step(31)
    assert out.delete_pods == [pod]


def test_v1_pod_names_are_node_ids():
    wf = load(WF.replace("pod-name-format: v2", "pod-name-format: v1"))
    sim = Sim(wf)
    out = sim.step()
    assert out.create_pods[0]["metadata"]["name"] == sim.node("pods(0)")["id"]
