"""common.compiled.CompiledRead: a fixed-shape read compiled once per database gives what its
queryset gives (model instances, tuples, flat values; ids, text and datetimes substituted),
in one query, on the database the router names for the call."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from common import compiled
from patients.models import Patient
from readings.models import Device, Reading
from tests.conftest import make_patient

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 1, 8, tzinfo=dt.UTC)


@pytest.fixture
def readings(patient, other_patient):
    for p, mg in ((patient, 100.0), (other_patient, 200.0)):
        device = Device.objects.create(patient=p, identity="cgm", kind="cgm")
        Reading.objects.bulk_create(
            Reading(
                patient=p,
                device=device,
                timestamp=T0 + dt.timedelta(minutes=5 * i, microseconds=7),
                value_mg_dl=mg + i,
                kind="cgm",
            )
            for i in range(10)
        )


def _window(pk, kind, lo, hi):
    return (
        Reading.objects.filter(patient_id=pk, kind=kind, timestamp__gte=lo, timestamp__lt=hi)
        .order_by("timestamp")
        .values_list("timestamp", "value_mg_dl")
    )


def test_it_returns_the_querysets_model_instances(patient, other_patient):
    read = compiled.CompiledRead(lambda pk: Patient.objects.filter(pk=pk))
    for p in (patient, other_patient, patient):
        got = read.first(p.pk)
        want = Patient.objects.get(pk=p.pk)
        assert type(got) is Patient and got.pk == p.pk
        assert {f.attname: getattr(got, f.attname) for f in Patient._meta.concrete_fields} == {
            f.attname: getattr(want, f.attname) for f in Patient._meta.concrete_fields
        }
        assert got._state.adding is False and got._state.db == "default"
    assert read.first(-1) is None and read.all(-1) == []


def test_it_returns_tuples_and_flat_values_with_ids_text_and_datetimes(
    patient, other_patient, readings
):
    pairs = compiled.CompiledRead(_window, kinds=(int, str, dt.datetime, dt.datetime))
    flat = compiled.CompiledRead(
        lambda pk, lo: (
            Reading.objects.filter(patient_id=pk, timestamp__gte=lo)
            .order_by("-timestamp")
            .values_list("value_mg_dl", flat=True)
        ),
        kinds=(int, dt.datetime),
    )
    lo, hi = T0 + dt.timedelta(minutes=10), T0 + dt.timedelta(minutes=30)
    for p, mg in ((patient, 100.0), (other_patient, 200.0)):
        got = pairs.all(p.pk, "cgm", lo, hi)
        assert got == list(_window(p.pk, "cgm", lo, hi))
        assert [v for _t, v in got] == [mg + 2, mg + 3, mg + 4, mg + 5]
        assert got[0][0] == T0 + dt.timedelta(minutes=10, microseconds=7)
        assert pairs.all(p.pk, "smbg", lo, hi) == []
        assert flat.all(p.pk, hi) == [mg + 9, mg + 8, mg + 7, mg + 6]


def test_it_sends_the_querysets_sql_once_per_read(patient, readings):
    read = compiled.CompiledRead(_window, kinds=(int, str, dt.datetime, dt.datetime))
    values = (patient.pk, "cgm", T0, T0 + dt.timedelta(hours=1))
    read.all(*values)  # compiled
    with CaptureQueriesContext(connection) as queries:
        read.all(*values)
    with CaptureQueriesContext(connection) as direct:
        list(_window(*values))
    assert len(queries) == 1
    assert queries[0]["sql"] == direct[0]["sql"]


def test_it_compiles_once_per_database_and_builds_per_call_what_a_backend_adapts(
    patient, other_patient
):
    built = []

    def build(pk, lo):
        built.append(pk)
        return Patient.objects.filter(pk=pk, created_at__gte=lo).values_list("mrn", flat=True)

    read = compiled.CompiledRead(build, kinds=(int, dt.datetime))
    lo = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    assert read.all(patient.pk, lo) == ["MRN001"]
    assert read.all(other_patient.pk, lo) == ["MRN002"]
    assert read.all(patient.pk, dt.datetime(2999, 1, 1, tzinfo=dt.UTC)) == []
    real = [pk for pk in built if pk in (patient.pk, other_patient.pk)]
    if connection.vendor == "postgresql":  # datetimes go as they are: compiled once
        assert real == []
    else:  # SQLite writes datetimes as text: the read is built for each call
        assert real == [patient.pk, other_patient.pk, patient.pk]


def test_it_reads_the_database_the_router_names_for_the_call(patient, monkeypatch):
    read = compiled.CompiledRead(lambda pk: Patient.objects.filter(pk=pk).values_list("mrn"))
    assert read.all(patient.pk) == [("MRN001",)]
    asked = []

    def db_for_read(model, **hints):
        asked.append(model)
        return "default"

    monkeypatch.setattr(compiled.router, "db_for_read", db_for_read)
    assert read.all(patient.pk) == [("MRN001",)]
    assert asked == [Patient]


def test_it_returns_select_related_objects_and_annotations(patient, center):
    """Model rows with a join and an annotation: what the queryset gives (the related object
    cached, None where the key is null, the annotation set), from the compiled query."""
    from django.db.models import Exists, OuterRef, Value

    make_patient("MRN009", center=None)
    make_patient("MRN010", center=center)

    def build(pk, team_user_id):
        team = Patient.endocrinologists.through.objects.filter(
            patient_id=OuterRef("pk"), user_id=team_user_id
        )
        return (
            Patient.objects.filter(pk__gte=pk)
            .select_related("care_center")
            .annotate(on_team=Exists(team), seven=Value(7))
            .order_by("pk")
        )

    read = compiled.CompiledRead(build, kinds=(int, int))
    doctor = patient.endocrinologists.first()
    for _ in range(2):
        got = read.all(patient.pk, doctor.pk)
        want = list(build(patient.pk, doctor.pk))
        assert [(p.mrn, p.on_team, p.seven) for p in got] == [
            (p.mrn, p.on_team, p.seven) for p in want
        ]
        assert [p.on_team for p in got] == [True, False, False]
        with CaptureQueriesContext(connection) as queries:
            assert [p.care_center for p in got] == [center, None, center]
            assert got[0].care_center.name == center.name
        assert len(queries) == 0  # joined, as the queryset does
        assert got[0]._state.db == "default" and got[0].care_center._state.db == "default"
    assert read._local.by_alias["default"].slots is not None  # compiled, not built per call


def test_it_leaves_shapes_it_cannot_run_to_the_queryset(patient):
    values = compiled.CompiledRead(lambda pk: Patient.objects.filter(pk=pk).values("mrn"))
    assert values.all(patient.pk) == [{"mrn": "MRN001"}]
    assert values._local.by_alias["default"].slots is None


def test_it_returns_model_instances_with_deferred_fields(patient, other_patient):
    read = compiled.CompiledRead(
        lambda pk: Patient.objects.filter(pk__gte=pk).order_by("-pk").only("mrn", "timezone")
    )
    got = read.all(patient.pk)
    assert [(p.pk, p.mrn, p.timezone) for p in got] == [
        (other_patient.pk, "MRN002", "UTC"),
        (patient.pk, "MRN001", "UTC"),
    ]
    assert (
        got[0].get_deferred_fields()
        == Patient.objects.only("mrn", "timezone").get(pk=other_patient.pk).get_deferred_fields()
    )
    assert "name" in got[0].get_deferred_fields()
    assert got[0].name == "Patient MRN002"  # loaded when asked, as a deferred field is
    slots = read._local.by_alias["default"].slots
    assert slots is not None  # compiled, not built per call


def test_it_compiles_comparisons_on_small_and_positive_integer_fields(patient):
    """Django compiles a comparison outside a field's range to no query at all: the stand-in
    values must lie inside every integer field's range (a positive small integer here)."""
    from reports.models import Report

    for days in (7, 14):
        Report.objects.create(
            patient=patient,
            period_start=dt.date(2026, 3, 1),
            period_end=dt.date(2026, 3, days),
            kind="cgm",
            cadence_days=days,
        )
    read = compiled.CompiledRead(
        lambda pk, days: (
            Report.objects.filter(patient_id=pk, cadence_days__lte=days)
            .order_by("cadence_days")
            .values_list("cadence_days", flat=True)
        ),
        kinds=(int, int),
    )
    assert read.all(patient.pk, 10) == [7]
    assert read.all(patient.pk, 14) == [7, 14]
    assert read.all(patient.pk, 0) == []
    assert read._local.by_alias["default"].slots is not None


def test_it_builds_the_queryset_for_values_of_another_kind(patient):
    read = compiled.CompiledRead(lambda pk: Patient.objects.filter(pk=pk).values_list("mrn"))
    assert read.all(patient.pk) == [("MRN001",)]
    with CaptureQueriesContext(connection) as queries:
        assert read.all(str(patient.pk)) == [("MRN001",)]  # "7": the queryset makes it 7
    assert len(queries) == 1
