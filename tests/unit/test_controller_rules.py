"""Small rules the built-in controllers share or own: selectors, quantities, schedules, allocation."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from typing import Any

import pytest

from tiphys.cluster.controllers import _meta, cronjobs, services, volumes

NOW = datetime(2026, 1, 1, 12, 30, 20, tzinfo=UTC)


@pytest.mark.parametrize(
    "selector, labels, expected",
    [
        pytest.param(None, {"a": "1"}, False, id="missing-selects-nothing"),
        pytest.param({}, {"a": "1"}, True, id="empty-selects-everything"),
        pytest.param({"matchLabels": {"a": "1"}}, {"a": "1", "b": "2"}, True, id="match-labels"),
        pytest.param({"matchLabels": {"a": "1"}}, {"a": "2"}, False, id="wrong-value"),
        pytest.param(
            {"matchExpressions": [{"key": "a", "operator": "In", "values": ["1", "2"]}]}, {"a": "2"}, True, id="in"
        ),
        pytest.param(
            {"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {}, True, id="notin-absent"
        ),
        pytest.param({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {}, False, id="exists"),
        pytest.param({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {}, True, id="does-not-exist"),
    ],
)
def test_label_selectors(selector: Any, labels: dict[str, str], expected: bool):
    assert _meta.selector_matches(selector, labels) is expected


@pytest.mark.parametrize(
    "value, total, round_up, expected",
    [
        pytest.param("25%", 3, True, 1, id="up"),
        pytest.param("25%", 3, False, 0, id="down"),
        pytest.param("50%", 5, True, 3, id="half-up"),
        pytest.param(2, 5, True, 2, id="absolute"),
        pytest.param("2", 5, False, 2, id="numeric-string"),
    ],
)
def test_int_or_percent(value: Any, total: int, round_up: bool, expected: int):
    assert _meta.int_or_percent(value, total, round_up=round_up) == expected


def test_safe_encode_uses_upstreams_alphabet():
    # rand.SafeEncodeString("0123456789") maps each byte code modulo 27 into the alphabet.
    assert _meta.safe_encode("0123456789") == "456789bcdf"


@pytest.mark.parametrize(
    "schedule, earliest, expected",
    [
        pytest.param("* * * * *", "2026-01-01T12:28:00Z", "2026-01-01T12:30:00Z", id="latest-missed-minute"),
        pytest.param("*/15 * * * *", "2026-01-01T12:00:00Z", "2026-01-01T12:30:00Z", id="quarter-hours"),
        pytest.param("0 * * * *", "2026-01-01T12:00:00Z", None, id="nothing-due"),
        pytest.param("@hourly", "2026-01-01T10:59:00Z", "2026-01-01T12:00:00Z", id="descriptor"),
    ],
)
def test_most_recent_schedule(schedule: str, earliest: str, expected: str | None):
    expr, zone = cronjobs.parse_schedule(schedule, None)
    recent, following = cronjobs.most_recent_schedule(expr, zone, _meta.parse_time(earliest), NOW)  # type: ignore[arg-type]
    assert (recent and _meta.format_time(recent)) == expected
    assert following > NOW


@pytest.mark.parametrize("schedule", ["* * * *", "61 * * * *", "* * * * * *", "TZ=Nowhere/Land * * * * *"])
def test_unparseable_schedules(schedule: str):
    with pytest.raises(ValueError):
        cronjobs.parse_schedule(schedule, None)


def test_a_time_zone_moves_the_schedule():
    expr, zone = cronjobs.parse_schedule("0 9 * * *", "Europe/Paris")
    _, following = cronjobs.most_recent_schedule(expr, zone, NOW, NOW)
    assert _meta.format_time(following) == "2026-01-02T08:00:00Z"


def test_job_names_count_minutes_since_the_epoch():
    cj = {"metadata": {"name": "backup"}}
    assert cronjobs.job_name(cj, datetime(2026, 1, 1, 12, 30, tzinfo=UTC)) == f"backup-{1767270600 // 60}"


def test_history_keeps_the_newest_finished_jobs():
    def finished(name: str, kind: str, minute: int) -> dict[str, Any]:
        start = f"2026-01-01T10:{minute:02d}:00Z"
        return {
            "metadata": {"name": name},
            "status": {"startTime": start, "conditions": [{"type": kind, "status": "True"}]},
        }

    jobs = [
        finished("a", "Complete", 1),
        finished("b", "Complete", 2),
        finished("c", "Failed", 3),
        finished("d", "Failed", 4),
    ]
    cj = {"spec": {"successfulJobsHistoryLimit": 1, "failedJobsHistoryLimit": 0}}
    assert [j["metadata"]["name"] for j in cronjobs.history_to_delete(cj, jobs)] == ["a", "c", "d"]


def test_cluster_ips_avoid_the_static_band_and_taken_addresses():
    rng = random.Random(7)
    taken: set[str] = set()
    for _ in range(50):
        ip = services.allocate_cluster_ip(taken, rng)
        assert ip not in taken
        taken.add(ip)
        assert not ip.startswith("10.96.0.")
    port = services.allocate_node_port({30000}, rng)
    assert 30000 < port <= 32767


@pytest.mark.parametrize(
    "text, expected",
    [("1Gi", 2**30), ("500M", 5e8), ("100m", 0.1), ("1e3", 1000.0), ("junk", 0.0)],
)
def test_quantities(text: str, expected: float):
    assert volumes.quantity(text) == pytest.approx(expected)


def test_a_volume_matches_a_claim_by_class_modes_size_and_selector():
    claim = {
        "metadata": {"name": "c", "namespace": "n", "uid": "u"},
        "spec": {
            "storageClassName": "",
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}},
            "selector": {"matchLabels": {"disk": "fast"}},
        },
    }
    volume = {
        "metadata": {"name": "v", "labels": {"disk": "fast"}},
        "spec": {
            "storageClassName": "",
            "accessModes": ["ReadWriteOnce", "ReadOnlyMany"],
            "capacity": {"storage": "2Gi"},
        },
        "status": {"phase": "Available"},
    }
    assert volumes.matches(claim, volume)
    assert not volumes.matches(claim, {**volume, "spec": {**volume["spec"], "capacity": {"storage": "512Mi"}}})
    assert not volumes.matches(claim, {**volume, "spec": {**volume["spec"], "storageClassName": "standard"}})
    assert not volumes.matches(claim, {**volume, "metadata": {"name": "v", "labels": {}}})
    taken = {**volume, "spec": {**volume["spec"], "claimRef": {"namespace": "n", "name": "other"}}}
    assert not volumes.matches(claim, taken)


async def test_controller_timers_keep_the_earliest_and_fire_once():
    from tiphys.cluster.controllers.base import Controller

    class Store:
        def listen(self, _: Any, keys: Any = None, *, added: bool = True) -> None:
            pass

    class API:
        store = Store()

    controller = Controller(API())  # type: ignore[arg-type]
    controller.enqueue_after("k", 0.05)
    controller.enqueue_after("k", 10)  # later: ignored
    await asyncio.sleep(0.1)
    assert controller._queued == {"k"}
    await controller.stop()
