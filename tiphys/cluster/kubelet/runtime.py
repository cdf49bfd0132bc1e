"""Container processes: a command sandboxed by bubblewrap, or a simulated one; their logs.

A sandboxed container is ``bwrap … -- command`` started (:mod:`.spawn`) in a session of its
own. bwrap reports on ``--json-status-fd`` the host pid of the sandbox's init (whose
process group holds the command and its children) and, only if the command was really
executed, its exit code; a missing exit code means the sandbox never ran it. Signals go to
that process group, never to bwrap itself, so SIGTERM reaches the command and bwrap stays to
report how it ended. stdout and stderr are copied line by line into the CRI log file.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import stat
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import orjson

from .logs import LogFiles, cri_line
from .policy import Simulation
from .sandbox import Sandbox, bwrap_argv
from .spawn import Child, read_stream, spawn

__all__ = ["ContainerProcess", "Exit", "LocalFS", "SandboxProcess", "SimulatedProcess", "run_captured"]

_CHUNK = 65536
_MAX_LINE = 16384  # longer lines are split into partial (P) CRI lines, as containerd does
_ERROR_TAIL = 4096
_PROBE_OUTPUT = 10240  # upstream keeps at most 10 KiB of an exec probe's output
_DRAIN = 2.0  # seconds to collect output and bubblewrap's report once it has exited


@dataclass(frozen=True)
class Exit:
    code: int
    started: bool = True  # False: the sandbox failed before the command was executed
    error: str = ""  # what bubblewrap said when it could not start the command


class ContainerProcess(Protocol):
    async def wait(self) -> Exit: ...

    def signal(self, sig: int) -> None: ...


class LocalFS:
    """The host filesystem as :mod:`.sandbox` sees it."""

    def kind(self, path: str) -> str | None:
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            return None
        if stat.S_ISLNK(mode):
            return "symlink"
        if stat.S_ISDIR(mode):
            return "dir"
        return "file" if stat.S_ISREG(mode) else "other"

    def listdir(self, path: str) -> list[str]:
        try:
            return os.listdir(path)
        except OSError:
            return []

    def readlink(self, path: str) -> str:
        return os.readlink(path)

    def executable(self, path: str) -> str:
        try:
            mode = os.stat(path).st_mode
        except OSError:
            return "missing"
        if stat.S_ISDIR(mode) or not os.access(path, os.X_OK):
            return "denied"
        return "ok"


class _LogWriter:
    """Appends CRI lines for both streams of one container run, waking followers."""

    def __init__(self, logs: LogFiles, path: Path) -> None:
        self.logs = logs
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(path, "ab")  # noqa: SIM115 - closed in close()
        self.stderr_tail = b""

    def write(self, stream: str, lines: list[tuple[bytes, bool]]) -> None:
        now = datetime.now(UTC)
        self.file.write(b"".join(cri_line(stream, text, now, partial=partial) for text, partial in lines))
        self.file.flush()
        self.logs.notify(self.path)
        if stream == "stderr":
            self.stderr_tail = (self.stderr_tail + b"\n".join(t for t, _ in lines) + b"\n")[-_ERROR_TAIL:]

    async def pump(self, stream: str, reader: asyncio.StreamReader) -> None:
        pending = b""
        while chunk := await reader.read(_CHUNK):
            pending += chunk
            *complete, pending = pending.split(b"\n")
            lines = [(line, False) for line in complete]
            while len(pending) >= _MAX_LINE:
                lines.append((pending[:_MAX_LINE], True))
                pending = pending[_MAX_LINE:]
            if lines:
                self.write(stream, lines)
        if pending:
            self.write(stream, [(pending, False)])

    def close(self) -> None:
        self.file.close()
        self.logs.notify(self.path)


class SandboxProcess:
    """One run of a container's command inside bubblewrap."""

    def __init__(
        self,
        process: Child,
        streams: dict[str, asyncio.StreamReader | None],
        status: asyncio.StreamReader,
        writer: _LogWriter,
    ) -> None:
        self.process = process
        self._status = status
        self._writer = writer
        self._group: int | None = None
        self._pumps = [
            asyncio.ensure_future(writer.pump(name, stream)) for name, stream in streams.items() if stream is not None
        ]
        self._exit: asyncio.Future[Exit] = asyncio.ensure_future(self._wait())

    @classmethod
    async def start(
        cls, sandbox: Sandbox, *, logs: LogFiles, log_path: Path, fs: LocalFS, bwrap: str
    ) -> SandboxProcess:
        read_fd, write_fd = os.pipe()
        writer = _LogWriter(logs, log_path)
        try:
            argv = bwrap_argv(replace(sandbox, status_fd=write_fd), fs, bwrap=bwrap)
            process, stdout, stderr = await spawn(argv, pass_fds=(write_fd,))
        except BaseException:
            os.close(read_fd)
            writer.close()
            raise
        finally:
            os.close(write_fd)
        status = await read_stream(read_fd)
        return cls(process, {"stdout": stdout, "stderr": stderr}, status, writer)

    @property
    def pid(self) -> int:
        return self.process.pid

    async def _read_status(self) -> int | None:
        exit_code: int | None = None
        while line := await self._status.readline():
            with contextlib.suppress(ValueError):
                report = orjson.loads(line)
                if "child-pid" in report:
                    self._group = int(report["child-pid"])
                if "exit-code" in report:
                    exit_code = int(report["exit-code"])
        return exit_code

    async def _wait(self) -> Exit:
        status = asyncio.ensure_future(self._read_status())
        returncode = await self.process.wait()
        # bubblewrap is gone, so its pipes close; an escaped process holding them must not keep us waiting.
        done, pending = await asyncio.wait([status, *self._pumps], timeout=_DRAIN)
        for task in pending:
            task.cancel()
        self._writer.close()
        exit_code = status.result() if status in done and not status.exception() else None
        if exit_code is not None:
            return Exit(exit_code)
        error = self._writer.stderr_tail.decode("utf-8", "replace").strip().splitlines()
        message = error[-1].removeprefix("bwrap: ") if error else f"the sandbox exited with code {returncode}"
        return Exit(128, started=False, error=message)

    async def wait(self) -> Exit:
        return await asyncio.shield(self._exit)

    def signal(self, sig: int) -> None:
        """Signal the command's process group (or bubblewrap's, before the sandbox reported it)."""
        try:
            os.killpg(self._group if self._group is not None else self.process.pid, sig)
        except ProcessLookupError:
            # The sandbox has not made its session yet: its init is still in bubblewrap's group.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, sig)
        except PermissionError:
            pass
        if sig == signal.SIGKILL:
            self.process.kill()


