"""The server's HTTP protocol: what one event-loop turn writes reaches the socket as one write."""

from __future__ import annotations

import asyncio
import socket
import ssl
from typing import Any

import pytest
import uvicorn

from tiphys.cluster.apiserver.http import HttpProtocol, _TurnTransport


class Recording(asyncio.Transport):
    """A transport that records the writes it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False
        self.aborted = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 1)}.get(name, default)

    def get_write_buffer_size(self) -> int:
        return 0


async def turn() -> None:
    await asyncio.sleep(0)


async def test_writes_of_one_turn_leave_as_one_write_on_the_next():
    real = Recording()
    transport = _TurnTransport(real, asyncio.get_running_loop())
    transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    transport.write(bytearray(b"{}"))
    assert real.writes == []
    assert transport.get_write_buffer_size() == 40
    await turn()
    assert real.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
    transport.write(b"chunk")
    await turn()
    assert real.writes[1:] == [b"chunk"]
    assert transport.get_extra_info("peername") == ("127.0.0.1", 1)


async def test_a_large_body_is_written_after_its_head_without_joining_them():
    real = Recording()
    transport = _TurnTransport(real, asyncio.get_running_loop())
    body = b"x" * (1 << 20)
    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    transport.write(body)
    await turn()
    assert real.writes == [b"HTTP/1.1 200 OK\r\n\r\n", body]
    assert real.writes[1] is body


async def test_close_writes_what_is_held_and_abort_drops_it():
    real = Recording()
    transport = _TurnTransport(real, asyncio.get_running_loop())
    transport.write(b"last words")
    transport.close()
    assert real.writes == [b"last words"] and real.closed
    await turn()
    assert real.writes == [b"last words"]  # the scheduled flush finds nothing left

    other = Recording()
    transport = _TurnTransport(other, asyncio.get_running_loop())
    transport.write(b"never sent")
    transport.abort()
    await turn()
    assert other.writes == [] and other.aborted


async def test_nothing_is_written_to_a_transport_that_closed_meanwhile():
    real = Recording()
    transport = _TurnTransport(real, asyncio.get_running_loop())
    transport.write(b"too late")
    real.closed = True  # the peer went away before the next turn
    await turn()
    assert real.writes == []


@pytest.mark.parametrize("body_size", [2, 300_000])
async def test_uvicorn_serves_a_response_through_it_over_tls(tmp_path, body_size):
    # A real uvicorn server with the protocol, over TLS; the client reads the same response it
    # would read from uvicorn's own protocol, small or larger than one TLS record.
    from tiphys.cluster.pki import ensure_credentials

    credentials = ensure_credentials(tmp_path)
    body = b"x" * body_size

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        ssl_certfile=str(credentials.server_cert),
        ssl_keyfile=str(credentials.server_key),
        http=HttpProtocol,
        lifespan="off",
        log_level="warning",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(500):
            if server.started:
                break
            await asyncio.sleep(0.01)
        context = ssl.create_default_context(cafile=str(credentials.ca_cert))
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context, server_hostname="127.0.0.1")
        writer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        response = await asyncio.wait_for(reader.read(), 30)
        writer.close()
        head, _, received = response.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK")
        assert f"content-length: {body_size}".encode() in head
        assert received == body
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)
