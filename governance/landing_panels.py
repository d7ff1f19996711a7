"""The governance app's landing panels (registered in ``GovernanceConfig.ready``): the ledger's last verification
for auditors, and the RACI and threshold revisions a Risk Officer proposed and where they wait."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.urls import reverse

from accounts.choices import Role
from audit.models import LedgerVerification
from audit.readable import time_ago
from governance.choices import RevisionState
from governance.landing import TABLE_PANEL, Cell, LandingPanel, register_panel, table
from governance.models import RaciMatrix, ThresholdPolicy

#: Most recent revisions a maker sees on their landing page.
PROPOSED_SHOWN = 5


def _ledger_verification(user: AbstractBaseUser) -> dict[str, Any]:
    last = LedgerVerification.objects.order_by("-started_at").first()
    rows = []
    if last is not None:
        outcome = "The chain holds" if last.ok else f"Broken at entry #{last.first_broken_sequence}"
        rows.append(
            [
                Cell(f"{last.started_at:%Y-%m-%d %H:%M} UTC ({time_ago(last.started_at)})"),
                Cell(outcome, status="success" if last.ok else "errornote"),
                Cell(f"{last.entries_checked:,} entries"),
            ]
        )
    return table(
        ["Last verification", "Result", "Checked"],
        rows,
        empty="The ledger has not been verified yet: run manage.py verify_ledger.",
        more_url=reverse("admin:audit_ledgerverification_changelist"),
        more_label="Every verification",
    )


def _revisions_proposed(user: AbstractBaseUser) -> dict[str, Any]:
    rows = []
    for model in (RaciMatrix, ThresholdPolicy):
        mine = model.objects.filter(proposed_by=user).select_related("use_case", "decided_by")
        for revision in mine.order_by("-proposed_at")[:PROPOSED_SHOWN]:
            if revision.state == RevisionState.PENDING:
                where = "Waits for a second Risk Officer's signature"
            else:
                decider = revision.decided_by.get_full_name() if revision.decided_by else ""
                where = f"{revision.get_state_display()}{f' ({decider})' if decider else ''}"
            url = reverse(f"admin:governance_{model._meta.model_name}_change", args=[revision.pk])
            rows.append((revision.proposed_at, [Cell(str(revision), url), Cell(where)]))
    rows.sort(key=lambda row: row[0], reverse=True)
    return table(
        ["Revision", "Where it is"],
        [cells for _when, cells in rows[:PROPOSED_SHOWN]],
        empty="You have proposed no RACI or threshold revision.",
    )


def register() -> None:
    register_panel(
        LandingPanel(
            key="governance.ledger_verification",
            title="The audit ledger",
            roles=frozenset({Role.AUDITOR}),
            template=TABLE_PANEL,
            context=_ledger_verification,
            order=20,
        )
    )
    register_panel(
        LandingPanel(
            key="governance.revisions_proposed",
            title="Revisions you proposed",
            roles=frozenset({Role.RISK_OFFICER}),
            template=TABLE_PANEL,
            context=_revisions_proposed,
            order=50,
        )
    )
