"""20 simultaneous bookings of one slot from 20 database connections: the exclusion
constraint lets exactly one through and the API answers the other 19 with 409."""

import threading
from collections import Counter

import pytest
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from tests.conftest import make_patient
from tests.visits.conftest import at
from visits.models import Visit

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL's concurrent connections (CI phase 2); SQLite has one writer "
        "at a time, and its overlap trigger is tested in test_services",
    ),
]
RACERS = 20


def test_it_books_one_of_twenty_simultaneous_requests(clinic, staff, alice, follow_up, monday):
    patients = [make_patient(f"RACE{i:02d}", center=clinic) for i in range(RACERS)]
    barrier = threading.Barrier(RACERS)
    statuses: list[int] = []
    lock = threading.Lock()
    body = {"clinician": alice.pk, "visit_type": follow_up.pk, "start": at(monday, 10).isoformat()}

    def race(patient):
        client = Client()
        client.force_login(staff)
        barrier.wait()
        try:
            response = client.post(
                reverse("api-visits-list"),
                {**body, "patient": patient.pk},
                content_type="application/json",
            )
            with lock:
                statuses.append(response.status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=race, args=(p,)) for p in patients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert Counter(statuses) == {201: 1, 409: RACERS - 1}
    assert Visit.objects.count() == 1
