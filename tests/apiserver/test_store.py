"""The store's SQLite rows and in-process subscribers, on a real SQLite file."""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson
import pytest

from tiphys.cluster.apiserver.store import Event, Store


def configmap(name: str, value: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "n"}, "data": {"v": value}}


def test_updates_keep_one_row_per_object_and_a_restart_reads_them_back(tmp_path):
    path = tmp_path / "state.db"
    store = Store(path)
    for i in range(3):
        store.put("/configmaps", configmap(f"c{i}", "0"))
    store.put("/configmaps", configmap("c1", "1"))
    store.delete("/configmaps", "n", "c2")
    store.close()
    reopened = Store(path)
    names = {e.obj["metadata"]["name"]: (e.obj["data"]["v"], e.rv) for e in reopened.scan("/configmaps")}
    assert names == {"c0": ("0", 2), "c1": ("1", 5)}
    assert reopened.rv == 6  # the deletion's version is remembered too
    reopened.close()
    with sqlite3.connect(path) as db:
        assert sorted(db.execute("SELECT rv, name FROM objects")) == [(2, "c0"), (5, "c1")]


def test_a_data_file_of_the_first_layout_is_migrated(tmp_path):
    path = tmp_path / "state.db"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE objects (key TEXT, ns TEXT, name TEXT, rv INTEGER, data BLOB,"
            " PRIMARY KEY (key, ns, name)) WITHOUT ROWID"
        )
        db.execute("CREATE TABLE meta (k TEXT PRIMARY KEY, v INTEGER)")
        for rv, name in ((7, "a"), (9, "b")):
            obj = configmap(name, str(rv))
            obj["metadata"]["resourceVersion"] = str(rv)
            db.execute("INSERT INTO objects VALUES (?, ?, ?, ?, ?)", ("/configmaps", "n", name, rv, orjson.dumps(obj)))
        db.execute("INSERT INTO meta VALUES ('rv', 12)")
    store = Store(path)
    assert [(e.obj["metadata"]["name"], e.rv) for e in store.scan("/configmaps", "n")] == [("a", 7), ("b", 9)]
    assert store.rv == 12
    entry = store.put("/configmaps", configmap("a", "new"))
    assert entry.rv == 13
    store.close()
    reopened = Store(path)
    assert [(e.obj["data"]["v"], e.rv) for e in reopened.scan("/configmaps", "n")] == [("new", 13), ("9", 9)]
    reopened.close()


def test_keyed_subscribers_see_only_their_resources_events(tmp_path):
    store = Store(tmp_path / "state.db")
    everything: list[Event] = []
    pods: list[Event] = []
    store.listen(everything.append)
    store.listen(pods.append, keys=["/pods", "/namespaces"])
    store.put("/configmaps", configmap("c", "0"))
    store.put("/pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "n"}})
    store.delete("/pods", "n", "p")
    store.close()
    assert [(e.type, e.key) for e in everything] == [("ADDED", "/configmaps"), ("ADDED", "/pods"), ("DELETED", "/pods")]
    assert [(e.type, e.key) for e in pods] == [("ADDED", "/pods"), ("DELETED", "/pods")]


def test_subscribers_to_changes_only_are_not_told_of_creates(tmp_path):
    store = Store(tmp_path / "state.db")
    changes: list[Event] = []
    store.listen(changes.append, added=False)
    store.put("/configmaps", configmap("c", "0"))
    store.put("/configmaps", configmap("c", "1"))
    store.delete("/configmaps", "n", "c")
    store.close()
    assert [(e.type, e.entry.obj["data"]["v"]) for e in changes] == [("MODIFIED", "1"), ("DELETED", "1")]
    other = Store(tmp_path / "other.db")
    with pytest.raises(ValueError, match="every resource"):
        other.listen(changes.append, keys=["/pods"], added=False)
    other.close()


async def test_a_commit_that_fails_fails_the_writes_waiting_on_it_and_emits_nothing(tmp_path):
    store = Store(tmp_path / "state.db")
    seen: list[Event] = []
    store.listen(seen.append)
    store.put("/configmaps", configmap("c", "0"))
    # SQLite refuses the commit (here: the file was made read-only behind the store's back).
    store._db.execute("PRAGMA query_only=ON")
    with pytest.raises(sqlite3.OperationalError):
        await store.durable()
    assert seen == []
    store._db.execute("PRAGMA query_only=OFF")
    store.put("/configmaps", configmap("d", "0"))
    await store.durable()  # the next commit works again
    assert [e.entry.obj["metadata"]["name"] for e in seen] == ["d"]
    store.close()
