"""The second factor every person signs in with: an authenticator app (TOTP, RFC 6238) and one-time backup
codes, kept as django-otp devices.

A person enrols once, on their first sign-in: the page shows a QR code of the authenticator's secret, a code
from the app confirms it, and ten backup codes are shown once. Later sign-ins ask for a code from the app or
a backup code. Wrong codes are throttled per device (1, 2, 4, 8 ... seconds) and count as failed sign-ins.
Enrolling, renewing the backup codes and resetting a lost factor are recorded in the ledger; the secrets
and codes never are.
"""

import re
from base64 import b32encode
from dataclasses import dataclass
from datetime import datetime

import segno
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.http import HttpRequest
from django.utils.safestring import SafeString, mark_safe
from django_otp import verify_token
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.sign_in import may_lift_lockouts
from audit import ledger
from audit.choices import LedgerAction
from audit.ledger import ActionDenied, denials_recorded

AUTHENTICATOR_NAME = "Authenticator app"
BACKUP_CODES_NAME = "Backup codes"
BACKUP_CODE_COUNT = 10
#: An authenticator's code: six digits. Anything else offered is tried as a backup code.
AUTHENTICATOR_CODE = re.compile(r"^\d{6}$")
#: Longest code accepted from a form (backup codes are 8 characters).
MAX_CODE_LENGTH = 16


def session_is_verified(request: HttpRequest) -> bool:
    """Whether this session passed the second factor (``OTPMiddleware`` sets ``user.is_verified``)."""
    user = getattr(request, "user", None)
    is_verified = getattr(user, "is_verified", None)
    return bool(user is not None and user.is_authenticated and callable(is_verified) and is_verified())


def normalise_code(code: str) -> str:
    """People type codes with spaces or dashes ("123 456", "abcd-efgh"); backup codes are lower case."""
    return re.sub(r"[\s-]", "", code or "").lower()


