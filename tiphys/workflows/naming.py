"""Node ids, node names and pod names exactly as upstream derives them (spec §1.3, §1.4, §8.1).

Every name is a pure function of the workflow name and the node's hierarchical name, which is what
lets a restarted controller find the nodes and pods it already made.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

__all__ = [
    "fnv32a",
    "item_description",
    "loop_node_name",
    "node_id",
    "pod_name",
    "retry_child_name",
]

_FNV_OFFSET = 2166136261
_FNV_PRIME = 16777619
_MAX_NAME = 253
_HASH_LEN = 10
_MAX_PREFIX = _MAX_NAME - _HASH_LEN - 1  # upstream keeps 242 characters of "<wf>-<template>"


@lru_cache(maxsize=65536)
def fnv32a(text: str) -> int:
    """32-bit FNV-1a of the UTF-8 bytes (Go's ``hash/fnv.New32a``)."""
    h = _FNV_OFFSET
    for byte in text.encode():
        h = ((h ^ byte) * _FNV_PRIME) & 0xFFFFFFFF
    return h


def node_id(workflow_name: str, node_name: str) -> str:
    """The root node's id is the workflow name; every other node's is ``<wf>-<fnv32a(name)>``."""
    if node_name == workflow_name:
        return workflow_name
    return f"{workflow_name}-{fnv32a(node_name)}"


def pod_name(workflow_name: str, node_name: str, template_name: str, *, version: str = "v2") -> str:
    """v2 pod names: ``<wf>-<template>-<hash>`` (``<wf>`` alone for a single-pod workflow)."""
    if version == "v1":
        return node_id(workflow_name, node_name)
    if node_name == workflow_name:
        return workflow_name
    prefix = f"{workflow_name}-{template_name}" if template_name else workflow_name
    return f"{prefix[:_MAX_PREFIX]}-{fnv32a(node_name)}"


def _go_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def item_description(item: Any) -> str:
    """How a loop item shows in a node name: strings verbatim, maps as sorted ``k:v`` pairs, else JSON."""
    if isinstance(item, Mapping):
        text = ",".join(f"{k}:{_go_value(item[k])}" for k in sorted(item))
    elif isinstance(item, str):
        text = item
    else:
        text = json.dumps(item, separators=(",", ":"))
    return text.replace("(", "").replace(")", "")


def loop_node_name(base: str, index: int, item: Any) -> str:
    """``x(k:<desc>)``: one expansion of a looped step or task."""
    return f"{base}({index}:{item_description(item)})"


def retry_child_name(retry_node_name: str, attempt: int) -> str:
    """``N(n)``: attempt n (from 0) under the Retry node ``N``."""
    return f"{retry_node_name}({attempt})"
