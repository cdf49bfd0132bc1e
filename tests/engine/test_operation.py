"""The requested operation and its retry strategy (spec §7.4, §11, §13.2, §13.3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tiphys.engine import (
    DEFAULT_AUTOMATED_RETRY,
    Backoff,
    Info,
    Operation,
    OperationInitiator,
    ResourceKey,
    RetryStrategy,
    SyncOperation,
    SyncOperationResource,
    SyncStrategy,
    SyncStrategyType,
)
from tiphys.engine._durations import format_duration, parse_duration, parse_go_duration


def test_sync_operation_round_trip_and_names():
    data = {
        "revision": "main",
        "prune": True,
        "dryRun": True,
        "syncStrategy": {"apply": {"force": True}},
        "resources": [
            {"group": "apps", "kind": "Deployment", "name": "web"},
            {"kind": "Service", "name": "web", "namespace": "x"},
        ],
        "source": {"repoURL": "https://example.com/r.git"},
        "manifests": ["kind: ConfigMap"],
        "syncOptions": ["Validate=false", "Prune=confirm"],
        "sources": [{"repoURL": "a"}],
        "revisions": ["a", "b"],
        "autoHealAttemptsCount": 2,
    }
    sync = SyncOperation.from_json(data)
    assert sync.to_json() == data
    assert sync.is_apply_strategy and sync.force and sync.selective and sync.skip_hooks and sync.dry_run
    assert sync.has_option("Validate=false")
    assert not sync.has_option("Validate")
    assert sync.option_value("Prune") == "confirm"
    assert sync.option_value("Replace") is None


def test_default_sync_operation():
    sync = SyncOperation()
    assert sync.to_json() == {}
    assert not sync.skip_hooks and not sync.force and not sync.is_apply_strategy


@pytest.mark.parametrize(
    "data, strategy",
    [
        pytest.param({"hook": {}}, SyncStrategy(SyncStrategyType.HOOK), id="hook"),
        pytest.param({"hook": {"force": True}}, SyncStrategy(SyncStrategyType.HOOK, force=True), id="hook-force"),
        pytest.param({"apply": {}}, SyncStrategy(SyncStrategyType.APPLY), id="apply"),
        pytest.param({"apply": {}, "hook": {"force": True}}, SyncStrategy(SyncStrategyType.APPLY), id="apply-first"),
        pytest.param({}, SyncStrategy(), id="empty-is-hook"),
    ],
)
def test_sync_strategy(data, strategy):
    assert SyncStrategy.from_json(data) == strategy


@pytest.mark.parametrize(
    "resource, key, matches",
    [
        pytest.param(
            SyncOperationResource("Deployment", "web", "apps"),
            ResourceKey("apps", "Deployment", "a", "web"),
            True,
            id="any-ns",
        ),
        pytest.param(
            SyncOperationResource("Deployment", "web", "apps", "b"),
            ResourceKey("apps", "Deployment", "a", "web"),
            False,
            id="ns",
        ),
        pytest.param(
            SyncOperationResource("Deployment", "web"), ResourceKey("apps", "Deployment", "a", "web"), False, id="group"
        ),
        pytest.param(SyncOperationResource("Service", "web"), ResourceKey("", "Service", "a", "web"), True, id="core"),
    ],
)
def test_selective_sync_matching(resource, key, matches):
    assert resource.matches(key) is matches


def test_operation_json_keeps_go_struct_fields():
    operation = Operation(sync=SyncOperation(revision="r"))
    assert operation.to_json() == {"sync": {"revision": "r"}, "initiatedBy": {}, "retry": {}}
    full = Operation(
        sync=SyncOperation(),
        initiated_by=OperationInitiator("bob", automated=True),
        info=(Info("reason", "deploy"),),
        retry=RetryStrategy(limit=-1, backoff=Backoff("10", 3, "1h"), refresh=True),
    )
    data = full.to_json()
    assert data == {
        "sync": {},
        "initiatedBy": {"username": "bob", "automated": True},
        "info": [{"name": "reason", "value": "deploy"}],
        "retry": {"limit": -1, "backoff": {"duration": "10", "factor": 3, "maxDuration": "1h"}, "refresh": True},
    }
    assert Operation.from_json(data) == full
    assert Operation.from_json({}) == Operation()


T0 = datetime(2024, 1, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    "strategy, count, wait",
    [
        pytest.param(RetryStrategy(limit=5), 0, timedelta(seconds=5), id="default-first"),
        pytest.param(RetryStrategy(limit=5), 1, timedelta(seconds=10), id="default-second-as-resumed"),
        pytest.param(RetryStrategy(limit=5), 3, timedelta(seconds=40), id="default-doubles"),
        pytest.param(RetryStrategy(limit=5), 10, timedelta(minutes=3), id="default-capped-at-3m"),
        pytest.param(RetryStrategy(backoff=Backoff("2m", 1)), 4, timedelta(minutes=2), id="factor-one"),
        pytest.param(RetryStrategy(backoff=Backoff("7")), 0, timedelta(seconds=7), id="bare-seconds"),
        pytest.param(RetryStrategy(backoff=Backoff("500ms", 3, "1s")), 2, timedelta(seconds=1), id="custom-cap"),
        pytest.param(RetryStrategy(backoff=Backoff("1s", 10, "0")), 3, timedelta(seconds=1000), id="no-cap-when-zero"),
    ],
)
def test_next_retry_at(strategy, count, wait):
    assert strategy.next_retry_at(T0, count) == T0 + wait


def test_next_retry_at_rejects_bad_durations():
    with pytest.raises(ValueError, match="unable to parse soon as a duration"):
        RetryStrategy(backoff=Backoff("soon")).next_retry_at(T0, 0)


@pytest.mark.parametrize(
    "limit, count, allowed",
    [
        pytest.param(0, 0, False, id="zero-never"),
        pytest.param(2, 1, True, id="below-limit"),
        pytest.param(2, 2, False, id="at-limit"),
        pytest.param(-1, 100, True, id="negative-unlimited"),
    ],
)
def test_allows_retry(limit, count, allowed):
    assert RetryStrategy(limit=limit).allows_retry(count) is allowed


def test_automated_default_retries_five_times():
    assert RetryStrategy(limit=5) == DEFAULT_AUTOMATED_RETRY


@pytest.mark.parametrize(
    "text, value",
    [
        pytest.param("0", timedelta(0), id="zero"),
        pytest.param("1h30m", timedelta(hours=1, minutes=30), id="compound"),
        pytest.param("1.5s", timedelta(seconds=1.5), id="fraction"),
        pytest.param(".5m", timedelta(seconds=30), id="leading-dot"),
        pytest.param("-2s", timedelta(seconds=-2), id="negative"),
        pytest.param("250ms", timedelta(milliseconds=250), id="millis"),
        pytest.param("3us", timedelta(microseconds=3), id="micros"),
        pytest.param("3\u00b5s", timedelta(microseconds=3), id="micro-sign"),
    ],
)
def test_go_durations(text, value):
    assert parse_go_duration(text) == value


@pytest.mark.parametrize("text", ["", "5", "5x", "s", ".s", "1h 30m", "1d", "+"])
def test_bad_go_durations(text):
    with pytest.raises(ValueError):
        parse_go_duration(text)


def test_argo_durations_accept_bare_seconds():
    assert parse_duration("90") == timedelta(seconds=90)
    assert parse_duration("90s") == timedelta(seconds=90)


@pytest.mark.parametrize(
    "value, text",
    [
        pytest.param(timedelta(minutes=5), "5m", id="minutes"),
        pytest.param(timedelta(seconds=90), "1m30s", id="mixed"),
        pytest.param(timedelta(hours=2), "2h", id="hours"),
        pytest.param(timedelta(seconds=1.5), "1.5s", id="fraction"),
        pytest.param(timedelta(0), "0s", id="zero"),
        pytest.param(timedelta(seconds=-3), "-3s", id="negative"),
    ],
)
def test_format_duration(value, text):
    assert format_duration(value) == text
