import pytest

from tiphys.workflows import naming


@pytest.mark.parametrize(
    "wf, node, expected",
    [
        pytest.param("dag-diamond-abcde", "dag-diamond-abcde", "dag-diamond-abcde", id="root"),
        pytest.param("dag-diamond-abcde", "dag-diamond-abcde.A", "dag-diamond-abcde-77401465", id="A"),
        pytest.param("dag-diamond-abcde", "dag-diamond-abcde.B", "dag-diamond-abcde-27068608", id="B"),
        pytest.param("dag-diamond-abcde", "dag-diamond-abcde.C", "dag-diamond-abcde-43846227", id="C"),
        pytest.param("dag-diamond-abcde", "dag-diamond-abcde.D", "dag-diamond-abcde-127734322", id="D"),
        pytest.param("steps-z2zdn", "steps-z2zdn[0].hello1", "steps-z2zdn-27420706", id="step"),
    ],
)
def test_node_ids_match_upstream(wf, node, expected):
    assert naming.node_id(wf, node) == expected


@pytest.mark.parametrize(
    "wf, node, template, expected",
    [
        pytest.param("dag-diamond-abcde", "dag-diamond-abcde.A", "echo", "dag-diamond-abcde-echo-77401465", id="task"),
        pytest.param("retry-abc", "retry-abc(0)", "main", "retry-abc-main-3104331231", id="retry-attempt"),
        pytest.param("exit-abc", "exit-abc.onExit", "exit-handler", "exit-abc-exit-handler-1145734331", id="exit"),
        pytest.param("single", "single", "main", "single", id="single-pod-workflow"),
    ],
)
def test_pod_names_v2(wf, node, template, expected):
    assert naming.pod_name(wf, node, template) == expected


def test_pod_name_prefix_is_truncated_to_242_characters():
    name = naming.pod_name("w" * 300, "w.x", "t")
    prefix, _, digits = name.rpartition("-")
    assert len(prefix) == 242 and digits == str(naming.fnv32a("w.x"))


def test_pod_name_v1_is_the_node_id():
    assert naming.pod_name("wf", "wf.a", "t", version="v1") == naming.node_id("wf", "wf.a")


@pytest.mark.parametrize(
    "item, expected",
    [
        ("hello world", "hello world"),
        (5, "5"),
        (True, "true"),
        ({"os": "debian", "version": 9}, "os:debian,version:9"),
        (["a", 1], '["a",1]'),
        ("f(x)", "fx"),
    ],
)
def test_loop_item_descriptions(item, expected):
    assert naming.item_description(item) == expected
    assert naming.loop_node_name("n.x", 2, item) == f"n.x(2:{expected})"
