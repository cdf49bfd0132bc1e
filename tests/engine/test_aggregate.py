"""An Application's health from its resources (spec §12.4)."""

from __future__ import annotations

import pytest

from tiphys.engine import HealthResult, HealthStatus, app_health
from tiphys.engine.annotations import HOOK, IGNORE_HEALTHCHECK
from tiphys.engine.health import application_health, caused_by
from tiphys.engine.objects import ResourceKey

from .builders import obj


def deployment(name, *, ready=True, paused=False, annotations=None):
    status = {"replicas": 1, "updatedReplicas": 1, "availableReplicas": 1 if ready else 0}
    spec = {"replicas": 1, "paused": paused}
    return obj(
        "Deployment", name, api_version="apps/v1", namespace="ns", annotations=annotations, spec=spec, status=status
    )


def pod(name, phase="Failed", annotations=None):
    return obj(
        "Pod", name, namespace="ns", annotations=annotations, spec={"restartPolicy": "Never"}, status={"phase": phase}
    )


def config(name="c"):
    return obj("ConfigMap", name, namespace="ns")


def live(thing):
    return (thing, thing)


@pytest.mark.parametrize(
    "resources, status, message",
    [
        pytest.param([], HealthStatus.HEALTHY, "", id="no-resources"),
        pytest.param([live(deployment("web")), live(config())], HealthStatus.HEALTHY, "", id="healthy"),
        pytest.param(
            [live(deployment("a", ready=False)), live(deployment("b", paused=True))],
            HealthStatus.PROGRESSING,
            "Caused by apps/Deployment:ns/a",
            id="worst-wins",
        ),
        pytest.param(
            [live(pod("p1")), live(deployment("a", ready=False)), live(pod("p2"))],
            HealthStatus.DEGRADED,
            "Caused by Pod:ns/p1, Pod:ns/p2",
            id="causes-accumulate",
        ),
        pytest.param(
            [live(pod(f"p{i}")) for i in range(5)],
            HealthStatus.DEGRADED,
            "Caused by Pod:ns/p0, Pod:ns/p1, Pod:ns/p2 and 2 more",
            id="three-causes-named",
        ),
        pytest.param(
            [live(deployment("web")), (deployment("new"), None)], HealthStatus.HEALTHY, "", id="missing-does-not-lower"
        ),
        pytest.param(
            [(deployment("a"), None), (config(), None)], HealthStatus.MISSING, "", id="nothing-live-is-missing"
        ),
        pytest.param([live(config())], HealthStatus.HEALTHY, "", id="no-health-kinds-are-left-out"),
        pytest.param(
            [live(pod("hook", annotations={HOOK: "PreSync"}))], HealthStatus.HEALTHY, "", id="hooks-are-left-out"
        ),
        pytest.param(
            [live(pod("junk", annotations={HOOK: "garbage"}))], HealthStatus.HEALTHY, "", id="ignored-are-left-out"
        ),
        pytest.param(
            [(pod("skip", annotations={HOOK: "Skip"}), pod("skip"))], HealthStatus.HEALTHY, "", id="skip-is-left-out"
        ),
        pytest.param(
            [live(pod("p", annotations={IGNORE_HEALTHCHECK: "true"}))],
            HealthStatus.HEALTHY,
            "",
            id="ignore-healthcheck",
        ),
        pytest.param(
            [
                live(obj("Application", "child", api_version="argoproj.io/v1alpha1")),
                live(deployment("web")),
            ],
            HealthStatus.HEALTHY,
            "",
            id="child-app-has-no-health",
        ),
    ],
)
def test_app_health(resources, status, message):
    result = app_health(resources)
    assert (result.status, result.message) == (status, message)


def test_a_missing_or_unknown_child_application_does_not_count():
    child = obj(
        "Application",
        "child",
        api_version="argoproj.io/v1alpha1",
        namespace="ns",
        status={"health": {"status": "Unknown"}},
    )
    overrides = {("argoproj.io", "Application"): application_health}
    assert app_health([live(child)], overrides=overrides).status is HealthStatus.HEALTHY
    child["status"]["health"]["status"] = "Degraded"
    result = app_health([live(child)], overrides=overrides)
    assert (result.status, result.message) == (HealthStatus.DEGRADED, "Caused by argoproj.io/Application:ns/child")


def test_the_application_itself_is_left_out():
    app = obj("Application", "me", api_version="tiphys.io/v1alpha1", namespace="ns")
    app["metadata"]["uid"] = "u1"
    broken = {("tiphys.io", "Application"): lambda _: HealthResult(HealthStatus.DEGRADED, "x")}
    assert app_health([live(app)], app=app, overrides=broken).status is HealthStatus.HEALTHY
    assert app_health([live(app)], overrides=broken).status is HealthStatus.DEGRADED


def test_per_resource_health_and_the_first_error():
    bad = obj("Deployment", "old", api_version="apps/v1beta1", namespace="ns")
    result = app_health([live(deployment("web")), (deployment("new"), None), live(config()), live(bad)])
    assert result.resources == (
        HealthResult(HealthStatus.HEALTHY),
        HealthResult(HealthStatus.MISSING),
        None,
        HealthResult(HealthStatus.UNKNOWN, "unsupported Deployment GVK: apps/v1beta1, Kind=Deployment", True),
    )
    assert result.status is HealthStatus.UNKNOWN
    assert result.error == (
        'failed to get resource health for "Deployment" with name "old" in namespace "ns": '
        "unsupported Deployment GVK: apps/v1beta1, Kind=Deployment"
    )


def test_caused_by():
    assert caused_by([]) == ""
    assert caused_by([ResourceKey("", "Namespace", "", "apps")]) == "Caused by Namespace:apps"
