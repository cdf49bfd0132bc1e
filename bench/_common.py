"""What every benchmark module shares: a cluster in a temporary TIPHYS_HOME, timing, memory, rows.

A module measures, then returns :class:`Row` values; the runner (``bench/__main__.py``) renders
them with :func:`render` and stores them as JSON. A row that has a bare-server counterpart
carries it, and says whether the comparison is between rates (higher is better) or times
(lower is better), so every report reads "N x bare" the same way. Rates that are compared
with the bare server are measured in pairs (:func:`paired_throughput`): both servers up, one
loaded at a time, alternating, so that the machine's drift from one minute to the next falls
on both sides of each ratio.
"""

from __future__ import annotations

import enum
import os
import resource
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ._load import Load, LoadGenerator, LoadResult

__all__ = [
    "REPO",
    "BareProcess",
    "ClusterProcess",
    "Compare",
    "Context",
    "Memory",
    "Paired",
    "Row",
    "Run",
    "Stopwatch",
    "Throughput",
    "cpu_seconds",
    "free_port",
    "log",
    "median",
    "memory_of",
    "paired_throughput",
    "percentile",
    "render",
    "running_bare",
    "running_cluster",
    "start_cluster",
    "stopwatch",
    "wait_ready",
]

REPO = Path(__file__).resolve().parent.parent


# Settings ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    """What the runner hands every benchmark module."""

    load: LoadGenerator
    connections: int = 8
    duration: float = 5.0  # seconds per throughput measurement
    warmup: float = 1.0  # seconds of discarded load before each measurement
    repeat: int = 5  # runs per rate and server (in Tiphys/bare pairs); the median is reported
    workdir: Path = field(default_factory=lambda: Path("/tmp"))  # a fresh temporary directory per run


# Rows and the report -------------------------------------------------------------------------


class Compare(enum.StrEnum):
    """How a row relates to its bare-server counterpart."""

    RATE = "rate"  # higher is better; ratio = tiphys / bare
    TIME = "time"  # lower is better; ratio = tiphys / bare, read as "x times slower"


@dataclass(frozen=True)
class Row:
    """One figure of the report, with its bare-server counterpart when there is one."""

    group: str
    metric: str
    value: float
    unit: str  # "req/s", "ms", "MiB", ...
    bare: float | None = None
    compare: Compare | None = None
    goal: float | None = None  # minimum ratio for RATE rows, maximum for TIME rows
    note: str = ""
    detail: dict[str, Any] = field(default_factory=dict)  # raw measurements, for the JSON only
    # Set for paired measurements: the median of the per-pair ratios, which is then the ratio
    # (value and bare stay the median of each side, and need not divide to it).
    paired_ratio: float | None = None

    @property
    def ratio(self) -> float | None:
        if self.bare is None or self.compare is None or not self.bare:
            return None
        return self.paired_ratio if self.paired_ratio is not None else self.value / self.bare

    @property
    def goal_met(self) -> bool | None:
        ratio = self.ratio
        if self.goal is None or ratio is None:
            return None
        return ratio >= self.goal if self.compare is Compare.RATE else ratio <= self.goal

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["compare"] = self.compare.value if self.compare else None
        data["ratio"] = self.ratio
        data["goal_met"] = self.goal_met
        return data


def _number(value: float, unit: str) -> str:
    if unit == "req/s":
        return f"{value:,.0f} /s"
    if unit == "ms":
        return f"{value:,.2f} ms" if value < 100 else f"{value:,.0f} ms"
    if unit == "us":
        return f"{value:,.0f} µs"
    if unit == "MiB":
        return f"{value:,.1f} MiB"
    return f"{value:,.3g} {unit}"


def _versus(row: Row) -> str:
    ratio = row.ratio
    if ratio is None:
        return ""
    return f"{ratio:.2f}x {'rate' if row.compare is Compare.RATE else 'time'}"


def _goal(row: Row) -> str:
    if row.goal is None:
        return ""
    sign = "≥" if row.compare is Compare.RATE else "≤"
    return f"{sign}{row.goal:g}x {'met' if row.goal_met else 'MISSED'}"


