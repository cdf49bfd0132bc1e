"""The kubelet's small rules, as pure functions: restarts, back-off, annotations, exit reasons.

Back-off follows upstream's ``flowcontrol.Backoff`` as the kubelet uses it: the first restart
is immediate, then 10s, 20s, 40s… capped at 300s, and a container that ran for more than
twice the cap starts over. Times are plain seconds from the caller's clock.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "NETWORK_ANNOTATION",
    "SIMULATE_ANNOTATION",
    "Backoff",
    "Simulation",
    "exit_reason",
    "go_duration",
    "isolated_network",
    "parse_duration",
    "parse_simulation",
    "restart_wanted",
]

NETWORK_ANNOTATION = "tiphys.io/pod-network"
SIMULATE_ANNOTATION = "tiphys.io/simulate"
INITIAL_BACKOFF = 10.0
MAX_BACKOFF = 300.0
# How long a simulated run-to-completion container runs when no annotation says otherwise.
SIMULATED_RUN = 0.5

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def restart_wanted(policy: str, exit_code: int) -> bool:
    """Whether a container that exited with ``exit_code`` is started again."""
    if policy == "Always":
        return True
    if policy == "OnFailure":
        return exit_code != 0
    return False


def exit_reason(exit_code: int) -> str:
    """The terminated reason the runtime reports for an exit code (no memory limits: never OOMKilled)."""
    return "Completed" if exit_code == 0 else "Error"


class Backoff:
    """One container's restart back-off (upstream ``flowcontrol.Backoff`` keyed per container)."""

    def __init__(self, initial: float = INITIAL_BACKOFF, cap: float = MAX_BACKOFF) -> None:
        self.initial = initial
        self.cap = cap
        self.duration: float | None = None
        self.last_update = 0.0

    def current(self) -> float:
        """The back-off now in force, as the ``back-off 10s restarting …`` message states it."""
        return self.duration if self.duration is not None else self.initial

    def delay(self, *, finished: float, now: float) -> float:
        """Seconds to wait, from ``now``, before restarting a container that exited at ``finished``."""
        if self.duration is None or now - self.last_update > 2 * self.cap:
            return 0.0
        return max(0.0, finished + self.duration - now)

    def restarted(self, now: float) -> None:
        """Record a restart: the next back-off doubles, up to the cap."""
        if self.duration is None or now - self.last_update > 2 * self.cap:
            self.duration = self.initial
        else:
            self.duration = min(self.duration * 2, self.cap)
        self.last_update = now


def go_duration(seconds: float) -> str:
    """Whole seconds the way Go prints a ``time.Duration``: ``10s``, ``1m20s``, ``5m0s``."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def parse_duration(text: str) -> float:
    """Go durations (``2s``, ``1m30s``, ``500ms``) or plain seconds; ``ValueError`` otherwise."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    total, position = 0.0, 0
    for match in _DURATION_PART.finditer(text):
        if match.start() != position:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if position != len(text) or not text:
        raise ValueError(f'invalid duration "{text}"')
    return total


@dataclass(frozen=True)
class Simulation:
    """How a simulated container behaves: exit code and run time (None: runs until stopped)."""

    exit_code: int = 0
    after: float | None = SIMULATED_RUN
    error: str = ""  # why the annotation was ignored


def parse_simulation(annotations: Mapping[str, str], restart_policy: str) -> Simulation:
    """Read ``tiphys.io/simulate: "exit=1,after=2s"``; Always pods run until stopped by default."""
    raw = annotations.get(SIMULATE_ANNOTATION)
    default = Simulation(after=None) if restart_policy == "Always" else Simulation()
    if not raw:
        return default
    exit_code: int | None = None
    after: float | None = None
    try:
        for part in raw.split(","):
            if not part.strip():
                continue
            key, sep, value = part.partition("=")
            key = key.strip()
            if not sep:
                raise ValueError(f'expected key=value, got "{part.strip()}"')
            if key == "exit":
                exit_code = int(value)
                if not 0 <= exit_code <= 255:
                    raise ValueError(f"exit code {exit_code} is not between 0 and 255")
            elif key == "after":
                after = parse_duration(value)
            else:
                raise ValueError(f'unknown key "{key}" (known: exit, after)')
    except ValueError as exc:
        return Simulation(default.exit_code, default.after, f"{SIMULATE_ANNOTATION}: {exc}")
    if exit_code is None and after is None:
        return default
    return Simulation(exit_code or 0, after if after is not None else SIMULATED_RUN)


def isolated_network(annotations: Mapping[str, str]) -> bool:
    """``tiphys.io/pod-network: none`` gives the pod a network namespace of its own (loopback only)."""
    return annotations.get(NETWORK_ANNOTATION, "").strip().lower() == "none"
