"""The embedded API server against the do-nothing ASGI server, served the same way.

One run measures, on this machine: the server's resident memory empty and holding 10,000
ConfigMaps, listing them in one request and in kubectl's ``limit=500`` pages, watch event
latency (sequential writes, each timed to its event on an already open watch), and
single-object gets/s and ConfigMap creates/s (the load generator, fixed connections and
duration after a warm-up). The bare server (``bench._bare``) answers the same loads: rates
compare with its do-nothing endpoints, list times with moving the same number of bytes, watch
latency with its notify-and-stream pair.

In order: the cluster alone (memory, lists, watch); then both servers up for the GET and CREATE
rates, measured in alternating Tiphys/bare pairs with only one server under load at a time (the
ratio is the median of the per-pair ratios, see ``bench._common.paired_throughput``); then the
cluster stops and the bare server alone answers the lists and the watch, and has its memory read.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass

import httpx
import orjson
import uvloop

from ._common import (
    BareProcess,
    ClusterProcess,
    Compare,
    Context,
    Paired,
    Row,
    Throughput,
    log,
    median,
    paired_throughput,
    percentile,
    running_bare,
    running_cluster,
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


@dataclass(frozen=True)
class Rates:
    """The paired rate measurements, Tiphys against bare."""

    get: Paired
    create: Paired


@dataclass
class Figures:
    """What one server scored alone; the bare server leaves the cluster-only fields at their defaults."""

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
    """Memory, lists and watch, with no other server running."""
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

    log("watch")
    watch = _watch(
        cluster.async_client,
        f"/api/v1/namespaces/{NS_WATCH}/configmaps?watch=1",
        f"/api/v1/namespaces/{NS_WATCH}/configmaps",
    )
    return Figures(
        list_ms=list_ms,
        paged_ms=paged_ms,
        watch=watch,
        list_bytes=list_bytes,
        pages=-(-OBJECTS // PAGE),
        rss_empty_mib=rss_empty,
        rss_full_mib=full.rss_mib,
        hwm_full_mib=full.hwm_mib,
    )


# Both servers: the paired rates ------------------------------------------------------------------


def _measure_rates(ctx: Context, cluster: ClusterProcess, bare: BareProcess) -> Rates:
    """GET and CREATE (bare: its GET and POST /echo), each in Tiphys/bare pairs; same headers on both."""
    headers = {**cluster.headers(), "Content-Type": "application/json"}
    get_url = f"{cluster.url}/api/v1/namespaces/{NS_LIST}/configmaps/{_listed_name(42)}"
    log(f"GET, {ctx.repeat} Tiphys/bare pairs")
    get = paired_throughput(
        ctx,
        Load(get_url, headers=headers, ca=cluster.ca),
        cluster.pid,
        Load(f"{bare.url}/get", headers=headers, ca=bare.ca),
        bare.pid,
    )
    log(f"CREATE, {ctx.repeat} Tiphys/bare pairs")
    create_url = f"{cluster.url}/api/v1/namespaces/{NS_CREATE}/configmaps"
    create = paired_throughput(
        ctx,
        Load(create_url, method="POST", headers=headers, body=CONFIGMAP, ca=cluster.ca),
        cluster.pid,
        Load(f"{bare.url}/echo", method="POST", headers=headers, body=CONFIGMAP, ca=bare.ca),
        bare.pid,
    )
    return Rates(get, create)


# The bare server alone ---------------------------------------------------------------------------


def _measure_bare(tiphys: Figures, bare: BareProcess, cluster_headers: dict[str, str]) -> tuple[Figures, float]:
    """Lists and watch against the bare server; also its resident memory (MiB) at the end."""
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
    return Figures(list_ms, paged_ms, watch), bare.memory().rss_mib


# Report ----------------------------------------------------------------------------------------


def _rate_note(ctx: Context, paired: Paired) -> str:
    tiphys, bare = paired.tiphys, paired.bare
    t, b = tiphys.median.result, bare.median.result
    n = len(paired.ratios)
    parts = [
        f"ratio: median of {n} paired runs of {ctx.duration:g} s (per pair {paired.spread()})",
        f"rates: median of {n}, range {tiphys.spread()} (bare {bare.spread()})",
        f"latency p50/p99 {t.p50_ms:.1f}/{t.p99_ms:.0f} ms (bare {b.p50_ms:.1f}/{b.p99_ms:.0f})",
    ]
    others = max(tiphys.other_cores, bare.other_cores)
    if others >= 0.1:
        idle = max(tiphys.idle_cores, bare.idle_cores)
        parts.append(f"NOISE: other processes used up to {others:.1f} CPU (the idle server up to {idle:.2f})")
    if tiphys.errors or bare.errors:
        parts.append(f"ERRORS: {tiphys.errors} (bare {bare.errors})")
    return "; ".join(parts)


def _rate_row(ctx: Context, metric: str, paired: Paired) -> Row:
    detail = {"tiphys": paired.tiphys.as_json(), "bare": paired.bare.as_json(), "paired": paired.as_json()}
    return Row(
        GROUP, metric, paired.tiphys.rate, "req/s", paired.bare.rate, Compare.RATE, GOAL,
        _rate_note(ctx, paired), detail, paired_ratio=paired.ratio,
    )  # fmt: skip


def _cpu_note(tiphys: Throughput, bare: Throughput) -> str:
    cores = tiphys.median.server_cpu / tiphys.median.wall
    bare_cores = bare.median.server_cpu / bare.median.wall
    return f"server busy {cores:.2f} CPU (bare {bare_cores:.2f}); median over runs"


def _rows(ctx: Context, rates: Rates, tiphys: Figures, bare: Figures, bare_rss: float) -> list[Row]:
    t, b = tiphys.watch, bare.watch
    first = sum(1 for v in t.after_response if v == 0) / len(t.after_response)
    per_object_kib = (tiphys.rss_full_mib - tiphys.rss_empty_mib) * 1024 / OBJECTS
    get, create, time_ = rates.get, rates.create, Compare.TIME
    return [
        _rate_row(ctx, "GET one ConfigMap", get),
        _rate_row(ctx, "CREATE ConfigMap (POST)", create),
        Row(GROUP, "GET, server CPU per request", get.tiphys.cpu_per_request_us, "us",
            get.bare.cpu_per_request_us, time_, note=_cpu_note(get.tiphys, get.bare)),
        Row(GROUP, "CREATE, server CPU per request", create.tiphys.cpu_per_request_us, "us",
            create.bare.cpu_per_request_us, time_, note=_cpu_note(create.tiphys, create.bare)),
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
    with ExitStack() as stack:
        log("starting the embedded cluster")
        cluster = stack.enter_context(running_cluster(home))
        tiphys = _measure_cluster(ctx, cluster)
        log("starting the bare server (the cluster stays up, idle while the bare server is loaded)")
        bare = stack.enter_context(running_bare(cluster.pki, home / "bare-server.log"))
        rates = _measure_rates(ctx, cluster, bare)
        headers = cluster.headers()
        cluster.stop()  # the bare server's lists and watch run alone, as the cluster's did
        bare_figures, bare_rss = _measure_bare(tiphys, bare, headers)
    return _rows(ctx, rates, tiphys, bare_figures, bare_rss)
