"""Subscriber URLs stored encrypted, like the signing secret: chat webhooks carry their credential in the URL."""

from django.db import migrations, models


def encrypt_urls(apps, schema_editor) -> None:
    from webhooks.signing import encrypt
    from webhooks.urls_policy import described_url

    subscriptions = apps.get_model("webhooks", "WebhookSubscription")
    for subscription in subscriptions.objects.all():
        subscription.encrypted_url, subscription.url_shown = encrypt(subscription.url), described_url(subscription.url)
        subscription.save(update_fields=["encrypted_url", "url_shown"])


def decrypt_urls(apps, schema_editor) -> None:
    from webhooks.signing import decrypt

    subscriptions = apps.get_model("webhooks", "WebhookSubscription")
    for subscription in subscriptions.objects.all():
        subscription.url = decrypt(subscription.encrypted_url)
        subscription.save(update_fields=["url"])


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0002_role_permissions"),
    ]

    operations = [
        migrations.AddField(
            model_name="webhooksubscription",
            name="encrypted_url",
            field=models.TextField(default="", editable=False, verbose_name="encrypted URL"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="webhooksubscription",
            name="url_shown",
            field=models.CharField(
                default="",
                editable=False,
                help_text="Where it posts and the first 16 hex digits of the URL's SHA-256: the URL itself is not shown.",
                max_length=400,
                verbose_name="URL",
            ),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="webhooksubscription",
            name="url",
            field=models.URLField(default="", max_length=2000, verbose_name="URL"),
        ),
        migrations.RunPython(encrypt_urls, decrypt_urls),
        migrations.RemoveField(model_name="webhooksubscription", name="url"),
    ]
