"""Re-authentication at signing is not a way around the sign-in lockout: wrong passwords (or codes) on a signing
page count as failed sign-ins, each recorded once, and once locked out a person can neither sign nor sign in.
A person without a password (single sign-on) signs with a code from their second factor, on the same page."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from accounts.demo import DEFAULT_DEMO_PASSWORD
from audit.choices import LedgerAction
from audit.models import LedgerEntry, Signature
from tests.governed_app.models import Memo
from tests.governed_app.services import memo_create, memo_publish
from tests.signing_in import authenticator_code, enrolled_authenticator, login_verified

pytestmark = pytest.mark.django_db

LIMIT = 3
WRONG = "not-the-password-at-all"


@pytest.fixture(autouse=True)
def _limit(settings) -> None:
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.TRUSTED_PROXY_COUNT = 0


def memo_writer(username: str, *, password: str | None) -> object:
    user = get_user_model().objects.create_user(username=username, password=password, is_staff=True)
    if password is None:
        user.set_unusable_password()  # as single sign-on leaves the accounts it creates
        user.save()
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="governed_app", codename__in=["view_memo", "change_memo"])
    )
    enrolled_authenticator(user)
    return user


@pytest.fixture
def author():
    return memo_writer("author", password=DEFAULT_DEMO_PASSWORD)


@pytest.fixture
def memo(author) -> Memo:
    return memo_create(actor=author, title="Card redaction rule", body="Redact full card numbers.")


def publish_url(memo: Memo) -> str:
    return reverse("admin:governed_app_memo_publish", args=[memo.pk])


def sign(client: Client, memo: Memo, credential: str, username: str = "author"):
    return client.post(publish_url(memo), {"username": username, "password": credential})


def locked(response) -> bool:
    return response.status_code == 429 and 'id="locked-out"' in response.content.decode()


def entries(action: LedgerAction) -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(action=action).order_by("sequence"))


def test_wrong_signing_passwords_lock_the_person_out_of_signing_and_signing_in(client: Client, author, memo) -> None:
    login_verified(client, author)

    early = [sign(client, memo, WRONG) for _ in range(LIMIT - 1)]
    last = sign(client, memo, WRONG)
    right_password_at_signing = sign(client, memo, DEFAULT_DEMO_PASSWORD)
    right_password_at_sign_in = Client().post(
        reverse("admin:login"), {"username": "author", "password": DEFAULT_DEMO_PASSWORD, "next": "/admin/"}
    )

    assert [response.status_code for response in early] == [403] * (LIMIT - 1)
    assert all("Re-authentication failed" in response.content.decode() for response in early)
    assert locked(last)
    assert right_password_at_signing.status_code == 403
    assert "signing and signing in are locked" in right_password_at_signing.content.decode()
    assert locked(right_password_at_sign_in)
    memo.refresh_from_db()
    assert memo.status == "draft"
    assert not Signature.objects.exists()


def test_each_wrong_signing_password_is_one_failed_sign_in_in_the_ledger(client: Client, author, memo) -> None:
    login_verified(client, author)

    for _ in range(LIMIT):
        sign(client, memo, WRONG)

    failures = entries(LedgerAction.LOGIN_FAILED)
    assert len(failures) == LIMIT
    assert all(entry.payload["username"] == "author" and entry.payload["step"] == "signature" for entry in failures)
    assert failures[-1].payload["locked_out"] is True
    [lockout] = entries(LedgerAction.LOCKOUT)
    assert (lockout.payload["username"], lockout.payload["failures"]) == ("author", LIMIT)
    refusals = entries(LedgerAction.DENIED)
    assert len(refusals) == LIMIT
    assert all(entry.payload["attempted"] == "sign: Published as author" for entry in refusals)
    for entry in LedgerEntry.objects.all():
        assert WRONG not in entry.canonical.decode()


def test_a_refusal_for_another_reason_is_not_a_failed_sign_in(client: Client, author, memo) -> None:
    memo_publish(memo=memo, actor=author, password=DEFAULT_DEMO_PASSWORD)
    login_verified(client, author)

    response = sign(client, memo, DEFAULT_DEMO_PASSWORD)

    assert response.status_code == 403
    assert "Only a draft can be published" in response.content.decode()
    assert entries(LedgerAction.LOGIN_FAILED) == []


def test_a_signing_lockout_refusal_is_recorded(client: Client, author, memo) -> None:
    login_verified(client, author)
    for _ in range(LIMIT):
        sign(client, memo, WRONG)
    denials_before = len(entries(LedgerAction.DENIED))

    sign(client, memo, DEFAULT_DEMO_PASSWORD)

    refusal = entries(LedgerAction.DENIED)[-1]
    assert len(entries(LedgerAction.DENIED)) == denials_before + 1
    assert refusal.actor == author
    assert "locked out" in refusal.payload["reason"]


def test_a_person_without_a_password_signs_on_the_page_with_a_code_and_wrong_codes_lock_them_out(
    client: Client, memo
) -> None:
    signer = memo_writer("u-3001", password=None)
    login_verified(client, signer)

    page = client.get(publish_url(memo)).content.decode()
    wrong = [sign(client, memo, "12345678", username="u-3001") for _ in range(LIMIT - 1)]
    signed = sign(client, memo, authenticator_code(enrolled_authenticator(signer)), username="u-3001")

    assert "Code from your authenticator app" in page
    assert [response.status_code for response in wrong] == [403] * (LIMIT - 1)
    assert "username or code is not correct" in wrong[0].content.decode()
    assert signed.status_code == 302
    [signature] = Signature.objects.all()
    assert signature.signer == signer
    failures = entries(LedgerAction.LOGIN_FAILED)
    assert [entry.payload["step"] for entry in failures] == ["signature"] * (LIMIT - 1)
