"""A reader who chose mmol/L reads no mg/dL anywhere (issue #13 item 5).

Seeds the demo (plans of every preset, meter-only patients, reports, visits), switches every
demo account to mmol/L and opens every page a clinician and a patient reach. The only places
"mg/dL" may appear are the controls that switch back to it — and free text a clinician wrote
for a patient who reads mg/dL (the product shows what was written); so the pages that show
plan free text are checked for the patients who were already in mmol/L when it was written.
"""

import re
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.access import patients_visible_to
from accounts.models import User
from care_plans.models import CarePlanVersion
from patients.models import Patient
from reports.models import Report

# The unit switches: <option value="mg/dL">mg/dL</option>, ?unit=mg/dL links and their text.
SWITCHES = [
    re.compile(r'<option value="mg/dL"[^>]*>\s*mg/dL\s*</option>'),
    re.compile(r'<a href="[^"]*unit=mg/dL[^"]*"[^>]*>\s*mg/dL\s*</a>'),
    re.compile(r'value="mg/dL"'),
    re.compile(r"unit=mg/dL"),
]


def without_switches(html: str) -> str:
    for pattern in SWITCHES:
        html = pattern.sub("", html)
    return html


@pytest.fixture
def demo(db) -> set[int]:
    """The demo in mmol/L; returns the patients whose plans were written in mmol/L."""
    call_command("seed_demo", "--patients", "8", "--days", "21", stdout=StringIO())
    written_in_mmol = set(Patient.objects.filter(unit="mmol/L").values_list("pk", flat=True))
    assert written_in_mmol and Patient.objects.exclude(pk__in=written_in_mmol).exists()
    User.objects.update(unit="mmol/L")
    Patient.objects.update(unit="mmol/L")
    return written_in_mmol


def pages_of(patient: Patient, written_in_mmol: set[int]) -> list[str]:
    pk = patient.pk
    pages = [f"/patients/{pk}/", f"/patients/{pk}/day/", f"/patients/{pk}/reports/"]
    pages += [f"/reports/{r.pk}/" for r in Report.objects.filter(patient=patient)[:2]]
    if pk not in written_in_mmol:
        return pages
    pages += [
        f"/patients/{pk}/plan/",
        f"/patients/{pk}/care-plan/",
        f"/patients/{pk}/care-plan/history/",
    ]
    numbers = list(
        CarePlanVersion.objects.filter(plan__patient=patient)
        .order_by("number")
        .values_list("number", flat=True)
    )
    if len(numbers) >= 2:
        pages.append(f"/patients/{pk}/care-plan/compare/?a={numbers[0]}&b={numbers[-1]}")
    return pages


def mg_dl_on(client, path: str) -> list[str]:
    """Where "mg/dL" is shown on the page (with what precedes it), besides the switches."""
    response = client.get(path, follow=True)
    assert response.status_code == 200, path
    html = without_switches(response.content.decode())
    return [
        f"{path}: …{html[max(0, m.start() - 100) : m.start() + 5]}"
        for m in re.finditer("mg/dL", html)
    ]


def test_a_clinician_in_mmol_reads_no_mg_dl(client, demo):
    found = []
    for doctor in User.objects.filter(role="endocrinologist"):
        client.force_login(doctor)
        paths = ["/", "/patients/", "/patients/population/", "/reports/unread/"]
        paths += [
            path for patient in patients_visible_to(doctor) for path in pages_of(patient, demo)
        ]
        found += [place for path in paths for place in mg_dl_on(client, path)]
    assert not found, "\n".join(found)


def test_a_patient_in_mmol_reads_no_mg_dl(client, demo):
    found = []
    for patient in Patient.objects.filter(pk__in=demo).exclude(user=None)[:4]:
        client.force_login(patient.user)
        paths = ["/", f"/patients/{patient.pk}/care-plan/"]
        paths += [f"/reports/{r.pk}/" for r in Report.objects.filter(patient=patient)[:1]]
        found += [place for path in paths for place in mg_dl_on(client, path)]
    assert not found, "\n".join(found)
