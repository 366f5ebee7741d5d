"""``manage.py import_readings --patient MRN FILE [FILE...]``: import device exports.

Each file goes through the same path as a web upload (``upload_create`` then
``upload_process``), synchronously. Exit status is non-zero only when a file cannot be read
at all; files with bad rows import every good row and list the bad ones.
"""

import json
import os
import zoneinfo

from django.core.management.base import BaseCommand, CommandError

from patients.models import Patient
from readings.parsers import FORMATS
from readings.services import upload_create, upload_process


class Command(BaseCommand):
    help = (
        "Import glucose readings from device exports (Dexcom Clarity, LibreView, CareLink, "
        "Nightscout, Tidepool, FHIR, plain CSV) for one patient."
    )

    def add_arguments(self, parser):
        parser.add_argument("--patient", required=True, metavar="MRN", help="the patient's MRN")
        parser.add_argument("files", nargs="+", metavar="FILE", help="export file(s)")
        parser.add_argument(
            "--format",
            default="auto",
            choices=("auto", *FORMATS),
            help="file format (default: auto, detected from the content)",
        )
        parser.add_argument(
            "--timezone",
            metavar="TZ",
            help="IANA zone of the device's clock (default: the patient's time zone)",
        )
        parser.add_argument("--json", action="store_true", help="one JSON object per file")

    def handle(self, *args, patient: str, files: list[str], **options):
        try:
            record = Patient.objects.get(mrn=patient)
        except Patient.DoesNotExist:
            raise CommandError(f"no patient with MRN {patient!r}") from None
        tz = options["timezone"]
        if tz:
            try:
                zoneinfo.ZoneInfo(tz)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                raise CommandError(f"unknown time zone {tz!r}") from None
        unreadable = 0
        for path in files:
            summary = self._import(record, path, options["format"], tz)
            unreadable += "error" in summary
            self._print(summary, as_json=options["json"])
        if unreadable:
            raise CommandError(f"{unreadable} of {len(files)} file(s) could not be read")

    def _import(self, patient, path: str, fmt: str, tz: str | None) -> dict:
        if not os.path.isfile(path):
            return {**_empty(path), "error": "no such file"}
        upload = upload_create(
            patient=patient, by=None, file=path, filename=path, requested_format=fmt, timezone=tz
        )
        upload = upload_process(upload_id=upload.pk)
        summary = {**upload.summary(), "file": path}
        if upload.status == upload.Status.FAILED:
            summary["error"] = upload.error
        return summary

    def _print(self, summary: dict, *, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(summary, ensure_ascii=False))
            return
        if "error" in summary:
            self.stderr.write(f"{summary['file']}: cannot be read: {summary['error']}")
            return
        self.stdout.write(
            f"{summary['file']} ({summary['format']}): {summary['accepted']} accepted, "
            f"{summary['duplicates']} duplicates, {len(summary['rejected'])} rejected"
        )
        for row in summary["rejected"]:
            self.stdout.write(f"  line {row['line']}: {row['reason']}")
        hidden = summary.get("rejected_total", 0) - len(summary["rejected"])
        if hidden > 0:
            self.stdout.write(f"  … and {hidden} more rejected rows:")
            for reason, count in summary.get("rejected_by_reason", {}).items():
                self.stdout.write(f"    {count} × {reason}")
        for warning in summary.get("warnings", []):
            self.stdout.write(f"  warning: {warning}")


def _empty(path: str) -> dict:
    return {
        "file": path,
        "format": None,
        "accepted": 0,
        "duplicates": 0,
        "rejected": [],
        "rejected_total": 0,
        "rejected_by_reason": {},
        "warnings": [],
    }
