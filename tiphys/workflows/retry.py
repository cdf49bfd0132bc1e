"""retryStrategy decisions (spec §5, upstream ``processNodeRetries``), a pure function of the attempts."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from . import expr
from .model import NodePhase, parse_seconds, parse_time

__all__ = ["RetryDecision", "RetryVerdict", "decide_retry", "humanize"]

_TRANSIENT = re.compile(
    r"exceeded quota|etcdserver: request timed out|connection reset by peer|http2: client connection lost|"
    r"TLS handshake timeout|i/o timeout|connection timed out|unexpected EOF|no such host|"
    r"context deadline exceeded|Client\.Timeout exceeded|net/http: request canceled|ServerTimeout|"
    r"TooManyRequests|the object has been modified|connection refused"
)


class RetryVerdict(StrEnum):
    DONE = "done"  # the Retry node takes `phase` and `message`
    WAIT = "wait"  # backoff: stay Running with `message`, come back at `wait_until`
    RETRY = "retry"  # create the next attempt now


@dataclass(frozen=True)
class RetryDecision:
    verdict: RetryVerdict
    phase: NodePhase | None = None
    message: str = ""
    wait_until: datetime | None = None


def humanize(delta: timedelta) -> str:
    """``2 seconds``, ``1 minute 30 seconds`` (upstream's humanized backoff)."""
    total = round(delta.total_seconds())
    parts = []
    for unit, size in (("hour", 3600), ("minute", 60), ("second", 1)):
        n, total = divmod(total, size)
        if n:
            parts.append(f"{n} {unit}{'s' if n != 1 else ''}")
    return " ".join(parts) or "0 seconds"


def _policy_allows(policy: str, attempt: Mapping[str, Any]) -> bool:
    phase = attempt.get("phase")
    if policy == "Always":
        return phase in (NodePhase.FAILED, NodePhase.ERROR)
    if policy == "OnError":
        return phase == NodePhase.ERROR
    if policy == "OnTransientError":
        return phase in (NodePhase.FAILED, NodePhase.ERROR) and bool(_TRANSIENT.search(attempt.get("message", "")))
    return phase == NodePhase.FAILED


def _last_retry_env(attempt: Mapping[str, Any]) -> dict[str, Any]:
    outputs = attempt.get("outputs") or {}
    started, finished = parse_time(attempt.get("startedAt")), parse_time(attempt.get("finishedAt"))
    duration = (finished - started).total_seconds() if started and finished else 0.0
    return {
        "lastRetry": {
            "exitCode": str(outputs.get("exitCode", "-1")),
            "status": attempt.get("phase", ""),
            "duration": str(int(duration)) if duration.is_integer() else str(duration),
            "message": attempt.get("message", ""),
        }
    }


def decide_retry(
    strategy: Mapping[str, Any],
    attempts: Sequence[Mapping[str, Any]],
    *,
    now: datetime,
    deadline_passed: bool = False,
    deadline_text: str = "",
    shutdown: str = "",
) -> RetryDecision:
    """What a Retry node does once its latest attempt is fulfilled."""
    last = attempts[-1]
    last_phase = NodePhase(last["phase"])
    last_message = last.get("message", "")
    if last_phase == NodePhase.SUCCEEDED or not last_phase.failed:
        return RetryDecision(RetryVerdict.DONE, last_phase, last_message)
    if shutdown:
        return RetryDecision(RetryVerdict.DONE, last_phase, f"Stopped with strategy '{shutdown}'")
    if deadline_passed:
        return RetryDecision(RetryVerdict.DONE, last_phase, f"retry exceeded workflow deadline {deadline_text}")
    backoff = strategy.get("backoff") or {}
    first_started = parse_time(attempts[0].get("startedAt")) or now
    max_duration = parse_seconds(backoff["maxDuration"]) if backoff.get("maxDuration") else None
    if max_duration is not None and now > first_started + max_duration:
        return RetryDecision(RetryVerdict.DONE, last_phase, "Max duration limit exceeded")
    expression = strategy.get("expression")
    policy = strategy.get("retryPolicy") or ("Always" if expression else "OnFailure")
    if not _policy_allows(str(policy), last):
        return RetryDecision(RetryVerdict.DONE, last_phase, last_message)
    limit = strategy.get("limit")
    if limit is not None and limit != "" and len(attempts) > int(limit):
        return RetryDecision(RetryVerdict.DONE, last_phase, "No more retries left")
    if expression:
        try:
            keep = expr.evaluate(str(expression), _last_retry_env(last))
        except expr.ExprError as e:
            return RetryDecision(RetryVerdict.DONE, NodePhase.ERROR, f"failed to evaluate expression: {e}")
        if keep is not True:
            return RetryDecision(RetryVerdict.DONE, last_phase, "retryStrategy.expression evaluated to false")
    if backoff.get("duration"):
        wait = parse_seconds(backoff["duration"])
        factor = float(backoff.get("factor") or 0)
        if factor:
            wait = wait * factor ** (len(attempts) - 1)
        if backoff.get("cap"):
            wait = min(wait, parse_seconds(backoff["cap"]))
        finished = parse_time(last.get("finishedAt")) or now
        resume_at = finished + wait
        if max_duration is not None and resume_at > first_started + max_duration:
            return RetryDecision(RetryVerdict.DONE, last_phase, "Backoff would exceed max duration limit")
        if now < resume_at:
            return RetryDecision(RetryVerdict.WAIT, NodePhase.RUNNING, f"Backoff for {humanize(wait)}", resume_at)
    return RetryDecision(RetryVerdict.RETRY)
