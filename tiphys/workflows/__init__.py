"""Tiphys's Argo Workflows-compatible controller.

The rules are pure (``reconcile``: ``validate`` at submit, ``reconcile.reconcile`` on every event,
over plain dicts with time as a parameter); ``controller`` and ``runtime`` are the I/O around them.
Naming (``naming``), variables (``template``, ``expr``), conditions (``conditions``), loops,
retries, pods and their status are small modules of their own, each usable from a REPL with a dict.
"""

from . import reconcile
from .reconcile import Observed, Reconciled, ResourceAction, ResourceObservation, validate

__all__ = ["Observed", "Reconciled", "ResourceAction", "ResourceObservation", "reconcile", "validate"]
