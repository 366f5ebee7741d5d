"""Who may see what: every role against every kind of patient."""

import pytest
from django.http import Http404

from accounts.access import get_patient_for, may_edit_care_plan, patients_visible_to
from tests.conftest import make_patient


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
