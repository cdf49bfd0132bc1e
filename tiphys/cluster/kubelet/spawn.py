"""Child processes for the event loop: started with vfork, awaited through a pidfd.

uvloop starts subprocesses with fork(), which copies the page tables of the whole server and
blocks the loop for milliseconds per container (13 ms for a 150 MB process here); CPython's
``subprocess.Popen`` uses vfork (about 1 ms). The exit is awaited through a pidfd the loop
watches (Linux 5.3+), or in a thread where there is no pidfd; output pipes become asyncio
streams.

Output pipes are handed to the loop as bare file descriptors that only libuv closes. Handing
it Python file objects is unsafe: uvloop attaches the object to the transport only after the
connection completes, so when a fast process ends first, libuv closes the descriptor and the
orphaned object later closes whatever reused that number (and libuv aborts the process).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
from collections.abc import Sequence

__all__ = ["Child", "LoopOwnedFd", "spawn"]


class LoopOwnedFd:
    """A descriptor given to the event loop: its transport closes it, so ``close()`` here does not."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def fileno(self) -> int:
        return self.fd

    def close(self) -> None:
        pass


async def read_stream(fd: int) -> asyncio.StreamReader:
    """The read end of a pipe as a stream; the loop owns (and closes) ``fd`` from now on."""
    reader = asyncio.StreamReader(limit=2**20)
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), LoopOwnedFd(fd))
    return reader


class Child:
    """A started process: its pid, its exit as an awaitable, and signals."""

    def __init__(self, popen: subprocess.Popen[bytes]) -> None:
        self.popen = popen
        self._loop = asyncio.get_running_loop()
        self._exited: asyncio.Future[int] = self._loop.create_future()
        self._pidfd: int | None = None
        try:
            self._pidfd = os.pidfd_open(popen.pid)
        except (AttributeError, OSError):
            waiter = self._loop.run_in_executor(None, popen.wait)
            waiter.add_done_callback(lambda done: self._set(popen.returncode))
        else:
            self._loop.add_reader(self._pidfd, self._reap)

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def returncode(self) -> int | None:
        return self.popen.returncode

    def _reap(self) -> None:
        if self.popen.poll() is None:
            return
        if self._pidfd is not None:
            self._loop.remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = None
        self._set(self.popen.returncode)

    def _set(self, code: int | None) -> None:
        if not self._exited.done():
            self._exited.set_result(code if code is not None else -1)

    async def wait(self) -> int:
        return await asyncio.shield(self._exited)

    def kill(self) -> None:
        if self.popen.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.popen.kill()


async def spawn(
    argv: Sequence[str], *, pass_fds: tuple[int, ...] = (), merge_stderr: bool = False
) -> tuple[Child, asyncio.StreamReader, asyncio.StreamReader | None]:
    """Start ``argv`` in a session of its own, stdin from /dev/null; (child, stdout, stderr)."""
    out_read, out_write = os.pipe()
    err_read, err_write = (out_read, out_write) if merge_stderr else os.pipe()
    try:
        popen = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out_write,
            stderr=err_write,
            start_new_session=True,
            pass_fds=pass_fds,
        )
    except BaseException:
        for fd in {out_read, err_read}:
            os.close(fd)
        raise
    finally:
        for fd in {out_write, err_write}:
            os.close(fd)
    child = Child(popen)
    stdout = await read_stream(out_read)
    stderr = None if merge_stderr else await read_stream(err_read)
    return child, stdout, stderr
