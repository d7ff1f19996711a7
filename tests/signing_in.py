"""Signing people in for tests, with both factors, as the portal requires of everyone.

``login_verified`` is the test client's shortcut (``force_login`` plus what ``django_otp.login`` stores in the
session after a real verification); the second-factor pages themselves are tested in tests/security.
``second_factor_code`` is what a person's authenticator app would show now.
"""

import time

from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.services.second_factor import AUTHENTICATOR_NAME, BACKUP_CODES_NAME, authenticator_of


def enrolled_authenticator(user: object) -> TOTPDevice:
    """The person's authenticator, enrolled now if they have none (test arrangement, not the enrolment page)."""
    return authenticator_of(user) or TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=True)


def login_verified(client: Client, user: object) -> None:
    """Sign ``user`` in on the test client with a session verified by their authenticator."""
    device = enrolled_authenticator(user)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def authenticator_code(device: TOTPDevice, at: float | None = None) -> str:
    """The six digits the authenticator app shows at ``at`` (now by default)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() if at is None else at
    return f"{totp.token():0{device.digits}d}"


def second_factor_code(user: object) -> str:
    """A code that passes the second factor now: the authenticator's, or, if this person already used the
    current one (signed in twice within 30 seconds), a backup code, as a person would."""
    device = enrolled_authenticator(user)
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    if totp.t() > device.last_t:
        return authenticator_code(device, at=totp.time)
    backup, _ = StaticDevice.objects.get_or_create(user=user, name=BACKUP_CODES_NAME, defaults={"confirmed": True})
    code = StaticToken.random_token()
    backup.token_set.create(token=code)
    return code
