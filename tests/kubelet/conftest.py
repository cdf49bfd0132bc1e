"""Kubelet tests: a namespace per test, and no pod process may outlive the session's cluster.

Helpers are in :mod:`helpers`. At session end the cluster is stopped (SIGTERM, as ``tiphys
down`` does) and no process may still carry the session's marker.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .helpers import MARKER, Pods, marked_processes, unique, wait_for


@pytest.fixture(scope="session", autouse=True)
def no_process_survives(cluster: Any) -> Iterator[None]:
    yield
    cluster.stop()
    wait_for(lambda: not marked_processes(MARKER), timeout=10, what="every pod process to end with the cluster")


@pytest.fixture(scope="module")
def client(cluster: Any) -> Iterator[httpx.Client]:
    with cluster.client() as c:
        yield c


@pytest.fixture
def pods(client: httpx.Client) -> Pods:
    namespace = unique("kl")
    response = client.post("/api/v1/namespaces", json={"metadata": {"name": namespace}})
    assert response.status_code == 201, response.text
    return Pods(client, namespace)
