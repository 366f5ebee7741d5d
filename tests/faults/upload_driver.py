"""A client that keeps uploading, over HTTP, while PostgreSQL restarts
(tests/faults/test_postgres_restart.py).

``python -m tests.faults.upload_driver`` (with the server's ``DATABASE_URL``) creates a care
center, an endocrinologist and a patient, and prints them as JSON. ``Driver`` then signs in
through the login page (CSRF and all) and sends, in turn, a REST batch, an API file upload and
an upload-page file, each with its own readings, recording every answer.
"""

import datetime as dt
import json
import re
import threading
import time

BASE = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
PER_REQUEST = 24  # readings in each request, 5 minutes apart
KINDS = ("batch", "api_file", "page_file")
PASSWORD = "fault-test-password-1"


def readings_csv(start: dt.datetime) -> bytes:
    lines = ["timestamp,value,unit,kind,device"]
    for k in range(PER_REQUEST):
        moment = start + dt.timedelta(minutes=5 * k)
        lines.append(f"{moment.isoformat()},{100 + k},mg/dL,cgm,G7 fault")
    return ("\n".join(lines) + "\n").encode()


class Driver(threading.Thread):
    def __init__(self, base_url: str, patient_id: int, username: str):
        super().__init__(daemon=True)
        import requests

        self.base = base_url.rstrip("/")
        self.patient_id = patient_id
        self.session = requests.Session()
        self.username = username
        self.answers: list[dict] = []
        self.stopping = threading.Event()
        self.error: BaseException | None = None

    def sign_in(self) -> None:
        page = self.session.get(f"{self.base}/accounts/login/", timeout=30)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        answer = self.session.post(
            f"{self.base}/accounts/login/",
            data={"username": self.username, "password": PASSWORD, "csrfmiddlewaretoken": token},
            allow_redirects=False,
            timeout=30,
        )
        assert answer.status_code == 302, answer.text[:500]

    def _csrf(self) -> str:
        return self.session.cookies.get("csrftoken", "")

    def send(self, i: int) -> dict:
        kind = KINDS[i % len(KINDS)]
        start = BASE + dt.timedelta(hours=3 * i)
        headers = {"X-CSRFToken": self._csrf()}
        pid = self.patient_id
        if kind == "batch":
            body = {
                "readings": [
                    {
                        "timestamp": (start + dt.timedelta(minutes=5 * k)).isoformat(),
                        "value": 100 + k,
                        "unit": "mg/dL",
                        "kind": "cgm",
                        "device": "G7 fault",
                    }
                    for k in range(PER_REQUEST)
                ]
            }
            url = f"{self.base}/api/v1/patients/{pid}/readings/"
            call = {"json": body}
        else:
            files = {"file": (f"f{i}.csv", readings_csv(start), "text/csv")}
            if kind == "api_file":
                url = f"{self.base}/api/v1/patients/{pid}/uploads/"
                call = {"files": files, "data": {"format": "auto"}}
            else:
                url = f"{self.base}/patients/{pid}/upload/"
                data = {"format": "auto", "device": "other", "csrfmiddlewaretoken": self._csrf()}
                call = {"files": files, "data": data}
        began = time.monotonic()
        record = {"i": i, "kind": kind, "start": start.isoformat(), "count": PER_REQUEST}
        try:
            answer = self.session.post(
                url, headers=headers, allow_redirects=False, timeout=30, **call
            )
        except Exception as exc:  # noqa: BLE001  (no answer at all: recorded, never acknowledged)
            record.update(status=None, error=repr(exc))
        else:
            record.update(
                status=answer.status_code,
                retry_after=answer.headers.get("Retry-After"),
                location=answer.headers.get("Location"),
                body=answer.text[:300],
            )
        record["seconds"] = round(time.monotonic() - began, 3)
        return record

    def run(self) -> None:
        try:
            i = 0
            while not self.stopping.is_set():
                self.answers.append(self.send(i))
                i += 1
                time.sleep(0.05)
        except BaseException as exc:  # noqa: BLE001  (reported by the test)
            self.error = exc


def create_people() -> dict:
    from accounts.models import CareCenter, User
    from patients.models import Patient

    center = CareCenter.objects.create(name="Fault Clinic")
    alice = User.objects.create_user(
        username="alice", password=PASSWORD, role="endocrinologist", care_center=center
    )
    patient = Patient.objects.create(
        mrn="FAULT1", name="Fault Patient", birth_date=dt.date(1980, 1, 1), diabetes_type="T1",
        timezone="UTC", care_center=center,
    )  # fmt: skip
    patient.endocrinologists.set([alice])
    return {"patient": patient.pk, "username": alice.username}


if __name__ == "__main__":
    import django

    django.setup()
    print(json.dumps(create_people()))
