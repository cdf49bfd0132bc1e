import tiphys.workflows as workflows
from tiphys.workflows import reconcile


def test_package_exports_the_pure_interface():
    assert workflows.__all__ == ["Observed", "Reconciled", "ResourceAction", "ResourceObservation", "reconcile",
                                 "validate"]
    assert workflows.reconcile is reconcile  # the module, which wf-runtime imports as `core`
    for name in reconcile.__all__:
        assert getattr(reconcile, name) is not None
