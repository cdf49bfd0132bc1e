"""Documents to objects: YAML 1.1 as Kubernetes reads it, Lists, validation and duplicates."""

from __future__ import annotations

from typing import Any

import pytest

from tiphys.sources import Reason, SourceError
from tiphys.sources.manifests import Origin, check_duplicates, object_id, objects_from, parse_json, parse_yaml


def objects(text: str, file: str = "f.yaml") -> list[tuple[str, dict[str, Any]]]:
    return [(str(o), obj) for origin, doc in parse_yaml(text, file) for o, obj in objects_from(origin, doc)]


CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {}\n"


def test_multi_document_skips_empty_documents_and_counts_them() -> None:
    text = "---\n" + CM.format("a") + "---\n---\n# only a comment\n---\n" + CM.format("b")
    assert [(where, obj["metadata"]["name"]) for where, obj in objects(text)] == [
        ("f.yaml: document 1", "a"),
        ("f.yaml: document 4", "b"),
    ]


def test_yaml_1_1_scalars_as_kubernetes_reads_them() -> None:
    text = CM.format("a") + "data:\n  when: 2024-01-02\n  flag: yes\n  mode: 0644\n"
    (_, obj) = objects(text)[0]
    assert obj["data"] == {"when": "2024-01-02", "flag": True, "mode": 420}


def test_list_kind_is_expanded_into_items() -> None:
    text = (
        "apiVersion: v1\nkind: List\nitems:\n- "
        + CM.format("a").replace("\n", "\n  ")
        + "\n- "
        + (CM.format("b").replace("\n", "\n  "))
    )
    assert [(where, obj["metadata"]["name"]) for where, obj in objects(text)] == [
        ("f.yaml: document 1: item 1", "a"),
        ("f.yaml: document 1: item 2", "b"),
    ]


def test_null_list_is_nothing() -> None:
    assert objects("apiVersion: v1\nkind: ConfigMapList\nitems: null\n") == []


@pytest.mark.parametrize(
    "text, message",
    [
        pytest.param(
            CM.format("a") + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n  x: y: z\n",
            "deploy/web.yaml: document 2: mapping values are not allowed in this context (line 10)",
            id="malformed-second-document",
        ),
        pytest.param(
            "apiVersion: v1\nmetadata:\n  name: a\n", "deploy/web.yaml: document 1: object has no kind", id="no-kind"
        ),
        pytest.param(
            "kind: ConfigMap\nmetadata:\n  name: a\n",
            "deploy/web.yaml: document 1: ConfigMap has no apiVersion",
            id="no-api-version",
        ),
        pytest.param(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: {}\n",
            "deploy/web.yaml: document 1: ConfigMap has no metadata.name (nor generateName)",
            id="no-name",
        ),
        pytest.param(
            "apiVersion: v1\nkind: ConfigMap\n", "deploy/web.yaml: document 1: ConfigMap has no metadata", id="no-meta"
        ),
        pytest.param(
            "- a\n- b\n",
            "deploy/web.yaml: document 1: expected a Kubernetes object (a mapping), got a list",
            id="a-list-document",
        ),
    ],
)
def test_bad_documents_name_file_and_document(text: str, message: str) -> None:
    with pytest.raises(SourceError) as e:
        objects(text, "deploy/web.yaml")
    assert e.value.reason is Reason.INVALID_MANIFEST
    assert e.value.message == message


def test_generate_name_is_enough() -> None:
    text = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  generateName: migrate-\n"
    assert objects(text)[0][1]["metadata"] == {"generateName": "migrate-"}


def test_json_is_one_object() -> None:
    [(origin, doc)] = parse_json('{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}', "a.json")
    assert (str(origin), doc["kind"]) == ("a.json: document 1", "ConfigMap")
    with pytest.raises(SourceError, match=r"Found multiple objects in 'a\.json'"):
        list(parse_json('{"kind": "A"}\n{"kind": "B"}', "a.json"))


def test_duplicates_name_both_places() -> None:
    found = [
        (Origin("deploy/a.yaml", 1), {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}),
        (Origin("deploy/b.yaml", 3), {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}),
    ]
    with pytest.raises(SourceError) as e:
        check_duplicates(found)
    assert e.value.reason is Reason.DUPLICATE_OBJECT
    assert e.value.message == (
        "duplicate object apps/Deployment web: defined in deploy/a.yaml: document 1 and in deploy/b.yaml: document 3"
    )


@pytest.mark.parametrize(
    "second",
    [
        pytest.param({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web"}}, id="other-kind"),
        pytest.param({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api"}}, id="other-name"),
        pytest.param(
            {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "b"}},
            id="other-namespace",
        ),
        pytest.param({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"generateName": "web"}}, id="generate"),
    ],
)
def test_not_duplicates(second: dict[str, Any]) -> None:
    first = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}
    check_duplicates([(Origin("a", 1), first), (Origin("a", 2), second)])


def test_object_id() -> None:
    assert object_id({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w", "namespace": "n"}}) == (
        "apps/Deployment n/w"
    )
    assert object_id({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}}) == "Namespace n"
