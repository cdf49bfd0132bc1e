"""``POST /api/webhook``: Git push notifications that make the controller refresh apps at once.

The ASGI app reads at most ``max_body`` bytes (413 beyond), finds the sender by its headers (400
for anything unknown), checks the signature against the secrets of Secret ``tiphys-secret`` in
namespace ``tiphys`` (401; nothing is triggered), parses the push (400 when malformed) and hands
it to ``on_push``. A ping answers 200 and triggers nothing; any other method than POST is 405.
The parsing and verification rules live in ``webhook_events``, without I/O. The controller
serves this app (``tiphys controller --webhook-addr``); ``on_push`` decides which apps refresh,
usually with ``PushEvent.matches``.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from tiphys.kube import Kube, KubeError, NotFound

from .webhook_events import Ping, PushEvent, WebhookError, WebhookSecrets, classify, parse, verify

__all__ = ["MAX_BODY", "PATH", "SECRET_NAME", "SECRET_NAMESPACE", "kube_secrets", "webhook_app"]

log = logging.getLogger(__name__)

PATH: Final = "/api/webhook"
MAX_BODY: Final = 1024 * 1024  # Argo CD's default webhook.maxPayloadSizeMB is 50; a push is a few KiB
SECRET_NAME: Final = "tiphys-secret"
SECRET_NAMESPACE: Final = "tiphys"

OnPush = Callable[[PushEvent], Awaitable[None]]
SecretsSource = Callable[[], Awaitable[WebhookSecrets]]


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise WebhookError(400, "Content-Length is not a number") from None
        if size > limit:
            raise WebhookError(413, f"the payload is {size} bytes; the limit is {limit}")
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise WebhookError(413, f"the payload is larger than the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def webhook_app(*, on_push: OnPush, secrets: SecretsSource, max_body: int = MAX_BODY) -> ASGIApp:
    """The webhook endpoint as an ASGI app (Starlette), serving ``POST /api/webhook``."""

    async def handle(request: Request) -> Response:
        if request.method != "POST":
            return PlainTextResponse("Method Not Allowed: send the webhook with POST", 405, headers={"Allow": "POST"})
        try:
            body = await _read_body(request, max_body)
            headers = {k.lower(): v for k, v in request.headers.items()}
            provider, event = classify(headers, body)
            try:
                configured = await secrets()
            except Exception as e:  # fail closed: without the secrets no request can be trusted
                log.warning("webhook refused: the webhook secrets could not be read: %s", e)
                return PlainTextResponse("webhook secrets are unavailable; try again later", 503)
            verify(provider, headers, body, configured)
            found = parse(provider, event, body, headers.get("content-type", "application/json"))
        except WebhookError as e:
            if e.status == 401:
                log.warning("webhook refused from %s: %s", request.client.host if request.client else "?", e.message)
            return PlainTextResponse(e.message, e.status)
        if isinstance(found, Ping):
            return JSONResponse({"event": "ping", "provider": found.provider.value})
        log.info("push event from %s: %s %s", found.provider.value, ", ".join(found.repo_urls), found.revision)
        try:
            await on_push(found)
        except Exception:
            log.exception("webhook push handler failed")
            return PlainTextResponse("the push could not be handled; try again later", 503)
        answer = {"event": "push", "provider": found.provider.value, "repositories": list(found.repo_urls)}
        return JSONResponse({**answer, "revision": found.revision})

    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    return Starlette(routes=[Route(PATH, handle, methods=methods)])


def _decoded(secret: Mapping[str, Any]) -> dict[str, str]:
    values: dict[str, str] = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            values[str(key)] = base64.b64decode(str(value), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            continue
    for key, value in (secret.get("stringData") or {}).items():
        values[str(key)] = str(value)
    return values


def kube_secrets(kube: Kube, *, name: str = SECRET_NAME, namespace: str = SECRET_NAMESPACE) -> SecretsSource:
    """Read the webhook secrets from Secret ``tiphys-secret`` on every request; none when it is absent."""

    async def read() -> WebhookSecrets:
        try:
            secret = await kube.get("v1", "Secret", name, namespace=namespace)
        except NotFound:
            return WebhookSecrets()
        except KubeError as e:
            raise RuntimeError(f"Secret {namespace}/{name}: {e}") from e
        return WebhookSecrets.from_data(_decoded(secret))

    return read
