from datetime import timedelta

import pytest

from tests.workflows.unit.sim import T0, Sim, load
from tiphys.workflows.reconcile import ResourceObservation
from tiphys.workflows.suspend import ResumeError, resume

SUSPEND = """
metadata: {name: sus}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: wait, template: wait}
    - - {name: approve, template: approve}
    - - name: use
        template: echo
        arguments: {parameters: [{name: m, value: "{{steps.approve.outputs.parameters.answer}}"}]}
  - name: wait
    suspend: {duration: "20"}
  - name: approve
    suspend: {}
    outputs: {parameters: [{name: answer, valueFrom: {supplied: {}}}]}
  - name: echo
    inputs: {parameters: [{name: m}]}
    container: {image: busybox, command: [echo, "{{inputs.parameters.m}}"]}
"""


def test_suspend_with_duration_then_manual_resume_with_supplied_value():
    sim = Sim(load(SUSPEND))
    out = sim.step()
    wait = sim.node("wait")
    assert (wait["type"], wait["phase"]) == ("Suspend", "Running")
    assert out.requeue_at == T0 + timedelta(seconds=21)
    sim.now = out.requeue_at
    sim.step(0)
    assert sim.node("wait")["phase"] == "Succeeded"
    assert sim.node("approve")["phase"] == "Running"
    with pytest.raises(ResumeError, match="needs a supplied value"):
        resume(sim.wf, sim.now)
    sim.wf = resume(sim.wf, sim.now, node_name="approve", parameters={"answer": "yes"})
    out = sim.step()
    assert out.create_pods[0]["spec"]["containers"][0]["command"] == ["echo", "yes"]
    sim.run_all()
    assert sim.status["phase"] == "Succeeded"
    assert sim.status["progress"] == "3/3"


RESOURCE = """
metadata: {name: res}
spec:
  entrypoint: main
  templates:
  - name: main
    resource:
      action: create
      setOwnerReference: true
      successCondition: status.succeeded > 0
      failureCondition: status.failed > 3
      manifest: |
        apiVersion: batch/v1
        kind: Job
        metadata: {generateName: pi-job-}
        spec: {template: {spec: {containers: [{name: pi, image: perl}], restartPolicy: Never}}}
    outputs: {parameters: [{name: job, valueFrom: {jsonPath: "{.metadata.name}"}}]}
"""


def test_resource_template_creates_then_polls_until_success_condition():
    sim = Sim(load(RESOURCE))
    out = sim.step()
    (action,) = out.resource_actions
    assert action.action == "create" and not action.poll and action.set_owner_reference
    assert action.manifest["metadata"] == {"generateName": "pi-job-", "namespace": "default"}
    assert action.owner_reference["uid"] == "uid-1"
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi-job-x1", "namespace": "default"},
           "status": {"active": 1}}
    sim.resources = {action.node_id: ResourceObservation(object=job)}
    out = sim.step()
    assert sim.node("res")["phase"] == "Running" and out.resource_actions == []
    assert out.requeue_at is not None
    out = sim.step()
    (poll,) = out.resource_actions
    assert poll.poll and poll.action == "get" and poll.manifest["metadata"]["name"] == "pi-job-x1"
    sim.resources = {action.node_id: ResourceObservation(object={**job, "status": {"succeeded": 1}})}
    sim.step()
    node = sim.node("res")
    assert node["phase"] == "Succeeded"
    assert node["outputs"]["parameters"][0]["value"] == "pi-job-x1"
    assert sim.status["phase"] == "Succeeded"


def test_resource_failure_condition_and_api_error():
    sim = Sim(load(RESOURCE))
    out = sim.step()
    node_id = out.resource_actions[0].node_id
    sim.resources = {node_id: ResourceObservation(error='jobs.batch "x" is forbidden')}
    sim.step()
    assert sim.node("res")["message"] == 'jobs.batch "x" is forbidden'
    assert sim.status["phase"] == "Failed"


def test_shutdown_terminate_deletes_pods_and_fails():
    sim = Sim(load("""
metadata: {name: stop}
spec:
  entrypoint: main
  onExit: bye
  templates:
  - name: main
    container: {image: busybox, command: [sleep, "100"]}
  - name: bye
    container: {image: busybox, command: ["true"]}
"""))
    sim.step()
    pod = sim.running()[0]
    sim.start(pod)
    sim.step()
    sim.wf["spec"]["shutdown"] = "Terminate"
    out = sim.step()
    assert out.delete_pods == [pod]
    assert sim.status["phase"] == "Failed"
    assert sim.status["message"] == "Stopped with strategy 'Terminate'"
    assert not any(n["name"] == "stop.onExit" for n in sim.status["nodes"].values())


def test_ttl_and_pod_gc_after_completion():
    sim = Sim(load("""
metadata: {name: gc}
spec:
  entrypoint: main
  ttlStrategy: {secondsAfterSuccess: 30}
  podGC: {strategy: OnPodSuccess}
  templates:
  - name: main
    container: {image: busybox, command: ["true"]}
"""))
    out = sim.step()
    assert out.create_pods[0]["metadata"]["annotations"]["workflows.argoproj.io/pod-gc-strategy"] == "OnPodSuccess/"
    sim.finish("gc")
    out = sim.step()
    assert sim.status["phase"] == "Succeeded"
    assert out.delete_pods == ["gc"]
    assert not out.delete_workflow and out.requeue_at == sim.now + timedelta(seconds=30)
    out = sim.step(31)
    assert out.delete_workflow


def test_restart_recreates_unseen_pod_and_missing_running_pod_is_an_error():
    sim = Sim(load("""
metadata: {name: crash}
spec:
  entrypoint: main
  templates:
  - name: main
    container: {image: busybox, command: ["true"]}
"""))
    first = sim.step()
    sim.pods.clear()  # the runtime died after writing the status, before creating the pod
    again = sim.step()
    assert again.create_pods == first.create_pods
    sim.start("crash")
    sim.step()
    del sim.pods["crash"]
    sim.step()
    assert sim.node("crash")["phase"] == "Error" and sim.node("crash")["message"] == "pod deleted"
    assert sim.status["phase"] == "Error"


def test_fail_fast_ends_the_dag_when_a_target_is_blocked_by_parallelism():
    wf = load("""
metadata: {name: ff}
spec:
  entrypoint: main
  templates:
  - name: main
    parallelism: 1
    dag:
      tasks:
      - {name: a, template: t}
      - {name: b, template: t}
  - name: t
    container: {image: busybox, command: ["true"]}
""")
    sim = Sim(wf)
    sim.step()
    sim.finish(sim.running()[0], 1)
    sim.step()
    assert sim.status["phase"] == "Failed"
    assert not any(n["name"] == "ff.b" for n in sim.status["nodes"].values())
    wf["spec"]["templates"][0]["dag"]["failFast"] = False
    sim = Sim(wf)
    sim.step()
    sim.finish(sim.running()[0], 1)
    sim.step()
    assert sim.status["phase"] == "Running" and sim.node("b")["phase"] == "Pending"
