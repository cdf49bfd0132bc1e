"""The pure parts of a refresh: comparison rules, conditions, the work queue, cluster configs, the repo cache."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
import threading
from datetime import UTC, datetime

import pytest

from tiphys.controller import refresh
from tiphys.controller.clusters import DestinationError, cluster_config
from tiphys.controller.repos import Repos
from tiphys.controller.workqueue import WorkQueue
from tiphys.engine import HealthStatus, World, tracking
from tiphys.engine.appstatus import SyncStatusCode, compare_app

from .conftest import configmap, git

KINDS = {("", "ConfigMap"): True, ("apps", "Deployment"): True, ("", "Namespace"): False, ("batch", "Job"): True}


def cm(name: str, namespace: str = "", app: str = "", **data: str) -> dict:
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": dict(data)}
    if namespace:
        obj["metadata"]["namespace"] = namespace
    if app:
        obj["metadata"]["annotations"] = {tracking.TRACKING_ID: f"{app}:/ConfigMap:{namespace}/{name}"}
    return obj


def world(desired=(), live=()) -> World:
    return World(app="web", namespace="prod", revision="abc", desired=tuple(desired), live=tuple(live), kinds=KINDS)


def test_identical_objects_are_synced_and_missing_ones_out_of_sync():
    found = compare_app(world([cm("a", x="1"), cm("b")], [cm("a", "prod", "web", x="1")]))
    assert found.status is SyncStatusCode.OUT_OF_SYNC
    assert [(r.name, r.namespace, r.status, r.health) for r in found.resources] == [
        ("a", "prod", SyncStatusCode.SYNCED, None),
        ("b", "prod", SyncStatusCode.OUT_OF_SYNC, HealthStatus.MISSING),  # not created yet: Missing, as Argo CD
    ]
    everything = compare_app(world([cm("a", x="1")], [cm("a", "prod", "web", x="1")]))
    assert everything.status is SyncStatusCode.SYNCED


@pytest.mark.parametrize(
    "live, expected_app, expected_resource",
    [
        pytest.param(cm("old", "prod", "web"), SyncStatusCode.OUT_OF_SYNC, SyncStatusCode.OUT_OF_SYNC, id="extra"),
        pytest.param(
            {
                **cm("old", "prod", "web"),
                "metadata": {
                    **cm("old", "prod", "web")["metadata"],
                    "annotations": {
                        tracking.TRACKING_ID: "web:/ConfigMap:prod/old",
                        "argocd.argoproj.io/compare-options": "IgnoreExtraneous",
                    },
                },
            },
            SyncStatusCode.SYNCED,
            SyncStatusCode.OUT_OF_SYNC,
            id="ignore-extraneous",
        ),
    ],
)
def test_tracked_objects_gone_from_git_require_pruning(live, expected_app, expected_resource):
    found = compare_app(world([], [live]))
    [resource] = found.resources
    assert (resource.name, resource.requires_pruning, resource.status) == ("old", True, expected_resource)
    assert found.status is expected_app


def test_untracked_objects_of_others_are_not_listed():
    found = compare_app(world([cm("a")], [cm("a", "prod", "web"), cm("foreign", "prod", "other")]))
    assert [r.name for r in found.resources] == ["a"]


def test_live_hooks_are_listed_without_sync_status_and_health_is_aggregated():
    hook = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": "migrate",
            "namespace": "prod",
            "annotations": {"argocd.argoproj.io/hook": "PreSync", tracking.TRACKING_ID: "web:batch/Job:prod/migrate"},
        },
        "status": {"conditions": [{"type": "Complete", "status": "True"}]},
    }
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api"}, "spec": {"replicas": 2}}
    live = {
        **deployment,
        "metadata": {
            "name": "api",
            "namespace": "prod",
            "generation": 1,
            "annotations": {tracking.TRACKING_ID: "web:apps/Deployment:prod/api"},
        },
        "status": {"observedGeneration": 1, "replicas": 2, "updatedReplicas": 1, "availableReplicas": 1},
    }
    found = compare_app(world([deployment], [live, hook]))
    assert [(h.kind, h.name, h.status, h.hook) for h in found.hooks] == [("Job", "migrate", None, True)]
    assert found.hooks[0].to_json()["hook"] is True and "status" not in found.hooks[0].to_json()
    assert found.health.status.value == "Progressing"
    assert found.health.message == "Caused by apps/Deployment:prod/api"
    assert found.resources[0].to_json()["health"]["status"] == "Progressing"


def test_owned_conditions_are_replaced_and_others_kept():
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    current = [
        {"type": "SyncError", "message": "x", "lastTransitionTime": "2025-01-01T00:00:00Z"},
        {"type": "ComparisonError", "message": "same", "lastTransitionTime": "2025-06-01T00:00:00Z"},
        {"type": "InvalidSpecError", "message": "gone", "lastTransitionTime": "2025-06-01T00:00:00Z"},
    ]
    merged = refresh.merge_conditions(current, [("ComparisonError", "same"), ("ComparisonError", "new")], now=now)
    assert merged == [
        current[0],
        {"type": "ComparisonError", "message": "same", "lastTransitionTime": "2025-06-01T00:00:00Z"},
        {"type": "ComparisonError", "message": "new", "lastTransitionTime": "2026-01-02T03:04:05Z"},
    ]


@pytest.mark.parametrize(
    "spec, problem",
    [
        pytest.param({"destination": {}}, "spec.source.repoURL and either", id="no-source"),
        pytest.param({"source": {"repoURL": "git://h/r"}}, "spec.destination is required", id="no-destination"),
        pytest.param(
            {"source": {"repoURL": "x", "helm": {}, "kustomize": {}}, "destination": {}},
            "multiple application sources defined: Kustomize,Helm",
            id="two-tools",
        ),
        pytest.param({"source": {"repoURL": "git://h/r"}, "destination": {}}, "", id="fine"),
    ],
)
def test_spec_problems(spec, problem):
    found = refresh.spec_problem({"spec": spec})
    assert found.startswith(problem) if problem else found == ""


async def test_the_work_queue_never_runs_one_name_twice_at_once_and_keeps_the_last_add():
    running: set[str] = set()
    overlaps = []
    calls: list[str] = []
    gate = asyncio.Event()

    async def handle(name: str) -> None:
        if name in running:
            overlaps.append(name)
        running.add(name)
        calls.append(name)
        if name == "a" and calls.count("a") == 1:
            await gate.wait()
        else:
            await asyncio.sleep(0)
        running.discard(name)

    queue = WorkQueue(handle, concurrency=4)
    queue.start()
    queue.add("a")
    await asyncio.sleep(0.01)
    for _ in range(5):
        queue.add("a")  # while "a" runs: one more pass afterwards, not five
    queue.add("b")
    await asyncio.sleep(0.01)
    assert calls == ["a", "b"]  # "b" is not held up by the slow "a"
    gate.set()
    for _ in range(100):
        if calls.count("a") == 2:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    await queue.stop()
    assert calls.count("a") == 2 and not overlaps


def test_cluster_config_from_an_argo_cd_cluster_secret():
    ca = base64.b64encode(b"-----BEGIN CERTIFICATE-----\n").decode()
    config = cluster_config("far", "https://10.0.0.1:6443", {"bearerToken": "t0k", "tlsClientConfig": {"caData": ca}})
    cluster = config.clusters["c"]
    assert cluster.server == "https://10.0.0.1:6443"
    assert config.users["u"].token == "t0k"
    with pytest.raises(DestinationError, match="tlsClientConfig is not an object") as raised:
        cluster_config("far", "https://x", {"bearerToken": "secret-value", "tlsClientConfig": "nope"})
    assert "secret-value" not in str(raised.value)


async def test_the_repo_cache_resolves_once_per_interval_and_renders_once_per_commit(tmp_path):
    origin = tmp_path / "origin"
    origin.mkdir()
    git(origin, "init", "-q", "-b", "main")
    (origin / "app").mkdir()
    (origin / "app" / "a.yaml").write_text(configmap("a"))
    git(origin, "add", "-A")
    git(origin, "commit", "-q", "-m", "one")
    clock = [0.0]
    repos = Repos(poll=60, cache_dir=tmp_path / "cache", clock=lambda: clock[0])
    url = f"file://{origin}"
    shas = await asyncio.gather(*(repos.resolve(url, "main") for _ in range(10)))
    assert len(set(shas)) == 1 and repos.ls_remotes == 1
    source = {"repoURL": url, "path": "app", "targetRevision": "main"}
    rendered = await asyncio.gather(*(repos.render(source, "main", app_name=f"a{i}", namespace="x") for i in range(5)))
    assert {r.revision for r in rendered} == {shas[0]} and repos.renders == 1
    (origin / "app" / "b.yaml").write_text(configmap("b"))
    git(origin, "add", "-A")
    git(origin, "commit", "-q", "-m", "two")
    assert await repos.resolve(url, "main") == shas[0]  # within the poll interval: the cached commit
    assert await repos.poll() == [(url, "main")]
    newer = await repos.render(source, "main", app_name="a0", namespace="x")
    assert newer.revision != shas[0] and len(newer.objects) == 2 and repos.renders == 2
    bad = {"repoURL": url, "path": "nope", "targetRevision": "main"}
    for _ in range(3):
        with pytest.raises(refresh.sources.SourceError, match="nope"):
            await repos.render(bad, "main", app_name="a", namespace="x")
    assert repos.renders == 3  # the failure of that commit is remembered


def test_a_refresh_looks_only_at_its_own_objects_in_the_shared_cache():
    mine, same_name_elsewhere, foreign_tracked = cm("a", "prod"), cm("a", "stage"), cm("z", "prod", "other")
    tracked = cm("old", "prod", "web")
    kept = refresh._relevant([mine, same_name_elsewhere, foreign_tracked, tracked], "web", [cm("a")], "prod")
    assert kept == (mine, tracked)


def test_the_sync_wave_is_reported_when_not_zero():
    early = {**cm("early"), "metadata": {"name": "early", "annotations": {"argocd.argoproj.io/sync-wave": "-2"}}}
    found = compare_app(world([early, cm("plain")]))
    assert {r.name: r.to_json().get("syncWave") for r in found.resources} == {"early": -2, "plain": None}


class _StopsAnswering:
    """A git:// server that refuses its first connection at once, then accepts and never answers."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.held: list[socket.socket] = []
        self.url = f"git://127.0.0.1:{self.listener.getsockname()[1]}/silent.git"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            first, _ = self.listener.accept()
            first.close()
            while True:
                self.held.append(self.listener.accept()[0])

    def close(self) -> None:
        for conn in [self.listener, *self.held]:
            conn.close()