def authenticator_of(user: AbstractBaseUser) -> TOTPDevice | None:
    """The person's confirmed authenticator, if they have enrolled."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def enrolment_authenticator(user: AbstractBaseUser, *, device_pk: object = None) -> TOTPDevice:
    """The authenticator being set up in one pending sign-in: the device ``device_pk`` (which the sign-in
    keeps) while it is still unconfirmed, else a new one with a new secret.

    A new one replaces every other unconfirmed authenticator of the person, so a secret shown to one session
    (someone else who knows the password, say) is never the one another session confirms."""
    if device_pk is not None:
        device = TOTPDevice.objects.filter(pk=device_pk, user=user, confirmed=False).first()
        if device is not None:
            return device
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        return TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=False)


def secret_text(device: TOTPDevice) -> str:
    """The secret as an authenticator app asks for it when typed in (base32, in groups of four)."""
    secret = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def qr_code_svg(device: TOTPDevice) -> SafeString:
    """The ``otpauth://`` URI as an inline SVG element: no script, no request, nothing a strict Content Security
    Policy would block (segno writes only paths and presentation attributes, no ``style``; the URI is encoded in
    the modules, not as text)."""
    code = segno.make(device.config_url, error="m")
    # black on white whatever the admin's colour theme, or a phone cannot read it in dark mode
    return mark_safe(code.svg_inline(scale=5, border=2, dark="#000", light="#fff"))  # noqa: S308


@dataclass(frozen=True)
class Verification:
    device: Device | None
    #: When wrong codes have throttled the device: the earliest time to try again (UTC).
    retry_at: datetime | None = None
    #: The code was not even tried: earlier wrong codes still throttle the device.
    throttled: bool = False
    #: The authenticator being confirmed no longer exists: the set-up was started again in another session.
    superseded: bool = False

    @property
    def ok(self) -> bool:
        return self.device is not None


def _candidates(user: AbstractBaseUser, code: str) -> list[Device]:
    if AUTHENTICATOR_CODE.match(code):
        return list(TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk"))
    return list(StaticDevice.objects.filter(user=user, confirmed=True).order_by("pk"))


def _retry_at(device: Device) -> datetime | None:
    allowed, detail = device.verify_is_allowed()
    return None if allowed else (detail or {}).get("locked_until")


def second_factor_verify(*, user: AbstractBaseUser, code: str) -> Verification:
    """Check a code from the authenticator, or a backup code (used up by this). A throttled device is not
    tried at all; a wrong code throttles it further."""
    code = normalise_code(code)[:MAX_CODE_LENGTH]
    retry_at, tried = None, False
    for device in _candidates(user, code):
        if (blocked_until := _retry_at(device)) is not None:
            retry_at = blocked_until
            continue
        tried = True
        verified = verify_token(user, device.persistent_id, code)
        if verified is not None:
            return Verification(device=verified)
        device.refresh_from_db()
        retry_at = _retry_at(device)
    return Verification(device=None, retry_at=retry_at, throttled=retry_at is not None and not tried)


def _issue_backup_codes(user: AbstractBaseUser) -> list[str]:
    device, _ = StaticDevice.objects.get_or_create(user=user, name=BACKUP_CODES_NAME, defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    device.throttle_reset()
    return codes


def second_factor_enrol(*, user: AbstractBaseUser, device: TOTPDevice, code: str) -> Verification:
    """Confirm the authenticator being set up with a code it shows. On success the person also gets fresh
    backup codes (``backup_codes`` on the result's device, to be shown once) and the ledger records it."""
    with denials_recorded(), transaction.atomic():
        locked = TOTPDevice.objects.select_for_update().filter(pk=device.pk, user=user).first()
        if locked is None:
            return Verification(device=None, superseded=True)
        if locked.confirmed or authenticator_of(user) is not None:
            raise ActionDenied(
                "An authenticator is already enrolled.", actor=user, attempted="enrol second factor", obj=user
            )
        if (retry_at := _retry_at(locked)) is not None:
            return Verification(device=None, retry_at=retry_at, throttled=True)
        if not locked.verify_token(normalise_code(code)[:MAX_CODE_LENGTH]):
            return Verification(device=None, retry_at=_retry_at(locked))
        locked.confirmed = True
        locked.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        locked.backup_codes = _issue_backup_codes(user)
        ledger.append(
            action=LedgerAction.MFA_ENROLMENT,
            obj=user,
            actor=user,
            payload={"event": "enrolled", "device": AUTHENTICATOR_NAME, "backup_codes": BACKUP_CODE_COUNT},
        )
    return Verification(device=locked)


def backup_codes_renew(*, user: AbstractBaseUser) -> list[str]:
    """New backup codes for an enrolled person (the old ones stop working); shown once."""
    with denials_recorded(), transaction.atomic():
        if authenticator_of(user) is None:
            raise ActionDenied(
                "Enrol an authenticator before asking for backup codes.",
                actor=user,
                attempted="renew backup codes",
                obj=user,
            )
        codes = _issue_backup_codes(user)
        ledger.append(
            action=LedgerAction.MFA_ENROLMENT,
            obj=user,
            actor=user,
            payload={"event": "backup codes renewed", "device": BACKUP_CODES_NAME, "backup_codes": len(codes)},
        )
    return codes


def second_factor_reset(*, user: AbstractBaseUser, actor: AbstractBaseUser, reason: str) -> int:
    """Remove a person's authenticator and backup codes (a lost phone): their next sign-in enrols anew and
    any session they verified with the removed device is no longer verified. Security Reviewers and
    administrators only, with a reason typed by them.

    Nobody resets their own factor (whoever holds a stolen session and password would otherwise enrol their
    own phone), and only an administrator resets an administrator's (a reviewer could otherwise take over a
    more powerful account by resetting it and enrolling first). Returns the number of devices removed."""
    reason = (reason or "").strip()
    with denials_recorded(), transaction.atomic():
        if not may_lift_lockouts(actor):
            raise ActionDenied(
                "Only a Security Reviewer or an administrator may reset a second factor.",
                actor=actor,
                attempted="reset second factor",
                obj=user,
            )
        if user.pk == actor.pk:
            raise ActionDenied(
                "Nobody resets their own second factor: ask another Security Reviewer or an administrator.",
                actor=actor,
                attempted="reset second factor",
                obj=user,
            )
        if user.is_superuser and not actor.is_superuser:
            raise ActionDenied(
                "Only an administrator may reset an administrator's second factor.",
                actor=actor,
                attempted="reset second factor",
                obj=user,
            )
        if not reason:
            raise ActionDenied(
                "Say why the second factor is reset.", actor=actor, attempted="reset second factor", obj=user
            )
        removed = TOTPDevice.objects.filter(user=user).delete()[1].get(TOTPDevice._meta.label, 0)
        removed += StaticDevice.objects.filter(user=user).delete()[1].get(StaticDevice._meta.label, 0)
        ledger.append(
            action=LedgerAction.MFA_ENROLMENT,
            obj=user,
            actor=actor,
            payload={"event": "removed", "devices": removed, "reason": reason[:2000]},
        )
    return removed
