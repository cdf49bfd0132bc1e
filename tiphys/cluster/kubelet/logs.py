"""Container logs on disk, in the CRI format, and the ``pods/log`` reader that serves them.

Each container run writes ``<root>/<namespace>_<pod>_<uid>/<container>/<restartCount>.log``,
one line per output line: ``<RFC3339Nano> <stdout|stderr> F <text>``. Files outlive the process
and go with the pod. Followers are woken by :meth:`LogFiles.notify` when the writer appends.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ..apiserver import errors

__all__ = ["LogFiles", "cri_line", "format_timestamp"]

Obj = dict[str, Any]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def format_timestamp(when: datetime) -> str:
    """RFC3339 with nanoseconds, as the kubelet writes and ``timestamps=true`` shows."""
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


def cri_line(stream: str, text: bytes, when: datetime | None = None, *, partial: bool = False) -> bytes:
    """One CRI log line; ``partial`` (tag ``P``) when the text continues on the next line."""
    stamp = format_timestamp(when or datetime.now(UTC))
    return f"{stamp} {stream} {'P' if partial else 'F'} ".encode() + text.rstrip(b"\n") + b"\n"


def _parse(line: bytes) -> tuple[str, bytes]:
    """(timestamp, text) of one CRI line: with its newline, except for a partial (``P``) line."""
    parts = line.split(b" ", 3)
    if len(parts) < 4:
        return "", line
    if parts[2] == b"P":
        return parts[0].decode(), parts[3].rstrip(b"\n")
    return parts[0].decode(), parts[3]


def _parse_time(stamp: str) -> datetime | None:
    try:
        return datetime.strptime(stamp[:26].rstrip("Z"), "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC)
    except ValueError:
        return None


class LogFiles:
    """Where container logs live, and the waiters following them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._waiters: dict[Path, set[asyncio.Event]] = {}

    def pod_dir(self, pod: Obj) -> Path:
        meta = pod["metadata"]
        return self.root / f"{meta.get('namespace', '')}_{meta['name']}_{meta['uid']}"

    def path(self, pod: Obj, container: str, restart: int) -> Path:
        return self.pod_dir(pod) / container / f"{restart}.log"

    def notify(self, path: Path) -> None:
        for event in self._waiters.get(path, ()):
            event.set()

    def tail(self, path: Path, *, lines: int = 80, limit: int = 2048) -> str:
        """The last lines of a container's output (``FallbackToLogsOnError`` termination messages)."""
        try:
            with open(path, "rb") as f:
                f.seek(max(0, f.seek(0, 2) - 64 * 1024))
                data = f.read()
        except OSError:
            return ""
        texts = [_parse(line)[1] for line in data.splitlines(keepends=True)[-lines:]]
        return b"".join(texts)[-limit:].decode("utf-8", "replace")

    def remove_pod(self, pod: Obj) -> None:
        shutil.rmtree(self.pod_dir(pod), ignore_errors=True)

    # The pods/log reader -----------------------------------------------------------------

    def _choose_container(self, pod: Obj, requested: str | None) -> str:
        spec = pod.get("spec") or {}
        names: list[str] = [c["name"] for c in spec.get("containers") or []]
        init_names = [c["name"] for c in spec.get("initContainers") or []]
        name = pod["metadata"]["name"]
        if not requested:
            if len(names) == 1:
                return names[0]
            message = f"a container name must be specified for pod {name}, choose one of: [{' '.join(names)}]"
            if init_names:
                message += f" or one of the init containers: [{' '.join(init_names)}]"
            raise errors.bad_request(message)
        if requested not in names and requested not in init_names:
            raise errors.bad_request(f"container {requested} is not valid for pod {name}")
        return requested

    def _status(self, pod: Obj, container: str) -> Obj:
        status = pod.get("status") or {}
        for group in ("containerStatuses", "initContainerStatuses"):
            for s in status.get(group) or []:
                if s.get("name") == container:
                    found: Obj = s
                    return found
        return {}

    async def serve(self, pod: Obj, query: dict[str, str], send: Send, pod_now: Callable[[], Obj | None]) -> None:
        """Answer ``GET pods/<name>/log`` with the query parameters kubectl sends."""
        container = self._choose_container(pod, query.get("container"))
        status = self._status(pod, container)
        restart = int(status.get("restartCount") or 0)
        name = pod["metadata"]["name"]
        previous = query.get("previous", "").lower() == "true"
        if previous:
            restart -= 1
            path = self.path(pod, container, restart)
            if restart < 0 or not path.exists():
                raise errors.bad_request(f'previous terminated container "{container}" in pod "{name}" not found')
        else:
            path = self.path(pod, container, restart)
            if not path.exists():
                waiting = (status.get("state") or {}).get("waiting") or {}
                reason = waiting.get("reason") or "ContainerCreating"
                raise errors.bad_request(f'container "{container}" in pod "{name}" is waiting to start: {reason}')
        timestamps = query.get("timestamps", "").lower() == "true"
        tail = int(query["tailLines"]) if query.get("tailLines", "").lstrip("-").isdigit() else None
        limit = int(query["limitBytes"]) if query.get("limitBytes", "").isdigit() else None
        since: datetime | None = None
        if query.get("sinceSeconds", "").isdigit():
            since = datetime.now(UTC) - timedelta(seconds=int(query["sinceSeconds"]))
        elif query.get("sinceTime"):
            since = _parse_time(
                query["sinceTime"].replace("Z", ".000000Z") if "." not in query["sinceTime"] else query["sinceTime"]
            )
        follow = query.get("follow", "").lower() == "true" and not previous

        def render(lines: list[bytes]) -> bytes:
            out = []
            for line in lines:
                stamp, text = _parse(line)
                if since is not None:
                    when = _parse_time(stamp)
                    if when is not None and when < since:
                        continue
                out.append(f"{stamp} ".encode() + text if timestamps else text)
            return b"".join(out)

        with open(path, "rb") as f:
            data = f.read()
        lines = data.splitlines(keepends=True)
        pending = b""
        if lines and not lines[-1].endswith(b"\n"):
            pending = lines.pop()
        if tail is not None and tail >= 0:
            lines = lines[-tail:] if tail else []
        chunk = render(lines)
        sent = 0
        if limit is not None:
            chunk = chunk[:limit]
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"cache-control", b"no-cache, private")],
            }
        )
        if not follow:
            await send({"type": "http.response.body", "body": chunk})
            return
        sent += len(chunk)
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
        wake = asyncio.Event()
        self._waiters.setdefault(path, set()).add(wake)
        offset = len(data) - len(pending)
        try:
            while limit is None or sent < limit:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), timeout=0.5)
                wake.clear()
                with open(path, "rb") as f:
                    f.seek(offset)
                    data = f.read()
                complete = data[: data.rfind(b"\n") + 1]
                offset += len(complete)
                if complete:
                    out = render(complete.splitlines(keepends=True))
                    if limit is not None:
                        out = out[: limit - sent]
                    sent += len(out)
                    await send({"type": "http.response.body", "body": out, "more_body": True})
                current = pod_now()
                if current is None or current["metadata"]["uid"] != pod["metadata"]["uid"]:
                    break
                state = self._status(current, container)
                if (state.get("state") or {}).get("terminated") and int(state.get("restartCount") or 0) == restart:
                    # One last read catches lines written just before the exit.
                    with open(path, "rb") as f:
                        f.seek(offset)
                        rest = f.read()
                    if rest:
                        await send(
                            {
                                "type": "http.response.body",
                                "body": render(rest.splitlines(keepends=True)),
                                "more_body": True,
                            }
                        )
                    break
        except OSError:
            pass
        finally:
            self._waiters.get(path, set()).discard(wake)
            with contextlib.suppress(Exception):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
