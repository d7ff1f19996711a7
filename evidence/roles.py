"""Who may see evidence packs and download their PDFs (a read; every download is recorded in the ledger),
registered with the roles in ``EvidenceConfig.ready``."""

from collections.abc import Mapping

from accounts.choices import Role
from accounts.roles import Actions
from evidence.models import EvidencePack

_DOWNLOAD = {EvidencePack: ("view", "view_pdf")}

ROLE_GRANTS: Mapping[Role, Mapping[type, Actions]] = {
    Role.COMPLIANCE_REVIEWER: _DOWNLOAD,
    Role.RISK_OFFICER: _DOWNLOAD,
    Role.AUDITOR: _DOWNLOAD,
}
