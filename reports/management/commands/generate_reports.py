"""``manage.py generate_reports [--patient MRN] [--due]``: what the periodic task does, by hand.

Runs synchronously (no worker needed) and prints one line per report it created.
"""

from django.core.management.base import BaseCommand, CommandError

from patients.models import Patient
from reports.services import report_generate, reports_due


class Command(BaseCommand):
    help = (
        "Generate health reports now: for one patient (--patient MRN), or for every patient "
        "whose report is due (--due, the default)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--patient", metavar="MRN", help="generate this patient's report")
        parser.add_argument(
            "--due", action="store_true", help="every patient whose report is due (default)"
        )

    def handle(self, *args, patient=None, due=False, **options):
        if patient:
            try:
                ids = [Patient.objects.get(mrn=patient).pk]
            except Patient.DoesNotExist:
                raise CommandError(f"No patient with MRN {patient}.") from None
        else:
            ids = reports_due()
        created = 0
        for patient_id in ids:
            report = report_generate(patient_id=patient_id, only_if_due=not patient)
            if report is None:
                if patient:
                    self.stdout.write(f"No readings for {patient} in the period; no report.")
                continue
            state = "created" if report.was_created else "exists"
            created += report.was_created
            self.stdout.write(
                f"{state}: report {report.pk} {report.patient.mrn} "
                f"{report.period_start}..{report.period_end} ({report.kind})"
            )
        self.stdout.write(f"{created} report(s) created.")
