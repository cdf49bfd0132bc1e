"""Reading and writing the JSON of persisted state: typed field readers and ``metav1.Time``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

__all__ = [
    "JsonObject",
    "format_time",
    "get_bool",
    "get_enum",
    "get_int",
    "get_list",
    "get_object",
    "get_str",
    "get_strs",
    "get_time",
    "parse_time",
    "require_aware",
]

JsonObject = dict[str, Any]
E = TypeVar("E", bound=StrEnum)

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def require_aware(value: datetime, field: str) -> None:
    if value.tzinfo is None:
        raise ValueError(f"{field}: a timezone-aware datetime is required")


def format_time(value: datetime) -> str:
    """``metav1.Time`` on the wire: RFC 3339 in UTC, whole seconds (``2024-05-01T12:00:00Z``)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    if _RFC3339.fullmatch(text) is None:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    return datetime.fromisoformat(text.upper().replace("Z", "+00:00")).astimezone(UTC)


def _get(data: Mapping[str, Any], key: str, expected: type | tuple[type, ...], what: str) -> Any:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ValueError(f"{key}: expected {what}, got {type(value).__name__}")
    return value


def get_str(data: Mapping[str, Any], key: str) -> str:
    value: str | None = _get(data, key, str, "a string")
    return value or ""


def get_int(data: Mapping[str, Any], key: str) -> int:
    value: int | None = _get(data, key, int, "an integer")
    return value or 0


def get_bool(data: Mapping[str, Any], key: str) -> bool:
    value: bool | None = _get(data, key, bool, "a boolean")
    return bool(value)


def get_object(data: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    value: Mapping[str, Any] | None = _get(data, key, Mapping, "an object")
    return value


def get_list(data: Mapping[str, Any], key: str) -> list[Any]:
    value: list[Any] | None = _get(data, key, list, "a list")
    return value or []


def get_strs(data: Mapping[str, Any], key: str) -> tuple[str, ...]:
    items = get_list(data, key)
    if not all(isinstance(item, str) for item in items):
        raise ValueError(f"{key}: expected a list of strings")
    return tuple(items)


def get_enum(data: Mapping[str, Any], key: str, enum: type[E]) -> E | None:
    """An enum field, None when absent or empty (Go's zero value); unknown words are an error."""
    text = get_str(data, key)
    if not text:
        return None
    try:
        return enum(text)
    except ValueError:
        raise ValueError(f"{key}: unknown {enum.__name__} {text!r}") from None


def get_time(data: Mapping[str, Any], key: str) -> datetime | None:
    text = get_str(data, key)
    return parse_time(text) if text else None
