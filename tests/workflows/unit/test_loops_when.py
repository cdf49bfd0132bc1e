import json

from tests.workflows.unit.sim import Sim, load

LOOPS = """
metadata: {name: loops}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: gen
        template: gen
    - - name: items
        template: echo
        arguments: {parameters: [{name: m, value: "{{item.os}}-{{item.v}}"}]}
        withItems: [{os: debian, v: 9}, {os: ubuntu, v: 18.04}]
      - name: params
        template: echo
        arguments: {parameters: [{name: m, value: "{{item}}"}]}
        withParam: "{{steps.gen.outputs.result}}"
      - name: seq
        template: echo
        arguments: {parameters: [{name: m, value: "{{item}}"}]}
        withSequence: {count: "3", format: "user%02X"}
    - - name: empty
        template: echo
        arguments: {parameters: [{name: m, value: "{{item}}"}]}
        withParam: "[]"
  - name: gen
    script: {image: python, command: [python3], source: "print('[1, 2]')"}
  - name: echo
    inputs: {parameters: [{name: m}]}
    container: {image: busybox, command: [echo, "{{inputs.parameters.m}}"]}
"""


def test_with_items_param_and_sequence_expand_with_upstream_names():
    sim = Sim(load(LOOPS))
    sim.run_all(stdout={"gen": "[1, 2]\n"})
    assert sim.status["phase"] == "Succeeded"
    names = {n["name"] for n in sim.status["nodes"].values()}
    assert "loops[1].items(0:os:debian,v:9)" in names
    assert "loops[1].items(1:os:ubuntu,v:18.04)" in names
    assert "loops[1].params(0:1)" in names and "loops[1].params(1:2)" in names
    assert {"loops[1].seq(0:user00)", "loops[1].seq(1:user01)", "loops[1].seq(2:user02)"} <= names
    echoes = [p for p in sim.pods.values() if "echo" in p["metadata"]["name"]]
    args = sorted(p["spec"]["containers"][0]["command"][1] for p in echoes)
    assert args == ["1", "2", "debian-9", "ubuntu-18.04", "user00", "user01", "user02"]
    empty = sim.node("loops[2].empty")
    assert (empty["type"], empty["phase"], empty["message"]) == ("Skipped", "Skipped", "Skipped, empty params")
    assert sim.status["progress"] == "8/8"


def test_with_param_that_is_not_a_list_errors():
    sim = Sim(load(LOOPS))
    sim.step()
    sim.complete("gen", stdout="not json")
    sim.step()
    sim.step()
    assert sim.status["phase"] == "Failed"
    group = sim.node("loops[1]")
    assert group["phase"] == "Error"
    assert group["message"].startswith("withParam value could not be parsed as a JSON list: not json: ")


DAG_LOOP = """
metadata: {name: agg}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: fan, template: out, arguments: {parameters: [{name: n, value: "{{item}}"}]}, withItems: [1, 2, 3]}
      - name: sum
        depends: fan
        template: echo
        arguments: {parameters: [{name: m, value: "{{tasks.fan.outputs.parameters.n}}|{{tasks.fan.outputs.result}}"}]}
  - name: out
    inputs: {parameters: [{name: n}]}
    outputs: {parameters: [{name: n, valueFrom: {path: /tmp/n}}]}
    script:
      image: python
      command: [sh]
      source: "echo {{inputs.parameters.n}} > /tmp/n; echo {{inputs.parameters.n}}"
  - name: echo
    inputs: {parameters: [{name: m}]}
    container: {image: busybox, command: [echo, "{{inputs.parameters.m}}"]}
"""


def test_dag_loop_is_a_task_group_with_aggregated_outputs():
    sim = Sim(load(DAG_LOOP))
    sim.step()
    for pod in list(sim.running()):
        sim.execute(pod)  # really runs the sh wrapper: output file -> termination message
    out = sim.step()
    assert len(out.needs_logs) == 3  # stdout is the result: the runtime reads the logs, then steps again
    sim.step()
    group = sim.node("agg.fan")
    assert group["type"] == "TaskGroup" and group["phase"] == "Succeeded"
    assert len(group["children"]) == 3
    (pod,) = sim.running()
    assert sim.pods[pod]["spec"]["containers"][0]["command"][1] == '["1","2","3"]|[1,2,3]'


WHEN = """
metadata: {name: cond}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: flip, template: flip}
    - - {name: heads, template: echo, when: "{{steps.flip.outputs.result}} == heads"}
      - {name: tails, template: echo, when: "{{steps.flip.outputs.result}} == tails"}
      - {name: expr, template: echo, when: "{{= steps.flip.outputs.result == 'heads' }}"}
  - name: flip
    script: {image: python, command: [python3], source: "print('heads')"}
  - name: echo
    container: {image: busybox, command: [echo, hi]}
"""


def test_when_false_is_skipped_true_runs_and_errors_are_reported():
    sim = Sim(load(WHEN))
    sim.run_all(stdout={"flip": "heads\n"})
    assert sim.node("heads")["phase"] == "Succeeded"
    tails = sim.node("tails")
    assert (tails["type"], tails["phase"]) == ("Skipped", "Skipped")
    assert tails["message"] == "when 'heads == tails' evaluated false"
    assert sim.node("expr")["phase"] == "Succeeded"
    assert sim.status["phase"] == "Succeeded"
    assert sim.status["progress"] == "3/3"


