"""The API's operations on objects, independent of HTTP.

The HTTP layer parses requests and renders answers; the built-in controllers call the same
operations in-process. Every write goes through :meth:`ObjectAPI._commit`, which applies the
rules every write shares: defaults, validation, generation, managedFields, no-op detection and
finalizer-driven deletion.
"""

from __future__ import annotations

import base64
import os
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import yaml

from . import crds, errors, managed, patch, schema, validation
from .defaults import apply_defaults
from .resources import Registry, ResourceType
from .selectors import parse_field_selector, parse_label_selector
from .store import Entry, Store

__all__ = ["DeleteOptions", "ObjectAPI", "WriteOptions", "now_rfc3339"]

Obj = dict[str, Any]
NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
# Kinds whose DELETE answers with the object rather than a Status, as upstream's registries do.
_RETURNS_OBJECT = {
    ("", "pods"),
    ("", "services"),
    ("", "namespaces"),
    ("apiextensions.k8s.io", "customresourcedefinitions"),
}


_clock_cache: tuple[int, str] = (-1, "")


def now_rfc3339() -> str:
    """The current time in whole seconds, formatted once per second (every write asks for it)."""
    global _clock_cache
    second = int(time.time())
    if _clock_cache[0] != second:
        _clock_cache = (second, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second)))
    return _clock_cache[1]


_random_hex = ""  # random bytes, read 4 KiB at a time, as hex digits
_random_at = 0
# The RFC 4122 variant digit (binary 10xx) for a random hex digit's low two bits.
_VARIANT = "89ab" * 4


def new_uid() -> str:
    """A random (version 4) UUID, as ``str(uuid.uuid4())``."""
    global _random_hex, _random_at
    if _random_at + 32 > len(_random_hex):
        _random_hex, _random_at = os.urandom(4096).hex(), 0
    h = _random_hex[_random_at : _random_at + 32]
    _random_at += 32
    # Version digit 4; the variant digit keeps its two random bits.
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[int(h[16], 16)]}{h[17:20]}-{h[20:]}"


def now_micro() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class WriteOptions:
    dry_run: bool = False
    field_manager: str = ""
    field_validation: str = "Warn"
    force: bool = False
    warnings: list[str] = field(default_factory=list)


@dataclass
class DeleteOptions:
    propagation: str | None = None
    grace_period: int | None = None
    uid: str | None = None
    resource_version: str | None = None
    dry_run: bool = False


@dataclass
class ListResult:
    entries: list[Entry]
    resource_version: str
    continue_token: str = ""
    remaining: int | None = None


