"""The shared watch cache of a cluster: one watch per kind, complete before use, waiters woken by their objects."""

from __future__ import annotations

import asyncio
import uuid

from tiphys.controller.cache import ClusterCache
from tiphys.engine import ResourceKey
from tiphys.kube import Kube


async def test_concurrent_users_wait_for_the_first_list_and_only_their_objects_wake_them(cluster):
    namespace = f"cache-{uuid.uuid4().hex[:6]}"
    changes: list[ResourceKey] = []
    async with Kube.from_kubeconfig(cluster.kubeconfig) as kube:
        await kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        for name in ("a", "b"):
            await kube.create(
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}}
            )
        cache = ClusterCache(kube, on_change=lambda key, obj: changes.append(key))
        try:
            scope = ("v1", "ConfigMap", namespace)
            await asyncio.gather(*(cache.ensure([scope]) for _ in range(10)))  # all return after the list
            a, b = (ResourceKey("", "ConfigMap", namespace, n) for n in ("a", "b"))
            assert cache.get(a) is not None and cache.get(b) is not None
            assert cache.watched() == 1
            await cache.ensure([("v1", "ConfigMap", "another-namespace")])
            assert cache.watched() == 1  # one watch per kind, whatever the namespaces
            wait_a = asyncio.create_task(cache.wait({a}, timeout=30))
            wait_b = asyncio.create_task(cache.wait({b}, timeout=1.5))
            await asyncio.sleep(0.1)
            await kube.patch("v1", "ConfigMap", "a", {"data": {"x": "1"}}, namespace=namespace)
            assert await wait_a is True
            assert await wait_b is False  # a change to `a` does not wake a waiter for `b`
            assert a in changes and b not in changes
            assert cache.get(a)["data"] == {"x": "1"}
        finally:
            await cache.close()
            await kube.delete("v1", "Namespace", namespace)
