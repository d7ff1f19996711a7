"""Electronic signatures: the reusable service every approval calls, and its form.

Per 21 CFR Part 11: the signer re-enters their password at each signing (§11.200(a)(1)); the first
signing of a session also asks for the username (§11.200(a)(1)(i)); the signature records printed name,
UTC time and meaning (§11.50) and is bound to the SHA-256 digest of the exact record signed (§11.70).

A person who signs in through single sign-on has no password the portal could check: their second
identification component is a current code from their second factor (the authenticator app, or an unused
backup code), used up by the signing so it cannot sign twice. Wrong credentials at signing count towards the
sign-in lockout (django-axes), and a locked-out person cannot sign: otherwise the signing page would be an
unthrottled way of guessing passwords.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from axes.handlers.proxy import AxesProxyHandler
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.signals import user_login_failed
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.services.second_factor import second_factor_verify
from audit import audit_context, ledger
from audit.canonical import record_digest, to_jsonable
from audit.choices import LedgerAction
from audit.ledger import ActionDenied, denials_recorded
from audit.models.signatures import NOTE_MAX_LENGTH, Signature

#: Session key set after the first successful signing of a session.
SIGNING_SESSION_KEY = "governance.esign_session_started"
#: What a failed re-authentication is recorded as in the sign-in ledger entry and the lockout count.
SIGNING_STEP = "signature"


class ReauthenticationFailed(ActionDenied):
    """The signer's credentials were wrong: a refusal like any other, which also counts as a failed sign-in."""


#: The note typed on the signing page, for the signature the approval service is about to make.
_signing_note: ContextVar[str] = ContextVar("signing_note", default="")


@contextmanager
def signing_note(note: str) -> Iterator[None]:
    """The signing page's optional note goes to the signature made inside this block.

    Every approval service (a dozen of them, across apps) calls ``signature_sign`` with its own arguments; the
    note is the signer's words for whichever of them the page performs, so the page hands it over here rather
    than each service growing a parameter it only passes on."""
    token = _signing_note.set(note)
    try:
        yield
    finally:
        _signing_note.reset(token)


def clean_note(note: str) -> str:
    """The note as stored: trimmed, and refused (not cut) when longer than a signature keeps."""
    note = (note or "").strip()
    if len(note) > NOTE_MAX_LENGTH:
        raise ValidationError(
            {"note": f"A signature's note is at most {NOTE_MAX_LENGTH} characters (this one has {len(note)})."}
        )
    return note


def signs_with_second_factor(signer: AbstractBaseUser) -> bool:
    """Whether the signer's second identification component is a second-factor code rather than a password:
    true of accounts without a usable password (those made by single sign-on)."""
    return not signer.has_usable_password()


def signer_authenticates(*, signer: AbstractBaseUser, password: str, username: str | None = None) -> bool:
    """The signer proves again who they are: their own password (or, without one, a current second-factor
    code, used up by this), and their username if asked.

    The credential is checked against the signer's own account (not through the sign-in backends); a wrong one
    is refused and recorded by ``signature_sign``, and counted towards the lockout by the signing page."""
    if username is not None and username != signer.get_username():
        return False
    if signs_with_second_factor(signer):
        return bool(password) and second_factor_verify(user=signer, code=password).ok
    return signer.check_password(password)


def signing_locked_out(request: HttpRequest, signer: AbstractBaseUser) -> bool:
    """Whether the sign-in lockout (this username from this address) bars the signer from signing too."""
    return not AxesProxyHandler.is_allowed(request, {"username": signer.get_username()})


def record_failed_reauthentication(request: HttpRequest, signer: AbstractBaseUser) -> None:
    """A wrong password or code at signing counts as a failed sign-in: axes counts it towards the lockout and
    ``accounts.sign_in`` records it (the step says it was a signature). Call it outside the service's
    transaction, which the refusal rolled back."""
    user_login_failed.send(
        sender=__name__, credentials={"username": signer.get_username(), "step": SIGNING_STEP}, request=request
    )


def signature_sign(
    *,
    record: models.Model,
    signer: AbstractBaseUser,
    password: str,
    meaning: str,
    username: str | None = None,
    note: str | None = None,
    on_behalf_of: AbstractBaseUser | None = None,
) -> Signature:
    """Sign ``record`` as ``signer`` with ``meaning`` ("Approved as Legal reviewer").

    ``note`` is the signer's optional remark, kept with the signature and in its ledger entry (None: the note of
    the signing page, see ``signing_note``). ``on_behalf_of`` is the absent person whose review a delegate signs:
    the signature and its ledger entry name them, the signer stays the one who re-authenticated.

    Call it inside the approval service's transaction, after that service has checked that the signer may
    approve: the signature, the state change and their ledger entries then commit together. A failed
    re-authentication is refused and recorded in the ledger.
    """
    meaning = meaning.strip()
    if not meaning:
        raise ValueError("A signature needs a meaning, e.g. 'Approved as Legal reviewer'.")
    note = clean_note(_signing_note.get() if note is None else note)
    behalf_name = (on_behalf_of.get_full_name() or on_behalf_of.get_username()) if on_behalf_of else ""
    with denials_recorded(), transaction.atomic():
        if not signer.is_active or not signer_authenticates(signer=signer, password=password, username=username):
            credential = "code" if signs_with_second_factor(signer) else "password"
            raise ReauthenticationFailed(
                f"Re-authentication failed: the username or {credential} is not correct.",
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
                    **({"note": note} if note else {}),
                    **(
                        {"on_behalf_of": {"username": on_behalf_of.get_username(), "printed_name": behalf_name}}
                        if on_behalf_of
                        else {}
                    ),
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
            note=note,
            on_behalf_of=on_behalf_of,
            on_behalf_of_name=behalf_name,
            ledger_entry=entry,
        )
