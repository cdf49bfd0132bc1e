"""Controller tests: a namespace per test; helpers are in :mod:`helpers`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from .helpers import Kube, unique

# Upstream waits 10 s before replacing a failed Job pod; the session cluster starts after
# collection, so this reaches it (and only shortens retries).
os.environ.setdefault("TIPHYS_JOB_BACKOFF_SECONDS", "0.2")


@pytest.fixture
def kube(cluster: Any) -> Iterator[Kube]:
    with cluster.client() as client:
        yield Kube(client)


@pytest.fixture
def ns(kube: Kube) -> Iterator[str]:
    name = unique("c")
    kube.create("/api/v1/namespaces", {"metadata": {"name": name}})
    yield name
    kube.delete(f"/api/v1/namespaces/{name}")
