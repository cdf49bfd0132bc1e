"""A running task judged from its live object's health (spec §4.3, §5)."""

from __future__ import annotations

import pytest

from tiphys.engine import OperationPhase, TaskProgress, hook_progress, resource_progress

from .builders import obj

RUNNING, SUCCEEDED, FAILED, ERROR = (
    OperationPhase.RUNNING,
    OperationPhase.SUCCEEDED,
    OperationPhase.FAILED,
    OperationPhase.ERROR,
)


def job(*conditions, api_version="batch/v1"):
    return obj("Job", "migrate", api_version=api_version, status={"conditions": list(conditions)})


def workflow(phase, message=""):
    return obj("Workflow", "wf", api_version="argoproj.io/v1alpha1", status={"phase": phase, "message": message})


@pytest.mark.parametrize(
    "live, progress",
    [
        pytest.param(job(), TaskProgress(RUNNING), id="job-running"),
        pytest.param(
            job({"type": "Complete", "status": "True", "message": "done"}),
            TaskProgress(SUCCEEDED, "done"),
            id="job-done",
        ),
        pytest.param(job({"type": "Failed", "message": "backoff"}), TaskProgress(FAILED, "backoff"), id="job-failed"),
        pytest.param(job({"type": "Suspended", "status": "True"}), TaskProgress(RUNNING), id="suspended-blocks"),
        pytest.param(workflow("Error", "boom"), TaskProgress(FAILED, "boom"), id="workflow-error"),
        pytest.param(workflow("Omitted"), TaskProgress(FAILED), id="unknown-fails"),
        pytest.param(obj("ConfigMap", "settings"), TaskProgress(SUCCEEDED, "settings created"), id="no-health-done"),
        pytest.param(
            job(api_version="batch/v2"),
            TaskProgress(
                ERROR,
                "failed to get resource health: failed to get resource health: unsupported Job GVK: batch/v2, Kind=Job",
            ),
            id="assessment-error",
        ),
    ],
)
def test_hook_progress(live, progress):
    assert hook_progress(live) == progress


def deployment(available, paused=False, degraded=False):
    conditions = [{"type": "Progressing", "reason": "ProgressDeadlineExceeded"}] if degraded else []
    return obj(
        "Deployment",
        "web",
        api_version="apps/v1",
        spec={"replicas": 2, "paused": paused},
        status={"replicas": 2, "updatedReplicas": 2, "availableReplicas": available, "conditions": conditions},
    )


@pytest.mark.parametrize(
    "live, progress",
    [
        pytest.param(deployment(2), TaskProgress(SUCCEEDED), id="healthy"),
        pytest.param(deployment(1), None, id="progressing-waits"),
        pytest.param(deployment(2, paused=True), None, id="suspended-waits"),
        pytest.param(
            deployment(1, degraded=True),
            TaskProgress(FAILED, 'Deployment "web" exceeded its progress deadline'),
            id="degraded",
        ),
        pytest.param(obj("Secret", "s"), TaskProgress(SUCCEEDED), id="no-health-done"),
        pytest.param(obj("Deployment", "old", api_version="apps/v1beta1"), None, id="assessment-error-unchanged"),
    ],
)
def test_resource_progress(live, progress):
    assert resource_progress(live) == progress
