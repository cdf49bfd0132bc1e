"""uvicorn's httptools protocol, writing each response's head and body to the socket together.

An ASGI response is two messages, and uvicorn writes each as it comes: the head, then the
body. Over TLS on a loopback socket that is two TLS records, two ``write`` calls, two TCP
segments delivered, and often two wake-ups of the client, for a response of a few hundred
bytes; under load those were a fifth of the server's CPU per request. :class:`HttpProtocol`
gives uvicorn's protocol a transport that collects what is written during one turn of the
event loop and hands it to the real transport as one write at the start of the next (a large
body as a second write, rather than copied), so a head and its body, written in the same
turn, leave together, and a streamed response (a watch) still leaves within a turn of each
chunk. Nothing else changes: the bytes on the wire are the same, flow control and closing go
to the real transport, and a close or abort first writes (or drops) what is held.

The benchmark's bare server (``bench/_bare.py``) is served with this protocol too, so the two
stay served the same way.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["HttpProtocol"]

_JOIN_LIMIT = 64 * 1024  # what one turn wrote is joined into one write up to this size


class _TurnTransport(asyncio.Transport):
    """A transport that passes on, once per event-loop turn, what was written during it."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._held:
            self._loop.call_soon(self._flush)
        self._held.append(bytes(data))

    def writelines(self, list_of_data: Any) -> None:
        for data in list_of_data:
            self.write(data)

    def _flush(self) -> None:
        held = self._held
        if not held:
            return
        self._held = []
        if self._transport.is_closing():
            return
        if len(held) == 1:
            self._transport.write(held[0])
        elif sum(map(len, held)) <= _JOIN_LIMIT:
            self._transport.write(b"".join(held))
        else:  # a large body: joining would copy it, and one more write costs nothing beside it
            for data in held:
                self._transport.write(data)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._held = []
        self._transport.abort()

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._held))

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's ``http="httptools"`` protocol over a :class:`_TurnTransport`; pass it as ``http=``."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_TurnTransport(transport, self.loop))
