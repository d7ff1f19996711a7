"""Lineage models: where training data comes from, what was done to it, and who approved it."""

from lineage.models.datasets import Dataset, DatasetVersion, DatasetVersionReviewer, LineageEdge
from lineage.models.erasure import ErasureRequest
from lineage.models.openlineage import OpenLineageRun
from lineage.models.records import LineageRecord, LineageSource, LineageTemplate, TransformationStep
from lineage.models.sources import SourceSystem

__all__ = [
    "Dataset",
    "DatasetVersion",
    "DatasetVersionReviewer",
    "ErasureRequest",
    "LineageEdge",
    "LineageRecord",
    "LineageSource",
    "LineageTemplate",
    "OpenLineageRun",
    "SourceSystem",
    "TransformationStep",
]