def render(rows: Sequence[Row], *, title: str = "") -> str:
    """A fixed-width table, grouped by benchmark module, readable in a terminal and in CI logs."""
    header = ("", "Tiphys", "bare", "vs bare", "goal", "")
    lines: list[tuple[str, ...]] = []
    group = None
    for row in rows:
        if row.group != group:
            group = row.group
            lines.append((group, "", "", "", "", ""))
        bare = _number(row.bare, row.unit) if row.bare is not None else ""
        lines.append((f"  {row.metric}", _number(row.value, row.unit), bare, _versus(row), _goal(row), row.note))
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header))]

    def fmt(line: tuple[str, ...]) -> str:
        cells = [line[0].ljust(widths[0])] + [line[i].rjust(widths[i]) for i in range(1, 4)]
        cells += [line[4].ljust(widths[4]), line[5]]
        return "  ".join(cells).rstrip()

    rule = "-" * len(fmt((*("x" * w for w in widths[:5]), "")))
    out = [title] if title else []
    out += [fmt(header), rule, *(fmt(line) for line in lines)]
    return "\n".join(out)


def log(message: str) -> None:
    """A progress line under the module's "running ..." line."""
    print(f"    {time.strftime('%H:%M:%S')} {message}", flush=True)


# Timing and statistics -----------------------------------------------------------------------


@dataclass
class Stopwatch:
    started: float = 0.0
    seconds: float = 0.0


@contextmanager
def stopwatch() -> Iterator[Stopwatch]:
    """``with stopwatch() as sw: ...`` then ``sw.seconds`` (monotonic, high resolution)."""
    sw = Stopwatch(time.perf_counter())
    try:
        yield sw
    finally:
        sw.seconds = time.perf_counter() - sw.started


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile, ``p`` in 0..100."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Run:
    """One fixed-duration run, with where the machine's CPU time went meanwhile."""

    result: LoadResult
    wall: float  # seconds
    server_cpu: float  # CPU seconds used by the measured server
    client_cpu: float  # CPU seconds used by the load generator (our child processes)
    other_cpu: float  # CPU seconds used by everything else on the machine
    idle_cpu: float = 0.0  # of other_cpu, what the other server (up, but not loaded) used

    @property
    def server_cpu_per_request_us(self) -> float:
        return self.server_cpu / self.result.requests * 1e6 if self.result.requests else 0.0


