"""The access matrix (issue #12, item 17): every route of the URL configuration and every
operation of the OpenAPI schema, as every role, against the own and another patient's objects,
with every HTTP method; each answer must be the one the design expects.

The expected answers live in ``tests/diabetes_center/access_matrix.py`` as rules per route
("who may GET / POST …"), written from DESIGN.md §4 and ``accounts.access``, not recorded from
the code. Answers are compared as categories:

- ``allow``: 2xx, a redirect anywhere but the sign-in page, or a 4xx about the request itself
  (400, 409, 413, 422: access was granted, the body was refused);
- ``deny``: 401, 403, 404, or a redirect to a sign-in page (``?next=``);
- ``method``: 405. A method the route does not mean answers 405; a caller refused the route
  anyway may be refused first instead. HEAD follows GET on pages; the REST and Nightscout APIs
  answer the methods their contracts name (the OpenAPI schema, Nightscout's v1 API), which do
  not include HEAD. OPTIONS on the REST API describes the endpoint to any signed-in person.

No cell may answer 5xx. Safe methods (GET, HEAD, OPTIONS) must change nothing (a fingerprint of
the clinical tables is compared before and after); every other request runs in a savepoint that
is rolled back, so each cell starts from the same world.

**A new route fails ``test_it_places_every_route_in_the_matrix`` until it is placed**: add one
``Route(...)`` line to ``MATRIX`` in access_matrix.py (its URL name, who may use each method,
and ``args=patient`` / ``report`` / ``visit``… if the URL names a patient's object). A new API
operation must also be in the schema (``test_it_places_every_schema_operation``).

Django's admin (``/admin/``, ~265 generated URLs of one app we do not write) is not enumerated
route by route: ``test_it_refuses_the_admin_site_to_everyone_but_admins`` opens its index and
every registered model's list as every role (a new ModelAdmin is covered without a line here).
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlparse

import pytest
import yaml
from django.contrib import admin
from django.db import transaction
from django.test import Client
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils import timezone

from tests.diabetes_center.access_matrix import (
    ADMIN,
    ANYONE,
    CARE,
    CENTER,
    CENTER_STAFF,
    ENDO,
    MATRIX,
    METHODS,
    NS_SECRET,
    PATIENT,
    PERSON,
    READ_TOKEN,
    ROLES,
    SELF,
    STAFF,
    TEAM,
    UPLOAD_TOKEN,
    VISIT_CLINICIAN,
    Route,
)

ALLOW, DENY, METHOD = "allow", "deny", "method"
SAFE = ("GET", "HEAD", "OPTIONS")
# Every matrix test shares one world (built once, rolled back at the end of the module).
pytestmark = pytest.mark.django_db


# --- the world ------------------------------------------------------------------------------


@dataclass(repr=False)  # short failure reports
class World:
    patients: dict
    reports: dict
    suggestions: dict  # one plan suggestion on each report
    uploads: dict
    visits: dict
    # Visits to complete with results: A's own (with Alice, its care team) and one of B's
    # booked with Alice, who is not on B's care team (she sees it, may not write results).
    result_visits: dict
    tokens: dict  # an upload token of each patient (revoked in the revoke cells)
    ns_keys: dict
    clinicians: dict  # whom each patient's test visit is booked with
    visit_type: object
    free_start: dt.datetime
    recent: dt.datetime
    feed_token: str
    users: dict  # role → User (people)
    teams: dict  # target → ids of its care team
    credentials: dict  # role → request headers / query (devices, Nightscout secret)
    setup: dict  # target → ids of a clinician, one of their sessions, a room, of its center
    alerts: dict  # target → an open urgent-low alert of the patient (remote monitoring)
    shifts: dict  # target → an on-call shift of the patient's center (the rota page)

    consultations: dict  # target → a consultation of the patient (with a photo)
    consultation_photos: dict
    medication_requests: dict  # target → an approved repeat request of the patient

    waitlist_offers: dict = field(default_factory=dict)  # target → an open waiting-list offer


def _build_world() -> World:
    from accounts.models import CareCenter
    from care_plans.services import care_plan_default_content, care_plan_revise
    from readings.models import DeviceToken, Upload
    from readings.services import nightscout_link_ensure
    from reports.models import Suggestion
    from reports.services import report_generate
    from tests.conftest import make_patient, make_user
    from tests.reports.conftest import PERIOD_END, PERIOD_START, grid, known_day_values, load
    from visits.models import CalendarFeed, Visit, VisitType

    north = CareCenter.objects.create(name="North Clinic", timezone="Europe/London")
    south = CareCenter.objects.create(name="South Clinic", timezone="UTC")
    alice = make_user("alice", "endocrinologist", north, first_name="Alice")
    bob = make_user("bob", "endocrinologist", north, first_name="Bob")
    nurse = make_user("nina", "nurse", north, first_name="Nina")
    users = {
        "patient A": make_user("pat", "patient", north),
        "patient B": make_user("otto", "patient", south),
        "endocrinologist of A": alice,
        "endocrinologist not of A": bob,
        "staff of A's center": make_user("sam", "staff", north),
        "staff of another center": make_user("olga", "staff", south),
        "nurse of A's center": nurse,
        "admin": make_user("ada", "admin", None, is_staff=True, is_superuser=True),
    }
    # A is North's, on Alice's team; B is South's, on Bob's (so each staff member and each
    # endocrinologist is "own" for one patient and "other" for the other).
    a = make_patient("MRN-A", center=north, endocrinologists=[alice], user=users["patient A"])
    b = make_patient("MRN-B", center=south, endocrinologists=[bob], user=users["patient B"])
    patients = {"A": a, "B": b}
    follow_up = VisitType.objects.create(
        code="follow_up", name="Follow-up", duration_minutes=30, roles="endocrinologist,nurse"
    )
    now = timezone.now().replace(microsecond=0)
    start = now + dt.timedelta(days=10)
    # B's visit is booked with North's nurse: she sees it only as its clinician.
    clinicians = {"A": alice, "B": nurse}
    reports, uploads, visits, tokens, ns_keys, suggestions = {}, {}, {}, {}, {}, {}
    values = list(known_day_values()) * 3
    for t, p in patients.items():
        team = alice if t == "A" else bob
        for number in (1, 2):  # two versions, for history and compare
            content = care_plan_default_content(patient=p)
            content["exercise"]["minutes_per_week"] = 140 + 10 * number  # each one a change
            care_plan_revise(patient=p, by=team, reason=f"version {number}", content=content)
        load(p, grid(PERIOD_END - dt.timedelta(days=2), 3), values)
        reports[t] = report_generate(patient_id=p.pk, period_end=PERIOD_END)
        assert reports[t] is not None, PERIOD_START
        suggestions[t] = Suggestion.objects.create(
            report=reports[t], patient=p, rule="post_meal_rise", kind="meal_review", source="x"
        )
        uploads[t] = Upload.objects.create(
            patient=p, uploaded_by=team, filename="old.csv", status=Upload.Status.DONE
        )
        visits[t] = Visit.objects.create(
            patient=p,
            clinician=clinicians[t],
            visit_type=follow_up,
            center=p.care_center,
            start_at=start,
            end_at=start + dt.timedelta(minutes=30),
        )
        tokens[t], _key = DeviceToken.issue(patient=p, name="old pump")
        ns_keys[t] = nightscout_link_ensure(patient=p).key
    result_visits = {
        "A": visits["A"],
        "B": Visit.objects.create(
            patient=b,
            clinician=alice,
            visit_type=follow_up,
            center=b.care_center,
            start_at=start + dt.timedelta(hours=2),
            end_at=start + dt.timedelta(hours=2, minutes=30),
        ),
    }
    link_a = a.nightscout_link
    _, upload_key = DeviceToken.issue(patient=a, name="uploader", scope="upload")
    _, read_key = DeviceToken.issue(patient=a, name="follower", scope="read")
    from readings.services import nightscout_link_rotate

    secret = nightscout_link_rotate(patient=a).api_secret
    assert a.nightscout_link.key == link_a.key
    # Setup rows in each center: North's are Alice's; South gets a clinician of its own.
    from visits.models import Availability, Room

    sven = make_user("sven", "endocrinologist", south, first_name="Sven")
    setup = {}
    for t, (center, clinician) in {"A": (north, alice), "B": (south, sven)}.items():
        session = Availability.objects.create(
            clinician=clinician, center=center, weekday=6, starts=dt.time(7), ends=dt.time(8)
        )
        room = Room.objects.create(center=center, name=f"Room {t}")
        setup[t] = {"clinician": clinician.pk, "session": session.pk, "room": room.pk}
    from monitoring.models import Alert

    alerts = {
        t: Alert.objects.create(
            patient=p,
            kind="urgent_low",
            since=now - dt.timedelta(minutes=10),
            opened_at=now - dt.timedelta(minutes=5),
            last_at=now - dt.timedelta(minutes=5),
            last_value=50,
        )
        for t, p in patients.items()
    }
    from monitoring.models import OnCallShift

    shifts = {
        t: OnCallShift.objects.create(
            center=center, clinician=clinician, start=now + dt.timedelta(days=1),
            end=now + dt.timedelta(days=1, hours=12),
        )
        for t, (center, clinician) in {"A": (north, alice), "B": (south, sven)}.items()
    }  # fmt: skip
    credentials = {
        "upload token of A": {
            "headers": {"HTTP_AUTHORIZATION": f"Token {upload_key}"},
            "token": upload_key,
        },
        "read token of A": {
            "headers": {"HTTP_AUTHORIZATION": f"Token {read_key}"},
            "token": read_key,
        },
        "Nightscout secret of A": {
            "headers": {"HTTP_API_SECRET": hashlib.sha1(secret.encode()).hexdigest()},  # noqa: S324 — Nightscout's protocol
            "token": None,
        },
    }
    from visits.models import WaitlistEntry, WaitlistOffer

    waitlist_offers = {
        t: WaitlistOffer.objects.create(
            entry=WaitlistEntry.objects.create(patient=p, visit_type=follow_up),
            clinician=clinicians[t],
            start_at=start + dt.timedelta(days=2),
        )
        for t, p in patients.items()
    }
    consultations, consultation_photos, medication_requests = _consultations(patients, users)
    return World(
        waitlist_offers=waitlist_offers,
        consultations=consultations,
        consultation_photos=consultation_photos,
        medication_requests=medication_requests,
        patients=patients,
        reports=reports,
        suggestions=suggestions,
        uploads=uploads,
        visits=visits,
        result_visits=result_visits,
        tokens=tokens,
        ns_keys=ns_keys,
        clinicians=clinicians,
        visit_type=follow_up,
        free_start=start + dt.timedelta(days=1),
        recent=now - dt.timedelta(hours=1),
        feed_token=CalendarFeed.issue(users["patient A"]),
        users=users,
        teams={
            t: set(p.endocrinologists.values_list("pk", flat=True)) for t, p in patients.items()
        },
        credentials=credentials,
        setup=setup,
        alerts=alerts,
        shifts=shifts,
    )


def _consultations(patients, users):
    """A consultation with a photo and an approved repeat request per patient (issue #24)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from care_plans.services import care_plan_current
    from consultations.models import MedicationRequest
    from consultations.services import consultation_ask
    from tests.consultations.helpers import png

    consultations, photos, requests = {}, {}, {}
    for t, p in patients.items():
        consultations[t] = consultation_ask(
            patient=p,
            by=p.user,
            category="glucose",
            text="matrix",
            photos=[SimpleUploadedFile("m.png", png(), "image/png")],
        )
        photos[t] = consultations[t].messages.get().photos.get()
        requests[t] = MedicationRequest.objects.create(
            patient=p,
            plan_version=care_plan_current(patient=p),
            medication={"product": "Metformin", "dose": 500, "dose_unit": "mg"},
            quantity=1,
            state=MedicationRequest.State.APPROVED,
            decided_by=users["endocrinologist of A"],
            decided_at=timezone.now(),
        )
    return consultations, photos, requests


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """One world for the module, in a transaction rolled back at its end (as Django's
    ``TestCase.setUpTestData``); each test's own transaction is a savepoint inside it."""
    with django_db_blocker.unblock(), transaction.atomic():
        started = time.monotonic()
        w = _build_world()
        w.clients = {role: _client(w, role) for role in ROLES}
        w.build_seconds = time.monotonic() - started
        yield w
        transaction.set_rollback(True)


def _client(w: World, role: str) -> Client:
    client = Client(raise_request_exception=False)
    if role in w.users:
        client.force_login(w.users[role])
    return client


# --- who is the caller to the target ---------------------------------------------------------


def who(w: World, role: str, target: str | None) -> set[str]:
    """The relations of ``role`` to the target patient (see access_matrix.py)."""
    found = {ANYONE}
    user = w.users.get(role)
    if user is not None:
        found.add(PERSON)
        found.add(
            {
                "patient": PATIENT,
                "endocrinologist": ENDO,
                "staff": CARE,
                "nurse": CARE,
                "dietitian": CARE,
                "admin": ADMIN,
            }[user.role]
        )
        if user.role == "staff":
            found.add(STAFF)
    if target is None:
        return found
    p = w.patients[target]
    if user is not None:
        if p.user_id == user.pk:
            found.add(SELF)
        if user.role == "endocrinologist" and user.pk in w.teams[target]:
            found.add(TEAM)
        if user.role in ("staff", "nurse", "dietitian") and user.care_center_id == p.care_center_id:
            found.add(CENTER)
        if user.role == "staff" and user.care_center_id == p.care_center_id:
            found.add(CENTER_STAFF)
        if w.clinicians[target].pk == user.pk:
            found.add(VISIT_CLINICIAN)
    elif target == "A":  # every credential in the matrix is patient A's
        found |= {
            "upload token of A": {UPLOAD_TOKEN},
            "read token of A": {READ_TOKEN},
            "Nightscout secret of A": {NS_SECRET},
        }.get(role, set())
    return found


def expected(route: Route, method: str, relations: set[str]) -> set[str]:
    rules = dict(route.rules)
    if route.api:  # DRF describes the endpoint (no patient data) to any signed-in person
        rules["OPTIONS"] = frozenset({PERSON})
    if route.page and "GET" in rules:  # HEAD is GET without the body, on pages
        rules["HEAD"] = rules["GET"]
    rule = rules.get(method)
    if rule is not None:
        return {ALLOW} if relations & rule else {DENY}
    # A method the route does not mean: 405; someone refused the route (or a credential whose
    # permission is itself per method) may be refused first instead.
    if PERSON in relations and any(relations & r for r in route.rules.values()):
        return {METHOD}
    return {METHOD, DENY}


def category(route: Route, response) -> str:
    status = response.status_code
    if status == 503 and route.service_503:
        return ALLOW
    if status >= 500:
        return f"server error {status}"
    if status == 405:
        return METHOD
    if status in (401, 403, 404):
        return DENY
    if status == 400 and route.refusal_400 and route.refusal_400 in response.content.decode():
        return DENY
    if 300 <= status < 400:
        location = urlparse(response["Location"])
        if location.path.endswith("/login/") and "next=" in location.query:
            return DENY
        return ALLOW
    if status in (200, 201, 202, 204, 400, 409, 413, 422):
        return ALLOW
    return f"unexpected {status}"


# --- requests -------------------------------------------------------------------------------


def _request(w: World, route: Route, role: str, target, method: str):
    client = w.clients[role]
    kwargs = route.args(w, target) if route.args else {}
    url = reverse(route.name, kwargs=kwargs)
    query = dict(route.query(w, target)) if route.query else {}
    credential = w.credentials.get(role, {"headers": {}, "token": None})
    if credential["token"] and route.name.startswith("nightscout-"):
        query["token"] = credential["token"]
    headers = credential["headers"]
    if query:
        url = f"{url}?{urlencode(query)}"
    body = route.body(w, target) if route.body else {}
    if method in SAFE:
        return getattr(client, method.lower())(url, **headers)
    if route.json:
        return getattr(client, method.lower())(
            url, json.dumps(body), content_type="application/json", **headers
        )
    if method == "POST":
        return client.post(url, body, **headers)
    return getattr(client, method.lower())(
        url, urlencode(body), content_type="application/x-www-form-urlencoded", **headers
    )


def _cell(w: World, route: Route, role: str, target, method: str):
    if method in SAFE:
        return _request(w, route, role, target, method)
    cookies = copy.deepcopy(w.clients[role].cookies)
    with transaction.atomic():
        response = _request(w, route, role, target, method)
        transaction.set_rollback(True)
    w.clients[role].cookies = cookies
    return response


def _fingerprint() -> tuple:
    """What a safe request must never change: clinical data, reports, plans, visits, tokens."""
    from care_plans.models import CarePlanVersion
    from monitoring.models import Alert, Enrolment
    from patients.models import Patient
    from readings.models import DeviceToken, NightscoutLink, Reading, Upload
    from reports.models import Report, ReportNotification, Suggestion
    from visits.models import CalendarFeed, Visit

    return (
        list(Alert.objects.values_list("pk", "state", "acknowledged_at")),
        list(Enrolment.objects.values_list("pk", "active")),
        Reading.objects.count(),
        Upload.objects.count(),
        list(Report.objects.values_list("pk", "clinician_note", "patient_message")),
        list(Suggestion.objects.values_list("pk", "state", "dismiss_reason")),
        list(ReportNotification.objects.values_list("pk", "read_at")),
        CarePlanVersion.objects.count(),
        list(Visit.objects.values_list("pk", "status", "start_at", "reschedule_requested")),
        list(DeviceToken.objects.values_list("pk", "revoked_at")),
        list(NightscoutLink.objects.values_list("pk", "secret_hash")),
        list(CalendarFeed.objects.values_list("pk", "token_hash")),
        list(Patient.objects.values_list("pk", "name", "phone", "diabetes_type")),
    )


def _run(w: World, route: Route) -> tuple[list[str], int]:
    """Every cell of ``route``; the mismatches as lines of a table, and the cell count.

    Safe methods run first and must leave the fingerprint as it was; every other request runs
    in a savepoint rolled back after it (the caller's cookies restored too: a sign-out cell
    must not sign the next cell out), and the world must be as it was after them all.
    """
    mismatches, cells = [], 0
    before = _fingerprint()
    for methods in (
        [m for m in METHODS if m in SAFE],
        [m for m in METHODS if m not in SAFE],
    ):
        for method in methods:
            for target in route.targets:
                for role in ROLES:
                    cells += 1
                    want = expected(route, method, who(w, role, target))
                    response = _cell(w, route, role, target, method)
                    got = category(route, response)
                    if got not in want:
                        mismatches.append(
                            f"{method:7} {route.key} target={target} as {role}: "
                            f"expected {'/'.join(sorted(want))}, got {got} "
                            f"({response.status_code})"
                        )
        if _fingerprint() != before:
            mismatches.append(f"{route.key}: {'/'.join(methods)} left the data changed")
    return mismatches, cells


# --- the tests ------------------------------------------------------------------------------


def _routes(resolver=None, prefix: str = "", namespace: str = "") -> list[tuple[str, str]]:
    """(URL name, route) of every URL pattern except Django admin's (tested separately);
    a namespaced name as ``reverse`` takes it (``visits:self_book``)."""
    found = []
    for entry in (resolver or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            if entry.app_name == "admin":
                continue
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            found += _routes(entry, route, inner)
        elif isinstance(entry, URLPattern):
            found.append((f"{namespace}{entry.name}" if entry.name else None, route))
    return found


def test_it_places_every_route_in_the_matrix():
    routes = _routes()
    unnamed = [route for name, route in routes if not name]
    assert not unnamed, f"name these routes so the matrix can place them: {unnamed}"
    names = {name for name, _ in routes}
    placed = {route.name for route in MATRIX}
    missing = sorted(names - placed)
    assert not missing, (
        f"routes not in the access matrix: {missing}. Add a Route(...) line for each to "
        "MATRIX in tests/diabetes_center/access_matrix.py saying who may use it."
    )
    stale = sorted(placed - names)
    assert not stale, f"the matrix places routes that no longer exist: {stale}"
    keys = [route.key for route in MATRIX]
    assert len(keys) == len(set(keys)), "a route is placed twice: give variants names"
    assert len(routes) >= 80


def test_it_places_every_schema_operation(world):
    client = Client()
    client.force_login(world.users["admin"])
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    by_name = {}
    for route in MATRIX:
        by_name.setdefault(route.name, set()).update(route.rules)
    operations, unplaced = set(), []
    for path, item in schema["paths"].items():
        concrete = path
        for part in path.split("{")[1:]:
            concrete = concrete.replace("{" + part.split("}")[0] + "}", "1")
        try:
            name = resolve(concrete).url_name
        except Resolver404:
            unplaced.append(f"{path}: the schema documents a path no URL answers")
            continue
        for method in item:
            if method.upper() not in METHODS:
                continue
            operations.add((name, method.upper()))
            if method.upper() not in by_name.get(name, ()):
                unplaced.append(f"{method.upper()} {path} ({name})")
    assert not unplaced, f"schema operations without a rule in the matrix: {unplaced}"
    api_rules = {
        (route.name, method)
        for route in MATRIX
        if route.api and route.name != "api-schema"
        for method in route.rules
    }
    assert not api_rules - operations, (
        f"matrix rules for API operations the schema does not document: "
        f"{sorted(api_rules - operations)}"
    )
    assert len(operations) >= 30


@pytest.mark.parametrize("route", MATRIX, ids=lambda route: route.key)
def test_it_answers_every_cell_as_the_design_says(world, route):
    mismatches, cells = _run(world, route)
    assert cells == len(route.targets) * len(ROLES) * len(METHODS)
    assert not mismatches, f"{len(mismatches)} of {cells} cells differ:\n" + "\n".join(mismatches)


def test_it_refuses_the_admin_site_to_everyone_but_admins(world):
    urls = [reverse("admin:index")]
    for model in admin.site._registry:
        meta = model._meta
        urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
    assert len(urls) > 10
    wrong = []
    for role in ROLES:
        client = world.clients[role]
        headers = world.credentials.get(role, {"headers": {}})["headers"]
        for url in urls:
            response = client.get(url, **headers)
            assert response.status_code < 500, (role, url, response.status_code)
            if role == "admin":
                ok = response.status_code == 200
            else:
                location = response.get("Location", "")
                ok = response.status_code == 302 and "/admin/login/" in location
            if not ok:
                wrong.append(f"{role} GET {url}: {response.status_code}")
    assert not wrong, "\n".join(wrong)
