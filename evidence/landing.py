"""The evidence app's landing panel (registered in ``EvidenceConfig.ready``): the most recent evidence packs, each
with its status and, once ready, its download link, for auditors."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.urls import reverse
from django.utils.formats import date_format

from accounts.choices import Role
from evidence.choices import PackStatus
from evidence.models import EvidencePack
from governance.landing import TABLE_PANEL, Cell, LandingPanel, register_panel, table

PACKS_SHOWN = 5


def _recent_packs(user: AbstractBaseUser) -> dict[str, Any]:
    packs = EvidencePack.objects.select_related("model_version", "use_case").order_by("-requested_at", "-pk")
    rows = []
    for pack in packs[:PACKS_SHOWN]:
        ready = pack.status == PackStatus.READY
        rows.append(
            [
                Cell(str(pack), reverse("admin:evidence_evidencepack_change", args=[pack.pk])),
                Cell(date_format(pack.requested_at, "Y-m-d H:i") + " UTC"),
                Cell(
                    "Download" if ready else pack.get_status_display(),
                    reverse("admin:evidence_evidencepack_download", args=[pack.pk]) if ready else "",
                    status="" if ready else "warning" if pack.status == PackStatus.FAILED else "quiet",
                ),
            ]
        )
    return table(
        ["Evidence pack", "Requested", "PDF"],
        rows,
        empty="No evidence pack has been built yet.",
        more_url=reverse("admin:evidence_evidencepack_changelist"),
        more_label="Every evidence pack",
    )


def register() -> None:
    register_panel(
        LandingPanel(
            key="evidence.recent_packs",
            title="Recent evidence packs",
            roles=frozenset({Role.AUDITOR}),
            template=TABLE_PANEL,
            context=_recent_packs,
            order=30,
        )
    )
