"""Who may see evidence packs and download their PDFs (a read; every download is recorded in the ledger),
registered with the roles in ``EvidenceConfig.ready``."""

from collections.abc import Mapping

from evidence.models import EvidencePack
from governance.choices import Role
from governance.roles import Actions

_DOWNLOAD = {EvidencePack: ("view", "view_pdf")}

ROLE_GRANTS: Mapping[Role, Mapping[type, Actions]] = {
    Role.COMPLIANCE_REVIEWER: _DOWNLOAD,
    Role.RISK_OFFICER: _DOWNLOAD,
    Role.AUDITOR: _DOWNLOAD,
}
