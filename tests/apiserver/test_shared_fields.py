"""Objects created alike share their creator's managedFields in the server; each still changes alone."""

from __future__ import annotations

import json
import uuid

import pytest

CM = "/api/v1/namespaces/default/configmaps"


@pytest.fixture
def api(cluster):
    with cluster.client() as client:
        client.headers["User-Agent"] = "shaper/1.0"
        yield client


def fields_of(obj: dict, manager: str) -> dict:
    return next(e["fieldsV1"] for e in obj["metadata"]["managedFields"] if e["manager"] == manager)


def test_a_write_to_one_of_two_alike_objects_leaves_the_other_as_it_was(api):
    names = [f"alike-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"labels": {"app": "x"}}, "data": {"a": "1"}}
    created = []
    for name in names:
        response = api.post(CM, json={**body, "metadata": {**body["metadata"], "name": name}})
        assert response.status_code == 201, response.text
        created.append(response.json())
    expected = {"f:data": {".": {}, "f:a": {}}, "f:metadata": {"f:labels": {".": {}, "f:app": {}}}}
    assert [fields_of(obj, "shaper") for obj in created] == [expected, expected]

    # Another manager takes data.a over and adds data.b and a label on the first object only.
    patch = {"data": {"a": "2", "b": "3"}, "metadata": {"labels": {"tier": "web"}}}
    patched = api.patch(
        f"{CM}/{names[0]}",
        params={"fieldManager": "editor"},
        content=json.dumps(patch),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert patched.status_code == 200, patched.text
    first = api.get(f"{CM}/{names[0]}").json()
    assert "f:a" not in fields_of(first, "shaper")["f:data"]  # taken over by the editor
    assert fields_of(first, "editor") == {
        "f:data": {"f:a": {}, "f:b": {}},
        "f:metadata": {"f:labels": {"f:tier": {}}},
    }

    second = api.get(f"{CM}/{names[1]}").json()
    assert second["metadata"]["managedFields"] == created[1]["metadata"]["managedFields"]
    assert fields_of(second, "shaper") == expected

    # A third object created alike after all this still gets the creator's full set.
    third = api.post(CM, json={**body, "metadata": {**body["metadata"], "name": names[0] + "-3"}})
    assert third.status_code == 201, third.text
    assert fields_of(third.json(), "shaper") == expected
