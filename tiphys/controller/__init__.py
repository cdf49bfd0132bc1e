"""Driving operations against a cluster: the Application resource and the sync driver.

``Syncer`` validates a revision and steps ``tiphys.engine`` through one sync operation, executing
its actions through ``tiphys.kube`` and recording the operation state in the Application.
"""

from .application import API_VERSION, APP_NAMESPACE, KIND, application_name
from .syncer import InvalidInput, Syncer, SyncRequest

__all__ = ["API_VERSION", "APP_NAMESPACE", "KIND", "InvalidInput", "SyncRequest", "Syncer", "application_name"]