class SimulatedProcess:
    """A container that is not run: it "runs" for a while and exits, or until it is stopped."""

    def __init__(self, simulation: Simulation, *, logs: LogFiles, log_path: Path) -> None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.touch()
        logs.notify(log_path)
        loop = asyncio.get_running_loop()
        self._exit: asyncio.Future[int] = loop.create_future()
        self._timer = (
            None if simulation.after is None else loop.call_later(simulation.after, self._end, simulation.exit_code)
        )

    def _end(self, code: int) -> None:
        if not self._exit.done():
            self._exit.set_result(code)

    async def wait(self) -> Exit:
        return Exit(await asyncio.shield(self._exit))

    def signal(self, sig: int) -> None:
        # A simulated server shuts down cleanly on SIGTERM; SIGKILL is what it says.
        if self._timer is not None:
            self._timer.cancel()
        self._end(137 if sig == signal.SIGKILL else 0)


async def run_captured(sandbox: Sandbox, *, fs: LocalFS, bwrap: str, timeout: float) -> tuple[int | None, str]:
    """Run a short command (an exec probe) to its end: (exit code or None on timeout, output)."""
    process, output, _ = await spawn(bwrap_argv(sandbox, fs, bwrap=bwrap), merge_stderr=True)
    try:
        data, code = await asyncio.wait_for(asyncio.gather(output.read(), process.wait()), timeout)
    except TimeoutError:
        process.kill()  # bubblewrap's death takes the sandbox with it (--die-with-parent)
        return None, ""
    except asyncio.CancelledError:
        process.kill()
        raise
    return code, data[-_PROBE_OUTPUT:].decode("utf-8", "replace")
