import json

import pytest

from tests.workflows.unit.sim import Sim, load
from tiphys.workflows import template as tpl

GLOBALS = """
metadata:
  name: vars
  namespace: ns1
  uid: u-123
  labels: {team: a}
  annotations: {note: hi}
  creationTimestamp: "2024-05-01T09:59:00Z"
spec:
  entrypoint: main
  serviceAccountName: runner
  arguments: {parameters: [{name: greeting, value: hello}, {name: n, value: 5}]}
  templates:
  - name: main
    inputs: {parameters: [{name: greeting}]}
    container:
      image: busybox
      command: [echo]
      args:
      - "{{workflow.name}} {{workflow.namespace}} {{workflow.uid}} {{workflow.serviceAccountName}}"
      - "{{workflow.parameters.greeting}} {{inputs.parameters.greeting}} {{workflow.parameters.n}}"
      - "{{workflow.labels.team}} {{workflow.annotations.note}} {{workflow.mainEntrypoint}}"
      - "{{workflow.creationTimestamp}} {{workflow.creationTimestamp.Y}} {{workflow.creationTimestamp.unix}}"
      - "{{pod.name}} {{node.name}} {{workflow.status}}"
      - "{{=asInt(workflow.parameters.n) * 2}} {{=sprig.upper(inputs.parameters.greeting)}}"
      - "{{workflow.parameters}}"
      - "{{unknown.root}} {{ inputs.parameters.greeting }}"
"""


def test_every_global_and_local_variable_family():
    sim = Sim(load(GLOBALS))
    out = sim.step()
    (pod,) = out.create_pods
    args = pod["spec"]["containers"][0]["args"]
    assert args[0] == "vars ns1 u-123 runner"
    assert args[1] == "hello hello 5"
    assert args[2] == "a hi main"
    assert args[3] == "2024-05-01T09:59:00Z 2024 1714557540"
    assert args[4] == "vars vars Running"
    assert args[5] == "10 HELLO"
    assert json.loads(args[6]) == [{"name": "greeting", "value": "hello"}, {"name": "n", "value": "5"}]
    assert args[7] == "{{unknown.root}} hello"
    assert pod["spec"]["serviceAccountName"] == "runner"
    assert sim.node("vars")["inputs"] == {"parameters": [{"name": "greeting", "value": "hello"}]}


def test_substitution_escapes_values_inside_json():
    obj = {"a": "say {{x}}", "b": ["{{=x + '!'}}"]}
    out = tpl.substitute_object(obj, {"x": 'he said "hi"\nbye'})
    assert out == {"a": 'say he said "hi"\nbye', "b": ['he said "hi"\nbye!']}


def test_absent_optional_outputs_follow_the_newer_rule():
    scope = {"tasks.a.outputs.result": tpl.ABSENT}
    with pytest.raises(tpl.SubstitutionError, match=r"unable to substitute \{\{tasks.a.outputs.result\}\}: output is "
                       r"an absent optional \(skipped/omitted node with no default\)"):
        tpl.substitute_text("x {{tasks.a.outputs.result}}", scope)
    assert tpl.substitute_text("{{=tasks.a.outputs.result ?? 'fallback'}}", scope) == "fallback"


OUTPUTS = """
metadata: {name: outs}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: make, template: make}
    - - name: use
        template: echo
        arguments:
          parameters:
          - name: m
            value: "{{steps.make.outputs.parameters.word}}/{{steps.make.outputs.result}}/{{steps.make.exitCode}}"
    outputs:
      parameters:
      - {name: word, valueFrom: {parameter: "{{steps.make.outputs.parameters.word}}"}}
      - {name: shout, valueFrom: {expression: "sprig.upper(steps.make.outputs.parameters.word)"}}
  - name: make
    outputs: {parameters: [{name: word, valueFrom: {path: /tmp/word.txt}}]}
    script:
      image: python
      command: [sh]
      source: |
        printf 'quoted "word"\\n' > /tmp/word.txt
        echo done
  - name: echo
    inputs: {parameters: [{name: m}]}
    container: {image: busybox, command: [echo, "{{inputs.parameters.m}}"]}
"""


def test_outputs_from_files_stdout_exit_code_and_steps_template_outputs(tmp_path):
    wf = load(OUTPUTS.replace("/tmp/word.txt", str(tmp_path / "word.txt")))
    sim = Sim(wf)
    sim.step()
    (pod,) = sim.running()
    main = sim.pods[pod]["spec"]["containers"][0]
    assert main["command"][:2] == ["sh", "-c"] and main["command"][3:] == ["argo", "sh"]
    env = {e["name"]: e["value"] for e in main["env"]}
    assert env["ARGO_OUTPUT_PATHS"] == str(tmp_path / "word.txt") and "echo done" in env["ARGO_SCRIPT"]
    code, stdout = sim.execute(pod)
    assert (code, stdout) == (0, "done\n")
    sim.step()
    sim.step()
    make = sim.node("make")
    assert make["outputs"]["parameters"][0]["value"] == 'quoted "word"'
    assert make["outputs"]["result"] == "done" and make["outputs"]["exitCode"] == "0"
    (pod,) = sim.running()
    assert sim.pods[pod]["spec"]["containers"][0]["command"][1] == 'quoted "word"/done/0'
    sim.finish(pod)
    sim.step()
    sim.step()
    root = sim.node("outs")
    assert sim.status["phase"] == "Succeeded"
    assert [p["value"] for p in root["outputs"]["parameters"]] == ['quoted "word"', 'QUOTED "WORD"']


