"""``{{…}}`` substitution (spec §3.3, §3.4): simple tags from a flat map, ``{{=expr}}`` through ``expr``.

Substitution works on the JSON text of an object, like upstream, so a substituted value is
JSON-string-escaped: quotes and newlines survive as data. A scope maps dotted names to strings;
the ``ABSENT`` marker stands for the output of a producer that never ran (§3.4 rule 4).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final

import orjson

from . import expr

__all__ = [
    "ABSENT",
    "VALIDATED_ROOTS",
    "Absent",
    "SubstitutionError",
    "Unresolved",
    "expression_env",
    "find_tags",
    "substitute_object",
    "substitute_text",
]


class Absent:
    """The value of an output whose producer was Skipped or Omitted and declares no default."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Final = Absent()
Scope = Mapping[str, "str | Absent"]

# Tags with these roots must resolve at validation time; any other root is left as written.
VALIDATED_ROOTS = ("item", "steps.", "inputs.", "outputs.", "pod.", "workflow.", "tasks.")

_TAG = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)


class SubstitutionError(Exception):
    """A tag that cannot be substituted; the message is upstream's."""


class Unresolved(SubstitutionError):
    """A ``tasks.``/``steps.`` reference (or expression name) that is not available yet: wait and retry."""


def find_tags(text: str) -> list[str]:
    """The inner text of every ``{{…}}`` tag, as written."""
    return [m.group(1) for m in _TAG.finditer(text)]


def _expand(scope: Scope) -> dict[str, Any]:
    """Dotted keys as nested maps (``tasks.A.outputs.result`` -> tasks -> A -> outputs -> result)."""
    root: dict[str, Any] = {}
    for key in sorted(scope, key=lambda k: k.count(".")):
        value = scope[key]
        parts = key.split(".")
        node = root
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        leaf = parts[-1]
        if not isinstance(node.get(leaf), dict):
            node[leaf] = None if isinstance(value, Absent) else value
    return root


def expression_env(scope: Scope, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The environment an expression sees: the scope expanded into maps, plus ``extra`` values."""
    env = _expand(scope)
    if extra:
        env.update(extra)
    return env


class _Keep(Exception):
    """An expression naming something this scope does not have: leave the tag for a later pass."""


def _evaluate(
    source: str, scope: Scope, env_extra: Mapping[str, Any] | None, wait_roots: tuple[str, ...], lenient: bool
) -> str:
    try:
        value = expr.evaluate(source, expression_env(scope, env_extra))
    except expr.Missing as e:
        if lenient:
            raise _Keep from e
        if e.name in wait_roots:
            raise Unresolved(f"failed to evaluate expression: {e}") from e
        raise SubstitutionError(f"failed to evaluate expression: {e}") from e
    except expr.ExprError as e:
        if wait_roots and any(f"{root}" in source for root in wait_roots) and "from nil" in str(e):
            raise Unresolved(f"failed to evaluate expression: {e}") from e
        raise SubstitutionError(f"failed to evaluate expression: {e}") from e
    return expr.format_value(value)


def substitute_text(
    text: str,
    scope: Scope,
    *,
    strict: bool = False,
    env_extra: Mapping[str, Any] | None = None,
    wait_roots: tuple[str, ...] = (),
    escape: bool = False,
    lenient: bool = False,
) -> str:
    """Replace every tag of ``text``.

    Unknown simple tags are kept as written unless ``strict`` and their root is validated, or
    they start with one of ``wait_roots`` (``tasks.``, ``steps.``): then ``Unresolved``. With
    ``escape`` the values are JSON-string-escaped (the text is a JSON serialisation).
    """

    def replace(m: re.Match[str]) -> str:
        inner = m.group(1)
        tag = inner.strip()
        if tag.startswith("="):
            source = tag[1:]
            if escape:
                source = json.loads(f'"{source}"')
            try:
                value = _evaluate(source, scope, env_extra, tuple(r.rstrip(".") for r in wait_roots), lenient)
            except _Keep:
                return m.group(0)
            return json.dumps(value)[1:-1] if escape else value
        if tag in scope:
            found = scope[tag]
            if isinstance(found, Absent):
                raise SubstitutionError(
                    f"unable to substitute {{{{{inner}}}}}: output is an absent optional "
                    "(skipped/omitted node with no default)"
                )
            return json.dumps(found)[1:-1] if escape else found
        if any(tag.startswith(root) for root in wait_roots):
            raise Unresolved(f"failed to resolve {{{{{inner}}}}}")
        if strict and (tag == "item" or any(tag.startswith(root) for root in VALIDATED_ROOTS)):
            raise SubstitutionError(f"failed to resolve {{{{{inner}}}}}")
        return m.group(0)

    return _TAG.sub(replace, text)


def substitute_object(
    obj: Any,
    scope: Scope,
    *,
    strict: bool = False,
    env_extra: Mapping[str, Any] | None = None,
    wait_roots: tuple[str, ...] = (),
    lenient: bool = False,
) -> Any:
    """Substitute inside any JSON-able object, through its JSON text (upstream's way)."""
    try:
        text = orjson.dumps(obj).decode()
    except TypeError:  # a non-string key (YAML allows them): the slower encoder copes
        text = json.dumps(obj, ensure_ascii=False)
    if "{{" not in text:
        return obj
    out = substitute_text(
        text, scope, strict=strict, env_extra=env_extra, wait_roots=wait_roots, escape=True, lenient=lenient
    )
    try:
        return orjson.loads(out)
    except orjson.JSONDecodeError as e:
        raise SubstitutionError("cannot finish template replacement because the result was invalid JSON") from e
