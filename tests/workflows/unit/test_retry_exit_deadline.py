import json
from datetime import timedelta

from tests.workflows.unit.sim import T0, Sim, load

RETRY = """
metadata: {name: retry-abc}
spec:
  entrypoint: main
  templates:
  - name: main
    retryStrategy: {limit: "2", backoff: {duration: "2", factor: "2"}}
    container: {image: busybox, command: [sh, -c, "echo {{retries}} {{pod.name}}"]}
"""


def test_retry_with_backoff_then_success():
    sim = Sim(load(RETRY))
    out = sim.step()
    root = sim.node("retry-abc")
    assert root["type"] == "Retry"
    (pod,) = out.create_pods
    assert pod["metadata"]["name"] == "retry-abc-main-3104331231"
    assert pod["spec"]["containers"][0]["command"][2] == "echo 0 retry-abc-main-3104331231"
    sim.finish(pod["metadata"]["name"], 1)
    out = sim.step()
    root = sim.node("retry-abc")
    assert root["phase"] == "Running" and root["message"] == "Backoff for 2 seconds"
    assert out.create_pods == [] and out.requeue_at == T0 + timedelta(seconds=3)
    sim.now = out.requeue_at - timedelta(seconds=1)
    out = sim.step()
    (pod,) = out.create_pods
    assert "echo 1 " in pod["spec"]["containers"][0]["command"][2]
    attempt = sim.node("retry-abc(1)")
    assert attempt["nodeFlag"] == {"retried": True}
    sim.finish(pod["metadata"]["name"], 1)
    out = sim.step()
    assert sim.node("retry-abc")["message"] == "Backoff for 4 seconds"
    sim.now = out.requeue_at
    out = sim.step(0)
    sim.finish(out.create_pods[0]["metadata"]["name"], 0)
    sim.step()
    assert sim.status["phase"] == "Succeeded"
    assert sim.status["progress"] == "1/3"
    assert sim.node("retry-abc")["progress"] == "1/3"


def test_retry_limit_zero_fails_with_no_more_retries_left():
    sim = Sim(load(RETRY.replace('{limit: "2", backoff: {duration: "2", factor: "2"}}', "{limit: 0}")))
    sim.run_all({"retry-abc(0)": 1})
    assert sim.status["phase"] == "Failed"
    assert sim.status["message"] == "No more retries left"
    assert sim.status["progress"] == "0/1"


def test_retry_policy_on_error_does_not_retry_failures():
    sim = Sim(load(RETRY.replace('{limit: "2", backoff: {duration: "2", factor: "2"}}',
                                 "{limit: 3, retryPolicy: OnError}")))
    sim.run_all({"retry-abc(0)": 1})
    assert sim.status["phase"] == "Failed"
    assert sim.status["message"] == "main: Error (exit code 1)"


def test_retry_expression_sees_last_retry():
    sim = Sim(load(RETRY.replace('{limit: "2", backoff: {duration: "2", factor: "2"}}',
                                 "{limit: 5, expression: \"asInt(lastRetry.exitCode) == 2\"}")))
    sim.step()
    sim.finish(sim.running()[0], 2)
    sim.step()
    sim.finish(sim.running()[0], 3)
    sim.step()
    assert sim.status["phase"] == "Failed"
    assert sim.node("retry-abc")["message"] == "retryStrategy.expression evaluated to false"
    assert len(sim.node("retry-abc")["children"]) == 2


EXIT = """
metadata: {name: exit-abc}
spec:
  entrypoint: main
  onExit: exit-handler
  templates:
  - name: main
    container: {image: busybox, command: [sh, -c, "exit 1"]}
  - name: exit-handler
    steps:
    - - {name: celebrate, template: echo, when: "{{workflow.status}} == Succeeded",
         arguments: {parameters: [{name: m, value: "{{workflow.status}}"}]}}
      - {name: cry, template: echo, when: "{{workflow.status}} != Succeeded",
         arguments: {parameters: [{name: m, value: "{{workflow.failures}}"}]}}
  - name: echo
    inputs: {parameters: [{name: m}]}
    container: {image: busybox, command: [echo, "{{inputs.parameters.m}}"]}
"""


def test_workflow_exit_handler_sees_status_and_failures():
    sim = Sim(load(EXIT))
    sim.step()
    sim.complete("exit-abc", 1)
    sim.step()
    assert sim.status["phase"] == "Running"
    exit_node = sim.node("exit-abc.onExit")
    assert exit_node["nodeFlag"] == {"hooked": True} and "boundaryID" not in exit_node
    (pod,) = sim.running()
    manifest = sim.pods[pod]
    assert manifest["metadata"]["labels"]["workflows.argoproj.io/on-exit"] == "true"
    failures = json.loads(json.loads(manifest["spec"]["containers"][0]["command"][1]))
    assert failures[0]["displayName"] == "exit-abc" and failures[0]["message"] == "main: Error (exit code 1)"
    assert failures[0]["podName"] == "exit-abc"
    sim.finish(pod)
    sim.step()
    assert sim.node("celebrate")["phase"] == "Skipped"
    assert sim.status["phase"] == "Failed"
    assert sim.status["message"] == "main: Error (exit code 1)"


