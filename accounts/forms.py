"""Forms of identity and access: re-authentication for an electronic signature."""

from contextlib import AbstractContextManager

from django import forms
from django.db import models
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.services.second_factor import session_is_verified
from accounts.services.signatures import (
    SIGNING_SESSION_KEY,
    ReauthenticationFailed,
    record_failed_reauthentication,
    signature_sign,
    signing_locked_out,
    signing_note,
    signs_with_second_factor,
)
from audit.ledger import record_denial
from audit.models import Signature
from audit.models.signatures import NOTE_MAX_LENGTH


class SignatureForm(forms.Form):
    """Re-authentication for one signing. Asks for the username on the session's first signing, and refuses
    a session that has not passed the second factor."""

    username = forms.CharField(label=_("Username"), max_length=150, required=False)
    password = forms.CharField(label=_("Password"), strip=False, widget=forms.PasswordInput, max_length=4096)
    note = forms.CharField(
        label=_("Note (optional)"),
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": NOTE_MAX_LENGTH}),
        help_text=_("Kept with your signature and shown wherever it is listed, e.g. a condition of your approval."),
    )

    def __init__(
        self, *args: object, request: HttpRequest, meaning: str, with_note: bool = True, **kwargs: object
    ) -> None:
        """``with_note=False`` for a page that asks for its own note (and passes it to the signature itself)."""
        super().__init__(*args, **kwargs)
        self.request = request
        self.meaning = meaning
        if not with_note:
            del self.fields["note"]
        self.first_signing = not request.session.get(SIGNING_SESSION_KEY, False)
        if self.first_signing:
            self.fields["username"].required = True
            self.fields["username"].help_text = _(
                "Asked at your first signature of this session, as 21 CFR Part 11 requires: both components of the "
                "signature at the first signing, the password alone at later ones."
            )
        else:
            del self.fields["username"]
        signer = getattr(request, "user", None)
        if signer is not None and signer.is_authenticated and signs_with_second_factor(signer):
            # Single sign-on left no password: the second component is a code the signer's second factor shows.
            password = self.fields["password"]
            password.label = _("Code from your authenticator app (or an unused backup code)")
            password.help_text = _(
                "You sign in through single sign-on and have no portal password: enter the code your "
                "authenticator app shows now, or one of your backup codes. Each code signs once."
            )
            password.widget = forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text"})

    def clean(self) -> dict:
        """A signature is given only in a session that passed the second factor, and not by someone whom wrong
        passwords (at signing in or at signing) have locked out."""
        if not session_is_verified(self.request):
            raise forms.ValidationError(
                _("Signing needs a session verified with your second factor: sign out and sign in again."),
                code="second_factor_required",
            )
        if signing_locked_out(self.request, self.request.user):
            record_denial(
                actor=self.request.user,
                attempted=f"sign: {self.meaning}",
                reason="locked out after too many failed sign-ins or signing attempts",
            )
            raise forms.ValidationError(
                _(
                    "Too many wrong passwords or codes: signing and signing in are locked for your account from "
                    "this address. Try again later, or ask a Security Reviewer to lift the lockout."
                ),
                code="locked_out",
            )
        return super().clean()

    def credentials(self) -> dict[str, str | None]:
        """What an approval service passes on to ``signature_sign`` (after ``is_valid()``)."""
        return {
            "password": self.cleaned_data["password"],
            "username": self.cleaned_data.get("username") if self.first_signing else None,
        }

    def written_note(self) -> str:
        """The signer's optional note (after ``is_valid()``)."""
        return self.cleaned_data.get("note", "")

    def signing(self) -> AbstractContextManager[None]:
        """Around the approval service: the signature it makes carries this form's note."""
        return signing_note(self.written_note())

    def mark_session_signed(self) -> None:
        """After a successful signing: the rest of this session asks for the password only."""
        self.request.session[SIGNING_SESSION_KEY] = True

    def sign(self, record: models.Model) -> Signature:
        """Sign after ``is_valid()``; raises ``ActionDenied`` (recorded) if re-authentication fails."""
        try:
            signature = signature_sign(
                record=record,
                signer=self.request.user,
                meaning=self.meaning,
                note=self.written_note(),
                **self.credentials(),
            )
        except ReauthenticationFailed:
            self.reauthentication_failed()
            raise
        self.mark_session_signed()
        return signature

    def reauthentication_failed(self) -> None:
        """After a service refused the signer's credentials (``ReauthenticationFailed``): count the failure
        towards the sign-in lockout and record it."""
        record_failed_reauthentication(self.request, self.request.user)
