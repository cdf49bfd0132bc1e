"""The do-nothing reference server: a plain ASGI app served exactly as the embedded cluster is.

Tiphys's API server is a plain ASGI application under uvicorn (httptools, uvloop, TLS, one
process), so the floor to compare with is a plain ASGI app under the same uvicorn settings and
certificate (kept in step with ``Cluster.serve`` in ``tiphys/cluster/server.py``). Its routes
do no work:

- ``GET /get``: a small fixed JSON object;
- ``POST /echo``: reads the body, parses it as JSON and returns it (201);
- ``GET /blob/<n>``: ``n`` bytes of fixed JSON (the floor for moving a list of that size);
- ``GET /watch`` streams one line per ``POST /notify``, whose body it carries (the floor for
  watch event latency);
- ``GET /readyz``: ``ok``.

Run it with ``python -m bench._bare --port N --cert server.crt --key server.key``.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any

import orjson

__all__ = ["app", "main"]

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

SMALL = b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success","code":200}'
_watchers: set[asyncio.Queue[bytes]] = set()


@cache
def _blob(size: int) -> bytes:
    filler = max(0, size - len(b'{"items":""}'))
    return b'{"items":"' + b"x" * filler + b'"}'


async def _body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _answer(send: Send, status: int, body: bytes, media: bytes = b"application/json") -> None:
    headers = [(b"content-type", media), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _watch(receive: Receive, send: Send) -> None:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    _watchers.add(queue)
    headers = [(b"content-type", b"application/json"), (b"cache-control", b"no-cache, private")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    disconnected = asyncio.ensure_future(_disconnect(receive))
    try:
        while True:
            getter = asyncio.ensure_future(queue.get())
            done, _ = await asyncio.wait({getter, disconnected}, return_when=asyncio.FIRST_COMPLETED)
            if getter not in done:
                getter.cancel()
                return
            await send({"type": "http.response.body", "body": getter.result(), "more_body": True})
    finally:
        _watchers.discard(queue)
        disconnected.cancel()


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    method, path = scope["method"], scope["path"]
    if method == "GET" and path == "/get":
        await _answer(send, 200, SMALL)
    elif method == "POST" and path == "/echo":
        body = await _body(receive)
        orjson.loads(body)  # the least a server does with a body it is sent
        await _answer(send, 201, body)
    elif method == "GET" and path.startswith("/blob/"):
        await _answer(send, 200, _blob(int(path[len("/blob/") :])))
    elif method == "GET" and path == "/watch":
        await _watch(receive, send)
    elif method == "POST" and path == "/notify":
        body = await _body(receive)
        line = b'{"type":"ADDED","object":' + body + b"}\n"
        for queue in _watchers:
            queue.put_nowait(line)
        await _answer(send, 201, body)
    elif path == "/readyz":
        await _answer(send, 200, b"ok", b"text/plain; charset=utf-8")
    else:
        await _answer(send, 404, b'{"kind":"Status","code":404}')


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench._bare", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    args = parser.parse_args(argv)
    import uvicorn
    import uvloop

    from tiphys.cluster.apiserver.http import HttpProtocol

    # The same settings as tiphys/cluster/server.py (Cluster.serve), minus Tiphys's own app.
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=args.port,
        ssl_certfile=args.cert,
        ssl_keyfile=args.key,
        loop="none",
        http=HttpProtocol,
        lifespan="on",
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_keep_alive=120,
        timeout_graceful_shutdown=5,
    )
    uvloop.install()
    asyncio.run(uvicorn.Server(config).serve())


if __name__ == "__main__":
    main()