@dataclass(frozen=True)
class Throughput:
    """Repeated fixed-duration runs of one load; ``median`` is the run with the median rate.

    The server's CPU time per request is the noise-resistant figure: on a shared machine other
    processes take CPU away from the server and lower its rate, but barely change what one
    request costs it.
    """

    runs: tuple[Run, ...]

    @property
    def median(self) -> Run:
        return sorted(self.runs, key=lambda r: r.result.rate)[len(self.runs) // 2]

    @property
    def rate(self) -> float:
        return self.median.result.rate

    @property
    def cpu_per_request_us(self) -> float:
        """The median over runs of the server's CPU microseconds per request."""
        return median([r.server_cpu_per_request_us for r in self.runs])

    @property
    def errors(self) -> int:
        return sum(r.result.errors for r in self.runs)

    @property
    def other_cores(self) -> float:
        """CPU cores that other processes used during the runs, on average."""
        return sum(r.other_cpu for r in self.runs) / sum(r.wall for r in self.runs)

    @property
    def idle_cores(self) -> float:
        """Of ``other_cores``, what the other server (up but not loaded) used, on average."""
        return sum(r.idle_cpu for r in self.runs) / sum(r.wall for r in self.runs)

    def spread(self) -> str:
        rates = sorted(r.result.rate for r in self.runs)
        return f"{rates[0]:,.0f} to {rates[-1]:,.0f}"

    def as_json(self) -> dict[str, Any]:
        return {
            "rate": self.rate,
            "cpu_per_request_us": self.cpu_per_request_us,
            "runs": [{**asdict(r), "rate": r.result.rate} for r in self.runs],
        }


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds a process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def _machine_cpu_seconds() -> float:
    """CPU seconds all CPUs spent busy (neither idle nor waiting for I/O) since boot."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / _TICK


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(ctx: Context, load: Load, *, server_pid: int, idle_pid: int) -> Run:
    """One run of ``load`` for ``ctx.duration`` seconds; ``idle_pid`` is the server left idle meanwhile."""

    def sample() -> tuple[float, ...]:
        clocks = (time.perf_counter(), cpu_seconds(server_pid), _children_cpu_seconds(), _machine_cpu_seconds())
        return (*clocks, cpu_seconds(idle_pid))

    before = sample()
    result = ctx.load.run(load, connections=ctx.connections, seconds=ctx.duration)
    wall, server, client, machine, idle = (a - b for a, b in zip(sample(), before, strict=True))
    return Run(result, wall, server, client, max(0.0, machine - server - client), idle)


@dataclass(frozen=True)
class Paired:
    """The same kind of load on Tiphys and on the bare server, run in alternating pairs.

    The run ``i`` of each side belong together: measured back to back, they met nearly the
    same machine, so their ratio is steadier than the ratio of two medians taken minutes
    apart (this 2-core VM drifts by a third from one minute to the next).
    """

    tiphys: Throughput
    bare: Throughput
    tiphys_first: tuple[bool, ...]  # per pair: whether the Tiphys run came first

    @property
    def ratios(self) -> list[float]:
        """Tiphys rate / bare rate, per pair."""
        pairs = zip(self.tiphys.runs, self.bare.runs, strict=True)
        return [t.result.rate / b.result.rate for t, b in pairs]

    @property
    def ratio(self) -> float:
        """The median of the per-pair ratios."""
        return median(self.ratios)

    def spread(self) -> str:
        ratios = sorted(self.ratios)
        return f"{ratios[0]:.2f} to {ratios[-1]:.2f}"

    def as_json(self) -> dict[str, Any]:
        return {
            "ratio": self.ratio,
            "ratio_of_medians": self.tiphys.rate / self.bare.rate,
            "pairs": [
                {"ratio": ratio, "first": "tiphys" if first else "bare"}
                for ratio, first in zip(self.ratios, self.tiphys_first, strict=True)
            ],
        }


def paired_throughput(ctx: Context, tiphys: Load, tiphys_pid: int, bare: Load, bare_pid: int) -> Paired:
    """Warm both servers up for ``ctx.warmup`` seconds, then ``ctx.repeat`` pairs of ``ctx.duration`` runs.

    Only one server is under load at a time. Which side goes first alternates from pair to
    pair, so that whatever the order does (the previous run's garbage, a warmer CPU cache)
    falls on both.
    """
    if ctx.repeat < 1:
        raise ValueError(f"repeat must be at least 1, not {ctx.repeat}")
    if ctx.warmup > 0:
        for load in (tiphys, bare):
            ctx.load.run(load, connections=ctx.connections, seconds=ctx.warmup)
    tiphys_runs: list[Run] = []
    bare_runs: list[Run] = []
    order: list[bool] = []
    for i in range(ctx.repeat):
        order.append(i % 2 == 0)
        for on_tiphys in (order[-1], not order[-1]):
            if on_tiphys:
                tiphys_runs.append(_run(ctx, tiphys, server_pid=tiphys_pid, idle_pid=bare_pid))
            else:
                bare_runs.append(_run(ctx, bare, server_pid=bare_pid, idle_pid=tiphys_pid))
        if not bare_runs[-1].result.requests:
            raise RuntimeError(f"the bare server answered no request in pair {i + 1} ({bare.method} {bare.url})")
    return Paired(Throughput(tuple(tiphys_runs)), Throughput(tuple(bare_runs)), tuple(order))


# Processes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Memory:
    rss_mib: float  # VmRSS: resident now
    hwm_mib: float  # VmHWM: peak resident since the process started


def memory_of(pid: int) -> Memory:
    """Resident memory of a process, from /proc/<pid>/status."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(rest.split()[0]) / 1024  # kB -> MiB
    return Memory(rss_mib=fields["VmRSS"], hwm_mib=fields["VmHWM"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, ca: Path, process: subprocess.Popen[bytes], log: Path, *, timeout: float) -> None:
    """Poll ``url`` until it answers 200; raise with the log's tail if the process dies or is slow."""
    deadline = time.monotonic() + timeout
    context = ssl.create_default_context(cafile=str(ca))
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited: {log.read_text()[-3000:]}")
        try:
            if httpx.get(url, verify=context, timeout=2).status_code == 200:
                return
        except (httpx.HTTPError, ssl.SSLError):
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{process.args!r} did not become ready within {timeout:.0f} s: {log.read_text()[-3000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# The embedded cluster ------------------------------------------------------------------------


@dataclass
class ClusterProcess:
    """``python -m tiphys.cluster`` running on a free port with its own TIPHYS_HOME."""

    home: Path
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def pki(self) -> Path:
        return self.home / "cluster" / "pki"

    @property
    def ca(self) -> Path:
        return self.pki / "ca.crt"

    @property
    def token(self) -> str:
        return (self.pki / "admin.token").read_text().strip()

    @property
    def pid(self) -> int:
        return self.process.pid

    def memory(self) -> Memory:
        return memory_of(self.pid)

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}

    def client(self, **kwargs: Any) -> httpx.Client:
        """A keep-alive client with the admin token."""
        return httpx.Client(base_url=self.url, verify=self.ssl_context(), headers=self.headers(), timeout=60, **kwargs)

    def async_client(self, **kwargs: Any) -> httpx.AsyncClient:
        kwargs.setdefault("timeout", 60)
        return httpx.AsyncClient(base_url=self.url, verify=self.ssl_context(), headers=self.headers(), **kwargs)

    def stop(self) -> None:
        _stop(self.process)


def start_cluster(
    home: Path, *, port: int | None = None, timeout: float = 60.0, controllers: bool = False
) -> ClusterProcess:
    """Start the embedded cluster the way ``tiphys up`` does and wait until /readyz answers.

    Without ``controllers`` it runs no ``tiphys controller`` child: a benchmark measures only what it names.
    """
    home.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log = home / "bench-server.log"
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "tiphys.cluster", "--home", str(home), "--port", str(port)]
            + ([] if controllers else ["--no-controllers"]),
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            env={**os.environ, "TIPHYS_HOME": str(home)},
            start_new_session=True,
        )
    cluster = ClusterProcess(home, port, process)
    try:
        deadline = time.monotonic() + timeout
        while not cluster.ca.exists() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        wait_ready(f"{cluster.url}/readyz", cluster.ca, process, log, timeout=max(1.0, deadline - time.monotonic()))
    except BaseException:
        _stop(process)
        raise
    return cluster


@contextmanager
def running_cluster(home: Path, *, port: int | None = None) -> Iterator[ClusterProcess]:
    cluster = start_cluster(home, port=port)
    try:
        yield cluster
    finally:
        cluster.stop()


# The bare reference server -------------------------------------------------------------------


@dataclass
class BareProcess:
    """``python -m bench._bare``: the do-nothing ASGI app under the cluster's uvicorn settings."""

    port: int
    ca: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def memory(self) -> Memory:
        return memory_of(self.pid)

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))

    def stop(self) -> None:
        _stop(self.process)


@contextmanager
def running_bare(pki: Path, log: Path) -> Iterator[BareProcess]:
    """Serve the bare app with the certificate of the cluster whose PKI directory is ``pki``."""
    port = free_port()
    argv = [sys.executable, "-m", "bench._bare", "--port", str(port)]
    argv += ["--cert", str(pki / "server.crt"), "--key", str(pki / "server.key")]
    with open(log, "ab") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True)
    bare = BareProcess(port, pki / "ca.crt", process)
    try:
        wait_ready(f"{bare.url}/readyz", bare.ca, process, log, timeout=30)
        yield bare
    finally:
        bare.stop()
