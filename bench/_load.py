"""The HTTP load generator: ``wrk`` when installed, else a multi-process asyncio client.

Both take a :class:`Load` (URL, method, headers, and a body whose ``{n}`` marker becomes a
name unique within the run) and keep a fixed number of keep-alive connections busy for a fixed
time. ``wrk`` is C and event driven, so the server, not the client, is the bottleneck; the
Python fallback (a minimal keep-alive HTTP/1.1 client on uvloop, one process per CPU) is
reported as such, because on a small machine it takes CPU away from the server it measures.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

__all__ = ["Load", "LoadGenerator", "LoadResult", "PythonLoad", "Wrk", "choose"]

MARKER = "{n}"
_runs = itertools.count()


@dataclass(frozen=True)
class Load:
    url: str
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""  # "{n}" is replaced by a name unique within the run, per request
    ca: Path | None = None  # verified by the Python client; wrk does not verify certificates


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    errors: int  # socket errors, timeouts and responses >= 400
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


class LoadGenerator(Protocol):
    name: str  # for the report, e.g. "wrk 4.1.0 (1 thread)"

    def run(self, load: Load, *, connections: int, seconds: float) -> LoadResult:
        """Keep ``connections`` busy for ``seconds``; ``{n}`` in the body is unique per request."""
        ...

    def fill(self, load: Load, *, count: int, connections: int) -> None:
        """Send ``load`` once for each ``{n}`` in ``0..count-1``, zero-padded to as many digits as ``count``.

        Best effort and as fast as the server allows: a request may be lost, so callers check
        the result and redo what is missing.
        """
        ...


def _lua_string(text: str) -> str:
    level = "=" * 4
    while f"]{level}]" in text:
        level += "="
    return f"[{level}[{text}]{level}]"


_WRK_FILL = """
local sent, others = 0, 0
request = function()
  sent = sent + 1
  if sent <= total then
    return wrk.format(nil, nil, nil, prefix .. string.format(width, sent - 1) .. suffix)
  end
  return wrk.format("GET", "/readyz", nil, "")
end
response = function(status, headers, body)
  -- Once every connection has moved on to /readyz, all creates were answered.
  if sent > total and status == 200 then
    others = others + 1
    if others == 500 then
      io.write("WRKFILLED\\n")
      io.flush()
    end
  end