async def test_a_repository_that_stops_answering_holds_up_no_other(tmp_path):
    origin = tmp_path / "origin"
    origin.mkdir()
    git(origin, "init", "-q", "-b", "main")
    (origin / "a.yaml").write_text(configmap("a"))
    git(origin, "add", "-A")
    git(origin, "commit", "-q", "-m", "one")
    url = f"file://{origin}"
    silent = _StopsAnswering()
    repos = Repos(poll=0.0, cache_dir=tmp_path / "cache")
    try:
        first = await repos.resolve(url, "main")
        with pytest.raises(refresh.sources.SourceError):
            await repos.resolve(silent.url, "main")  # refused: known to the cache, as an error
        (origin / "b.yaml").write_text(configmap("b"))
        git(origin, "add", "-A")
        git(origin, "commit", "-q", "-m", "two")

        heard: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        stuck = asyncio.create_task(repos.poll(on_change=heard.put_nowait))
        # The commit is news long before the silent server's ls-remote times out (30 s).
        assert await asyncio.wait_for(heard.get(), 15) == (url, "main")
        assert not stuck.done()
        assert await repos.resolve(url, "main") != first
        # The next poll leaves the unanswered lookup to the first one instead of waiting behind it.
        assert await asyncio.wait_for(repos.poll(on_change=heard.put_nowait), 15) == []
        assert not stuck.done()
        stuck.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await stuck
    finally:
        silent.close()
