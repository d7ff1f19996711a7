"""Electronic signatures: the reusable service every approval calls, and its form.

Per 21 CFR Part 11: the signer re-enters their password at each signing (§11.200(a)(1)); the first
signing of a session also asks for the username (§11.200(a)(1)(i)); the signature records printed name,
UTC time and meaning (§11.50) and is bound to the SHA-256 digest of the exact record signed (§11.70).
"""

from django import forms
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from governance import audit_context, ledger
from governance.canonical import record_digest, to_jsonable
from governance.choices import LedgerAction
from governance.ledger import ActionDenied, denials_recorded
from governance.models.signatures import Signature
from governance.second_factor import session_is_verified

#: Session key set after the first successful signing of a session.
SIGNING_SESSION_KEY = "governance.esign_session_started"


def signer_authenticates(*, signer: AbstractBaseUser, password: str, username: str | None = None) -> bool:
    """The signer proves again who they are: their own password, and their username if asked.

    The password is checked against the signer's own account (not through the sign-in backends, whose
    lockout counting belongs to signing in); a wrong one is refused and recorded by ``signature_sign``."""
    if username is not None and username != signer.get_username():
        return False
    return signer.check_password(password)


def signature_sign(
    *,
    record: models.Model,
    signer: AbstractBaseUser,
    password: str,
    meaning: str,
    username: str | None = None,
) -> Signature:
    """Sign ``record`` as ``signer`` with ``meaning`` ("Approved as Legal reviewer").

    Call it inside the approval service's transaction, after that service has checked that the signer may
    approve: the signature, the state change and their ledger entries then commit together. A failed
    re-authentication is refused and recorded in the ledger.
    """
    meaning = meaning.strip()
    if not meaning:
        raise ValueError("A signature needs a meaning, e.g. 'Approved as Legal reviewer'.")
    with denials_recorded(), transaction.atomic():
        if not signer.is_active or not signer_authenticates(signer=signer, password=password, username=username):
            raise ActionDenied(
                "Re-authentication failed: the username or password is not correct.",
                actor=signer,
                attempted=f"sign: {meaning}",
                obj=record,
            )
        locked = type(record)._base_manager.select_for_update().get(pk=record.pk)
        digest = record_digest(locked)
        signed_at = timezone.now()
        printed_name = signer.get_full_name() or signer.get_username()
        content_type = ContentType.objects.get_for_model(locked)
        with audit_context.acting_as(signer):
            entry = ledger.append(
                action=LedgerAction.SIGN,
                obj=locked,
                actor=signer,
                payload={
                    "meaning": meaning,
                    "printed_name": printed_name,
                    "signed_at": to_jsonable(signed_at),
                    "record_digest": digest,
                },
            )
        return Signature.objects.create(
            signer=signer,
            printed_name=printed_name,
            signed_at=signed_at,
            meaning=meaning,
            content_type=content_type,
            object_id=str(locked.pk),
            object_label=entry.object_label,
            record_digest=digest,
            ledger_entry=entry,
        )


def signature_is_valid(signature: Signature, record: models.Model | None = None) -> bool:
    """Whether the signed record still is exactly what was signed."""
    record = record if record is not None else signature.record
    if record is None:
        return False
    same_record = (
        ContentType.objects.get_for_model(record).pk == signature.content_type_id
        and str(record.pk) == signature.object_id
    )
    return same_record and record_digest(record) == signature.record_digest


def signatures_for(record: models.Model) -> list[tuple[Signature, bool]]:
    """The record's signatures, newest first, each with whether it still holds."""
    current = record_digest(record)
    content_type = ContentType.objects.get_for_model(record)
    signatures = Signature.objects.filter(content_type=content_type, object_id=str(record.pk)).select_related("signer")
    return [(signature, signature.record_digest == current) for signature in signatures]


class SignatureForm(forms.Form):
    """Re-authentication for one signing. Asks for the username on the session's first signing, and refuses
    a session that has not passed the second factor."""

    username = forms.CharField(label=_("Username"), max_length=150, required=False)
    password = forms.CharField(label=_("Password"), strip=False, widget=forms.PasswordInput, max_length=4096)

    def __init__(self, *args: object, request: HttpRequest, meaning: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.request = request
        self.meaning = meaning
        self.first_signing = not request.session.get(SIGNING_SESSION_KEY, False)
        if self.first_signing:
            self.fields["username"].required = True
        else:
            del self.fields["username"]

    def clean(self) -> dict:
        """A signature is given only in a session that passed the second factor."""
        if not session_is_verified(self.request):
            raise forms.ValidationError(
                _("Signing needs a session verified with your second factor: sign out and sign in again."),
                code="second_factor_required",
            )
        return super().clean()

    def credentials(self) -> dict[str, str | None]:
        """What an approval service passes on to ``signature_sign`` (after ``is_valid()``)."""
        return {
            "password": self.cleaned_data["password"],
            "username": self.cleaned_data.get("username") if self.first_signing else None,
        }

    def mark_session_signed(self) -> None:
        """After a successful signing: the rest of this session asks for the password only."""
        self.request.session[SIGNING_SESSION_KEY] = True

    def sign(self, record: models.Model) -> Signature:
        """Sign after ``is_valid()``; raises ``ActionDenied`` (recorded) if re-authentication fails."""
        signature = signature_sign(record=record, signer=self.request.user, meaning=self.meaning, **self.credentials())
        self.mark_session_signed()
        return signature