DEPENDS = """
metadata: {name: dep}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: A, template: pass}
      - {name: B, depends: A, template: fail}
      - {name: C, depends: "B.Failed", template: pass}
      - {name: D, depends: "B.Succeeded", template: pass}
      - {name: E, depends: "A && (C || D)", template: pass}
  - name: pass
    container: {image: busybox, command: ["true"]}
  - name: fail
    container: {image: busybox, command: ["false"]}
"""


def test_enhanced_depends_omits_and_absorbs_failure():
    sim = Sim(load(DEPENDS))
    sim.run_all({"B": 1})
    d = sim.node("D")
    assert (d["type"], d["phase"], d["message"]) == ("Skipped", "Omitted", "omitted: depends condition not met")
    assert sim.node("C")["phase"] == "Succeeded"
    assert sim.node("E")["phase"] == "Succeeded"
    # B failed, but the branch is absorbed by C and the leaf E succeeded
    assert sim.status["phase"] == "Succeeded"
    assert sim.status["progress"] == "3/4"


def test_failure_flowing_through_omitted_leaf_fails_the_dag():
    wf = load(DEPENDS.replace('      - {name: C, depends: "B.Failed", template: pass}\n', "")
              .replace('      - {name: E, depends: "A && (C || D)", template: pass}\n', ""))
    sim = Sim(wf)
    sim.run_all({"B": 1})
    assert sim.node("D")["phase"] == "Omitted"
    assert sim.status["phase"] == "Failed"
    assert sim.node("dep")["phase"] == "Failed"
    assert "message" not in sim.node("dep")


def test_dependencies_skip_counts_as_satisfied():
    wf = load("""
metadata: {name: skip}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: A, template: t, when: "1 > 2"}
      - {name: B, dependencies: [A], template: t}
  - name: t
    container: {image: busybox, command: ["true"]}
""")
    sim = Sim(wf)
    sim.run_all()
    assert sim.node("A")["phase"] == "Skipped"
    assert sim.node("B")["phase"] == "Succeeded"
    assert sim.status["phase"] == "Succeeded"
    assert sim.node("A")["children"] == [sim.node("B")["id"]]


def test_aggregated_parameters_are_strings_unless_all_json():
    from tiphys.workflows.params import aggregate_outputs

    kids = [{"phase": "Succeeded", "outputs": {"parameters": [{"name": "p", "value": v}]}} for v in ("1", "2")]
    assert json.loads(aggregate_outputs("tasks.x", kids)["tasks.x.outputs.parameters.p"]) == ["1", "2"]
    kids = [{"phase": "Succeeded", "outputs": {"parameters": [{"name": "p", "value": '{"a":1}'}]}}]
    assert aggregate_outputs("tasks.x", kids)["tasks.x.outputs.parameters.p"] == '[{"a":1}]'


ABSENT = """
metadata: {name: absent}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: A, template: produce, when: "no == yes"}
      - name: B
        depends: A
        template: consume
        arguments: {parameters: [{name: v, value: "{{tasks.A.outputs.parameters.p}}"}]}
      - name: C
        depends: A
        template: consume
        arguments: {parameters: [{name: v, value: "x-{{tasks.A.outputs.parameters.p}}"}]}
      - name: D
        depends: A
        template: consume
        when: "{{tasks.A.status}} == Skipped"
        withParam: "not a list"
  - name: produce
    outputs: {parameters: [{name: p, valueFrom: {path: /tmp/p}}]}
    container: {image: busybox, command: ["true"]}
  - name: consume
    inputs: {parameters: [{name: v, default: fallback}]}
    container: {image: busybox, command: [echo, "{{inputs.parameters.v}}"]}
"""


def test_outputs_of_a_skipped_task_are_absent_optionals():
    sim = Sim(load(ABSENT))
    out = sim.step()
    assert sim.node("A")["phase"] == "Skipped"
    # B's only argument is the absent output: dropped, so the input default applies
    assert [p["spec"]["containers"][0]["command"] for p in out.create_pods] == [["echo", "fallback"]]
    c = sim.node("C")
    assert c["phase"] == "Error"
    assert c["message"] == ("unable to substitute {{tasks.A.outputs.parameters.p}}: output is an absent optional "
                            "(skipped/omitted node with no default)")
    d = sim.node("D")
    assert (d["phase"], d["message"]) == ("Error", "withParam value could not be parsed as a JSON list: not a list: "
                                          "Expecting value: line 1 column 1 (char 0)")


def test_a_false_when_wins_over_a_bad_loop_list():
    wf = load(ABSENT.replace('when: "{{tasks.A.status}} == Skipped"', 'when: "{{tasks.A.status}} == Succeeded"'))
    sim = Sim(wf)
    sim.step()
    d = sim.node("D")
    assert (d["phase"], d["message"]) == ("Skipped", "when 'Skipped == Succeeded' evaluated false")


def test_an_invalid_when_errors_the_step_group():
    sim = Sim(load(WHEN.replace('when: "{{steps.flip.outputs.result}} == tails"',
                                'when: "{{steps.flip.outputs.result}} =="')))
    sim.run_all(stdout={"flip": "heads\n"})
    group = sim.node("cond[1]")
    assert group["phase"] == "Error"
    assert group["message"] == "Invalid 'when' expression 'heads ==': Unexpected end of expression"
    assert sim.status["phase"] == "Failed" and sim.status["message"] == group["message"]
    assert not any(n["name"] == "cond[1].tails" for n in sim.status["nodes"].values())
