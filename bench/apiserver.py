"""The embedded API server against the do-nothing ASGI server, served the same way.

One run measures, on this machine: ConfigMap creates/s and single-object gets/s (the load
generator, fixed connections and duration after a warm-up), listing 10,000 ConfigMaps in one
request and in kubectl's ``limit=500`` pages, watch event latency (sequential writes, each
timed to its event on an already open watch) and the server's resident memory holding 10,000
ConfigMaps. The bare server (``bench._bare``) then answers the same load: rates compare with
its do-nothing endpoints, list times with moving the same number of bytes, watch latency with
its notify-and-stream pair. The two servers run one after the other, never at the same time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import uvloop

from ._common import (
    ClusterProcess,
    Compare,
    Context,
    Row,
    Throughput,
    log,
    median,
    percentile,
    running_bare,
    running_cluster,
    throughput,
)
from ._load import Load

__all__ = ["TITLE", "run"]

TITLE = "Embedded API server (python -m tiphys.cluster) vs a bare ASGI endpoint"
GROUP = "apiserver"
OBJECTS = 10_000
PAGE = 500
LIST_REPEATS = 3
WATCH_WRITES = 300
WATCH_WARMUP = 20
GOAL = 0.5  # of the bare rate, for single-object GET and CREATE
NS_LIST, NS_CREATE, NS_WATCH = "bench-list", "bench-create", "bench-watch"
# A small, typical ConfigMap; "{n}" becomes a unique name (see bench._load).
CONFIGMAP = (
    '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"{n}","labels":{"app.kubernetes.io/name":"bench"}},'
    '"data":{"mode":"fast","config.yaml":"replicas: 3\\nimage: nginx:1.27\\nport: 8080\\n"}}'
)


def _configmap(name: str) -> bytes:
    return CONFIGMAP.replace("{n}", name).encode()


def _listed_name(i: int) -> str:
    """The name of the i-th listed ConfigMap, as ``LoadGenerator.fill`` numbers them."""
    return f"cm-{i:0{len(str(OBJECTS))}d}"


@dataclass(frozen=True)
class Watch:
    """Milliseconds per sequential write: response -> event (0 when the event came first), sent -> event."""

    after_response: list[float]
    after_send: list[float]


@dataclass
class Figures:
    """What one server scored; the bare server leaves the cluster-only fields at their defaults."""

    get: Throughput
    create: Throughput
    list_ms: float
    paged_ms: float
    watch: Watch
    list_bytes: int = 0
    pages: int = 0
    rss_empty_mib: float = 0.0
    rss_full_mib: float = 0.0
    hwm_full_mib: float = 0.0


# Measurements shared by both servers -----------------------------------------------------------


def _fetch_seconds(client: httpx.Client, urls: list[str], *, follow_continue: bool) -> tuple[float, int]:
    """Seconds spent waiting for the responses (to their last byte), and the bytes read.

    With ``follow_continue`` the first URL is paged through with ``limit``/``continue`` as kubectl
    does; decoding each page for its token happens off the clock, since it costs the client
    the same whichever server answered.
    """
    waited, size, token = 0.0, 0, ""
    todo = list(urls)
    while todo:
        url = todo.pop(0)
        params = {"limit": str(PAGE), **({"continue": token} if token else {})} if follow_continue else None
        started = time.perf_counter()
        response = client.get(url, params=params)
        waited += time.perf_counter() - started
        response.raise_for_status()
        size += len(response.content)
        if follow_continue:
            token = orjson.loads(response.content)["metadata"].get("continue", "")
            if token:
                todo.append(url)
    return waited, size


def _median_ms(measure: Callable[[], tuple[float, int]]) -> float:
    measure()  # warm-up
    return median([measure()[0] for _ in range(LIST_REPEATS)]) * 1000


async def _watch_latencies(client: httpx.AsyncClient, watch_url: str, write_url: str) -> Watch:
    waiting: dict[str, asyncio.Future[float]] = {}

    async def read(response: httpx.Response) -> None:
        async for line in response.aiter_lines():
            if line:
                arrived = time.perf_counter()
                name = orjson.loads(line)["object"]["metadata"]["name"]
                future = waiting.pop(name, None)
                if future is not None and not future.done():
                    future.set_result(arrived)

    result = Watch([], [])
    loop = asyncio.get_running_loop()
    async with client.stream("GET", watch_url) as response:
        response.raise_for_status()
        reader = asyncio.ensure_future(read(response))
        try:
            for i in range(WATCH_WARMUP + WATCH_WRITES):
                name = f"watch-{i:04d}"
                future = waiting[name] = loop.create_future()
                sent = time.perf_counter()
                answer = await client.post(write_url, content=_configmap(name))
                answered = time.perf_counter()
                answer.raise_for_status()
                arrived = await asyncio.wait_for(future, 10)
                if i >= WATCH_WARMUP:
                    result.after_response.append(max(0.0, arrived - answered) * 1000)
                    result.after_send.append((arrived - sent) * 1000)
        finally:
            reader.cancel()
    return result


def _watch(client: Callable[[], httpx.AsyncClient], watch_url: str, write_url: str) -> Watch:
    """Watch latencies; ``client`` makes the HTTP client inside the (uvloop) event loop."""

    async def measure() -> Watch:
        async with client() as c:
            return await _watch_latencies(c, watch_url, write_url)

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(measure())


# The embedded cluster --------------------------------------------------------------------------


def _fill(ctx: Context, cluster: ClusterProcess, client: httpx.Client) -> None:
    """Exactly OBJECTS ConfigMaps cm-00000... in NS_LIST: the load generator, then whatever it missed."""
    url = f"/api/v1/namespaces/{NS_LIST}/configmaps"
    headers = {**cluster.headers(), "Content-Type": "application/json"}
    body = CONFIGMAP.replace("{n}", "cm-{n}")
    ctx.load.fill(
        Load(cluster.url + url, "POST", headers, body, cluster.ca), count=OBJECTS, connections=ctx.connections
    )
    present = {item["metadata"]["name"] for item in orjson.loads(client.get(url).content)["items"]}
    missing = [name for name in map(_listed_name, range(OBJECTS)) if name not in present]
    if missing:
        log(f"creating the {len(missing)} ConfigMap(s) the load generator missed")
    for name in missing:
        response = client.post(url, content=_configmap(name))
        if response.status_code not in (201, 409):
            raise RuntimeError(f"creating {name}: {response.status_code} {response.text[:300]}")
    count = len(orjson.loads(client.get(url).content)["items"])
    if count != OBJECTS:
        raise RuntimeError(f"expected {OBJECTS} ConfigMaps in {NS_LIST}, the server lists {count}")


def _measure_cluster(ctx: Context, cluster: ClusterProcess) -> Figures:
    rss_empty = cluster.memory().rss_mib
    list_url = f"/api/v1/namespaces/{NS_LIST}/configmaps"
    with cluster.client() as client:
        for ns in (NS_LIST, NS_CREATE, NS_WATCH):
            body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
            client.post("/api/v1/namespaces", json=body).raise_for_status()
        log(f"filling {NS_LIST} with {OBJECTS:,} ConfigMaps")
        _fill(ctx, cluster, client)
        time.sleep(0.5)
        full = cluster.memory()
        log("listing")
        list_ms = _median_ms(lambda: _fetch_seconds(client, [list_url], follow_continue=False))
        paged_ms = _median_ms(lambda: _fetch_seconds(client, [list_url], follow_continue=True))
        list_bytes = _fetch_seconds(client, [list_url], follow_continue=False)[1]

    headers = {**cluster.headers(), "Content-Type": "application/json"}
    log("GET")
    get_url = f"{cluster.url}{list_url}/{_listed_name(42)}"
    get = throughput(ctx, Load(get_url, headers=headers, ca=cluster.ca), server_pid=cluster.pid)
    log("watch")
    watch = _watch(
        cluster.async_client,
        f"/api/v1/namespaces/{NS_WATCH}/configmaps?watch=1",
        f"/api/v1/namespaces/{NS_WATCH}/configmaps",
    )
    log("CREATE")
    create_url = f"{cluster.url}/api/v1/namespaces/{NS_CREATE}/configmaps"
    create = throughput(
        ctx, Load(create_url, method="POST", headers=headers, body=CONFIGMAP, ca=cluster.ca), server_pid=cluster.pid
    )
    return Figures(
        get=get,
        create=create,
        list_ms=list_ms,
        paged_ms=paged_ms,
        watch=watch,
        list_bytes=list_bytes,
        pages=-(-OBJECTS // PAGE),
        rss_empty_mib=rss_empty,
        rss_full_mib=full.rss_mib,
        hwm_full_mib=full.hwm_mib,
    )


# The bare server -------------------------------------------------------------------------------


def _measure_bare(
    ctx: Context, tiphys: Figures, *, pki: Path, log_file: Path, cluster_headers: dict[str, str]
) -> tuple[Figures, float]:
    """The same measurements against the bare server; also its resident memory (MiB) at the end."""
    with running_bare(pki, log_file) as bare:
        headers = {**cluster_headers, "Content-Type": "application/json"}
        log("bare GET")
        get = throughput(ctx, Load(f"{bare.url}/get", headers=headers, ca=bare.ca), server_pid=bare.pid)
        log("bare POST")
        echo = Load(f"{bare.url}/echo", method="POST", headers=headers, body=CONFIGMAP, ca=bare.ca)
        create = throughput(ctx, echo, server_pid=bare.pid)
        log("bare lists and watch")
        with httpx.Client(base_url=bare.url, verify=bare.ssl_context(), headers=cluster_headers, timeout=60) as client:
            whole = [f"/blob/{tiphys.list_bytes}"]
            paged = [f"/blob/{tiphys.list_bytes // tiphys.pages}"] * tiphys.pages
            list_ms = _median_ms(lambda: _fetch_seconds(client, whole, follow_continue=False))
            paged_ms = _median_ms(lambda: _fetch_seconds(client, paged, follow_continue=False))
        watch = _watch(
            lambda: httpx.AsyncClient(base_url=bare.url, verify=bare.ssl_context(), headers=cluster_headers),
            "/watch",
            "/notify",
        )
        rss = bare.memory().rss_mib
    return Figures(get, create, list_ms, paged_ms, watch), rss


# Report ----------------------------------------------------------------------------------------


def _rate_note(ctx: Context, tiphys: Throughput, bare: Throughput) -> str:
    t, b = tiphys.median.result, bare.median.result
    parts = [f"latency p50/p99 {t.p50_ms:.1f}/{t.p99_ms:.0f} ms (bare {b.p50_ms:.1f}/{b.p99_ms:.0f})"]
    if len(tiphys.runs) > 1:
        parts.insert(0, f"median of {len(tiphys.runs)} x {ctx.duration:g} s (range {tiphys.spread()})")
    others = max(tiphys.other_cores, bare.other_cores)
    if others >= 0.1:
        parts.append(f"NOISE: other processes used up to {others:.1f} CPU")
    if tiphys.errors or bare.errors:
        parts.append(f"ERRORS: {tiphys.errors} (bare {bare.errors})")
    return "; ".join(parts)


def _cpu_note(tiphys: Throughput, bare: Throughput) -> str:
    cores = tiphys.median.server_cpu / tiphys.median.wall
    bare_cores = bare.median.server_cpu / bare.median.wall
    return f"server busy {cores:.2f} CPU (bare {bare_cores:.2f}); median over runs"


def _rows(ctx: Context, tiphys: Figures, bare: Figures, bare_rss: float) -> list[Row]:
    t, b = tiphys.watch, bare.watch
    first = sum(1 for v in t.after_response if v == 0) / len(t.after_response)
    per_object_kib = (tiphys.rss_full_mib - tiphys.rss_empty_mib) * 1024 / OBJECTS
    rate, time_ = Compare.RATE, Compare.TIME
    return [
        Row(GROUP, "GET one ConfigMap", tiphys.get.rate, "req/s", bare.get.rate, rate, GOAL,
            _rate_note(ctx, tiphys.get, bare.get), {"tiphys": tiphys.get.as_json(), "bare": bare.get.as_json()}),
        Row(GROUP, "CREATE ConfigMap (POST)", tiphys.create.rate, "req/s", bare.create.rate, rate, GOAL,
            _rate_note(ctx, tiphys.create, bare.create),
            {"tiphys": tiphys.create.as_json(), "bare": bare.create.as_json()}),
        Row(GROUP, "GET, server CPU per request", tiphys.get.cpu_per_request_us, "us",
            bare.get.cpu_per_request_us, time_, note=_cpu_note(tiphys.get, bare.get)),
        Row(GROUP, "CREATE, server CPU per request", tiphys.create.cpu_per_request_us, "us",
            bare.create.cpu_per_request_us, time_, note=_cpu_note(tiphys.create, bare.create)),
        Row(GROUP, f"LIST {OBJECTS:,} ConfigMaps, one request", tiphys.list_ms, "ms", bare.list_ms, time_,
            note=f"{tiphys.list_bytes / 1e6:.1f} MB to the last byte, median of {LIST_REPEATS}; bare: same bytes"),
        Row(GROUP, f"LIST {OBJECTS:,}, limit={PAGE} pages", tiphys.paged_ms, "ms", bare.paged_ms, time_,
            note=f"{tiphys.pages} requests; bare: {tiphys.pages} x 1/{tiphys.pages} of the bytes"),
        Row(GROUP, "watch latency p50, write response -> event", median(t.after_response), "ms",
            median(b.after_response), time_,
            note=f"{WATCH_WRITES} sequential creates; event first (counted as 0) {first:.0%}"),
        Row(GROUP, "watch latency p99, write response -> event", percentile(t.after_response, 99), "ms",
            percentile(b.after_response, 99), time_),
        Row(GROUP, "watch latency p50, write sent -> event", median(t.after_send), "ms", median(b.after_send), time_,
            note="includes the write's own round trip"),
        Row(GROUP, "watch latency p99, write sent -> event", percentile(t.after_send, 99), "ms",
            percentile(b.after_send, 99), time_),
        Row(GROUP, "RSS, empty cluster (VmRSS)", tiphys.rss_empty_mib, "MiB", bare_rss,
            note="bare: the reference server after its run"),
        Row(GROUP, f"RSS holding {OBJECTS:,} ConfigMaps (VmRSS)", tiphys.rss_full_mib, "MiB",
            note=f"~{per_object_kib:.1f} KiB per object over empty"),
        Row(GROUP, f"peak RSS after {OBJECTS:,} creates (VmHWM)", tiphys.hwm_full_mib, "MiB",
            note=f"{OBJECTS:,} creates by the load generator, {ctx.connections} connections"),
    ]  # fmt: skip


def run(ctx: Context) -> list[Row]:
    home = ctx.workdir / "apiserver"
    log("starting the embedded cluster")
    with running_cluster(home) as cluster:
        tiphys = _measure_cluster(ctx, cluster)
        headers = cluster.headers()
    log("starting the bare server")
    bare, bare_rss = _measure_bare(
        ctx, tiphys, pki=cluster.pki, log_file=home / "bare-server.log", cluster_headers=headers
    )
    return _rows(ctx, tiphys, bare, bare_rss)
