"""Durations as Argo CD writes them: Go's ``time.ParseDuration`` syntax, or bare seconds."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation

__all__ = ["format_duration", "parse_duration", "parse_go_duration"]

_UNIT_NS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # micro sign
    "\u03bcs": 1_000,  # Greek mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_SEGMENT = re.compile(r"([0-9]*(?:\.[0-9]*)?)([^0-9.]+)")
_PLAIN_INT = re.compile(r"[+-]?[0-9]+")


def parse_go_duration(text: str) -> timedelta:
    """Parse ``"1h30m"``, ``"500ms"``, ``"-2.5s"`` like Go; raises ValueError on anything else."""
    rest = text
    sign = 1
    if rest[:1] in ("+", "-"):
        sign = -1 if rest[0] == "-" else 1
        rest = rest[1:]
    if rest == "0":
        return timedelta(0)
    if not rest:
        raise ValueError(f"time: invalid duration {text!r}")
    total_ns = Decimal(0)
    position = 0
    while position < len(rest):
        match = _SEGMENT.match(rest, position)
        if match is None or match.group(1) in ("", ".") or match.group(2) not in _UNIT_NS:
            raise ValueError(f"time: invalid duration {text!r}")
        try:
            total_ns += Decimal(match.group(1)) * _UNIT_NS[match.group(2)]
        except InvalidOperation as e:
            raise ValueError(f"time: invalid duration {text!r}") from e
        position = match.end()
    return sign * timedelta(microseconds=int(total_ns / 1000))


def parse_duration(text: str) -> timedelta:
    """Argo CD's backoff durations: a bare integer is seconds, else a Go duration string."""
    if _PLAIN_INT.fullmatch(text):
        return timedelta(seconds=int(text))
    try:
        return parse_go_duration(text)
    except ValueError:
        raise ValueError(f"unable to parse {text} as a duration") from None


def format_duration(value: timedelta) -> str:
    """A compact form that reads like the user wrote it: ``5m``, ``1m30s``, ``2h``, ``1.5s``."""
    if value < timedelta(0):
        return "-" + format_duration(-value)
    micros = value // timedelta(microseconds=1)
    if micros == 0:
        return "0s"
    hours, micros = divmod(micros, 3_600_000_000)
    minutes, micros = divmod(micros, 60_000_000)
    seconds = Decimal(micros) / Decimal(1_000_000)
    parts = []
    if hours:
        parts.append(f"{hours}h")
    if minutes:
        parts.append(f"{minutes}m")
    if seconds:
        parts.append(f"{seconds.normalize():f}s")
    return "".join(parts)
