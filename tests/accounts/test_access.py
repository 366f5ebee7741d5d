"""Who may see what: every role against every kind of patient."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from accounts.access import (
    get_patient_for,
    may_edit_care_plan,
    patient_visible,
    patients_visible_to,
)
from patients.models import Patient
from tests.conftest import make_patient, make_user


def test_it_shows_a_patient_only_themself(patient, other_patient):
    assert list(patients_visible_to(patient.user)) == [patient]


def test_it_shows_an_endocrinologist_only_assigned_patients(alice, patient, other_patient):
    assert list(patients_visible_to(alice)) == [patient]


def test_it_shows_staff_their_centers_patients(staff, other_staff, patient, other_patient):
    assert set(patients_visible_to(staff)) == {patient, other_patient}
    assert list(patients_visible_to(other_staff)) == []


def test_it_refuses_staff_clinical_detail(staff, patient):
    assert get_patient_for(staff, patient.pk, clinical=False) == patient
    with pytest.raises(Http404):
        get_patient_for(staff, patient.pk)


def test_it_shows_admin_everything(admin_user, patient, other_patient, other_center):
    third = make_patient("MRN003", center=other_center)
    assert set(patients_visible_to(admin_user)) == {patient, other_patient, third}


def test_it_refuses_another_patient(patient, other_patient):
    with pytest.raises(Http404):
        get_patient_for(patient.user, other_patient.pk)


def test_it_refuses_garbage_ids(patient):
    with pytest.raises(Http404):
        get_patient_for(patient.user, "not-a-number")


def test_it_lets_only_the_assigned_endocrinologist_edit_the_plan(alice, bob, staff, patient):
    assert may_edit_care_plan(alice, patient)
    assert not may_edit_care_plan(bob, patient)
    assert not may_edit_care_plan(staff, patient)
    assert not may_edit_care_plan(patient.user, patient)


def test_it_refuses_inactive_users(alice, patient):
    alice.is_active = False
    alice.save()
    assert list(patients_visible_to(alice)) == []


def test_it_filters_by_patient_as_patients_visible_to_does_for_every_role(
    alice, bob, staff, other_staff, admin_user, patient, other_patient, other_center
):
    """``patient_visible`` is the rule of ``patients_visible_to`` row by row: the same patients
    for every role, including a clinician taken off a care team, a nurse, a superuser who is
    also an endocrinologist, an inactive clinician and an anonymous visitor."""
    third = make_patient("MRN003", center=other_center, endocrinologists=[alice])
    third.endocrinologists.remove(alice)  # taken off this team: sees none of its patient
    make_patient("MRN004", center=other_center, endocrinologists=[bob])
    nurse = make_user("nina", "nurse", patient.care_center)
    lone_nurse = make_user("nils", "nurse", None)
    super_endo = make_user("sue", "endocrinologist", None, is_superuser=True)
    inactive = make_user("ivan", "endocrinologist", patient.care_center, is_active=False)
    patient.endocrinologists.add(inactive)
    people = [alice, bob, staff, other_staff, admin_user, nurse, lone_nurse, super_endo]
    people += [inactive, patient.user, other_patient.user, AnonymousUser()]
    for user in people:
        expected = set(patients_visible_to(user).values_list("pk", flat=True))
        through_pk = Patient.objects.filter(patient_visible(user, "pk"))
        assert set(through_pk.values_list("pk", flat=True)) == expected, user
        annotated = Patient.objects.annotate(visible=patient_visible(user, "pk"))
        assert {p.pk for p in annotated if p.visible} == expected, user
    assert set(Patient.objects.filter(patient_visible(alice, "pk"))) == {patient}
    assert not Patient.objects.filter(patient_visible(alice, "pk"), pk=third.pk).exists()
