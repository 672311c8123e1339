"""The reconciler: makes Redis agree with the job table, flows first, and its Lambda run."""

from corral.reconciler.flows import FlowRepair, FlowRepairReport
from corral.reconciler.run import Reconciler, ReconcileReport, restore_fields
from corral.reconciler.runtime import ReconcilerRuntime, queues_of

__all__ = [
    "FlowRepair",
    "FlowRepairReport",
    "ReconcileReport",
    "Reconciler",
    "ReconcilerRuntime",
    "queues_of",
    "restore_fields",
]
