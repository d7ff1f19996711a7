"""Lineage in the admin: source systems and datasets registered by data stewards, dataset versions registered
and authored as drafts, submitted and reviewed, and erasure requests. Every change calls a service."""

from lineage.admin.catalogue import (
    DatasetAdmin,
    LineageAdmin,
    LineageRecordAdmin,
    LineageTemplateAdmin,
    ReadOnlyInline,
    SourceSystemAdmin,
)
from lineage.admin.erasure import ErasureRequestAdmin, ErasureRequestForm
from lineage.admin.versions import DatasetVersionAdmin

__all__ = [
    "DatasetAdmin",
    "DatasetVersionAdmin",
    "ErasureRequestAdmin",
    "ErasureRequestForm",
    "LineageAdmin",
    "LineageRecordAdmin",
    "LineageTemplateAdmin",
    "ReadOnlyInline",
    "SourceSystemAdmin",
]
