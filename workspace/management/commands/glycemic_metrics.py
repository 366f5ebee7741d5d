"""``manage.py glycemic_metrics --patient MRN [--start D] [--end D] [--json]`` (DESIGN §4).

Prints the DESIGN §5 object of the patient's readings in the local-date window (default: the
last 14 days of data): one JSON object with ``--json``, a readable summary without.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from patients.models import Patient
from workspace.metrics_api import WindowError, patient_metrics

SUMMARY_LINES = (
    ("readings", "Readings", ""),
    ("days", "Days", ""),
    ("active_percent", "CGM active", " %"),
    ("mean_mg_dl", "Mean glucose", " mg/dL"),
    ("sd_mg_dl", "SD", " mg/dL"),
    ("cv_percent", "CV", " %"),
    ("gmi_percent", "GMI", " %"),
    ("very_low_percent", "Very low (<54)", " %"),
    ("low_percent", "Low (54-69)", " %"),
    ("in_range_percent", "In range (70-180)", " %"),
    ("high_percent", "High (181-250)", " %"),
    ("very_high_percent", "Very high (>250)", " %"),
    ("tight_range_percent", "Tight range (70-140)", " %"),
    ("gri", "GRI", ""),
    ("gri_zone", "GRI zone", ""),
    ("lbgi", "LBGI", ""),
    ("hbgi", "HBGI", ""),
    ("mage", "MAGE", " mg/dL"),
    ("readings_per_day", "Readings per day", ""),
    ("min_mg_dl", "Lowest", " mg/dL"),
    ("max_mg_dl", "Highest", " mg/dL"),
    ("in_target_percent", "In target", " %"),
)


class Command(BaseCommand):
    help = (
        "Glycemic metrics (DESIGN §5) of a patient's readings over local dates [start, end] "
        "(default: the last 14 days of data). Finger-stick-only patients get kind 'smbg'."
    )

    def add_arguments(self, parser):
        parser.add_argument("--patient", required=True, metavar="MRN", help="patient's MRN")
        parser.add_argument("--start", metavar="YYYY-MM-DD", help="first local date")
        parser.add_argument("--end", metavar="YYYY-MM-DD", help="last local date")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, **options):
        patient = Patient.objects.filter(mrn=options["patient"]).first()
        if patient is None:
            raise CommandError(f"No patient with MRN {options['patient']!r}.")
        try:
            metrics = patient_metrics(patient, start=options["start"], end=options["end"])
        except WindowError as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.stdout.write(json.dumps(metrics, ensure_ascii=False))
            return
        self.stdout.write(self._summary(patient, metrics))

    def _summary(self, patient: Patient, metrics: dict) -> str:
        kind = "CGM" if metrics["kind"] == "cgm" else "finger-stick (SMBG)"
        lines = [
            f"{patient.name} ({patient.mrn}), {metrics['start']} to {metrics['end']}, "
            f"{kind}, {patient.timezone}"
        ]
        for key, label, unit in SUMMARY_LINES:
            if key in metrics:
                value = metrics[key]
                lines.append(f"  {label:<22} {'-' if value is None else value}{unit}")
        if metrics["kind"] == "cgm":
            lines.append(f"  {'Hypo events':<22} {len(metrics['hypo_events'])}")
            lines.append(f"  {'Hyper events (>250)':<22} {len(metrics['hyper_events'])}")
            enough = "yes" if metrics["sufficient"] else "no (needs 14 days, 70 % active)"
            lines.append(f"  {'Sufficient data':<22} {enough}")
        lines.append(f"Goals ({metrics['targets']['label']}):")
        for goal in metrics["goals"]:
            met = {True: "met", False: "NOT met", None: "not assessed"}[goal["met"]]
            value = "-" if goal["value"] is None else goal["value"]
            lines.append(
                f"  {goal['label']:<28} {value} ({goal['comparison']} {goal['target']}): {met}"
            )
        return "\n".join(lines)
