"""Electronic signatures: re-authentication, manifestation, binding to the exact record signed."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.sessions.backends.db import SessionStore
from django.db import DatabaseError, transaction
from django.test import RequestFactory
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.middleware import OTPMiddleware

from accounts.forms import SignatureForm
from accounts.services.signatures import SIGNING_SESSION_KEY, signature_sign
from audit.choices import LedgerAction
from audit.ledger import ActionDenied
from audit.models import LedgerEntry, Signature
from audit.signatures import signature_is_valid
from tests.governance.conftest import PASSWORD
from tests.governed_app.models import Memo
from tests.governed_app.services import memo_create, memo_edit, memo_publish
from tests.signing_in import authenticator_code, enrolled_authenticator

pytestmark = pytest.mark.django_db


def test_signing_records_printed_name_utc_time_meaning_and_the_record_digest(memo: Memo, author) -> None:
    signature = signature_sign(record=memo, signer=author, password=PASSWORD, meaning="Approved as author")

    assert signature.printed_name == "Ann Author"
    assert signature.meaning == "Approved as author"
    assert signature.signed_at.utcoffset().total_seconds() == 0
    assert len(signature.record_digest) == 64
    assert signature.manifestation.startswith("Ann Author, ")
    assert signature.manifestation.endswith("UTC, Approved as author")
    assert signature_is_valid(signature)


def test_signing_writes_a_sign_entry_that_the_signature_points_to(memo: Memo, author) -> None:
    signature = signature_sign(record=memo, signer=author, password=PASSWORD, meaning="Approved as author")

    entry = signature.ledger_entry
    assert entry.action == LedgerAction.SIGN
    assert entry.actor == author
    assert entry.payload["record_digest"] == signature.record_digest
    assert entry.payload["meaning"] == "Approved as author"


def test_a_wrong_password_is_refused_and_the_refusal_is_in_the_ledger(memo: Memo, author) -> None:
    with pytest.raises(ActionDenied, match="Re-authentication failed"):
        signature_sign(record=memo, signer=author, password="wrong-password", meaning="Approved as author")

    assert not Signature.objects.exists()
    denial = LedgerEntry.objects.order_by("-sequence").first()
    assert denial.action == LedgerAction.DENIED
    assert denial.payload["attempted"] == "sign: Approved as author"


def test_another_persons_password_does_not_sign_as_me(memo: Memo, author, outsider) -> None:
    with pytest.raises(ActionDenied):
        signature_sign(record=memo, signer=author, password=PASSWORD, username="outsider", meaning="Approved")


def test_an_inactive_signer_cannot_sign(memo: Memo, author) -> None:
    author.is_active = False
    author.save()

    with pytest.raises(ActionDenied):
        signature_sign(record=memo, signer=author, password=PASSWORD, meaning="Approved as author")


def test_a_signature_needs_a_meaning(memo: Memo, author) -> None:
    with pytest.raises(ValueError, match="meaning"):
        signature_sign(record=memo, signer=author, password=PASSWORD, meaning="  ")


def test_a_later_edit_invalidates_the_signature(memo: Memo, author) -> None:
    signature = signature_sign(record=memo, signer=author, password=PASSWORD, meaning="Approved as author")

    memo_edit(memo=memo, actor=author, body="Changed after approval.")

    assert not signature_is_valid(signature)


def test_the_state_change_that_a_signature_approves_does_not_invalidate_it(memo: Memo, author) -> None:
    published = memo_publish(memo=memo, actor=author, password=PASSWORD)

    signature = Signature.objects.get()
    assert published.status == "published"
    assert signature_is_valid(signature)


def test_a_signature_copied_onto_another_record_does_not_hold(memo: Memo, author) -> None:
    signature = signature_sign(record=memo, signer=author, password=PASSWORD, meaning="Approved as author")
    twin = memo_create(actor=author, title=memo.title, body=memo.body)

    assert not signature_is_valid(signature, record=twin)


def test_a_signature_row_cannot_be_edited(memo: Memo, author) -> None:
    signature = signature_sign(record=memo, signer=author, password=PASSWORD, meaning="Approved as author")
    signature.meaning = "Rejected"

    with pytest.raises(DatabaseError), transaction.atomic():
        signature.save()


def test_publishing_in_the_wrong_state_is_refused_and_recorded(memo: Memo, author) -> None:
    memo_publish(memo=memo, actor=author, password=PASSWORD)

    with pytest.raises(ActionDenied, match="Only a draft"):
        memo_publish(memo=memo, actor=author, password=PASSWORD)

    assert Signature.objects.count() == 1
    assert LedgerEntry.objects.order_by("-sequence").first().action == LedgerAction.DENIED


def test_publishing_without_permission_is_refused_and_recorded(memo: Memo, outsider) -> None:
    with pytest.raises(ActionDenied, match="may not publish"):
        memo_publish(memo=memo, actor=outsider, password=PASSWORD)

    memo.refresh_from_db()
    assert memo.status == "draft"
    denial = LedgerEntry.objects.order_by("-sequence").first()
    assert (denial.action, denial.actor) == (LedgerAction.DENIED, outsider)


def signing_request(user, *, second_factor: bool = True):
    """A request of ``user``'s session, verified with their second factor unless told otherwise."""
    request = RequestFactory().post("/")
    request.user = user
    request.session = SessionStore()
    if second_factor and user.is_authenticated:
        request.session[DEVICE_ID_SESSION_KEY] = enrolled_authenticator(user).persistent_id
    OTPMiddleware(lambda request: None)(request)
    return request


