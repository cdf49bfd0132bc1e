"""Container probes: exec (in a sibling sandbox), httpGet and tcpSocket against the pod IP.

:func:`check` runs a probe once and words the outcome as upstream's prober does
(``HTTP probe failed with statuscode: 500``, ``dial tcp 127.0.0.1:8080: connect: connection
refused``). A :class:`ProbeLoop` runs one probe of one container run on its period, applies
the success and failure thresholds, and reports each failure and each change of verdict.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = ["ExecRunner", "ProbeLoop", "ProbeResult", "check", "probe_port"]

Obj = dict[str, Any]
ExecRunner = Callable[[Sequence[str], float], Awaitable[tuple[int | None, str]]]  # None: timed out
POD_IP = "127.0.0.1"
USER_AGENT = "kube-probe/1.31"


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    message: str = ""


def probe_port(port: int | str, container: Obj) -> int:
    """A probe's port: a number, or the name of one of the container's ports."""
    if isinstance(port, int):
        return port
    if port.isdigit():
        return int(port)
    for declared in container.get("ports") or ():
        if declared.get("name") == port:
            return int(declared.get("containerPort", 0))
    raise ValueError(f'port "{port}" is not one of the container\'s named ports')


async def _exec(probe: Obj, run: ExecRunner, timeout: float) -> ProbeResult:
    command = list(probe.get("command") or ())
    code, output = await run(command, timeout)
    if code is None:
        return ProbeResult(False, f"command {command!r} timed out after {timeout:g}s")
    return ProbeResult(code == 0, output.strip())


async def _http(probe: Obj, container: Obj, client: httpx.AsyncClient, timeout: float) -> ProbeResult:
    scheme = str(probe.get("scheme") or "HTTP").lower()
    host = probe.get("host") or POD_IP
    port = probe_port(probe.get("port", 80), container)
    path = probe.get("path") or "/"
    url = f"{scheme}://{host}:{port}{path if path.startswith('/') else '/' + path}"
    headers = {"User-Agent": USER_AGENT, "Accept": "*/*"}
    headers.update({h.get("name", ""): h.get("value", "") for h in probe.get("httpHeaders") or ()})
    try:
        response = await client.get(url, headers=headers, timeout=timeout)
    except httpx.TimeoutException:
        return ProbeResult(
            False, f'Get "{url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)'
        )
    except httpx.HTTPError:
        return ProbeResult(False, f'Get "{url}": dial tcp {host}:{port}: connect: connection refused')
    if 200 <= response.status_code < 400:
        return ProbeResult(True)
    return ProbeResult(False, f"HTTP probe failed with statuscode: {response.status_code}")


async def _tcp(probe: Obj, container: Obj, timeout: float) -> ProbeResult:
    host = probe.get("host") or POD_IP
    port = probe_port(probe.get("port", 0), container)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except TimeoutError:
        return ProbeResult(False, f"dial tcp {host}:{port}: i/o timeout")
    except OSError:
        return ProbeResult(False, f"dial tcp {host}:{port}: connect: connection refused")
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return ProbeResult(True)


async def check(probe: Obj, *, container: Obj, run: ExecRunner, client: httpx.AsyncClient) -> ProbeResult:
    """Run ``probe`` once."""
    timeout = float(max(1, int(probe.get("timeoutSeconds") or 1)))
    try:
        if "exec" in probe:
            return await _exec(probe["exec"], run, timeout)
        if "httpGet" in probe:
            return await _http(probe["httpGet"], container, client, timeout)
        if "tcpSocket" in probe:
            return await _tcp(probe["tcpSocket"], container, timeout)
    except ValueError as exc:
        return ProbeResult(False, str(exc))
    # gRPC probes need a health client the host may not have: they pass, and say so once.
    return ProbeResult(True, "probe type not supported by tiphys-local: treated as passing")


class ProbeLoop:
    """One probe (``Readiness``, ``Liveness`` or ``Startup``) of one container run."""

    def __init__(
        self,
        kind: str,
        probe: Obj,
        run_once: Callable[[], Awaitable[ProbeResult]],
        *,
        on_verdict: Callable[[str, bool, str], None],
        on_failure: Callable[[str, str], None],
    ) -> None:
        self.kind = kind
        self.probe = probe
        self.run_once = run_once
        self.on_verdict = on_verdict
        self.on_failure = on_failure

    async def run(self) -> None:
        probe = self.probe
        period = max(1, int(probe.get("periodSeconds") or 10))
        success_threshold = max(1, int(probe.get("successThreshold") or 1))
        failure_threshold = max(1, int(probe.get("failureThreshold") or 3))
        await asyncio.sleep(max(0, int(probe.get("initialDelaySeconds") or 0)))
        verdict: bool | None = None
        successes = failures = 0
        while True:
            try:
                result = await self.run_once()
            except Exception as exc:  # a probe that breaks is a failed probe, not a dead loop
                result = ProbeResult(False, f"probe error: {exc!r}")
            if result.ok:
                successes, failures = successes + 1, 0
            else:
                successes, failures = 0, failures + 1
                self.on_failure(self.kind, result.message)
            new = verdict
            if result.ok and successes >= success_threshold:
                new = True
            elif not result.ok and failures >= failure_threshold:
                new = False
            if new is not None and new != verdict:
                verdict = new
                self.on_verdict(self.kind, new, result.message)
            if (self.kind == "Startup" and verdict) or (self.kind != "Readiness" and verdict is False):
                return
            await asyncio.sleep(period)
