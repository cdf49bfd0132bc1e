"""Hera-built workflows (``to_dict()``) through the pure core, with their scripts really run on the host."""

from hera.workflows import DAG, Container, Parameter, RetryStrategy, Steps, Workflow, script

from tests.workflows.unit.sim import Sim


@script()
def gen():
    import json
    import sys

    json.dump([{"n": 1}, {"n": 2}], sys.stdout)


@script()
def double(n: int):
    print(n * 2)


@script()
def flip():
    print("heads")


def built(workflow: Workflow, name: str) -> dict:
    manifest = workflow.to_dict()
    manifest["metadata"] = {"name": name, "namespace": "default", "uid": "u1"}
    return manifest


def run_scripts(sim: Sim, fail: tuple[str, ...] = ()) -> None:
    """Step until done, running every pod's argv for real (containers named in `fail` exit 1)."""
    for _ in range(40):
        out = sim.step()
        if sim.status.get("phase") in ("Succeeded", "Failed", "Error"):
            return
        for pod in sim.running():
            node_id = sim.pods[pod]["metadata"]["annotations"]["workflows.argoproj.io/node-id"]
            display = sim.status["nodes"][node_id]["displayName"]
            if any(display.startswith(f) for f in fail):
                sim.finish(pod, 1)
            elif sim.pods[pod]["spec"]["containers"][0]["command"][0] == "sh":
                sim.execute(pod)
            else:
                sim.finish(pod, 0, stdout="ok\n")
        assert out is not None


def test_hera_dag_with_scripts_loops_and_conditionals():
    with Workflow(generate_name="hera-", entrypoint="main") as w:
        echo = Container(name="echo", image="alpine", command=["echo", "{{inputs.parameters.m}}"],
                         inputs=[Parameter(name="m")])
        with DAG(name="main"):
            g = gen(name="gen")
            d = double(name="double", arguments={"n": "{{item.n}}"}, with_param=g.result)
            f = flip(name="flip")
            h = echo(name="heads", arguments={"m": "H"})
            t = echo(name="tails", arguments={"m": "T"})
            g >> d
            f >> [h, t]
            h.when = f"{f.result} == heads"
            t.when = f"{f.result} == tails"
    sim = Sim(built(w, "hera-dag"))
    run_scripts(sim)
    assert sim.status["phase"] == "Succeeded", sim.status.get("message")
    results = sorted(sim.node(n)["outputs"]["result"] for n in ('double(0:n:1)', 'double(1:n:2)'))
    assert results == ["2", "4"]
    assert sim.node("heads")["phase"] == "Succeeded"
    assert sim.node("tails")["phase"] == "Skipped"


def test_hera_steps_with_retry_and_exit_handler():
    with Workflow(generate_name="hera-", entrypoint="main", on_exit="bye") as w:
        flaky = Container(name="flaky", image="alpine", command=["sh", "-c", "exit 1"],
                          retry_strategy=RetryStrategy(limit=2))
        Container(name="bye", image="alpine", command=["echo", "{{workflow.status}}"])
        with Steps(name="main"):
            flaky(name="try")
    sim = Sim(built(w, "hera-steps"))
    run_scripts(sim, fail=("try",))
    assert sim.status["phase"] == "Failed"
    assert sim.node("try")["type"] == "Retry"
    assert sim.node("try")["message"] == "No more retries left"
    assert sim.status["progress"] == "1/4"  # three failed attempts, the exit handler succeeded
    assert sim.node("hera-steps.onExit")["phase"] == "Succeeded"