def test_failing_exit_handler_fails_a_successful_workflow():
    wf = load(EXIT.replace('command: [sh, -c, "exit 1"]', "command: [\"true\"]"))
    sim = Sim(wf)
    sim.run_all({"celebrate": 1})
    assert sim.status["phase"] == "Failed"
    assert sim.status["message"] == sim.node("exit-abc.onExit")["message"]


TASK_EXIT = """
metadata: {name: hooks}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - name: A
        template: out
        hooks:
          exit:
            template: echo
            arguments: {parameters: [{name: m, value: "{{tasks.A.status}}:{{tasks.A.outputs.parameters.p}}"}]}
      - {name: B, depends: A, template: echo, arguments: {parameters: [{name: m, value: b}]}}
  - name: out
    outputs: {parameters: [{name: p, valueFrom: {path: /tmp/p, default: dflt}}]}
    container: {image: busybox, command: ["true"]}
  - name: echo
    inputs: {parameters: [{name: m}]}
    container: {image: busybox, command: [echo, "{{inputs.parameters.m}}"]}
"""


def test_task_exit_hook_runs_before_dependants():
    sim = Sim(load(TASK_EXIT))
    sim.step()
    sim.complete("A", message="argo-outputs 1\n0 -\n")
    sim.step()
    hook = sim.node("A.onExit")
    assert hook["nodeFlag"] == {"hooked": True}
    assert sim.node("A")["children"] == [hook["id"]]
    (pod,) = sim.running()
    assert sim.pods[pod]["spec"]["containers"][0]["command"][1] == "Succeeded:dflt"
    assert not any(n["name"] == "hooks.B" for n in sim.status["nodes"].values())
    sim.finish(pod)
    sim.step()
    assert sim.node("B")["phase"] == "Pending"
    sim.complete("B")
    sim.step()
    assert sim.status["phase"] == "Succeeded"


DEADLINE = """
metadata: {name: dl}
spec:
  entrypoint: main
  activeDeadlineSeconds: 10
  onExit: bye
  templates:
  - name: main
    steps:
    - - {name: slow, template: sleep}
    - - {name: never, template: sleep}
  - name: sleep
    container: {image: busybox, command: [sleep, "100"]}
  - name: bye
    container: {image: busybox, command: ["true"]}
"""


def test_workflow_deadline_fails_running_pods_and_still_runs_exit_handler():
    sim = Sim(load(DEADLINE))
    out = sim.step()
    assert out.create_pods[0]["spec"]["activeDeadlineSeconds"] == 10
    assert out.requeue_at == T0 + timedelta(seconds=11)
    pod = sim.running()[0]
    sim.start(pod)
    out = sim.step(12)
    slow = sim.node("slow")
    assert (slow["phase"], slow["message"]) == ("Failed", "Step exceeded its deadline")
    assert pod in sim.deleted
    exit_pod = [p for p in out.create_pods if p["metadata"]["labels"].get("workflows.argoproj.io/on-exit")]
    assert exit_pod and "activeDeadlineSeconds" not in exit_pod[0]["spec"]
    sim.finish(exit_pod[0]["metadata"]["name"])
    sim.step()
    assert sim.status["phase"] == "Failed"
    assert not any("never" in n["name"] for n in sim.status["nodes"].values())


def test_kubelet_deadline_message_is_the_node_message():
    sim = Sim(load(DEADLINE))
    sim.step()
    sim.finish(sim.running()[0], 137, phase="Failed",
               pod_message="Pod was active on the node longer than the specified deadline")
    sim.step()
    assert sim.node("slow")["message"] == "Pod was active on the node longer than the specified deadline"


PARALLEL = """
metadata: {name: par}
spec:
  entrypoint: main
  parallelism: 2
  templates:
  - name: main
    steps:
    - - {name: x, template: t, withSequence: {count: "5"}}
  - name: t
    container: {image: busybox, command: ["true"]}
"""


def test_workflow_parallelism_limits_active_pods():
    sim = Sim(load(PARALLEL))
    out = sim.step()
    assert len(out.create_pods) == 2
    out = sim.step()
    assert out.create_pods == [] or len(sim.running()) == 2
    for pod in sim.running():
        sim.finish(pod)
    out = sim.step()
    assert len(sim.running()) == 2
    sim.run_all()
    assert sim.status["phase"] == "Succeeded" and sim.status["progress"] == "5/5"


def test_template_parallelism_in_dag():
    wf = load("""
metadata: {name: tpar}
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
    out = sim.step()
    assert len(out.create_pods) == 1
    sim.run_all()
    assert sim.status["phase"] == "Succeeded" and sim.status["progress"] == "2/2"
