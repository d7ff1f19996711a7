from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.demo import demo_authenticator_key


class Command(BaseCommand):
    help = (
        "Print the current second-factor code of a demo login (whose authenticator secret is published). "
        "Only for the demo authenticators that seed_demo creates, and only while DEBUG is true."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="A demo login, e.g. legal")

    def handle(self, *args: object, username: str, **options: object) -> None:
        if not settings.DEBUG:
            raise CommandError("Refusing while DEBUG is false: demo authenticators do not belong in production.")
        device = TOTPDevice.objects.filter(
            user__username=username, confirmed=True, key=demo_authenticator_key(username)
        ).first()
        if device is None:
            raise CommandError(f"{username} has no demo authenticator (only seed_demo's demo logins have one).")
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        self.stdout.write(f"{totp.token():0{device.digits}d}")