def parse_body(raw: bytes, content_type: str) -> Any:
    """JSON (also without a Content-Type) or YAML; protobuf is refused with 415."""
    media = content_type if content_type == "application/json" else content_type.split(";", 1)[0].strip().lower()
    if media == "application/vnd.kubernetes.protobuf":
        raise errors.unsupported_media_type(media, ["application/json", "application/yaml"])
    if media in ("application/yaml", "application/apply-patch+yaml") and raw.lstrip()[:1] not in (b"{", b"["):
        try:
            return yaml.load(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except yaml.YAMLError as exc:
            raise errors.bad_request(f"error converting YAML to JSON: {exc}") from exc
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        # Upstream answers malformed JSON with the decoder's message as a 400.
        raise errors.bad_request(f"couldn't get version/kind; json parse error: {exc}") from exc


class ObjectAPI:
    """CRUD, patch and delete with Kubernetes semantics over a :class:`Store`."""

    def __init__(self, store: Store, registry: Registry, schemas: schema.Schemas) -> None:
        self.store = store
        self.registry = registry
        self.schemas = schemas
        # Admission: fields that must be decided before an object is stored (a Service's cluster
        # IP). Each hook runs after defaults on every write but status writes, gets (type, object,
        # stored object or None) and may fill the object or raise a StatusError.
        self.admission: list[Callable[[ResourceType, Obj, Mapping[str, Any] | None], None]] = []
        for entry in store.scan("apiextensions.k8s.io/customresourcedefinitions"):
            self._serve_crd(entry.obj)

    # Helpers -----------------------------------------------------------------------------

    def root_schema(self, rt: ResourceType) -> schema.Node | None:
        return self.schemas.root(rt.group, rt.version, rt.kind)

    def _present(self, rt: ResourceType, obj: Obj) -> Obj:
        """The object as served at ``rt``'s version (CRDs convert by apiVersion only)."""
        if rt.crd is not None and obj.get("apiVersion") != rt.api_version:
            obj = orjson.loads(orjson.dumps(obj))
            obj["apiVersion"] = rt.api_version
        return obj

    def raw(self, rt: ResourceType, entry: Entry) -> bytes:
        if rt.crd is not None and entry.obj.get("apiVersion") != rt.api_version:
            return orjson.dumps(self._present(rt, entry.obj))
        return entry.raw

    def _require_namespace(self, rt: ResourceType, namespace: str, *, creating: bool, name: str = "") -> None:
        if not rt.namespaced:
            return
        ns = self.store.get("/namespaces", "", namespace)
        if ns is None:
            raise errors.not_found("namespaces", "", namespace)
        if creating and ns.obj["metadata"].get("deletionTimestamp"):
            raise errors.forbidden(
                f'{rt.qualified} "{name}" is forbidden: unable to create new content in namespace {namespace} '
                "because it is being terminated",
                details={
                    "causes": [
                        {
                            "reason": "NamespaceTerminating",
                            "message": f"namespace {namespace} is being terminated",
                            "field": "metadata.namespace",
                        }
                    ]
                },
            )

    def _check_body(self, rt: ResourceType, body: Any, namespace: str) -> Obj:
        if not isinstance(body, dict):
            raise errors.bad_request(f"the body of the request was not a valid {rt.kind} object")
        kind = body.get("kind")
        api_version = body.get("apiVersion")
        if kind is not None and kind != rt.kind:
            raise errors.bad_request(f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})")
        if api_version is not None and api_version != rt.api_version:
            other = self.registry.by_api_version(api_version, rt.kind)
            if other is None or other.key != rt.key:
                raise errors.bad_request(
                    f"the API version in the data ({api_version}) does not match the expected API version "
                    f"({rt.api_version})"
                )
        meta = body.get("metadata")
        if meta is None:
            body["metadata"] = meta = {}
        if not isinstance(meta, dict):
            raise errors.bad_request(
                f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '
                "json: cannot unmarshal into Go struct field .metadata of type v1.ObjectMeta"
            )
        if rt.namespaced:
            if meta.get("namespace") not in (None, "", namespace):
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        body["kind"] = rt.kind
        body["apiVersion"] = rt.api_version
        return body

    def _manager(self, opts: WriteOptions, user_agent: str = "") -> str:
        if opts.field_manager:
            if len(opts.field_manager) > 128:
                raise errors.invalid(
                    "",
                    "",
                    "",
                    [
                        {
                            "reason": "FieldValueTooLong",
                            "field": "fieldManager",
                            "message": "Too long: must have at most 128 bytes",
                        }
                    ],
                )
            return opts.field_manager
        return user_agent.split("/", 1)[0] or "unknown"

    # Reads -------------------------------------------------------------------------------

    def get(self, rt: ResourceType, namespace: str, name: str) -> Entry:
        entry = self.store.get(rt.key, namespace if rt.namespaced else "", name)
        if entry is None:
            raise errors.not_found(rt.plural, rt.group, name)
        return entry

    def list_objects(
        self,
        rt: ResourceType,
        namespace: str | None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
        resource_version: str | None = None,
        resource_version_match: str | None = None,
    ) -> ListResult:
        match = self.matcher(rt, label_selector, field_selector)
        current = self.store.rv
        if resource_version_match == "Exact" and resource_version not in (None, "", str(current)):
            raise errors.expired(f"too old resource version: {resource_version} ({current})")
        start: tuple[str, str] | None = None
        list_rv = str(current)
        if continue_token:
            try:
                token = orjson.loads(base64.urlsafe_b64decode(continue_token.encode()))
                start = (token["ns"], token["name"])
                list_rv = str(token["rv"])
            except (ValueError, KeyError, TypeError) as exc:
                raise errors.bad_request(
                    "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"
                ) from exc
            if int(list_rv) < self.store.compacted and self.store.compacted > 1:
                raise errors.expired(
                    "The provided continue parameter is too old to display a consistent list result. You can start "
                    "a new list without the continue parameter, or use the continue token in this response to "
                    "retrieve the remainder of the results. Continuing with the provided token results in an "
                    "inconsistent list - objects that were created, modified, or deleted between the time the first "
                    "chunk was returned and now may show up in the list."
                )
        entries = self.store.scan(rt.key, namespace if rt.namespaced else None, after=start)
        if match is not None:
            entries = [e for e in entries if match(e.obj)]
        if limit and limit > 0 and len(entries) > limit and resource_version != "0":
            page, rest = entries[:limit], len(entries) - limit
            last = page[-1].obj["metadata"]
            token = base64.urlsafe_b64encode(
                orjson.dumps({"rv": int(list_rv), "ns": last.get("namespace", ""), "name": last["name"]})
            ).decode()
            return ListResult(page, list_rv, token, rest)
        return ListResult(entries, list_rv)

    def matcher(self, rt: ResourceType, label_selector: str | None, field_selector: str | None) -> Any:
        labels = parse_label_selector(label_selector)
        fields = parse_field_selector(field_selector, rt.key)
        if labels and fields:
            return lambda o: labels(o) and fields(o)
        return labels or fields

    # Writes ------------------------------------------------------------------------------

    def create(self, rt: ResourceType, namespace: str, body: Any, opts: WriteOptions, *, user_agent: str = "") -> Obj:
        if rt.read_only:
            raise errors.method_not_allowed("create", rt.plural, rt.group)
        obj = self._check_body(rt, body, namespace)
        meta = obj["metadata"]
        opts.warnings += validation.check_decoding(rt, self.root_schema(rt), obj, opts.field_validation)
        generated = False
        if not meta.get("name"):
            prefix = meta.get("generateName")
            if not prefix:
                raise errors.invalid(
                    rt.kind,
                    rt.group,
                    "",
                    [
                        {
                            "reason": "FieldValueRequired",
                            "message": "Required value: name or generateName is required",
                            "field": "metadata.name",
                        }
                    ],
                )
            generated = True
            meta["name"] = prefix[:58] + "".join(secrets.choice(NAME_CHARS) for _ in range(5))
        ns = namespace if rt.namespaced else ""
        self._require_namespace(rt, namespace, creating=True, name=meta["name"])
        if self.store.get(rt.key, ns, meta["name"]) is not None:
            raise errors.already_exists(rt.plural, rt.group, meta["name"], generated=generated)
        for server_field in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds"):
            meta.pop(server_field, None)
        meta.pop("managedFields", None)
        meta["uid"] = new_uid()
        meta["creationTimestamp"] = now_rfc3339()
        if rt.generation:
            meta["generation"] = 1
        else:
            meta.pop("generation", None)
        if rt.status:
            obj.pop("status", None)
        manager = self._manager(opts, user_agent)
        return self._commit(rt, None, obj, opts, manager=manager)

    def update(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        body: Any,
        opts: WriteOptions,
        *,
        subresource: str | None = None,
        user_agent: str = "",
    ) -> Obj:
        if rt.read_only:
            raise errors.method_not_allowed("update", rt.plural, rt.group)
        obj = self._check_body(rt, body, namespace)
        meta = obj["metadata"]
        if meta.get("name") not in (None, "", name):
            raise errors.bad_request(
                f"the name of the object ({meta.get('name')}) does not match the name on the URL ({name})"
            )
        meta["name"] = name
        entry = self.store.get(rt.key, namespace if rt.namespaced else "", name)
        if entry is None:
            raise errors.not_found(rt.plural, rt.group, name)
        rv = meta.get("resourceVersion")
        if rv in (None, "") and rt.crd is not None:
            raise errors.invalid(
                rt.kind,
                rt.group,
                name,
                [
                    {
                        "reason": "FieldValueInvalid",
                        "field": "metadata.resourceVersion",
                        "message": "Invalid value: 0x0: must be specified for an update",
                    }
                ],
            )
        if rv not in (None, "") and rv != entry.obj["metadata"]["resourceVersion"]:
            raise errors.conflict(rt.plural, rt.group, name)
        opts.warnings += validation.check_decoding(rt, self.root_schema(rt), obj, opts.field_validation)
        return self._update_from(rt, entry, obj, opts, subresource=subresource, manager=self._manager(opts, user_agent))

    def _update_from(
        self,
        rt: ResourceType,
        entry: Entry,
        obj: Obj,
        opts: WriteOptions,
        *,
        subresource: str | None,
        manager: str,
        managed_fields: list[Obj] | None = None,
    ) -> Obj:
        """Merge a full new object with what the server owns, then commit."""
        old = entry.obj
        old_meta, meta = old["metadata"], obj["metadata"]
        if subresource == "status":
            # A status write changes only .status (and nothing in metadata but what we keep).
            new = orjson.loads(entry.raw)
            if "status" in obj:
                new["status"] = obj["status"]
            else:
                new.pop("status", None)
            obj = new
            meta = obj["metadata"]
        else:
            for server_field in (
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "generation",
            ):
                if server_field in old_meta:
                    meta[server_field] = old_meta[server_field]
                else:
                    meta.pop(server_field, None)
            if rt.status:
                if "status" in old:
                    obj["status"] = old["status"]
                else:
                    obj.pop("status", None)
            if old_meta.get("deletionTimestamp"):
                added = set(meta.get("finalizers") or ()) - set(old_meta.get("finalizers") or ())
                if added:
                    raise errors.forbidden(
                        f'{rt.kind} "{meta["name"]}" is forbidden: no new finalizers can be added if the object is '
                        "being deleted, found new finalizers " + str(sorted(added))
                    )
        if managed_fields is not None:
            meta["managedFields"] = managed_fields
        # Otherwise whatever managedFields the client sent are judged by managed.record_update.
        return self._commit(
            rt, entry, obj, opts, manager=manager, subresource=subresource, explicit_managed=managed_fields is not None
        )

    def patch(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        content_type: str,
        raw: bytes,
        opts: WriteOptions,
        *,
        subresource: str | None = None,
        user_agent: str = "",
    ) -> tuple[Obj, bool]:
        """Apply one of the four patch types; returns (object, created)."""
        if rt.read_only:
            raise errors.method_not_allowed("patch", rt.plural, rt.group)
        media = content_type.split(";", 1)[0].strip().lower()
        accepted = ["application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"]
        if rt.crd is None:
            accepted.insert(2, "application/strategic-merge-patch+json")
        if media not in accepted:
            raise errors.unsupported_media_type(media, accepted)
        if opts.force and media != "application/apply-patch+yaml":
            raise errors.invalid(
                rt.kind,
                rt.group,
                name,
                [
                    {
                        "reason": "FieldValueForbidden",
                        "field": "force",
                        "message": "Forbidden: may not be specified for non-apply patch",
                    }
                ],
            )
        body = parse_body(raw, media)
        ns = namespace if rt.namespaced else ""
        entry = self.store.get(rt.key, ns, name)
        root = self.root_schema(rt)
        if media == "application/apply-patch+yaml":
            return self._apply(rt, namespace, name, entry, body, opts, subresource=subresource, root=root)
        if entry is None:
            raise errors.not_found(rt.plural, rt.group, name)
        current = orjson.loads(entry.raw)
        if media == "application/json-patch+json":
            result = patch.json_patch(current, body)
        elif media == "application/merge-patch+json":
            if not isinstance(body, dict):
                raise errors.bad_request("merge patch must be a JSON object")
            result = patch.merge_patch(current, body)
        else:
            if not isinstance(body, dict):
                raise errors.bad_request("strategic merge patch must be a JSON object")
            result = patch.strategic_merge_patch(current, body, root)
        if not isinstance(result, dict):
            raise errors.bad_request("the patched object is not a JSON object")
        obj = self._check_body(rt, result, namespace)
        obj["metadata"]["name"] = name
        # A patch that names a resourceVersion is a precondition (kubectl diff relies on it).
        rv = obj["metadata"].get("resourceVersion")
        if rv not in (None, "") and rv != entry.obj["metadata"]["resourceVersion"]:
            raise errors.conflict(rt.plural, rt.group, name)
        opts.warnings += validation.check_decoding(rt, root, obj, opts.field_validation)
        return self._update_from(
            rt, entry, obj, opts, subresource=subresource, manager=self._manager(opts, user_agent)
        ), False

    def _apply(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        entry: Entry | None,
        body: Any,
        opts: WriteOptions,
        *,
        subresource: str | None,
        root: schema.Node | None,
    ) -> tuple[Obj, bool]:
        if not opts.field_manager:
            raise errors.invalid(
                rt.kind,
                rt.group,
                name,
                [
                    {
                        "reason": "FieldValueRequired",
                        "field": "fieldManager",
                        "message": "Required value: is required for apply patch",
                    }
                ],
            )
        intent = self._check_body(rt, body, namespace)
        if intent["metadata"].get("name") not in (None, "", name):
            raise errors.bad_request(
                f"the name of the object ({intent['metadata'].get('name')}) does not match the name on the URL ({name})"
            )
        intent["metadata"]["name"] = name
        opts.warnings += validation.check_decoding(rt, root, intent, opts.field_validation)
        now = now_rfc3339()
        if entry is None:
            if subresource:
                raise errors.not_found(rt.plural, rt.group, name)
            merged = managed.apply(
                None,
                intent,
                manager=opts.field_manager,
                force=opts.force,
                schema=root,
                api_version=rt.api_version,
                now=now,
                status_subresource=rt.status,
            )
            fields = merged["metadata"].get("managedFields")
            return self._create_applied(rt, namespace, merged, opts, fields), True
        live = orjson.loads(entry.raw)
        merged = managed.apply(
            live,
            intent,
            manager=opts.field_manager,
            force=opts.force,
            schema=root,
            api_version=rt.api_version,
            now=now,
            status_subresource=rt.status,
            subresource=subresource,
        )
        fields = merged["metadata"].get("managedFields") or []
        return self._update_from(
            rt, entry, merged, opts, subresource=subresource, manager=opts.field_manager, managed_fields=fields
        ), False

    def _create_applied(
        self, rt: ResourceType, namespace: str, obj: Obj, opts: WriteOptions, fields: list[Obj] | None
    ) -> Obj:
        meta = obj["metadata"]
        self._require_namespace(rt, namespace, creating=True, name=meta["name"])
        for server_field in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds"):
            meta.pop(server_field, None)
        meta["uid"] = new_uid()
        meta["creationTimestamp"] = now_rfc3339()
        if rt.generation:
            meta["generation"] = 1
        if rt.status:
            obj.pop("status", None)
        if fields is not None:
            meta["managedFields"] = fields
        return self._commit(rt, None, obj, opts, manager=opts.field_manager, explicit_managed=True)

    def _commit(
        self,
        rt: ResourceType,
        entry: Entry | None,
        obj: Obj,
        opts: WriteOptions,
        *,
        manager: str,
        subresource: str | None = None,
        explicit_managed: bool = False,
    ) -> Obj:
        """Defaults, validation, generation, managedFields, then store (or not, for no-ops and dry runs)."""
        old = entry.obj if entry is not None else None
        meta = obj["metadata"]
        root = self.root_schema(rt)
        if subresource != "status":
            apply_defaults(rt.group, rt.kind, obj)
            for admit in self.admission:
                admit(rt, obj, old)
        if rt.crd is None and rt.key == "apiextensions.k8s.io/customresourcedefinitions":
            self._prepare_crd(obj, old)
        validation.normalize(rt, root, obj)
        if old is None:
            validation.validate_create(rt, root, obj)
        else:
            validation.validate_update(rt, root, old, obj)
        if old is not None and rt.generation and _spec_changed(old, obj):
            meta["generation"] = int(old["metadata"].get("generation") or 1) + 1
        if not explicit_managed:
            entries = managed.record_update(
                old,
                obj,
                manager=manager,
                schema=root,
                api_version=rt.api_version,
                now=now_rfc3339(),
                subresource=subresource,
                status_subresource=rt.status,
            )
            managed.attach(obj, entries)
        elif not meta.get("managedFields"):
            meta.pop("managedFields", None)
        if old is not None:
            meta["resourceVersion"] = old["metadata"]["resourceVersion"]
            if _same_ignoring_managed_time(old, obj):
                return self._present(rt, old)
        if opts.dry_run:
            if old is None:
                meta["resourceVersion"] = ""
                meta.pop("resourceVersion")
            return self._present(rt, obj)
        ns = meta.get("namespace", "")
        if meta.get("deletionTimestamp") and not self._pending_finalization(rt, obj):
            deleted = self.store.delete(rt.key, ns, meta["name"])
            self._after_delete(rt, obj)
            return self._present(rt, deleted.obj if deleted else obj)
        stored = self.store.put(rt.key, obj)
        if rt.key == "apiextensions.k8s.io/customresourcedefinitions":
            self._serve_crd(stored.obj)
        return self._present(rt, stored.obj)

    def _pending_finalization(self, rt: ResourceType, obj: Obj) -> bool:
        meta = obj["metadata"]
        if meta.get("finalizers"):
            return True
        if rt.key == "/namespaces" and (obj.get("spec") or {}).get("finalizers"):
            return True
        return rt.key == "/pods" and (meta.get("deletionGracePeriodSeconds") or 0) > 0

    # Delete ------------------------------------------------------------------------------

    def delete(self, rt: ResourceType, namespace: str, name: str, opts: DeleteOptions) -> tuple[Obj, int, list[str]]:
        """Returns (answer body, HTTP code, warnings)."""
        if rt.read_only:
            raise errors.method_not_allowed("delete", rt.plural, rt.group)
        ns = namespace if rt.namespaced else ""
        entry = self.store.get(rt.key, ns, name)
        if entry is None:
            raise errors.not_found(rt.plural, rt.group, name)
        meta = entry.obj["metadata"]
        if opts.uid and opts.uid != meta.get("uid"):
            raise errors.conflict(
                rt.plural,
                rt.group,
                name,
                f"Precondition failed: UID in precondition: {opts.uid}, UID in object meta: {meta.get('uid')}",
            )
        if opts.resource_version and opts.resource_version != meta.get("resourceVersion"):
            raise errors.conflict(
                rt.plural,
                rt.group,
                name,
                "Precondition failed: ResourceVersion in precondition: "
                f"{opts.resource_version}, ResourceVersion in object meta: "
                f"{meta.get('resourceVersion')}",
            )
        warnings: list[str] = []
        policy = opts.propagation
        if policy is None and rt.key == "batch/jobs":
            policy = "Orphan"
            warnings.append(
                "child pods are preserved by default when jobs are deleted; set "
                "propagationPolicy=Background to remove them or set propagationPolicy=Orphan to "
                "suppress this warning"
            )
        if policy not in (None, "Background", "Foreground", "Orphan"):
            raise errors.invalid(
                "DeleteOptions",
                "",
                "",
                [
                    {
                        "reason": "FieldValueNotSupported",
                        "field": "propagationPolicy",
                        "message": f'Unsupported value: "{policy}": supported values: "Foreground", "Background", '
                        '"Orphan", "nil"',
                    }
                ],
            )
        obj = orjson.loads(entry.raw)
        new_meta = obj["metadata"]
        finalizers = list(new_meta.get("finalizers") or [])
        if policy == "Foreground" and "foregroundDeletion" not in finalizers:
            finalizers.append("foregroundDeletion")
            if "orphan" in finalizers:
                finalizers.remove("orphan")
        elif policy == "Orphan" and "orphan" not in finalizers:
            finalizers.append("orphan")
            if "foregroundDeletion" in finalizers:
                finalizers.remove("foregroundDeletion")
        grace = 0
        if rt.key == "/pods":
            spec = obj.get("spec") or {}
            phase = (obj.get("status") or {}).get("phase")
            if spec.get("nodeName") and phase not in ("Succeeded", "Failed"):
                grace = (
                    opts.grace_period
                    if opts.grace_period is not None
                    else int(spec.get("terminationGracePeriodSeconds", 30))
                )
                if meta.get("deletionTimestamp"):
                    # A second delete may only shorten the grace period.
                    grace = min(grace, int(meta.get("deletionGracePeriodSeconds") or 0))
        pending = bool(finalizers) or grace > 0 or (rt.key == "/namespaces")
        if rt.key == "/namespaces" and name in SYSTEM_NAMESPACES:
            raise errors.forbidden(f'namespaces "{name}" is forbidden: this namespace may not be deleted')
        if opts.dry_run:
            return self._present(rt, entry.obj), 200, warnings
        if not pending:
            deleted = self.store.delete(rt.key, ns, name)
            assert deleted is not None
            self._after_delete(rt, deleted.obj)
            if (rt.group, rt.plural) in _RETURNS_OBJECT or rt.crd is not None:
                return self._present(rt, deleted.obj), 200, warnings
            return _success(rt, name, meta.get("uid", "")), 200, warnings
        if (
            meta.get("deletionTimestamp")
            and finalizers == list(meta.get("finalizers") or [])
            and (rt.key != "/pods" or grace == int(meta.get("deletionGracePeriodSeconds") or 0))
        ):
            return self._present(rt, entry.obj), 200, warnings
        if finalizers:
            new_meta["finalizers"] = finalizers
        if not new_meta.get("deletionTimestamp"):
            new_meta["deletionTimestamp"] = now_rfc3339()
            if rt.generation:
                new_meta["generation"] = int(new_meta.get("generation") or 1) + 1
        new_meta["deletionGracePeriodSeconds"] = grace
        if rt.key == "/namespaces":
            obj.setdefault("status", {})["phase"] = "Terminating"
        if rt.key == "/pods" and grace == 0 and not finalizers:
            deleted = self.store.delete(rt.key, ns, name)
            assert deleted is not None
            return self._present(rt, deleted.obj), 200, warnings
        stored = self.store.put(rt.key, obj)
        return self._present(rt, stored.obj), 200, warnings

    def _after_delete(self, rt: ResourceType, obj: Obj) -> None:
        if rt.key == "apiextensions.k8s.io/customresourcedefinitions":
            self._unserve_crd(obj)

    # CRDs --------------------------------------------------------------------------------

    def _prepare_crd(self, obj: Obj, old: Obj | None) -> None:
        meta = obj["metadata"]
        if old is None:
            finalizers = meta.setdefault("finalizers", [])
            if crds.CLEANUP_FINALIZER not in finalizers:
                finalizers.append(crds.CLEANUP_FINALIZER)
        spec = obj.get("spec") or {}
        names = spec.get("names") or {}
        if names.get("kind") and "listKind" not in names:
            names["listKind"] = names["kind"] + "List"
        if names.get("kind") and "singular" not in names:
            names["singular"] = names["kind"].lower()
        for version in spec.get("versions") or []:
            version.setdefault("served", True)
        spec.setdefault("conversion", {"strategy": "None"})
        obj["status"] = crds.crd_status(obj, now_rfc3339())

    def _serve_crd(self, crd: Obj) -> None:
        types = crds.crd_types(crd)
        for old in self._crd_types(crd["metadata"]["name"]):
            self.schemas.set_crd(old.group, old.version, old.kind, None)
        self.registry.set_crd(crd["metadata"]["name"], types)
        for rt in types:
            self.schemas.set_crd(
                rt.group,
                rt.version,
                rt.kind,
                rt.schema or {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            )

    def _crd_types(self, crd_name: str) -> list[ResourceType]:
        return [rt for rt in self.registry if rt.crd == crd_name]

    def _unserve_crd(self, crd: Obj) -> None:
        old_types = self._crd_types(crd["metadata"]["name"])
        self.registry.set_crd(crd["metadata"]["name"], [])
        for rt in old_types:
            self.schemas.set_crd(rt.group, rt.version, rt.kind, None)
        if old_types and not any(rt.key == old_types[0].key for rt in self.registry):
            self.store.drop_key(old_types[0].key)

    # Bootstrap ---------------------------------------------------------------------------

    def bootstrap(self) -> None:
        """The namespaces every cluster has."""
        ns_type = self.registry.lookup("", "v1", "namespaces")
        assert ns_type is not None
        for name in SYSTEM_NAMESPACES:
            if self.store.get("/namespaces", "", name) is None:
                self.create(ns_type, "", {"metadata": {"name": name}}, WriteOptions(field_manager="tiphys-apiserver"))


def _success(rt: ResourceType, name: str, uid: str) -> Obj:
    details: Obj = {"name": name}
    if rt.group:
        details["group"] = rt.group
    details["kind"] = rt.plural
    details["uid"] = uid
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}


def _spec_changed(old: Obj, new: Obj) -> bool:
    """Anything outside metadata and status changed: what bumps metadata.generation."""
    keys = (set(old) | set(new)) - {"metadata", "status", "apiVersion", "kind"}
    return any(old.get(k) != new.get(k) for k in keys)


def _same_ignoring_managed_time(old: Obj, new: Obj) -> bool:
    if old.keys() != new.keys():
        return False
    for key in old:
        if key == "metadata":
            continue
        if old[key] != new[key]:
            return False
    old_meta, new_meta = old["metadata"], new["metadata"]
    if {k: v for k, v in old_meta.items() if k != "managedFields"} != {
        k: v for k, v in new_meta.items() if k != "managedFields"
    }:
        return False
    return _without_times(old_meta.get("managedFields")) == _without_times(new_meta.get("managedFields"))


def _without_times(entries: list[Obj] | None) -> list[Obj]:
    return [{k: v for k, v in e.items() if k != "time"} for e in entries or ()]