def test_a_session_without_the_second_factor_cannot_sign(memo: Memo, author) -> None:
    request = signing_request(author, second_factor=False)

    form = SignatureForm({"username": "author", "password": PASSWORD}, request=request, meaning="Approved as author")

    assert not form.is_valid()
    assert form.has_error("__all__", code="second_factor_required")
    assert not Signature.objects.exists()
    assert SIGNING_SESSION_KEY not in request.session


def test_the_first_signing_of_a_session_asks_for_username_and_password(memo: Memo, author) -> None:
    request = signing_request(author)

    form = SignatureForm({"password": PASSWORD}, request=request, meaning="Approved as author")
    assert not form.is_valid()
    assert "username" in form.errors

    form = SignatureForm({"username": "author", "password": PASSWORD}, request=request, meaning="Approved as author")
    assert form.is_valid()
    form.sign(memo)
    assert request.session[SIGNING_SESSION_KEY] is True


def test_later_signings_of_the_session_ask_for_the_password_only(memo: Memo, author) -> None:
    request = signing_request(author)
    request.session[SIGNING_SESSION_KEY] = True

    form = SignatureForm({"password": PASSWORD}, request=request, meaning="Approved as author")

    assert "username" not in form.fields
    assert form.is_valid()
    assert form.sign(memo).signer == author


def test_the_form_refuses_an_oversized_password() -> None:
    from django.contrib.auth.models import AnonymousUser

    request = signing_request(AnonymousUser())
    form = SignatureForm({"username": "x", "password": "p" * 5000}, request=request, meaning="m")

    assert not form.is_valid()
    assert "password" in form.errors


# --- Signers without a password (single sign-on): the second component is a second-factor code ---------------


@pytest.fixture
def sso_author(db: None):
    """A person single sign-on created: no usable password, an enrolled authenticator, and memo rights."""
    user = get_user_model().objects.create_user(username="u-2001", first_name="Sam", last_name="Signer")
    user.set_unusable_password()
    user.save()
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="governed_app", codename__in=["view_memo", "change_memo"])
    )
    enrolled_authenticator(user)
    return user


def test_a_signer_without_a_password_signs_with_a_current_authenticator_code(memo: Memo, sso_author) -> None:
    code = authenticator_code(enrolled_authenticator(sso_author))

    signature = signature_sign(record=memo, signer=sso_author, password=code, username="u-2001", meaning="Approved")

    assert signature.signer == sso_author
    assert signature.printed_name == "Sam Signer"
    assert signature_is_valid(signature)


def test_a_second_factor_code_signs_only_once(memo: Memo, sso_author) -> None:
    code = authenticator_code(enrolled_authenticator(sso_author))
    signature_sign(record=memo, signer=sso_author, password=code, meaning="Approved")

    with pytest.raises(ActionDenied, match="username or code is not correct"):
        signature_sign(record=memo, signer=sso_author, password=code, meaning="Approved again")

    assert Signature.objects.count() == 1


def test_a_backup_code_signs_once_too(memo: Memo, sso_author) -> None:
    from django_otp.plugins.otp_static.models import StaticDevice

    device = StaticDevice.objects.create(user=sso_author, name="Backup codes", confirmed=True)
    device.token_set.create(token="abcd2345")

    signature_sign(record=memo, signer=sso_author, password="ABCD-2345", meaning="Approved")
    with pytest.raises(ActionDenied):
        signature_sign(record=memo, signer=sso_author, password="abcd2345", meaning="Approved again")

    assert not device.token_set.exists()


@pytest.mark.parametrize("credential", ["000000", "", "not-a-code", "x" * 20])
def test_a_wrong_code_is_refused_and_recorded(memo: Memo, sso_author, credential: str) -> None:
    current = authenticator_code(enrolled_authenticator(sso_author))
    wrong = credential if credential != "000000" else ("111111" if current == "000000" else "000000")

    with pytest.raises(ActionDenied, match="username or code is not correct"):
        signature_sign(record=memo, signer=sso_author, password=wrong, meaning="Approved")

    assert not Signature.objects.exists()
    denial = LedgerEntry.objects.order_by("-sequence").first()
    assert (denial.action, denial.actor, denial.payload["attempted"]) == (
        LedgerAction.DENIED,
        sso_author,
        "sign: Approved",
    )


def test_a_password_holder_still_needs_the_password_not_a_code(memo: Memo, author) -> None:
    code = authenticator_code(enrolled_authenticator(author))

    with pytest.raises(ActionDenied, match="username or password is not correct"):
        signature_sign(record=memo, signer=author, password=code, meaning="Approved as author")
    assert signature_sign(record=memo, signer=author, password=PASSWORD, meaning="Approved as author")


def test_the_form_asks_a_signer_without_a_password_for_a_code(memo: Memo, sso_author, author) -> None:
    sso_form = SignatureForm(request=signing_request(sso_author), meaning="Approved")
    password_form = SignatureForm(request=signing_request(author), meaning="Approved")

    assert "authenticator app" in str(sso_form.fields["password"].label)
    assert "backup code" in str(sso_form.fields["password"].label)
    assert "single sign-on" in str(sso_form.fields["password"].help_text)
    assert str(password_form.fields["password"].label) == "Password"

    code = authenticator_code(enrolled_authenticator(sso_author))
    form = SignatureForm(
        {"username": "u-2001", "password": code}, request=signing_request(sso_author), meaning="Approved"
    )
    assert form.is_valid()
    assert form.sign(memo).signer == sso_author