def test_missing_output_file_errors_the_node_and_default_applies(tmp_path):
    wf = load(OUTPUTS.replace("/tmp/word.txt", str(tmp_path / "none" / "word.txt")))
    sim = Sim(wf)
    sim.step()
    sim.execute(sim.running()[0])
    sim.step()
    sim.step()
    make = sim.node("make")
    assert make["phase"] == "Error"
    assert make["message"] == f"open {tmp_path / 'none' / 'word.txt'}: no such file or directory"


def test_outputs_over_4_kib_fail_clearly(tmp_path):
    wf = load(f"""
metadata: {{name: big}}
spec:
  entrypoint: main
  templates:
  - name: main
    outputs: {{parameters: [{{name: p, valueFrom: {{path: {tmp_path}/p}}}}]}}
    container: {{image: busybox, command: [sh, -c, "head -c 5000 /dev/zero | tr '\\\\0' a > {tmp_path}/p"]}}
""")
    sim = Sim(wf)
    sim.step()
    sim.execute(sim.running()[0])
    assert (tmp_path / "p").stat().st_size == 5000
    sim.step()
    node = sim.node("big")
    assert node["phase"] == "Error"
    assert node["message"] == ("output parameters are 5023 bytes, over the 4096-byte termination message limit; "
                               "write smaller outputs")


def test_user_argv_is_passed_as_positional_arguments_never_interpolated(tmp_path):
    wf = load(f"""
metadata: {{name: inj}}
spec:
  entrypoint: main
  templates:
  - name: main
    outputs: {{parameters: [{{name: p, valueFrom: {{path: {tmp_path}/p}}}}]}}
    container: {{image: busybox, command: [sh, -c, 'printf "%s" "$0" > {tmp_path}/p', "$(touch {tmp_path}/pwned)'; x"]}}
""")
    sim = Sim(wf)
    sim.step()
    sim.execute(sim.running()[0])
    sim.step()
    assert sim.node("inj")["outputs"]["parameters"][0]["value"] == f"$(touch {tmp_path}/pwned)'; x"
    assert not (tmp_path / "pwned").exists()


def test_global_outputs_and_exit_handler_arguments(tmp_path):
    wf = load(f"""
metadata: {{name: glob}}
spec:
  entrypoint: main
  hooks: {{exit: {{template: report, arguments: {{parameters: [{{name: s, value: "{{{{workflow.status}}}}"}}]}}}}}}
  templates:
  - name: main
    steps:
    - - {{name: make, template: make}}
    - - name: use
        template: report
        arguments: {{parameters: [{{name: s, value: "{{{{workflow.outputs.parameters.g}}}}"}}]}}
  - name: make
    outputs: {{parameters: [{{name: p, globalName: g, valueFrom: {{path: {tmp_path}/p}}}}]}}
    container: {{image: busybox, command: [sh, -c, "echo -n global > {tmp_path}/p"]}}
  - name: report
    inputs: {{parameters: [{{name: s}}]}}
    container: {{image: busybox, command: [echo, "{{{{inputs.parameters.s}}}}"]}}
""")
    sim = Sim(wf)
    sim.step()
    sim.execute(sim.running()[0])
    sim.step()
    (pod,) = sim.running()
    assert sim.pods[pod]["spec"]["containers"][0]["command"] == ["echo", "global"]
    sim.finish(pod)
    sim.step()
    (pod,) = sim.running()
    assert sim.pods[pod]["spec"]["containers"][0]["command"] == ["echo", "Succeeded"]
    sim.finish(pod)
    sim.step()
    assert sim.status["phase"] == "Succeeded"
    assert sim.status["outputs"] == {"parameters": [{"name": "g", "value": "global"}]}


def test_task_metadata_variables_and_inputs_json():
    wf = load("""
metadata: {name: meta}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: A, template: t}
      - name: B
        depends: A
        template: show
        arguments:
          parameters:
          - {name: a, value: "{{tasks.A.id}} {{tasks.A.status}} {{tasks.A.exitCode}} {{tasks.A.ip}}"}
          - {name: b, value: "{{tasks.A.hostNodeName}} {{tasks.A.startedAt}} {{tasks.name}}"}
          - {name: c, value: "{{=tasks.A.status == 'Succeeded' ? 'ok' : 'ko'}} {{workflow.duration}}"}
  - name: t
    container: {image: busybox, command: ["true"]}
  - name: show
    inputs: {parameters: [{name: a}, {name: b}, {name: c}]}
    container:
      image: busybox
      command:
      - echo
      - "{{inputs.parameters.a}}|{{inputs.parameters.b}}|{{inputs.parameters.c}}"
      - "{{inputs.parameters}}"
""")
    sim = Sim(wf)
    sim.step()
    sim.complete("A")
    sim.step()  # an expression is in the spec: stdout may be read, so the log is fetched first
    sim.step(3)
    (pod,) = sim.running()
    command = sim.pods[pod]["spec"]["containers"][0]["command"]
    a = sim.node("A")
    assert command[1] == f"{a['id']} Succeeded 0 10.0.0.1|tiphys 2024-05-01T10:00:01Z B|ok 4"
    assert [p["name"] for p in json.loads(command[2])] == ["a", "b", "c"]
