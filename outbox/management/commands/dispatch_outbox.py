"""Send the outbox's deferred tasks now (after a broker outage, or from cron)."""

import json

from django.core.management.base import BaseCommand

from outbox.services import outbox_dispatch


class Command(BaseCommand):
    help = (
        "Send Celery tasks recorded in the outbox that were never sent (the broker was down) "
        "or were sent long ago and never finished. Safe to run at any time, and twice."
    )

    def handle(self, *args, **options):
        self.stdout.write(json.dumps(outbox_dispatch()))
