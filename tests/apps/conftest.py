"""Fixtures for the Application controller's tests: a real git server, a real controller process, clusters.

- ``git_server``: a ``git daemon`` on 127.0.0.1 with receive-pack enabled (session-wide);
  ``git_server.repo("name")`` makes a fresh repository (unique name) with a working clone, whose
  ``commit({...})`` writes files, commits, pushes over ``git://`` and returns the SHA.
- ``controller``: a ``ControllerProcess`` (not started: call ``.start()``) running
  ``python -m tiphys controller`` against the session cluster with ``--repo-poll 1``; ``kill()``
  sends SIGKILL, ``restart()`` starts it again with the same identity (so it takes its own Lease
  back at once), ``stop()`` ends it with SIGTERM. All are stopped at teardown.
- ``second_cluster``: another embedded cluster on another port (session-wide).
- ``apps``: an ``AppsApi`` on the session cluster: create/get/patch/delete Applications over HTTPS.
- ``wait_until(predicate, timeout=..., message=...)``: polls until the predicate returns a truthy
  value and returns it; fails with ``message`` (and the last value) on timeout.
- ``kube``: an async ``Kube`` client of the session cluster; ``passes``: an ``opsupport.Passes``
  over it, for tests that drive controller passes themselves.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from conftest import RunningCluster, free_port, start_cluster

from tiphys.controller.application import application_crd
from tiphys.kube import Kube

from .opsupport import Passes

T = TypeVar("T")

GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}

APPS_PATH = "/apis/tiphys.io/v1alpha1/namespaces/tiphys/applications"


def wait_until(predicate: Callable[[], T], timeout: float = 60.0, *, interval: float = 0.1, message: str = "") -> T:
    """Poll ``predicate`` until it returns something truthy (and return that); fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s: {message or predicate!r} (last value: {last!r})")
        time.sleep(interval)


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result.stdout.strip()


def configmap(name: str, namespace: str | None = None, **data: str) -> str:
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata:", f"  name: {name}"]
    if namespace:
        lines.append(f"  namespace: {namespace}")
    if data:
        lines.append("data:")
        lines += [f"  {k}: {v!r}" for k, v in data.items()]
    return "\n".join(lines) + "\n"


@dataclass
class GitRepo:
    """A repository served by the git daemon, with a working clone to commit and push from."""

    name: str
    url: str  # git://127.0.0.1:PORT/NAME.git, what an Application's repoURL names
    work: Path

    def commit(
        self, files: Mapping[str, str] | None = None, *, delete: tuple[str, ...] = (), message: str = "change"
    ) -> str:
        """Write (and delete) files, commit, push to ``branch`` main; returns the new commit SHA."""
        for name, text in (files or {}).items():
            target = self.work / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        for name in delete:
            (self.work / name).unlink()
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "--allow-empty", "-m", message)
        git(self.work, "push", "-q", "origin", "HEAD")
        return git(self.work, "rev-parse", "HEAD")

    def tag(self, name: str) -> None:
        git(self.work, "tag", "-f", name)
        git(self.work, "push", "-q", "-f", "origin", f"refs/tags/{name}")

    def branch(self, name: str) -> None:
        """Create (or move) ``name`` to the current commit on the server, and switch the clone to it."""
        git(self.work, "checkout", "-q", "-B", name)
        git(self.work, "push", "-q", "-f", "origin", f"HEAD:refs/heads/{name}")

    def head(self) -> str:
        return git(self.work, "rev-parse", "HEAD")


@dataclass
class GitServer:
    base: Path
    port: int
    work: Path
    _names: Iterator[int] = field(default_factory=itertools.count)

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}.git"

    def repo(self, name: str = "repo", files: Mapping[str, str] | None = None) -> GitRepo:
        """A new bare repository ``NAME-N.git`` served at ``url``; with ``files``, a first commit on main."""
        unique = f"{name}-{next(self._names)}-{uuid.uuid4().hex[:6]}"
        bare = self.base / f"{unique}.git"
        git(self.base, "init", "-q", "--bare", "-b", "main", str(bare))
        git(bare, "config", "daemon.receivepack", "true")
        work = self.work / unique
        work.mkdir(parents=True)
        git(work, "init", "-q", "-b", "main")
        git(work, "remote", "add", "origin", self.url(unique))
        repo = GitRepo(unique, self.url(unique), work)
        if files is not None:
            repo.commit(files, message="first")
        return repo


