from tests.workflows.unit.sim import Sim, load

STEPS = """
metadata: {name: steps-z2zdn}
spec:
  entrypoint: hello-hello-hello
  templates:
  - name: hello-hello-hello
    steps:
    - - name: hello1
        template: print-message
        arguments: {parameters: [{name: message, value: "hello1"}]}
    - - name: hello2a
        template: print-message
        arguments: {parameters: [{name: message, value: "hello2a"}]}
      - name: hello2b
        template: print-message
        arguments: {parameters: [{name: message, value: "{{steps.hello1.outputs.result}}-b"}]}
  - name: print-message
    inputs: {parameters: [{name: message}]}
    container: {image: busybox, command: [echo], args: ["{{inputs.parameters.message}}"]}
"""


def test_steps_run_group_by_group_with_upstream_names():
    sim = Sim(load(STEPS))
    out = sim.step()
    assert [p["metadata"]["name"] for p in out.create_pods] == ["steps-z2zdn-print-message-27420706"]
    assert sim.node("hello1")["id"] == "steps-z2zdn-27420706"
    sim.complete("hello1", stdout="hi\n")
    out = sim.step()
    assert out.needs_logs == ["steps-z2zdn-print-message-27420706"]  # the result is read from the log
    sim.step()
    pods = {p["spec"]["containers"][0]["args"][0] for p in sim.pods.values()}
    assert "hi-b" in pods and "hello2a" in pods
    sim.complete("hello2a")
    sim.complete("hello2b")
    sim.step()
    sim.step()
    assert sim.status["phase"] == "Succeeded"
    assert sim.status["progress"] == "3/3"
    nodes = sim.status["nodes"]
    root = nodes["steps-z2zdn"]
    assert root["type"] == "Steps"
    g0 = nodes[root["children"][0]]
    assert g0["type"] == "StepGroup" and g0["displayName"] == "[0]" and g0["name"] == "steps-z2zdn[0]"
    hello1 = nodes[g0["children"][0]]
    g1_id = hello1["children"][0]
    assert nodes[g1_id]["name"] == "steps-z2zdn[1]"
    assert sim.node("hello1")["outputs"]["result"] == "hi"
    assert sorted(root["outboundNodes"]) == sorted([sim.node("hello2a")["id"], sim.node("hello2b")["id"]])


def test_failed_step_fails_group_and_later_groups_never_start():
    sim = Sim(load(STEPS))
    sim.step()
    sim.complete("hello1", code=1)
    sim.step()
    sim.step()
    assert sim.status["phase"] == "Failed"
    g0 = sim.node("steps-z2zdn[0]")
    assert g0["phase"] == "Failed"
    assert g0["message"] == f"child '{sim.node('hello1')['id']}' failed"
    assert sim.status["message"] == g0["message"]
    assert sim.node("hello1")["message"] == "main: Error (exit code 1)"
    assert not any("hello2" in n["name"] for n in sim.status["nodes"].values())


def test_continue_on_failed_lets_the_steps_go_on():
    first = "template: print-message\n        arguments: {parameters: [{name: message, value: \"hello1\"}]}"
    wf = load(STEPS.replace(first,
                            "template: print-message\n        continueOn: {failed: true}\n"
                            "        arguments: {parameters: [{name: message, value: \"hello1\"}]}"))
    sim = Sim(wf)
    sim.run_all({"hello1": 1})
    assert sim.status["phase"] == "Succeeded"
    assert sim.node("hello1")["phase"] == "Failed"
    assert sim.status["progress"] == "2/3"
