"""The kubelet's small rules: restarts, back-off, the simulate annotation, durations, QoS classes."""

from __future__ import annotations

import pytest

from tiphys.cluster.kubelet.policy import (
    Backoff,
    Simulation,
    go_duration,
    parse_duration,
    parse_simulation,
    restart_wanted,
)
from tiphys.cluster.kubelet.quantities import parse_quantity, qos_class, resource_field_value


@pytest.mark.parametrize(
    "policy, code, expected",
    [
        ("Always", 0, True),
        ("Always", 1, True),
        ("OnFailure", 0, False),
        ("OnFailure", 2, True),
        ("Never", 0, False),
        ("Never", 1, False),
    ],
)
def test_restart_wanted(policy, code, expected):
    assert restart_wanted(policy, code) is expected


def test_backoff_restarts_at_once_then_doubles_from_ten_seconds_to_the_cap():
    backoff, now, delays = Backoff(), 0.0, []
    for _ in range(8):
        finished = now  # every run crashes at once
        delay = backoff.delay(finished=finished, now=now)
        delays.append(delay)
        now += delay
        backoff.restarted(now)
    assert delays == [0, 10, 20, 40, 80, 160, 300, 300]


def test_backoff_starts_over_after_a_long_run():
    backoff = Backoff()
    backoff.restarted(0)
    backoff.restarted(10)
    assert backoff.current() == 20
    assert backoff.delay(finished=700, now=700) == 0  # ran for more than twice the cap
    backoff.restarted(700)
    assert backoff.current() == 10


@pytest.mark.parametrize("seconds, text", [(10, "10s"), (80, "1m20s"), (300, "5m0s"), (3700, "1h1m40s"), (0, "0s")])
def test_go_duration(seconds, text):
    assert go_duration(seconds) == text


@pytest.mark.parametrize(
    "text, seconds",
    [("2s", 2), ("500ms", 0.5), ("1m30s", 90), ("1h", 3600), ("1.5", 1.5), ("0", 0)],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "2x", "s", "1s2", "-1s"])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    "annotation, policy, expected",
    [
        pytest.param(None, "Always", Simulation(0, None), id="always-runs-until-stopped"),
        pytest.param(None, "Never", Simulation(0, 0.5), id="run-to-completion-exits-0"),
        pytest.param("exit=1,after=2s", "Never", Simulation(1, 2.0), id="both"),
        pytest.param("exit=3", "OnFailure", Simulation(3, 0.5), id="exit-only"),
        pytest.param("after=1m", "Always", Simulation(0, 60.0), id="after-only"),
        pytest.param(" exit = 2 , after = 100ms ", "Never", Simulation(2, 0.1), id="spaces"),
    ],
)
def test_parse_simulation(annotation, policy, expected):
    annotations = {"tiphys.io/simulate": annotation} if annotation is not None else {}
    assert parse_simulation(annotations, policy) == expected


@pytest.mark.parametrize("annotation", ["exit=x", "exit=300", "after=soon", "speed=2", "exit"])
def test_a_bad_simulate_annotation_falls_back_with_an_error(annotation):
    simulation = parse_simulation({"tiphys.io/simulate": annotation}, "Never")
    assert (simulation.exit_code, simulation.after) == (0, 0.5)
    assert simulation.error.startswith("tiphys.io/simulate: ")


@pytest.mark.parametrize(
    "text, value",
    [("500m", "0.5"), ("2", "2"), ("128Mi", str(128 * 2**20)), ("1G", "1000000000"), ("1e3", "1000"), ("1.5Gi", None)],
)
def test_parse_quantity(text, value):
    parsed = parse_quantity(text)
    assert parsed == (parse_quantity(value) if value else 1.5 * 2**30)


def resources(requests=None, limits=None):
    return {
        "name": "c",
        "resources": {**({"requests": requests} if requests else {}), **({"limits": limits} if limits else {})},
    }


@pytest.mark.parametrize(
    "containers, expected",
    [
        pytest.param([{"name": "c"}], "BestEffort", id="nothing"),
        pytest.param([resources(limits={"cpu": "1", "memory": "1Gi"})], "Guaranteed", id="limits-only"),
        pytest.param(
            [resources({"cpu": "1000m", "memory": "1Gi"}, {"cpu": "1", "memory": "1024Mi"})],
            "Guaranteed",
            id="equal-in-other-units",
        ),
        pytest.param([resources({"cpu": "500m"}, {"cpu": "1", "memory": "1Gi"})], "Burstable", id="less-cpu"),
        pytest.param([resources({"memory": "1Gi"})], "Burstable", id="requests-only"),
        pytest.param([resources(limits={"cpu": "1", "memory": "1Gi"}), {"name": "d"}], "Burstable", id="one-unbounded"),
    ],
)
def test_qos_class(containers, expected):
    assert qos_class({"containers": containers}) == expected


def test_resource_field_values_divide_round_up_and_default_to_allocatable():
    c = resources({"memory": "100Mi"}, {"cpu": "250m"})
    assert resource_field_value(c, "limits.cpu", None, {"cpu": "4"}) == "1"
    assert resource_field_value(c, "limits.cpu", "1m", {"cpu": "4"}) == "250"
    assert resource_field_value(c, "requests.memory", "1Mi", {}) == "100"
    assert resource_field_value(c, "limits.memory", "1Gi", {"memory": "2097152Ki"}) == "2"
    assert resource_field_value(c, "requests.cpu", None, {}) == "0"
