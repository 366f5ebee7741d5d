"""Demo plans for seed_demo: valid, realistic, and safe to run twice."""

import datetime as dt

from care_plans.demo import seed_plans
from care_plans.models import CarePlanVersion
from care_plans.services import care_plan_validate
from tests.conftest import make_patient


def test_it_seeds_valid_plans_with_some_second_versions(center, alice, bob):
    patients = [
        make_patient("D1", diabetes_type="T1", endocrinologists=[alice]),
        make_patient("D2", diabetes_type="T2", endocrinologists=[bob]),
        make_patient("D3", diabetes_type="GDM", birth_date=dt.date(1994, 3, 3)),
        make_patient("D4", diabetes_type="T2", birth_date=dt.date(1950, 3, 3)),
    ]
    created = seed_plans(patients, [alice, bob])
    assert {v.plan.patient for v in created} == set(patients)
    for version in CarePlanVersion.objects.all():
        assert care_plan_validate(version.content) == {}
        assert version.reason
    second = CarePlanVersion.objects.filter(number=2)
    assert second.exists()
    first_t1 = CarePlanVersion.objects.get(plan__patient=patients[0], number=1)
    assert first_t1.created_by == alice
    assert first_t1.created_at < second.first().created_at


def test_it_is_safe_to_run_twice(center, alice):
    patients = [make_patient(f"E{i}", endocrinologists=[alice]) for i in range(3)]
    seed_plans(patients, [alice])
    count = CarePlanVersion.objects.count()
    assert seed_plans(patients, [alice]) == []
    assert CarePlanVersion.objects.count() == count
