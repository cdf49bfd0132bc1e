"""``POST /api/webhook`` over real HTTP: uvicorn on a loopback port, secrets read from the session cluster.

The app runs in a thread of its own (its own event loop and ``Kube`` client); ``pushes`` collects
what reached ``on_push``, so every refusal can be checked to have triggered nothing.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
import uvicorn
from conftest import RunningCluster, free_port

from tiphys.kube import Kube
from tiphys.server.webhook import kube_secrets, webhook_app
from tiphys.server.webhook_events import PushEvent, WebhookSecrets, sign

SECRET = "tiphys-secret"
SECRETS_PATH = "/api/v1/namespaces/tiphys/secrets"
LIMIT = 64 * 1024

GITHUB_PUSH = {
    "ref": "refs/heads/main",
    "before": "0" * 40,
    "after": "1" * 40,
    "repository": {"html_url": "https://github.com/org/repo", "default_branch": "main"},
    "commits": [{"added": ["app/cm.yaml"], "modified": [], "removed": []}],
}
GITLAB_PUSH = {
    "object_kind": "push",
    "ref": "refs/heads/main",
    "project": {"web_url": "https://gitlab.example.com/group/repo", "default_branch": "main"},
    "commits": [],
}


@dataclass
class WebhookServer:
    url: str
    pushes: list[PushEvent] = field(default_factory=list)

    def post(self, payload: object, headers: dict[str, str], *, raw: bytes | None = None) -> httpx.Response:
        body = raw if raw is not None else json.dumps(payload).encode()
        return httpx.post(self.url, content=body, headers={"Content-Type": "application/json", **headers}, timeout=30)


def _serve(cluster: RunningCluster, port: int, server: WebhookServer, ready: threading.Event, stop: list) -> None:
    async def main() -> None:
        async with Kube.from_kubeconfig(cluster.kubeconfig) as kube:

            async def on_push(event: PushEvent) -> None:
                server.pushes.append(event)

            app = webhook_app(on_push=on_push, secrets=kube_secrets(kube), max_body=LIMIT)
            config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
            uv = uvicorn.Server(config)
            stop.append(uv)
            task = asyncio.create_task(uv.serve())
            while not uv.started and not task.done():
                await asyncio.sleep(0.02)
            ready.set()
            await task

    asyncio.run(main())


@pytest.fixture(scope="module")
def webhook(cluster: RunningCluster) -> Iterator[WebhookServer]:
    port = free_port()
    server = WebhookServer(f"http://127.0.0.1:{port}/api/webhook")
    ready, stop = threading.Event(), []
    thread = threading.Thread(target=_serve, args=(cluster, port, server, ready, stop), daemon=True)
    thread.start()
    assert ready.wait(60), "the webhook server did not start"
    yield server
    stop[0].should_exit = True
    thread.join(30)


def _set_secret(cluster: RunningCluster, data: dict[str, str] | None) -> None:
    with cluster.client() as http:
        answer = http.post("/api/v1/namespaces", json={"metadata": {"name": "tiphys"}})
        assert answer.status_code in (201, 409), answer.text
        http.delete(f"{SECRETS_PATH}/{SECRET}")
        if data is not None:
            encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
            body = {"metadata": {"name": SECRET}, "type": "Opaque", "data": encoded}
            answer = http.post(SECRETS_PATH, json=body)
            assert answer.status_code == 201, answer.text


@pytest.fixture
def secrets(cluster: RunningCluster) -> Iterator[object]:
    """Configure ``tiphys-secret`` for one test; it is removed afterwards."""

    def configure(**values: str) -> None:
        _set_secret(cluster, {f"webhook.{k}.secret": v for k, v in values.items()})

    yield configure
    _set_secret(cluster, None)


def test_unsigned_push_passes_when_no_secret_is_configured(webhook, cluster):
    _set_secret(cluster, None)
    before = len(webhook.pushes)
    answer = webhook.post(GITHUB_PUSH, {"X-GitHub-Event": "push"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["revision"] == "main"
    event = webhook.pushes[before]
    assert event.repo_urls[0] == "https://github.com/org/repo"
    assert event.touched_head and event.changed_files == ("app/cm.yaml",)


def test_github_signature_is_checked_against_the_cluster_secret(webhook, secrets):
    secrets(github="gh-s3cret")
    body = json.dumps(GITHUB_PUSH).encode()
    before = len(webhook.pushes)
    for headers in (
        {"X-GitHub-Event": "push"},  # unsigned
        {"X-GitHub-Event": "push", "X-Hub-Signature-256": sign("wrong", body)},
        {"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=zz"},
    ):
        answer = webhook.post(None, headers, raw=body)
        assert answer.status_code == 401, answer.text
        assert "gh-s3cret" not in answer.text
    assert len(webhook.pushes) == before, "a refused webhook triggered a push"
    answer = webhook.post(None, {"X-GitHub-Event": "push", "X-Hub-Signature-256": sign("gh-s3cret", body)}, raw=body)
    assert answer.status_code == 200, answer.text
    assert len(webhook.pushes) == before + 1


def test_gitlab_token(webhook, secrets):
    secrets(gitlab="gl-token")
    before = len(webhook.pushes)
    assert webhook.post(GITLAB_PUSH, {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "nope"}).status_code == 401
    assert webhook.post(GITLAB_PUSH, {"X-Gitlab-Event": "Push Hook"}).status_code == 401
    assert len(webhook.pushes) == before
    answer = webhook.post(GITLAB_PUSH, {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "gl-token"})
    assert answer.status_code == 200, answer.text
    assert webhook.pushes[-1].repo_urls[0] == "https://gitlab.example.com/group/repo"


def test_generic_form(webhook, secrets):
    secrets(generic="gen")
    payload = {"repository": "git://127.0.0.1:9418/apps.git", "revision": "main"}
    body = json.dumps(payload).encode()
    before = len(webhook.pushes)
    assert webhook.post(None, {"X-Tiphys-Signature": sign("other", body)}, raw=body).status_code == 401
    assert webhook.post(None, {}, raw=body).status_code == 401  # the body alone says generic; unsigned
    assert len(webhook.pushes) == before
    answer = webhook.post(None, {"X-Tiphys-Event": "push", "X-Tiphys-Signature": sign("gen", body)}, raw=body)
    assert answer.status_code == 200, answer.text
    assert webhook.pushes[-1].matches("git://127.0.0.1:9418/apps", "main")


def test_ping_answers_200_and_triggers_nothing(webhook, secrets):
    secrets(github="gh")
    body = b'{"zen": "Keep it logically awesome."}'
    before = len(webhook.pushes)
    answer = webhook.post(None, {"X-GitHub-Event": "ping", "X-Hub-Signature-256": sign("gh", body)}, raw=body)
    assert answer.status_code == 200 and answer.json()["event"] == "ping"
    assert webhook.post(None, {"X-GitHub-Event": "ping"}, raw=body).status_code == 401
    assert len(webhook.pushes) == before


def test_refusals(webhook, secrets):
    before = len(webhook.pushes)
    answer = httpx.get(webhook.url, timeout=30)
    assert answer.status_code == 405 and answer.headers["allow"] == "POST"
    answer = webhook.post({"hello": 1}, {"X-Something": "x"})
    assert (answer.status_code, answer.text) == (400, "Unknown webhook event")
    answer = webhook.post(None, {"X-GitHub-Event": "push"}, raw=b"{not json")
    assert answer.status_code == 400 and "not valid JSON" in answer.text
    assert webhook.post(GITHUB_PUSH, {"X-GitHub-Event": "issues"}).status_code == 400
    assert webhook.post({"ref": "refs/heads/main"}, {"X-GitHub-Event": "push"}).status_code == 400
    assert httpx.post(webhook.url.replace("/api/webhook", "/api/other"), content=b"{}", timeout=30).status_code == 404
    assert len(webhook.pushes) == before


def test_body_size_cap(webhook, secrets):
    before = len(webhook.pushes)
    big = json.dumps({**GITHUB_PUSH, "pad": "x" * (LIMIT + 1)}).encode()
    assert webhook.post(None, {"X-GitHub-Event": "push"}, raw=big).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap holds while streaming
        for _ in range(LIMIT // 1024 + 2):
            yield b" " * 1024

    answer = httpx.post(webhook.url, content=chunks(), headers={"X-GitHub-Event": "push"}, timeout=30)
    assert answer.status_code == 413
    assert len(webhook.pushes) == before


async def test_unreadable_secrets_refuse_everything():
    pushed: list[PushEvent] = []

    async def on_push(event: PushEvent) -> None:
        pushed.append(event)

    async def broken() -> WebhookSecrets:
        raise RuntimeError("cluster unreachable")

    app = webhook_app(on_push=on_push, secrets=broken)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        answer = await client.post("/api/webhook", json=GITHUB_PUSH, headers={"X-GitHub-Event": "push"})
    assert answer.status_code == 503
    assert pushed == []


def test_secrets_are_read_fresh_on_every_request(webhook, secrets):
    body = json.dumps(GITHUB_PUSH).encode()
    signed = {"X-GitHub-Event": "push", "X-Hub-Signature-256": sign("first", body)}
    secrets(github="first")
    assert webhook.post(None, signed, raw=body).status_code == 200
    secrets(github="second")  # rotated: the old signature no longer passes, without a restart
    assert webhook.post(None, signed, raw=body).status_code == 401