end
"""

_WRK_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"p50_us":%d,"p99_us":%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


class Wrk:
    """wrk with a Lua script: a fixed request, or a per-request body with a unique name."""

    def __init__(self, binary: str, *, threads: int = 1) -> None:
        self.binary = binary
        self.threads = threads
        version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.split("[")[0]
        self.name = f"{version.strip() or 'wrk'} ({threads} thread{'s' if threads > 1 else ''})"

    def _script(self, load: Load, tag: str) -> str:
        lines = [f"wrk.method = {_lua_string(load.method)}"]
        if MARKER in load.body:
            prefix, suffix = load.body.split(MARKER, 1)
            lines += [
                "local counter = 0",
                "local threads = 0",
                "setup = function(thread) thread:set('tid', threads); threads = threads + 1 end",
                f"local prefix, suffix, tag = {_lua_string(prefix)}, {_lua_string(suffix)}, {_lua_string(tag)}",
                "request = function()",
                "  counter = counter + 1",
                "  return wrk.format(nil, nil, nil, prefix .. tag .. tid .. '-' .. counter .. suffix)",
                "end",
            ]
        elif load.body:
            lines.append(f"wrk.body = {_lua_string(load.body)}")
        return "\n".join(lines) + _WRK_DONE

    @contextmanager
    def _command(
        self, load: Load, script: str, *, threads: int, connections: int, seconds: float
    ) -> Iterator[list[str]]:
        """The wrk command line for ``load`` with ``script``, valid inside the ``with`` block."""
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
            file.write(script)
        try:
            argv = [self.binary, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout=10s"]
            argv += ["-s", file.name]
            argv += [arg for name, value in load.headers.items() for arg in ("-H", f"{name}: {value}")]
            yield [*argv, load.url]
        finally:
            os.unlink(file.name)

    def fill(self, load: Load, *, count: int, connections: int) -> None:
        prefix, suffix = load.body.split(MARKER, 1)
        script = "\n".join(
            [
                f"wrk.method = {_lua_string(load.method)}",
                f"local prefix, suffix = {_lua_string(prefix)}, {_lua_string(suffix)}",
                f"local total, width = {count}, '%0{len(str(count))}d'",
                _WRK_FILL,
            ]
        )
        # One thread, so one counter names every object (wrk may call request() once without
        # sending it: one name can be missing). wrk runs for its whole duration even when a script
        # stops its thread, so the script says when it is done and SIGINT, wrk's "stop now", ends
        # it; the duration only guards against a stall.
        with (
            self._command(load, script, threads=1, connections=connections, seconds=max(30, count / 100)) as argv,
            subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) as wrk,
        ):
            assert wrk.stdout is not None
            for line in wrk.stdout:
                if line.startswith("WRKFILLED"):
                    wrk.send_signal(signal.SIGINT)
                    break
            wrk.communicate(timeout=30)

    def run(self, load: Load, *, connections: int, seconds: float) -> LoadResult:
        tag = f"r{next(_runs)}x{os.getpid()}t"
        script = self._script(load, tag)
        with self._command(load, script, threads=self.threads, connections=connections, seconds=seconds) as argv:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
        line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
        if done.returncode != 0 or line is None:
            raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
        data = json.loads(line[len("WRKJSON ") :])
        errors = sum(data[k] for k in ("connect", "read", "write", "status", "timeout"))
        return LoadResult(
            requests=data["requests"],
            seconds=data["duration_us"] / 1e6,
            errors=errors,
            p50_ms=data["p50_us"] / 1000,
            p99_ms=data["p99_us"] / 1000,
        )


# The Python fallback ---------------------------------------------------------------------------


class _Connection:
    """One keep-alive HTTP/1.1 connection speaking just enough protocol for these loads.

    Much cheaper per request than a general client, so that two such processes can still keep
    a one-process server busy. Every server measured here sends Content-Length.
    """

    def __init__(self, load: Load) -> None:
        url = urlsplit(load.url)
        self.load = load
        self.host, self.port = url.hostname or "127.0.0.1", url.port or (443 if url.scheme == "https" else 80)
        self.tls = url.scheme == "https"
        target = url.path + (f"?{url.query}" if url.query else "")
        head = f"{load.method} {target} HTTP/1.1\r\nHost: {url.netloc}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in load.headers.items())
        self.head = head
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        context: ssl.SSLContext | None = None
        if self.tls:
            context = (
                ssl.create_default_context(cafile=str(self.load.ca)) if self.load.ca else ssl.create_default_context()
            )
            if not self.load.ca:
                context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port, ssl=context)

    async def request(self, name: str) -> int:
        """Send the load once (``{n}`` -> ``name``) and return the status once the body is read."""
        if self.reader is None or self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        body = self.load.body.replace(MARKER, name).encode()
        self.writer.write(f"{self.head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        at = lower.find(b"\r\ncontent-length:")
        if at < 0:
            raise RuntimeError(f"no Content-Length in {head[:200]!r}")
        length = int(lower[at + 17 : lower.index(b"\r\n", at + 2)])
        await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        """Close the socket; the next request opens a new one."""
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _run_connections(load: Load, connections: int, seconds: float, tag: str) -> tuple[int, list[float], float]:
    counter = itertools.count(1)
    latencies: list[float] = []
    errors = 0
    started = time.perf_counter()
    deadline = started + seconds

    async def one(connection: _Connection) -> None:
        nonlocal errors
        try:
            while time.perf_counter() < deadline:
                began = time.perf_counter()
                try:
                    failed = await connection.request(f"{tag}{next(counter)}") >= 400
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    failed = True
                    connection.close()
                latencies.append(time.perf_counter() - began)
                errors += failed
        finally:
            connection.close()

    await asyncio.gather(*(one(_Connection(load)) for _ in range(connections)))
    return errors, latencies, time.perf_counter() - started


def _worker(load: Load, connections: int, seconds: float, tag: str) -> tuple[int, list[float], float]:
    import uvloop

    return uvloop.run(_run_connections(load, connections, seconds, tag))


async def _fill_connections(load: Load, names: list[str], connections: int) -> None:
    todo = iter(names)

    async def one(connection: _Connection) -> None:
        try:
            for name in todo:
                try:
                    await connection.request(name)
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    connection.close()  # lost: the caller checks and redoes it
        finally:
            connection.close()

    await asyncio.gather(*(one(_Connection(load)) for _ in range(connections)))


def _filler(load: Load, names: list[str], connections: int) -> None:
    import uvloop

    uvloop.run(_fill_connections(load, names, connections))


class PythonLoad:
    """Keep-alive HTTP/1.1 connections on asyncio (uvloop), spread over one process per CPU."""

    def __init__(self, processes: int | None = None, *, why: str = "") -> None:
        self.processes = processes or os.cpu_count() or 1
        self.name = f"python asyncio client ({self.processes} processes{'; ' + why if why else ''})"

    def fill(self, load: Load, *, count: int, connections: int) -> None:
        processes = max(1, min(self.processes, connections))
        width = len(str(count))
        names = [f"{i:0{width}d}" for i in range(count)]
        with ProcessPoolExecutor(processes) as pool:
            futures = [
                pool.submit(_filler, load, names[i::processes], max(1, connections // processes))
                for i in range(processes)
            ]
            for future in futures:
                future.result()

    def run(self, load: Load, *, connections: int, seconds: float) -> LoadResult:
        processes = max(1, min(self.processes, connections))
        shares = [connections // processes + (i < connections % processes) for i in range(processes)]
        run = next(_runs)
        with ProcessPoolExecutor(processes) as pool:
            futures = [
                pool.submit(_worker, load, share, seconds, f"r{run}x{os.getpid()}p{i}-")
                for i, share in enumerate(shares)
            ]
            parts = [f.result() for f in futures]
        latencies = sorted(lat for part in parts for lat in part[1])
        if not latencies:
            return LoadResult(0, seconds, 0, 0.0, 0.0)
        return LoadResult(
            requests=len(latencies),
            seconds=max(p[2] for p in parts),
            errors=sum(p[0] for p in parts),
            p50_ms=latencies[len(latencies) // 2] * 1000,
            p99_ms=latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        )


def choose(preference: str = "auto") -> LoadGenerator:
    """``wrk`` if it is on PATH (or asked for), else the Python client."""
    binary = shutil.which("wrk")
    if preference == "wrk" and binary is None:
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    if preference in ("auto", "wrk") and binary is not None:
        return Wrk(binary)
    return PythonLoad(why="wrk not installed" if binary is None else "asked for")
