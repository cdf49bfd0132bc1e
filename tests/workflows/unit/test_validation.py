import pytest

from tests.workflows.unit.sim import Sim, load
from tiphys.workflows.reconcile import validate

ECHO = """
  - name: echo
    inputs: {parameters: [{name: m, value: x}]}
    container: {image: busybox, command: [echo, "{{inputs.parameters.m}}"]}
"""


def wf(body: str, extra: str = "") -> dict:
    return load(f"""
metadata: {{name: v}}
spec:
  entrypoint: main
{extra}
  templates:
{body}
{ECHO}
""")


def dag(tasks: str) -> str:
    return "  - name: main\n    dag:\n      tasks:\n" + tasks


@pytest.mark.parametrize(
    "workflow, message",
    [
        pytest.param(
            dag("      - {name: A, template: echo, dependencies: [B]}\n"
                "      - {name: B, template: echo, dependencies: [A]}\n"),
            "invalid spec: templates.main sorting failed: graph with cycle", id="cycle"),
        pytest.param(
            dag("      - {name: A, template: echo, dependencies: [Z]}\n"),
            "invalid spec: templates.main sorting failed: invalid dependency Z", id="unknown-dependency"),
        pytest.param(
            dag("      - {name: A, template: nope}\n"),
            "invalid spec: templates.main.tasks.A template name 'nope' undefined", id="unknown-template"),
        pytest.param(
            dag("      - {name: A, template: echo}\n      - {name: A, template: echo}\n"),
            "invalid spec: templates.main.tasks[1].name 'A' is not unique", id="duplicate-task"),
        pytest.param(
            dag("      - {name: A, template: echo, arguments: {parameters: [{name: m, value: '{{=1 +}}'}]}}\n"),
            "invalid spec: templates.main.tasks.A: invalid expression '1 +': unexpected token EOF",
            id="invalid-expression"),
        pytest.param(
            dag("      - {name: A, template: echo}\n"
                "      - {name: B, template: echo, arguments: {parameters: "
                "[{name: m, value: '{{tasks.A.outputs.result}}'}]}}\n"),
            "invalid spec: templates.main.tasks.B missing dependency 'A' for parameter 'm'",
            id="not-an-ancestor"),
        pytest.param(
            dag("      - {name: A, template: echo}\n      - {name: B, depends: A.Bogus, template: echo}\n"),
            "invalid spec: templates.main.tasks.B task result 'Bogus' for task 'A' is invalid", id="bad-result"),
        pytest.param(
            dag("      - {name: A, template: echo}\n      - {name: B, depends: A, template: echo}\n"
                "      - {name: C, dependencies: [A], template: echo}\n"),
            "invalid spec: templates.main cannot use both 'depends' and 'dependencies' in the same DAG template",
            id="depends-and-dependencies"),
        pytest.param(
            "  - name: main\n    dag: {tasks: []}\n", "invalid spec: templates.main must have at least one task",
            id="empty-dag"),
        pytest.param(
            "  - name: main\n    container: {image: busybox, command: [echo, '{{inputs.parameters.nope}}']}\n",
            "invalid spec: templates.main: failed to resolve {{inputs.parameters.nope}}", id="leaf-unresolved"),
        pytest.param(
            "  - name: main\n    http: {url: 'http://x'}\n",
            "invalid spec: templates.main unsupported template type http (Tiphys runs container, script, dag, steps, "
            "suspend, resource templates)", id="http"),
        pytest.param(
            "  - name: main\n    steps: [[{name: a, template: echo}], [{name: b, template: echo, "
            "arguments: {parameters: [{name: m, value: '{{steps.zz.outputs.result}}'}]}}]]\n",
            "invalid spec: templates.main.steps[1].b failed to resolve {{steps.zz.outputs.result}}",
            id="steps-unresolved"),
        pytest.param(
            "  - name: main\n    inputs: {parameters: [{name: need}]}\n    container: {image: busybox}\n",
            "invalid spec: templates.main inputs.parameters.need was not supplied", id="input-not-supplied"),
        pytest.param("  - name: main\n", "invalid spec: templates.main template type unspecified. choose one of: "
                     "container, containerSet, steps, script, resource, dag, suspend, template, template ref",
                     id="no-type"),
        pytest.param(
            "  - name: main\n    activeDeadlineSeconds: 5\n    steps: [[{name: a, template: echo}]]\n",
            "invalid spec: templates.main.activeDeadlineSeconds is only valid for leaf templates",
            id="deadline-non-leaf"),
    ],
)
def test_bad_workflows_are_rejected_with_upstream_messages(workflow, message):
    assert validate(wf(workflow)) == [message]


def test_spec_level_messages():
    good = "  - name: main\n    container: {image: busybox}\n"
    assert validate(wf(good, "  arguments: {parameters: [{name: p}]}")) == [
        "invalid spec: spec.arguments.p.value or spec.arguments.p.valueFrom is required"]
    assert validate(wf(good, "  arguments: {parameters: [{name: p, value: c, enum: [a, b]}]}")) == [
        "invalid spec: spec.arguments.p.value should be present in spec.arguments.p.enum list"]
    assert validate(wf(good, "  podGC: {strategy: Sometimes}")) == [
        "invalid spec: podGC.strategy unknown strategy 'Sometimes'"]
    broken = wf(good)
    del broken["spec"]["entrypoint"]
    assert validate(broken) == ["invalid spec: spec.entrypoint is required"]
    broken = wf(good)
    broken["spec"]["templates"].append({"name": "main", "container": {"image": "x"}})
    assert validate(broken) == ["invalid spec: spec.templates[2].name 'main' is not unique"]
    assert validate(wf(good, "  arguments: {parameters: [{name: n, value: 5}]}")) == []


def test_invalid_workflow_fails_at_first_reconcile_without_pods():
    sim = Sim(wf(dag("      - {name: A, template: echo, dependencies: [Z]}\n")))
    out = sim.step()
    assert out.create_pods == []
    assert sim.status["phase"] == "Failed"
    assert sim.status["message"] == "invalid spec: templates.main sorting failed: invalid dependency Z"
    assert sim.wf["metadata"]["labels"] == {"workflows.argoproj.io/phase": "Failed",
                                            "workflows.argoproj.io/completed": "true"}
    again = sim.step()
    assert again.workflow == out.workflow


def test_the_seed_example_is_valid_and_passes_its_parameter():
    import pathlib

    text = pathlib.Path(__file__).parents[3].joinpath("examples/seed-workflow/presync-workflow.yaml").read_text()
    seed = load(text, name="presync-abcde")
    assert validate(seed) == []
    sim = Sim(seed)
    out = sim.step()
    assert [c["command"] for p in out.create_pods for c in p["spec"]["containers"]] == [["echo", "task-1"]]
    sim.run_all()
    assert sim.status["phase"] == "Succeeded" and sim.status["progress"] == "2/2"
