"""Every change to lineage goes through one of these services: authoring sources, datasets, versions and their
lineage (``authoring``), the three-stage review (``reviews``), and taking data out of use (``erasure``).

Each is a function named ``<entity>_<action>`` with keyword-only arguments, run in one transaction, that checks
permission and state and leaves its ledger entries. Reads live in ``lineage.selectors``. Import the services from
this package: the modules are how they are filed, not part of their name.
"""

from lineage.services.authoring import (
    MAX_PARAMETER_BYTES,
    MAX_PARAMETER_DEPTH,
    RECORD_FIELDS,
    clean_parameters,
    dataset_create,
    dataset_version_create,
    dataset_version_submit,
    lineage_edge_add,
    lineage_record_update,
    lineage_source_add,
    same_content_refusal,
    source_system_create,
    transformation_step_add,
)
from lineage.services.erasure import (
    dataset_version_retire,
    dataset_version_revoke,
    erasure_request_create,
    erasure_request_process,
)
from lineage.services.reviews import (
    dataset_version_approve_refusal,
    dataset_version_approvers,
    dataset_version_assign_next_reviewer,
    dataset_version_assign_reviewer,
    dataset_version_reject,
    dataset_version_request_changes,
    dataset_version_review_approve,
)

__all__ = [
    "MAX_PARAMETER_BYTES",
    "MAX_PARAMETER_DEPTH",
    "RECORD_FIELDS",
    "clean_parameters",
    "dataset_create",
    "dataset_version_approve_refusal",
    "dataset_version_approvers",
    "dataset_version_assign_next_reviewer",
    "dataset_version_assign_reviewer",
    "dataset_version_create",
    "dataset_version_reject",
    "dataset_version_request_changes",
    "dataset_version_retire",
    "dataset_version_review_approve",
    "dataset_version_revoke",
    "dataset_version_submit",
    "erasure_request_create",
    "erasure_request_process",
    "lineage_edge_add",
    "lineage_record_update",
    "lineage_source_add",
    "same_content_refusal",
    "source_system_create",
    "transformation_step_add",
]
