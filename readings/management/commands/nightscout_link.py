"""``manage.py nightscout_link --patient MRN [--rotate]``: what to type into an uploader app."""

import json

from django.core.management.base import BaseCommand, CommandError

from patients.models import Patient
from readings.services import nightscout_base_url, nightscout_link_ensure, nightscout_link_rotate


class Command(BaseCommand):
    help = (
        "Print the patient's Nightscout settings as JSON {base_url, api_secret}, creating them "
        "if missing. The secret is stored hashed: it is printed when issued (first run, or "
        "--rotate) and is null afterwards. --rotate issues a new secret (the base URL stays; "
        "the old secret stops working)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--patient", required=True, metavar="MRN", help="the patient's MRN")
        parser.add_argument("--rotate", action="store_true", help="issue a new API secret")

    def handle(self, *args, patient: str, rotate: bool, **options):
        try:
            record = Patient.objects.get(mrn=patient)
        except Patient.DoesNotExist:
            raise CommandError(f"no patient with MRN {patient!r}") from None
        if rotate:
            link = nightscout_link_rotate(patient=record)
        else:
            link = nightscout_link_ensure(patient=record)
        self.stdout.write(
            json.dumps({"base_url": nightscout_base_url(link), "api_secret": link.api_secret})
        )
        if link.api_secret is None:
            self.stderr.write(
                "The API secret is stored hashed and was shown when it was issued; "
                "--rotate issues a new one (the old one stops working)."
            )
