"""From text to validated Kubernetes objects: YAML/JSON documents, Lists, and what makes an object.

Every tool's output ends here: directory files, ``helm template`` and ``kustomize build``. YAML is
read with PyYAML's C loader as YAML 1.1 (what Kubernetes reads), except that timestamps stay
strings, as they do in Kubernetes' own YAML-to-JSON conversion. Empty documents are skipped; an
object with a list in ``items`` is a List and becomes its items, and ``items: null`` becomes
nothing (Argo CD's ``IsList``/``isNullList``). Every error names the file and document.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from tiphys.sources.errors import Reason, SourceError

__all__ = ["NotAnObjectError", "Origin", "check_duplicates", "object_id", "objects_from", "parse_json", "parse_yaml"]

Object = dict[str, Any]


class NotAnObjectError(SourceError):
    """The document is not a Kubernetes object at all (bad syntax, no kind or apiVersion).

    Argo CD skips a file that fails this way from its first document on and does not look like
    a manifest (a stray config file); :mod:`tiphys.sources.directory` does the same.
    """

    def __init__(self, message: str) -> None:
        super().__init__(Reason.INVALID_MANIFEST, message)


@dataclass(frozen=True)
class Origin:
    """Where an object was read: a file (or Helm template), a 1-based document, a List item.

    ``document`` is None for Helm output, where helm reorders a template's documents.
    """

    file: str
    document: int | None = 1
    item: int | None = None

    def __str__(self) -> str:
        where = self.file if self.document is None else f"{self.file}: document {self.document}"
        return where if self.item is None else f"{where}: item {self.item}"


class _Loader(yaml.CSafeLoader):
    """YAML 1.1 as Kubernetes reads it: timestamps are not converted to datetimes."""


def _timestamp_as_string(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    return loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else None


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_string)


def _problem(error: yaml.YAMLError) -> str:
    if isinstance(error, yaml.MarkedYAMLError) and error.problem:
        mark = error.problem_mark
        return f"{error.problem} (line {mark.line + 1})" if mark is not None else error.problem
    return str(error)


def parse_yaml(text: str, file: str) -> Iterator[tuple[Origin, Any]]:
    """Each non-empty document of a YAML stream with its origin; a syntax error names the document."""
    documents = yaml.load_all(text, Loader=_Loader)
    index = 0
    while True:
        index += 1
        try:
            document = next(documents)
        except StopIteration:
            return
        except yaml.YAMLError as e:
            raise NotAnObjectError(f"{file}: document {index}: {_problem(e)}") from e
        if document is not None:
            yield Origin(file, index), document


def parse_json(text: str, file: str) -> Iterator[tuple[Origin, Any]]:
    """The single JSON value of a ``.json`` file (Argo CD allows one object per JSON file)."""
    decoder = json.JSONDecoder()
    try:
        document, end = decoder.raw_decode(text, len(text) - len(text.lstrip()))
    except json.JSONDecodeError as e:
        raise SourceError(Reason.INVALID_MANIFEST, f"{file}: {e.msg} (line {e.lineno})") from e
    if text[end:].strip():
        raise SourceError(
            Reason.INVALID_MANIFEST,
            f"Found multiple objects in {file!r}. Only single objects are allowed in JSON files.",
        )
    if document is not None:
        yield Origin(file), document


def objects_from(origin: Origin, document: Any) -> list[tuple[Origin, Object]]:
    """The objects in one document: itself, or a List's items; each one validated."""
    obj = _mapping(origin, document)
    items = obj.get("items", ())
    if "items" in obj and items is None and "spec" not in obj and "status" not in obj:
        return []  # `kind: ConfigMapList` with `items: null`
    if not isinstance(items, list):
        return [(origin, _validated(origin, obj))]
    found = []
    for number, item in enumerate(items, start=1):
        where = Origin(origin.file, origin.document, number)
        found.append((where, _validated(where, _mapping(where, item))))
    return found


def _mapping(origin: Origin, document: Any) -> Object:
    if not isinstance(document, dict):
        kind = "a list" if isinstance(document, list) else f"a {type(document).__name__} ({document!r:.40})"
        raise NotAnObjectError(f"{origin}: expected a Kubernetes object (a mapping), got {kind}")
    return document


def _validated(origin: Origin, obj: Object) -> Object:
    kind, api_version = obj.get("kind"), obj.get("apiVersion")
    if not isinstance(kind, str) or not kind:
        raise NotAnObjectError(f"{origin}: object has no kind")
    if not isinstance(api_version, str) or not api_version:
        raise NotAnObjectError(f"{origin}: {kind} has no apiVersion")
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict):
        raise SourceError(Reason.INVALID_MANIFEST, f"{origin}: {kind} has no metadata")
    name, generate_name = metadata.get("name"), metadata.get("generateName")
    if not (isinstance(name, str) and name) and not (isinstance(generate_name, str) and generate_name):
        raise SourceError(Reason.INVALID_MANIFEST, f"{origin}: {kind} has no metadata.name (nor generateName)")
    namespace = metadata.get("namespace")
    if namespace is not None and not isinstance(namespace, str):
        raise SourceError(Reason.INVALID_MANIFEST, f"{origin}: {kind} {name}: metadata.namespace must be a string")
    return obj


def object_id(obj: Object) -> str:
    """``group/Kind namespace/name`` (``Kind name`` without group or namespace), for messages."""
    group = obj["apiVersion"].rpartition("/")[0]
    metadata = obj["metadata"]
    name = metadata.get("name") or metadata.get("generateName", "")
    namespace = metadata.get("namespace")
    kind = f"{group}/{obj['kind']}" if group else obj["kind"]
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


def check_duplicates(found: Iterable[tuple[Origin, Object]]) -> None:
    """Refuse two objects with the same group, kind, namespace and name, naming both places.

    The namespace compared is the one written in the manifest: whether an object without one
    lands in the destination namespace is for the engine to decide, with discovery at hand.
    """
    seen: dict[tuple[str, str, str, str], Origin] = {}
    for origin, obj in found:
        metadata = obj["metadata"]
        name = metadata.get("name")
        if not name:
            continue  # generateName: a new object every time
        key = (obj["apiVersion"].rpartition("/")[0], obj["kind"], metadata.get("namespace") or "", name)
        first = seen.setdefault(key, origin)
        if first is not origin:
            raise SourceError(
                Reason.DUPLICATE_OBJECT, f"duplicate object {object_id(obj)}: defined in {first} and in {origin}"
            )
