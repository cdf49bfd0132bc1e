"""The kubelet's environment: $(VAR) expansion and env/envFrom resolution, as upstream does them."""

from __future__ import annotations

import base64

import pytest

from tiphys.cluster.kubelet.envvars import ConfigError, container_environment, expand, field_value, pod_command

VARS = {"A": "1", "B": "two", "EMPTY": ""}


@pytest.mark.parametrize(
    "text, expected",
    [
        pytest.param("$(A)", "1", id="defined"),
        pytest.param("x$(A)y$(B)z", "x1ytwoz", id="several"),
        pytest.param("$(MISSING)", "$(MISSING)", id="undefined-is-kept"),
        pytest.param("$$(A)", "$(A)", id="escaped"),
        pytest.param("$$$(A)", "$1", id="escaped-dollar-then-var"),
        pytest.param("$(A", "$(A", id="unterminated"),
        pytest.param("$A", "$A", id="shell-syntax-untouched"),
        pytest.param("a$", "a$", id="trailing-dollar"),
        pytest.param("$(EMPTY)x", "x", id="empty-value"),
        pytest.param("$()", "$()", id="empty-name"),
    ],
)
def test_expand(text, expected):
    assert expand(text, VARS) == expected


POD = {
    "metadata": {
        "name": "web-1",
        "namespace": "shop",
        "uid": "u-1",
        "labels": {"app": "web", "tier": "front"},
        "annotations": {"note": 'say "hi"'},
    },
    "spec": {"nodeName": "tiphys-local", "serviceAccountName": "builder", "containers": [{"name": "main"}]},
}
OBJECTS = {
    ("ConfigMap", "cfg"): {"data": {"greeting": "hello", "has space": "x", "mode": "blue"}},
    ("Secret", "sec"): {"data": {"password": base64.b64encode(b"s3cret").decode()}},
}


def lookup(kind, name):
    return OBJECTS.get((kind, name))


def env_of(container, service_env=None):
    return container_environment(
        POD, {"name": "main", **container}, lookup=lookup, service_env=service_env or {}, allocatable={"cpu": "2"}
    )


@pytest.mark.parametrize(
    "path, expected",
    [
        ("metadata.name", "web-1"),
        ("metadata.namespace", "shop"),
        ("metadata.uid", "u-1"),
        ("metadata.labels['app']", "web"),
        ("metadata.annotations['note']", 'say "hi"'),
        ("metadata.labels", 'app="web"\ntier="front"'),
        ("metadata.annotations", 'note="say \\"hi\\""'),
        ("spec.nodeName", "tiphys-local"),
        ("spec.serviceAccountName", "builder"),
        ("status.podIP", "127.0.0.1"),
        ("status.hostIP", "127.0.0.1"),
    ],
)
def test_field_refs(path, expected):
    assert field_value(POD, path) == expected


def test_env_resolves_sources_and_expands_values_in_order():
    env = env_of(
        {
            "envFrom": [{"configMapRef": {"name": "cfg"}, "prefix": "CFG_"}],
            "env": [
                {"name": "GREETING", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "greeting"}}},
                {"name": "PASS", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "password"}}},
                {"name": "BEFORE", "value": "$(LATER)"},
                {"name": "LATER", "value": "x"},
                {"name": "BOTH", "value": "$(GREETING)-$(CFG_mode)-$(KUBERNETES_SERVICE_HOST)"},
                {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}},
            ],
        },
        service_env={"KUBERNETES_SERVICE_HOST": "127.0.0.1"},
    )
    assert env.variables == {
        "CFG_greeting": "hello",
        "CFG_mode": "blue",
        "GREETING": "hello",
        "PASS": "s3cret",
        "BEFORE": "$(LATER)",
        "LATER": "x",
        "BOTH": "hello-blue-127.0.0.1",
        "CPU": "2",
        "KUBERNETES_SERVICE_HOST": "127.0.0.1",
    }
    assert env.warnings == [
        "Keys [CFG_has space] from the EnvFrom configmap shop/cfg were skipped since they are considered invalid "
        "environment variable names."
    ]


@pytest.mark.parametrize(
    "source, message",
    [
        pytest.param(
            {"configMapKeyRef": {"name": "nope", "key": "k"}}, 'configmap "nope" not found', id="no-configmap"
        ),
        pytest.param({"secretKeyRef": {"name": "nope", "key": "k"}}, 'secret "nope" not found', id="no-secret"),
        pytest.param(
            {"configMapKeyRef": {"name": "cfg", "key": "nope"}},
            "couldn't find key nope in ConfigMap shop/cfg",
            id="no-key",
        ),
    ],
)
def test_missing_sources_are_config_errors(source, message):
    with pytest.raises(ConfigError) as error:
        env_of({"env": [{"name": "X", "valueFrom": source}]})
    assert error.value.message == message
    assert error.value.reason == "CreateContainerConfigError"


def test_optional_missing_sources_are_skipped():
    env = env_of(
        {
            "envFrom": [{"secretRef": {"name": "nope", "optional": True}}],
            "env": [
                {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "nope", "key": "k", "optional": True}}},
                {"name": "Y", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "nope", "optional": True}}},
            ],
        }
    )
    assert env.variables == {}


def test_command_and_args_expand_against_the_final_environment():
    container = {"command": ["sh", "-c", "echo $(A)"], "args": ["$(B)", "$$(A)", "$(NOPE)"]}
    assert pod_command(container, VARS) == ["sh", "-c", "echo 1", "two", "$(A)", "$(NOPE)"]
