"""Break glass needs a justification and a second person, who signs; it is recorded and flagged."""

import pytest

from audit.choices import LedgerAction
from audit.ledger import ActionDenied
from audit.models import LedgerEntry
from governance.models import BreakGlassOverride
from governance.services.overrides import break_glass_override, overrides_for
from tests.governance.conftest import PASSWORD
from tests.governed_app.models import Memo

pytestmark = pytest.mark.django_db

JUSTIFICATION = "Regulator-mandated fix must ship tonight; bias suite re-run scheduled for Monday."


def override(memo: Memo, requested_by, approver, **changes) -> BreakGlassOverride:
    arguments = {
        "record": memo,
        "gate": "promotion gate: toxicity threshold",
        "justification": JUSTIFICATION,
        "requested_by": requested_by,
        "approver": approver,
        "approver_password": PASSWORD,
        **changes,
    }
    return break_glass_override(**arguments)


def test_an_approved_override_is_signed_by_the_second_person_and_written_to_the_ledger(
    memo: Memo, author, risk
) -> None:
    result = override(memo, author, risk)

    assert result.approval_signature.signer == risk
    assert result.approval_signature.meaning == "Break-glass override approved: promotion gate: toxicity threshold"
    entry = result.ledger_entry
    assert (entry.action, entry.actor) == (LedgerAction.OVERRIDE, author)
    assert entry.payload["justification"] == JUSTIFICATION
    assert list(overrides_for(memo)) == [result]


def test_nobody_approves_their_own_override(memo: Memo, risk) -> None:
    with pytest.raises(ActionDenied, match="second person"):
        override(memo, risk, risk)

    assert not BreakGlassOverride.objects.exists()
    assert LedgerEntry.objects.order_by("-sequence").first().action == LedgerAction.DENIED


def test_only_a_risk_officer_may_approve(memo: Memo, author, outsider) -> None:
    with pytest.raises(ActionDenied, match="Only a Risk Officer"):
        override(memo, author, outsider)


def test_an_administrator_without_the_role_cannot_approve(memo: Memo, author, admin_user) -> None:
    admin_user.set_password(PASSWORD)
    admin_user.save()

    with pytest.raises(ActionDenied, match="Only a Risk Officer"):
        override(memo, author, admin_user)
    assert not BreakGlassOverride.objects.exists()


def test_the_approver_must_re_authenticate(memo: Memo, author, risk) -> None:
    with pytest.raises(ActionDenied, match="Re-authentication failed"):
        override(memo, author, risk, approver_password="wrong")

    assert not BreakGlassOverride.objects.exists()


@pytest.mark.parametrize("justification", ["", "because", "   urgent   "])
def test_a_short_justification_is_refused_with_a_clear_message(memo: Memo, author, risk, justification) -> None:
    with pytest.raises(ValueError, match="at least 30 characters"):
        override(memo, author, risk, justification=justification)
