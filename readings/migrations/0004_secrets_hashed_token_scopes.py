"""Nightscout secrets stored hashed (SHA-256 of the SHA-1 the protocol sends); token scopes.

Existing plain secrets are hashed in place, so uploaders keep working; the plain text is
then dropped and can no longer be shown (a new secret is issued by rotating).
"""

import hashlib

from django.db import migrations, models


def hash_existing(apps, schema_editor):
    NightscoutLink = apps.get_model("readings", "NightscoutLink")
    for link in NightscoutLink.objects.all():
        sha1 = hashlib.sha1(link.api_secret.encode()).hexdigest()
        link.secret_hash = hashlib.sha256(sha1.encode()).hexdigest()
        link.save(update_fields=["secret_hash"])


class Migration(migrations.Migration):
    dependencies = [
        ("readings", "0003_reading_upload_without_db_constraint"),
    ]

    operations = [
        migrations.AddField(
            model_name="devicetoken",
            name="scope",
            field=models.CharField(
                choices=[("upload", "upload readings"), ("read", "read my glucose history")],
                default="upload",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="nightscoutlink",
            name="secret_hash",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.RunPython(hash_existing, migrations.RunPython.noop),
        migrations.RemoveField(model_name="nightscoutlink", name="api_secret"),
    ]