def _wait_for_port(port: int, process: subprocess.Popen[bytes], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start (exit code {process.poll()})")
        time.sleep(0.05)


@pytest.fixture(scope="session")
def git_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitServer]:
    root = tmp_path_factory.mktemp("git-server")
    base, work = root / "served", root / "work"
    base.mkdir()
    work.mkdir()
    port = free_port()
    process = subprocess.Popen(
        ["git", "daemon", "--export-all", "--enable=receive-pack", f"--base-path={base}", f"--port={port}",
         "--reuseaddr", "--listen=127.0.0.1", str(base)],
        env=GIT_ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        _wait_for_port(port, process, "git daemon")
        yield GitServer(base, port, work)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


class ControllerProcess:
    """``python -m tiphys controller`` against one cluster, as a subprocess a test can kill."""

    def __init__(self, cluster: RunningCluster, home: Path, *, identity: str | None = None) -> None:
        self.cluster = cluster
        self.home = home  # its TIPHYS_HOME: the git and manifest caches live here
        self.identity = identity or f"test-controller-{uuid.uuid4().hex[:8]}"
        self.webhook_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = home / "controller.log"
        self.args: tuple[str, ...] = ()

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.webhook_port}/api/webhook"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self, *args: str, repo_poll: float = 1.0) -> ControllerProcess:
        """Start it (extra CLI ``args`` are kept for restarts); returns once its webhook port listens."""
        assert self.process is None or self.process.poll() is not None, "the controller already runs"
        self.args = args or self.args
        self.home.mkdir(parents=True, exist_ok=True)
        argv = [
            sys.executable, "-m", "tiphys", "controller",
            "--kubeconfig", str(self.cluster.kubeconfig),
            "--repo-poll", str(repo_poll),
            "--webhook-addr", f"127.0.0.1:{self.webhook_port}",
            *self.args,
        ]  # fmt: skip
        env = {**os.environ, "TIPHYS_HOME": str(self.home), "TIPHYS_CONTROLLER_ID": self.identity}
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            _wait_for_port(self.webhook_port, self.process, "tiphys controller", timeout=60)
        except RuntimeError as e:
            raise RuntimeError(f"{e}:\n{self.tail()}") from e
        return self

    def tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no cleanup, the Lease stays held until it expires (or this identity comes back)."""
        if self.running:
            assert self.process is not None
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM: the controller releases its Lease and exits."""
        if self.running:
            assert self.process is not None
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)

    def restart(self, *, kill: bool = True) -> ControllerProcess:
        if kill:
            self.kill()
        else:
            self.stop()
        return self.start()


@pytest.fixture
def controller_factory(cluster: RunningCluster, tmp_path: Path) -> Iterator[Callable[..., ControllerProcess]]:
    """Make more controller processes (``factory(identity=...)``); every one is stopped at teardown."""
    made: list[ControllerProcess] = []

    def factory(*, identity: str | None = None, home: Path | None = None) -> ControllerProcess:
        process = ControllerProcess(cluster, home or tmp_path / f"controller-{len(made)}", identity=identity)
        made.append(process)
        return process

    yield factory
    for process in made:
        process.stop()
        # Shown only when the test failed (pytest prints captured teardown output then).
        print(f"--- controller {process.identity} log (tail) ---\n{process.tail(6000)}")


@pytest.fixture
def controller(controller_factory: Callable[..., ControllerProcess]) -> ControllerProcess:
    return controller_factory()


@pytest.fixture(scope="session")
def second_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCluster]:
    running = start_cluster(tmp_path_factory.mktemp("tiphys-second"))
    yield running
    running.stop()


