"""The HTTP face of the API server: a lean ASGI application served by uvicorn.

It parses Kubernetes REST paths, authenticates bearer tokens, negotiates discovery and Table
media types, streams watches and logs, and renders every :class:`StatusError` as a ``Status``.
All object semantics live in :mod:`.objects`; this module only translates HTTP to calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

import orjson

from ..pki import Credentials
from . import discovery, errors, openapi, tables
from .errors import StatusError
from .objects import DeleteOptions, ObjectAPI, WriteOptions, parse_body
from .resources import ResourceType
from .store import ADDED, Entry

__all__ = ["MAX_BODY_BYTES", "APIServer"]

log = logging.getLogger("tiphys.apiserver")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Obj = dict[str, Any]

# Upstream's request body cap (apiserver MaxRequestBodyBytes): larger bodies get 413.
MAX_BODY_BYTES = 3 * 1024 * 1024
_ROUTES_LIMIT = 4096  # resolved resource paths kept (object paths too: one per object read)
JSON = b"application/json"
TABLE_MEDIA = b"application/json;as=Table;v=v1;g=meta.k8s.io"
PUBLIC_PATHS = ("/version", "/healthz", "/livez", "/readyz")
VERSION = {
    "major": "1",
    "minor": "31",
    "gitVersion": "v1.31.9+tiphys",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.23.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}
LogReader = Callable[[Obj, dict[str, str], Send], Awaitable[None]]


class Request:
    __slots__ = ("_query", "headers", "method", "path", "receive", "scope")

    def __init__(self, scope: Scope, receive: Receive) -> None:
        self.scope = scope
        self.receive = receive
        self.method: str = scope["method"]
        self.path: str = scope["path"]
        self.headers: dict[bytes, bytes] = dict(scope["headers"])
        self._query: dict[str, str] | None = None

    @property
    def query(self) -> dict[str, str]:
        """Parsed on first use: most GETs of one object never look at it."""
        if self._query is None:
            raw = self.scope["query_string"]
            self._query = dict(parse_qsl(raw.decode("latin-1"), keep_blank_values=True)) if raw else {}
        return self._query

    def header(self, name: bytes) -> str:
        return self.headers.get(name, b"").decode("latin-1")

    async def body(self) -> bytes:
        length = self.headers.get(b"content-length")
        if length is not None and int(length) > MAX_BODY_BYTES:
            raise errors.too_large(MAX_BODY_BYTES)
        message = await self.receive()
        first: bytes = message.get("body", b"")
        if len(first) > MAX_BODY_BYTES:
            raise errors.too_large(MAX_BODY_BYTES)
        if not message.get("more_body"):
            return first  # the whole body in one message: the usual case
        chunks = [first]
        size = len(first)
        while True:
            message = await self.receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise errors.too_large(MAX_BODY_BYTES)
            chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks)


async def _send(
    send: Send, code: int, body: bytes, media: bytes = JSON, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    response_headers = [(b"content-type", media), (b"content-length", str(len(body)).encode())]
    if headers:
        response_headers += headers
    await send({"type": "http.response.start", "status": code, "headers": response_headers})
    await send({"type": "http.response.body", "body": body})


def _warning_headers(warnings: list[str]) -> list[tuple[bytes, bytes]]:
    return [(b"warning", ('299 - "' + w.replace('"', '\\"') + '"').encode()) for w in warnings]


def _bool(value: str | None) -> bool:
    return value is not None and value.lower() in ("true", "1")


class APIServer:
    """ASGI application for one embedded cluster."""

    def __init__(
        self,
        api: ObjectAPI,
        credentials: Credentials | None,
        *,
        server_address: str = "127.0.0.1:6443",
        log_reader: LogReader | None = None,
    ) -> None:
        self.api = api
        self.credentials = credentials
        self.server_address = server_address
        self.log_reader = log_reader
        self._open_streams: set[asyncio.Event] = set()
        # The header the admin's clients send, to compare as received (the common case).
        self._admin_header = b"Bearer " + credentials.admin_token.encode() if credentials else b""
        # Resource paths already resolved, as (type, namespace, name, subresource), while the
        # registry's generation is the one they were resolved under: most requests repeat a path.
        self._routes: dict[str, tuple[ResourceType, str | None, str | None, str | None]] = {}
        self._routes_generation = -1

    def close_streams(self) -> None:
        """Ask every open watch and log stream to end (server shutdown)."""
        for stop in list(self._open_streams):
            stop.set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    self.close_streams()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        try:
            if not self._authenticated(request):
                raise errors.unauthorized()
            await self._route(request, send)
        except StatusError as exc:
            await _send(
                send,
                exc.code,
                orjson.dumps(exc.body()),
                headers=[(k.encode(), v.encode()) for k, v in exc.headers.items()],
            )
        except Exception as exc:  # a bug must still answer as a Status, never hang the client
            log.exception("internal error serving %s %s", request.method, request.path)
            body = errors.status_body(500, "InternalError", f"Internal error occurred: {exc}")
            await _send(send, 500, orjson.dumps(body))

    def _authenticated(self, request: Request) -> bool:
        if self.credentials is None or request.path in PUBLIC_PATHS or request.path.startswith("/healthz/"):
            return True
        raw = request.headers.get(b"authorization", b"")
        if hmac.compare_digest(raw, self._admin_header):
            return True
        auth = raw.decode("latin-1")
        if not auth.lower().startswith("bearer "):
            return False
        token = auth[7:].strip()
        if self.credentials.is_admin(token):
            return True
        return self.credentials.verify_service_account_token(token) is not None

    # Routing -----------------------------------------------------------------------------

    async def _route(self, request: Request, send: Send) -> None:
        route = self._routes.get(request.path)
        if route is not None and self._routes_generation == self.api.registry.generation:
            await self._resource(request, send, *route)
            return
        path = request.path.rstrip("/") or "/"
        if path.startswith("/api/") or path.startswith("/apis/"):
            parts = path.split("/")[1:]
            if "%" in path:
                parts = [unquote(p) for p in parts]
            await self._api_path(request, send, parts)
            return
        if request.method != "GET":
            raise errors.path_not_found()
        if path == "/version":
            await _send(send, 200, orjson.dumps(VERSION))
        elif path in ("/healthz", "/livez", "/readyz") or path.startswith("/healthz/"):
            await _send(send, 200, b"ok", b"text/plain; charset=utf-8")
        elif path in ("/api", "/apis"):
            await self._discovery_root(request, send, core=path == "/api")
        elif path == "/openapi/v3":
            await _send(send, 200, orjson.dumps(openapi.index(self.api.registry)))
        elif path.startswith("/openapi/v3/"):
            gv = path[len("/openapi/v3/") :].split("/")
            if gv[0] == "api" and len(gv) == 2:
                doc = openapi.document(self.api.registry, self.api.schemas, "", gv[1])
            elif gv[0] == "apis" and len(gv) == 3:
                doc = openapi.document(self.api.registry, self.api.schemas, gv[1], gv[2])
            else:
                doc = None
            if doc is None:
                raise errors.path_not_found()
            await _send(send, 200, orjson.dumps(doc))
        else:
            # /openapi/v2 included: kubectl tolerates its absence once v3 answers.
            raise errors.path_not_found()

    async def _discovery_root(self, request: Request, send: Send, *, core: bool) -> None:
        accept = request.header(b"accept")
        if "as=APIGroupDiscoveryList" in accept and "v=v2" in accept and "v=v2beta1;as" not in accept.split(",")[0]:
            doc = discovery.aggregated(self.api.registry, core=core)
            await _send(send, 200, orjson.dumps(doc), discovery.AGGREGATED_MEDIA.encode())
        elif core:
            await _send(send, 200, orjson.dumps(discovery.api_versions(self.server_address)))
        else:
            await _send(send, 200, orjson.dumps(discovery.api_group_list(self.api.registry)))

    async def _api_path(self, request: Request, send: Send, parts: list[str]) -> None:
        # parts: ["api", "v1", ...] or ["apis", group, version, ...]
        if parts[0] == "api":
            group, version, rest = "", parts[1], parts[2:]
        elif len(parts) == 2:
            doc = discovery.api_group(self.api.registry, parts[1])
            if doc is None or request.method != "GET":
                raise errors.path_not_found()
            await _send(send, 200, orjson.dumps(doc))
            return
        else:
            group, version, rest = parts[1], parts[2], parts[3:]
        if not rest:
            doc = discovery.resource_list(self.api.registry, group, version)
            if doc is None or request.method != "GET":
                raise errors.path_not_found()
            await _send(send, 200, orjson.dumps(doc))
            return
        namespace: str | None = None
        if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in ("status", "finalize"):
            namespace, rest = rest[1], rest[2:]
        plural = rest[0]
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if len(rest) > 3:
            raise errors.path_not_found()
        rt = self.api.registry.lookup(group, version, plural)
        if rt is None:
            raise errors.path_not_found()
        if (namespace is not None and not rt.namespaced) or (rt.namespaced and namespace is None and name):
            raise errors.path_not_found()
        if sub is not None and sub not in rt.subresources and not (rt.key == "/namespaces" and sub == "finalize"):
            raise errors.path_not_found()
        self._remember_route(request.path, (rt, namespace, name, sub))
        await self._resource(request, send, rt, namespace, name, sub)

    def _remember_route(self, path: str, route: tuple[ResourceType, str | None, str | None, str | None]) -> None:
        generation = self.api.registry.generation
        if self._routes_generation != generation or len(self._routes) >= _ROUTES_LIMIT:
            self._routes.clear()
            self._routes_generation = generation
        self._routes[path] = route

    # Resources ---------------------------------------------------------------------------

    def _write_options(self, request: Request) -> WriteOptions:
        if not request.scope["query_string"]:
            return WriteOptions()  # the defaults, as for an empty query
        q = request.query
        dry_run = q.get("dryRun")
        if dry_run not in (None, "", "All"):
            raise errors.bad_request(f'Invalid dryRun: Unsupported value: "{dry_run}": supported values: "All"')
        validation = q.get("fieldValidation") or "Warn"
        if validation not in ("Strict", "Warn", "Ignore"):
            raise errors.bad_request(
                f'fieldValidation: Unsupported value: "{validation}": supported values: "Ignore", "Strict", "Warn"'
            )
        return WriteOptions(
            dry_run=dry_run == "All",
            field_manager=q.get("fieldManager", ""),
            field_validation=validation,
            force=_bool(q.get("force")),
        )

    async def _resource(
        self, request: Request, send: Send, rt: ResourceType, namespace: str | None, name: str | None, sub: str | None
    ) -> None:
        method = request.method
        ns = namespace or ""
        user_agent = request.header(b"user-agent")
        if name is None:
            if method == "GET":
                if _bool(request.query.get("watch")):
                    await self._watch(request, send, rt, namespace)
                else:
                    await self._list(request, send, rt, namespace)
            elif method == "POST" and (namespace is not None or not rt.namespaced):
                opts = self._write_options(request)
                body = parse_body(await request.body(), request.header(b"content-type"))
                obj = self.api.create(rt, ns, body, opts, user_agent=user_agent)
                await self._object(request, send, rt, obj, 201, opts.warnings)
            elif method == "DELETE":
                await self._delete_collection(request, send, rt, namespace)
            else:
                raise errors.method_not_allowed(method.lower(), rt.plural, rt.group)
            return
        if sub == "log":
            await self._logs(request, send, rt, ns, name)
            return
        if sub == "scale":
            await self._scale(request, send, rt, ns, name)
            return
        if method == "GET":
            entry = self.api.get(rt, ns, name)
            if _wants_table(request):
                await self._table(request, send, rt, [entry.obj], str(entry.rv))
            else:
                await _send(send, 200, self.api.raw(rt, entry))
        elif method == "PUT":
            opts = self._write_options(request)
            body = parse_body(await request.body(), request.header(b"content-type"))
            if sub == "finalize":
                obj = self._finalize_namespace(rt, name, body, opts, user_agent)
            else:
                obj = self.api.update(rt, ns, name, body, opts, subresource=sub, user_agent=user_agent)
            await self._object(request, send, rt, obj, 200, opts.warnings)
        elif method == "PATCH":
            opts = self._write_options(request)
            raw = await request.body()
            obj, created = self.api.patch(
                rt, ns, name, request.header(b"content-type"), raw, opts, subresource=sub, user_agent=user_agent
            )
            await self._object(request, send, rt, obj, 201 if created else 200, opts.warnings)
        elif method == "DELETE" and sub is None:
            options = await self._delete_options(request)
            answer, code, warnings = self.api.delete(rt, ns, name, options)
            await self.api.store.durable()
            await _send(send, code, orjson.dumps(answer), headers=_warning_headers(warnings))
        else:
            raise errors.method_not_allowed(method.lower(), rt.plural, rt.group)

    async def _object(
        self, request: Request, send: Send, rt: ResourceType, obj: Obj, code: int, warnings: list[str]
    ) -> None:
        await self.api.store.durable()
        meta = obj["metadata"]
        stored = self.api.store.get(rt.key, meta.get("namespace", ""), meta.get("name", ""))
        # The stored object's bytes are already serialized; only dry runs and conversions need dumps.
        body = stored.raw if stored is not None and stored.obj is obj else orjson.dumps(obj)
        await _send(send, code, body, headers=_warning_headers(warnings))

    def _finalize_namespace(self, rt: ResourceType, name: str, body: Any, opts: WriteOptions, user_agent: str) -> Obj:
        entry = self.api.get(rt, "", name)
        new = orjson.loads(entry.raw)
        finalizers = ((body or {}).get("spec") or {}).get("finalizers") or []
        new.setdefault("spec", {})["finalizers"] = finalizers
        return self.api.update(rt, "", name, new, opts, user_agent=user_agent)

    async def _delete_options(self, request: Request) -> DeleteOptions:
        raw = await request.body()
        body: Obj = {}
        if raw.strip():
            parsed = parse_body(raw, request.header(b"content-type"))
            if isinstance(parsed, dict):
                body = parsed
        q = request.query
        policy = body.get("propagationPolicy") or q.get("propagationPolicy")
        orphan = body.get("orphanDependents")
        if orphan is None and "orphanDependents" in q:
            orphan = _bool(q["orphanDependents"])
        if policy is None and orphan is not None:
            policy = "Orphan" if orphan else "Background"
        grace = body.get("gracePeriodSeconds")
        if grace is None and q.get("gracePeriodSeconds"):
            grace = int(q["gracePeriodSeconds"])
        pre = body.get("preconditions") or {}
        dry = body.get("dryRun") or ([q["dryRun"]] if q.get("dryRun") else [])
        if dry and dry != ["All"]:
            raise errors.bad_request(f'Invalid dryRun: Unsupported value: "{dry}": supported values: "All"')
        return DeleteOptions(
            propagation=policy,
            grace_period=grace,
            uid=pre.get("uid"),
            resource_version=pre.get("resourceVersion"),
            dry_run=bool(dry),
        )

    async def _delete_collection(self, request: Request, send: Send, rt: ResourceType, namespace: str | None) -> None:
        options = await self._delete_options(request)
        q = request.query
        result = self.api.list_objects(
            rt, namespace, label_selector=q.get("labelSelector"), field_selector=q.get("fieldSelector")
        )
        deleted = []
        for entry in result.entries:
            meta = entry.obj["metadata"]
            try:
                self.api.delete(rt, meta.get("namespace", ""), meta["name"], options)
            except StatusError as exc:
                if exc.code == 404:
                    continue
                raise
            deleted.append(entry.obj)
        body = {
            "kind": rt.kind_list,
            "apiVersion": rt.api_version,
            "metadata": {"resourceVersion": str(self.api.store.rv)},
            "items": deleted,
        }
        await self.api.store.durable()
        await _send(send, 200, orjson.dumps(body))

    # Lists and tables --------------------------------------------------------------------

    async def _list(self, request: Request, send: Send, rt: ResourceType, namespace: str | None) -> None:
        q = request.query
        limit = int(q["limit"]) if q.get("limit", "").isdigit() else None
        result = self.api.list_objects(
            rt,
            namespace,
            label_selector=q.get("labelSelector"),
            field_selector=q.get("fieldSelector"),
            limit=limit,
            continue_token=q.get("continue") or None,
            resource_version=q.get("resourceVersion"),
            resource_version_match=q.get("resourceVersionMatch"),
        )
        if _wants_table(request):
            await self._table(
                request,
                send,
                rt,
                [e.obj for e in result.entries],
                result.resource_version,
                result.continue_token,
                result.remaining,
            )
            return
        meta: Obj = {"resourceVersion": result.resource_version}
        if result.continue_token:
            meta["continue"] = result.continue_token
            meta["remainingItemCount"] = result.remaining
        head = orjson.dumps({"kind": rt.kind_list, "apiVersion": rt.api_version, "metadata": meta})
        items = b",".join(self.api.raw(rt, e) for e in result.entries)
        await _send(send, 200, head[:-1] + b',"items":[' + items + b"]}")

    async def _table(
        self,
        request: Request,
        send: Send,
        rt: ResourceType,
        objects: list[Obj],
        rv: str,
        continue_token: str = "",
        remaining: int | None = None,
    ) -> None:
        include = request.query.get("includeObject") or "Metadata"
        body = tables.table(
            rt,
            [self.api._present(rt, o) for o in objects],
            include_object=include,
            now=datetime.now(UTC),
            resource_version=rv,
            continue_token=continue_token,
        )
        if remaining is not None:
            body["metadata"]["remainingItemCount"] = remaining
        await _send(send, 200, orjson.dumps(body), TABLE_MEDIA)

    # Watch -------------------------------------------------------------------------------

    async def _watch(self, request: Request, send: Send, rt: ResourceType, namespace: str | None) -> None:
        q = request.query
        if _bool(q.get("sendInitialEvents")):
            raise errors.invalid(
                "ListOptions",
                "meta.k8s.io",
                "",
                [
                    {
                        "reason": "FieldValueForbidden",
                        "field": "sendInitialEvents",
                        "message": "Forbidden: sendInitialEvents is not supported by this server",
                    }
                ],
            )
        match = self.api.matcher(rt, q.get("labelSelector"), q.get("fieldSelector"))
        store = self.api.store
        rv_text = q.get("resourceVersion") or ""
        want_table = _wants_table(request)
        bookmarks = _bool(q.get("allowWatchBookmarks"))
        timeout = float(q["timeoutSeconds"]) if q.get("timeoutSeconds", "").isdigit() else random.uniform(1800, 3600)
        # Register before reading history, with no await in between, so no event slips through.
        since = int(rv_text) if rv_text.isdigit() and rv_text != "0" else None
        watcher = store.watch(rt.key, namespace if rt.namespaced else None, match or (lambda o: True), since=since)
        initial: list[tuple[str, Entry]] = []
        expired_rv: int | None = None
        if rv_text in ("", "0"):
            for entry in store.scan(rt.key, namespace if rt.namespaced else None):
                if match is None or match(entry.obj):
                    initial.append((ADDED, entry))
        else:
            try:
                since = int(rv_text)
            except ValueError as exc:
                store.unwatch(watcher)
                raise errors.bad_request(f'invalid resource version: "{rv_text}"') from exc
            events = store.events_since(rt.key, since)
            if events is None:
                expired_rv = since
            else:
                initial = [t for ev in events if (t := watcher.translate(ev)) is not None]
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", TABLE_MEDIA if want_table else JSON),
                    (b"cache-control", b"no-cache, private"),
                ],
            }
        )
        stop = asyncio.Event()
        self._open_streams.add(stop)
        first_table = True

        def frame(kind: str, entry: Entry) -> bytes:
            nonlocal first_table
            if want_table:
                table = tables.table(
                    rt,
                    [self.api._present(rt, entry.obj)],
                    include_object=q.get("includeObject") or "Metadata",
                    now=datetime.now(UTC),
                    resource_version=str(entry.rv),
                    with_columns=first_table,
                )
                first_table = False
                return orjson.dumps({"type": kind, "object": table}) + b"\n"
            return b'{"type":"' + kind.encode() + b'","object":' + self.api.raw(rt, entry) + b"}\n"

        async def body(chunk: bytes) -> None:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})

        disconnected = asyncio.ensure_future(_wait_disconnect(request.receive))
        stopped = asyncio.ensure_future(stop.wait())
        try:
            if expired_rv is not None:
                status = errors.expired(f"too old resource version: {expired_rv} ({store.compacted})").body()
                await body(orjson.dumps({"type": "ERROR", "object": status}) + b"\n")
                return
            if initial:
                await body(b"".join(frame(kind, entry) for kind, entry in initial))
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            next_bookmark = loop.time() + 60
            while not stop.is_set() and not disconnected.done():
                now = loop.time()
                if now >= deadline:
                    break
                wake = min(deadline, next_bookmark) if bookmarks else deadline
                getter = asyncio.ensure_future(watcher.queue.get())
                done, _ = await asyncio.wait(
                    {getter, disconnected, stopped},
                    timeout=max(0.0, wake - now),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if getter not in done:
                    getter.cancel()
                    if bookmarks and loop.time() >= next_bookmark:
                        await body(self._bookmark(rt))
                        next_bookmark = loop.time() + 60
                    continue
                item = getter.result()
                if item is None:
                    break
                chunk = [frame(*item)]
                while not watcher.queue.empty():
                    more = watcher.queue.get_nowait()
                    if more is None:
                        stop.set()
                        break
                    chunk.append(frame(*more))
                await body(b"".join(chunk))
            if bookmarks and not disconnected.done():
                await body(self._bookmark(rt))
        except OSError:
            pass
        finally:
            store.unwatch(watcher)
            self._open_streams.discard(stop)
            disconnected.cancel()
            stopped.cancel()
            with contextlib.suppress(Exception):  # the client may be gone already
                await send({"type": "http.response.body", "body": b"", "more_body": False})

    def _bookmark(self, rt: ResourceType) -> bytes:
        obj = {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": {"resourceVersion": str(self.api.store.rv)}}
        return orjson.dumps({"type": "BOOKMARK", "object": obj}) + b"\n"

    # Subresources ------------------------------------------------------------------------

    async def _logs(self, request: Request, send: Send, rt: ResourceType, namespace: str, name: str) -> None:
        if request.method != "GET":
            raise errors.method_not_allowed(request.method.lower(), rt.plural, rt.group)
        pod = self.api.get(rt, namespace, name).obj
        if self.log_reader is None:
            raise errors.bad_request(f'pod "{name}" has no logs: this cluster runs no kubelet')
        await self.log_reader(pod, request.query, send)

    async def _scale(self, request: Request, send: Send, rt: ResourceType, namespace: str, name: str) -> None:
        entry = self.api.get(rt, namespace, name)
        if request.method == "GET":
            await _send(send, 200, orjson.dumps(_scale_of(entry.obj)))
            return
        if request.method not in ("PUT", "PATCH"):
            raise errors.method_not_allowed(request.method.lower(), rt.plural, rt.group)
        opts = self._write_options(request)
        raw = await request.body()
        if request.method == "PUT":
            scale = parse_body(raw, request.header(b"content-type"))
        else:
            from . import patch as patching

            current = _scale_of(entry.obj)
            parsed = parse_body(raw, request.header(b"content-type"))
            if request.header(b"content-type").startswith("application/json-patch+json"):
                scale = patching.json_patch(current, parsed)
            else:
                scale = patching.merge_patch(current, parsed)
        replicas = ((scale or {}).get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or replicas < 0:
            raise errors.invalid(
                "Scale",
                "autoscaling",
                name,
                [
                    {
                        "reason": "FieldValueInvalid",
                        "field": "spec.replicas",
                        "message": f"Invalid value: {replicas}: must be greater than or equal to 0",
                    }
                ],
            )
        obj = orjson.loads(entry.raw)
        obj.setdefault("spec", {})["replicas"] = replicas
        updated = self.api.update(rt, namespace, name, obj, opts, user_agent=request.header(b"user-agent"))
        await self.api.store.durable()
        await _send(send, 200, orjson.dumps(_scale_of(updated)))


def _scale_of(obj: Obj) -> Obj:
    meta = obj["metadata"]
    selector = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in meta
        },
        "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
        "status": {
            "replicas": (obj.get("status") or {}).get("replicas", 0),
            "selector": ",".join(f"{k}={v}" for k, v in sorted(selector.items())),
        },
    }


def _wants_table(request: Request) -> bool:
    accept = request.headers.get(b"accept", b"")
    return b"as=Table" in accept and accept.split(b",")[0].find(b"as=Table") >= 0


async def _wait_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
