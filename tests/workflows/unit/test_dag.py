from tests.workflows.unit.sim import Sim, load

DIAMOND = """
metadata: {name: dag-diamond-abcde}
spec:
  entrypoint: diamond
  templates:
  - name: echo
    inputs: {parameters: [{name: message}]}
    container: {image: alpine:3.7, command: [echo, "{{inputs.parameters.message}}"]}
  - name: diamond
    dag:
      tasks:
      - {name: A, template: echo, arguments: {parameters: [{name: message, value: A}]}}
      - {name: B, dependencies: [A], template: echo, arguments: {parameters: [{name: message, value: B}]}}
      - {name: C, dependencies: [A], template: echo, arguments: {parameters: [{name: message, value: C}]}}
      - {name: D, dependencies: [B, C], template: echo, arguments: {parameters: [{name: message, value: D}]}}
"""


def test_diamond_runs_in_order_with_upstream_ids_and_wiring():
    sim = Sim(load(DIAMOND))
    out = sim.step()
    assert sim.status["phase"] == "Running"
    assert [p["metadata"]["name"] for p in out.create_pods] == ["dag-diamond-abcde-echo-77401465"]
    pod = out.create_pods[0]
    assert pod["spec"]["containers"][0]["command"] == ["echo", "A"]
    assert pod["metadata"]["ownerReferences"][0]["uid"] == "uid-1"
    sim.complete("A")
    out = sim.step()
    assert sorted(p["metadata"]["name"] for p in out.create_pods) == [
        "dag-diamond-abcde-echo-27068608", "dag-diamond-abcde-echo-43846227"]
    sim.complete("B")
    sim.complete("C")
    sim.step()
    sim.complete("D")
    sim.step()
    nodes = sim.status["nodes"]
    assert sim.status["phase"] == "Succeeded"
    assert sim.status["progress"] == "4/4"
    assert nodes["dag-diamond-abcde"]["children"] == ["dag-diamond-abcde-77401465"]
    assert nodes["dag-diamond-abcde-77401465"]["children"] == [
        "dag-diamond-abcde-27068608", "dag-diamond-abcde-43846227"]
    assert nodes["dag-diamond-abcde-27068608"]["children"] == ["dag-diamond-abcde-127734322"]
    assert nodes["dag-diamond-abcde"]["outboundNodes"] == ["dag-diamond-abcde-127734322"]
    assert sim.wf["metadata"]["labels"]["workflows.argoproj.io/completed"] == "true"


def test_continue_on_failed_dependency_is_satisfied_and_does_not_fail_the_dag():
    sim = Sim(load("""
metadata: {name: cont}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: A, template: t, continueOn: {failed: true}}
      - {name: B, dependencies: [A], template: t}
      - {name: C, template: t, continueOn: {failed: true}}
  - name: t
    container: {image: busybox, command: ["true"]}
"""))
    sim.run_all({"A": 1, "C": 1})
    assert sim.node("A")["phase"] == "Failed" and sim.node("C")["phase"] == "Failed"
    assert sim.node("B")["phase"] == "Succeeded"
    assert sim.status["phase"] == "Succeeded" and sim.status["progress"] == "1/3"


def test_workflow_retry_strategy_reruns_a_failed_dag_as_a_whole():
    sim = Sim(load("""
metadata: {name: again}
spec:
  entrypoint: main
  retryStrategy: {limit: 1, retryPolicy: Always}
  templates:
  - name: main
    dag:
      tasks:
      - {name: A, template: t}
  - name: t
    container: {image: busybox, command: ["true"]}
"""))
    sim.step()
    assert sim.node("again")["type"] == "Retry"
    attempt = sim.node("again(0)")
    assert attempt["type"] == "DAG"
    (pod,) = sim.running()
    sim.finish(pod, 1)  # A itself is a Retry node too (every template gets the strategy): it retries first
    sim.step()
    sim.finish(sim.running()[0], 1)
    sim.step()
    assert sim.node("again(0)")["phase"] == "Failed"
    assert sim.node("again(1)")["type"] == "DAG"
    assert sim.node("again(1).A")["type"] == "Retry"
