"""Run a tool (git, helm, kubectl) with an argv list: never a shell, always a deadline."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tiphys.sources.errors import Reason, SourceError, mask_credentials

__all__ = ["Completed", "run"]


@dataclass(frozen=True)
class Completed:
    returncode: int
    stdout: bytes
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


async def run(
    argv: Sequence[str],
    *,
    what: str,
    reason: Reason,
    env: Mapping[str, str],
    timeout: float,
    cwd: Path | None = None,
) -> Completed:
    """Run ``argv``; a missing binary or an expired deadline becomes a :class:`SourceError`.

    ``what`` names the command in messages (``"helm template"``); a non-zero exit is returned,
    not raised, because only the caller knows what the tool's complaint means.
    """
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=dict(env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # so a timeout can stop the helpers it spawned (ssh, remote helpers)
        )
    except FileNotFoundError as e:
        raise SourceError(Reason.TOOL_MISSING, f"{what}: {argv[0]} is not installed (not found on PATH)") from e
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout)
    except (TimeoutError, asyncio.CancelledError) as e:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
        if isinstance(e, asyncio.CancelledError):
            raise
        raise SourceError(reason, f"{what} timed out after {timeout:g}s") from e
    assert process.returncode is not None
    text = mask_credentials(stderr.decode("utf-8", "replace")).strip()
    return Completed(process.returncode, stdout, text)
