"""The workflow controller's I/O: the CRD, detection of a real Argo controller, watches, the work queue,
resource actions and the reconcile runner. The rules themselves are pure, in ``tiphys.workflows.reconcile``."""

from .crd import API_VERSION, KIND, ensure_crd, workflow_crd
from .detect import is_argo_controller
from .runner import WORKFLOW_LABEL, Runner

__all__ = ["API_VERSION", "KIND", "WORKFLOW_LABEL", "Runner", "ensure_crd", "is_argo_controller", "workflow_crd"]
