"""Health per kind, one YAML fixture per case (spec §5, §12.2, §12.3).

Each file in ``testdata/health`` holds one object; its header comments give the expected
``status`` (``none`` when the kind has no health), the exact ``message`` and whether the
assessment itself failed (``error: true``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tiphys.engine import HealthResult, HealthStatus, assess
from tiphys.engine.health import BUILT_IN_CHECKS, application_health, health_check_for

from .builders import obj

FIXTURES = Path(__file__).parent / "testdata" / "health"


def load(path: Path) -> tuple[dict[str, Any], HealthResult | None]:
    text = path.read_text()
    header = {}
    for line in text.splitlines():
        if not line.startswith("# "):
            break
        key, _, value = line[2:].partition(": ")
        header[key] = value
    expected = None
    if header["status"] != "none":
        expected = HealthResult(
            HealthStatus(header["status"]), header.get("message", ""), header.get("error") == "true"
        )
    return yaml.safe_load(text), expected


@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem) for p in sorted(FIXTURES.glob("*.yaml"))])
def test_health_fixture(path):
    thing, expected = load(path)
    assert assess(thing) == expected


def test_every_built_in_kind_has_fixtures():
    kinds = {yaml.safe_load(p.read_text())["kind"] for p in FIXTURES.glob("*.yaml")}
    assert {kind for _, kind in BUILT_IN_CHECKS} <= kinds


@pytest.mark.parametrize(
    "group, kind, has_check",
    [
        pytest.param("apps", "Deployment", True, id="deployment"),
        pytest.param("extensions", "Deployment", False, id="extensions-deployment"),
        pytest.param("extensions", "Ingress", True, id="extensions-ingress"),
        pytest.param("networking.k8s.io", "Ingress", True, id="networking-ingress"),
        pytest.param("", "Pod", True, id="pod"),
        pytest.param("", "ConfigMap", False, id="configmap"),
        pytest.param("batch", "CronJob", True, id="cronjob-lua"),
        pytest.param("argoproj.io", "Workflow", True, id="workflow"),
        pytest.param("argoproj.io", "Application", False, id="application"),
        pytest.param("argoproj.io", "Rollout", False, id="rollout"),
        pytest.param("apiextensions.k8s.io", "CustomResourceDefinition", False, id="crd"),
        pytest.param("autoscaling", "HorizontalPodAutoscaler", True, id="hpa"),
        pytest.param("apiregistration.k8s.io", "APIService", True, id="apiservice"),
    ],
)
def test_dispatch_by_group_and_kind(group, kind, has_check):
    assert (health_check_for(group, kind) is not None) is has_check


def test_pending_deletion_wins_for_any_kind_without_the_hook_finalizer():
    thing = obj("ConfigMap", "c")
    thing["metadata"]["deletionTimestamp"] = "2024-05-01T00:00:00Z"
    assert assess(thing) == HealthResult(HealthStatus.PROGRESSING, "Pending deletion")


def test_an_override_comes_first_and_none_falls_through():
    deployment = obj("Deployment", "web", api_version="apps/v1", spec={"paused": True})
    always_healthy = {("apps", "Deployment"): lambda _: HealthResult(HealthStatus.HEALTHY, "custom")}
    no_opinion = {("apps", "Deployment"): lambda _: None}
    assert assess(deployment, overrides=always_healthy) == HealthResult(HealthStatus.HEALTHY, "custom")
    assert assess(deployment, overrides=no_opinion) == HealthResult(HealthStatus.SUSPENDED, "Deployment is paused")


@pytest.mark.parametrize(
    "status, expected",
    [
        pytest.param(None, HealthResult(HealthStatus.PROGRESSING), id="no-status"),
        pytest.param({}, HealthResult(HealthStatus.PROGRESSING), id="no-health"),
        pytest.param({"health": {"status": "Healthy"}}, HealthResult(HealthStatus.HEALTHY), id="healthy"),
        pytest.param(
            {"health": {"status": "Degraded", "message": "x"}}, HealthResult(HealthStatus.DEGRADED, "x"), id="degraded"
        ),
        pytest.param(
            {"health": {}},
            HealthResult(HealthStatus.UNKNOWN, "Lua returned an invalid health status"),
            id="health-without-status",
        ),
    ],
)
def test_opt_in_application_health(status, expected):
    app = obj("Application", "child", api_version="argoproj.io/v1alpha1")
    if status is not None:
        app["status"] = status
    assert application_health(app) == expected
    assert assess(app, overrides={("argoproj.io", "Application"): application_health}) == expected
    assert assess(app) is None


@pytest.mark.parametrize(
    "field, value, message",
    [
        pytest.param(
            ("status", "conditions"), "oops", ".status.conditions: expected a list, got str 'oops'", id="not-a-list"
        ),
        pytest.param(
            ("status", "conditions"), ["oops"], ".status.conditions: expected a list of objects", id="not-objects"
        ),
        pytest.param(("spec", "backoffLimit"), None, None, id="null-is-missing"),
        pytest.param(("status",), "oops", ".status: expected an object", id="not-an-object"),
    ],
)
def test_conversion_errors_are_unknown_with_the_field(field, value, message):
    job = obj("Job", "migrate", api_version="batch/v1", spec={}, status={})
    node = job
    for part in field[:-1]:
        node = node[part]
    node[field[-1]] = value
    result = assess(job)
    if message is None:
        assert result == HealthResult(HealthStatus.PROGRESSING)
        return
    assert result is not None and result.status is HealthStatus.UNKNOWN and result.assessment_error
    assert result.message.startswith("failed to convert unstructured Job to typed: ")
    assert message in result.message


def test_integral_floats_read_as_integers_and_booleans_do_not():
    deployment = obj(
        "Deployment",
        "web",
        api_version="apps/v1",
        spec={"replicas": 2.0},
        status={"updatedReplicas": 2, "replicas": 2, "availableReplicas": 2},
    )
    assert assess(deployment) == HealthResult(HealthStatus.HEALTHY)
    deployment["spec"]["replicas"] = True
    result = assess(deployment)
    assert result is not None and result.assessment_error