def app_manifest(
    name: str,
    *,
    repo: str,
    path: str = ".",
    revision: str = "HEAD",
    namespace: str = "default",
    server: str | None = "https://kubernetes.default.svc",
    dest_name: str | None = None,
    automated: bool | Mapping[str, Any] = False,
    sync_options: tuple[str, ...] = (),
    extra_spec: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An Application manifest (tiphys.io/v1alpha1, Argo CD field names)."""
    destination: dict[str, Any] = {"namespace": namespace}
    if server:
        destination["server"] = server
    if dest_name:
        destination["name"] = dest_name
    spec: dict[str, Any] = {
        "project": "default",
        "source": {"repoURL": repo, "path": path, "targetRevision": revision},
        "destination": destination,
    }
    policy: dict[str, Any] = {}
    if automated:
        policy["automated"] = dict(automated) if isinstance(automated, Mapping) else {}
    if sync_options:
        policy["syncOptions"] = list(sync_options)
    if policy:
        spec["syncPolicy"] = policy
    spec.update(extra_spec or {})
    return {
        "apiVersion": "tiphys.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "tiphys"},
        "spec": spec,
    }


class AppsApi:
    """Applications of one cluster over HTTPS (the CRD and namespace are created on first use)."""

    def __init__(self, cluster: RunningCluster) -> None:
        self.cluster = cluster
        self.http = cluster.client()
        self._ensure()

    def _ensure(self) -> None:
        crd = application_crd()
        answer = self.http.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=crd)
        assert answer.status_code in (201, 409), answer.text
        answer = self.http.post("/api/v1/namespaces", json={"metadata": {"name": "tiphys"}})
        assert answer.status_code in (201, 409), answer.text
        wait_until(lambda: self.http.get(APPS_PATH).status_code == 200, 30, message="Application CRD served")

    def create(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        answer = self.http.post(APPS_PATH, json=dict(manifest))
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    def get(self, name: str) -> dict[str, Any] | None:
        answer = self.http.get(f"{APPS_PATH}/{name}")
        if answer.status_code == 404:
            return None
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def status(self, name: str) -> dict[str, Any]:
        return dict((self.get(name) or {}).get("status") or {})

    def list(self) -> list[dict[str, Any]]:
        answer = self.http.get(APPS_PATH)
        assert answer.status_code == 200, answer.text
        return list(answer.json()["items"])

    def patch(self, name: str, patch: Mapping[str, Any] | list[Any], *, json_patch: bool = False) -> dict[str, Any]:
        kind = "application/json-patch+json" if json_patch else "application/merge-patch+json"
        answer = self.http.patch(f"{APPS_PATH}/{name}", content=json.dumps(patch), headers={"Content-Type": kind})
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def delete(self, name: str, *, force: bool = False) -> None:
        """Delete it; with ``force`` its finalizers are dropped first, so no controller is needed."""
        if force:
            answer = self.http.patch(
                f"{APPS_PATH}/{name}",
                content=json.dumps({"metadata": {"finalizers": None}}),
                headers={"Content-Type": "application/merge-patch+json"},
            )
            assert answer.status_code in (200, 404), answer.text
        answer = self.http.delete(f"{APPS_PATH}/{name}")
        assert answer.status_code in (200, 202, 404), answer.text

    def sync_status(self, name: str) -> str:
        return str(self.status(name).get("sync", {}).get("status", ""))

    def health_status(self, name: str) -> str:
        return str(self.status(name).get("health", {}).get("status", ""))

    def condition_types(self, name: str) -> list[str]:
        return [str(c.get("type")) for c in self.status(name).get("conditions") or []]

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def apps(cluster: RunningCluster) -> Iterator[AppsApi]:
    """The session cluster's Applications; those a test leaves behind are force-deleted afterwards."""
    api = AppsApi(cluster)
    before = {a["metadata"]["name"] for a in api.list()}
    yield api
    for app in api.list():
        if app["metadata"]["name"] not in before:
            api.delete(app["metadata"]["name"], force=True)
    api.close()


def kube_get(cluster: RunningCluster, path: str) -> dict[str, Any] | None:
    """GET an API path on a cluster; None on 404."""
    with cluster.client() as http:
        answer: httpx.Response = http.get(path)
    if answer.status_code == 404:
        return None
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


@pytest.fixture
async def kube(cluster: RunningCluster) -> AsyncIterator[Kube]:
    """An async client of the session cluster."""
    async with Kube.from_kubeconfig(cluster.kubeconfig) as client:
        yield client


@pytest.fixture
async def passes(kube: Kube, tmp_path: Path) -> AsyncIterator[Passes]:
    """Controller passes driven by the test, over Applications in the session cluster."""
    runner = Passes(kube, tmp_path)
    yield runner
    await runner.close()
