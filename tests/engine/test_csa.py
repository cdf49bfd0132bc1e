"""Client-side to server-side apply migration of managedFields (``csaupgrade``)."""

from __future__ import annotations

from tiphys.engine.csa import upgraded

LAST = "f:kubectl.kubernetes.io/last-applied-configuration"


def entry(manager: str, operation: str, fields: dict, **extra: str) -> dict:
    return {"manager": manager, "operation": operation, "fieldsV1": fields, **extra}


def test_nothing_to_migrate_without_a_client_side_update_entry():
    managed = [entry("argocd-controller", "Apply", {"f:data": {}})]
    assert upgraded(managed, csa_manager="kubectl-client-side-apply", ssa_manager="argocd-controller") is None


def test_the_client_side_entry_is_renamed_when_there_is_no_server_side_one():
    csa = entry(
        "kubectl-client-side-apply",
        "Update",
        {"f:data": {"f:a": {}}, "f:metadata": {"f:annotations": {LAST: {}}}},
        time="t",
    )
    other = entry("kube-controller-manager", "Update", {"f:status": {}})
    result = upgraded([csa, other], csa_manager="kubectl-client-side-apply", ssa_manager="argocd-controller")
    assert result == [
        {"manager": "argocd-controller", "operation": "Apply", "fieldsV1": {"f:data": {"f:a": {}}}, "time": "t"},
        other,
    ]


def test_fields_are_merged_into_an_existing_apply_entry():
    ssa = entry("argocd-controller", "Apply", {"f:data": {"f:b": {}}})
    csa = entry("kubectl-client-side-apply", "Update", {"f:data": {"f:a": {}}})
    status = entry("kubectl-client-side-apply", "Update", {"f:status": {}}, subresource="status")
    result = upgraded([ssa, csa, status], csa_manager="kubectl-client-side-apply", ssa_manager="argocd-controller")
    assert result == [entry("argocd-controller", "Apply", {"f:data": {"f:b": {}, "f:a": {}}}), status]
