"""Upload progress is written outside the import's transaction, so a polling page sees it."""

import datetime as dt
import threading
import time

import pytest
from django.db import connection

from readings import services
from readings.models import Upload
from readings.services import upload_create, upload_process
from tests.readings.helpers import plain_csv

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite has one writer: progress needs PostgreSQL"
)
def test_it_shows_rows_done_while_the_import_runs(patient, monkeypatch):
    monkeypatch.setenv("UPLOAD_TEST_DELAY_SECONDS", "0.5")
    monkeypatch.setattr(services.uploads, "PROGRESS_EVERY_SECONDS", 0)
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    upload = upload_create(patient=patient, by=None, file=plain_csv(start, 20_000), filename="a")

    def run():
        try:
            upload_process(upload_id=upload.pk)
        finally:
            connection.close()  # this thread's own connection

    worker = threading.Thread(target=run)
    worker.start()
    seen = []
    while worker.is_alive():
        row = Upload.objects.values("status", "processed_rows", "processed_bytes").get(pk=upload.pk)
        if row["status"] == Upload.Status.PROCESSING and row["processed_rows"]:
            seen.append((row["processed_rows"], row["processed_bytes"]))
        time.sleep(0.1)
    worker.join()
    assert seen, "no progress was visible during the import"
    rows = [r for r, _ in seen]
    assert rows == sorted(rows) and 0 < rows[0] < 20_000
    assert all(0 < b <= upload.size_bytes for _, b in seen)
    upload.refresh_from_db()
    assert upload.status == Upload.Status.DONE and upload.progress_percent == 100


def test_it_shows_rows_read_on_the_status_fragment(client, patient):
    from tests.readings.helpers import login

    upload = upload_create(patient=patient, by=None, file=b"x" * 1000, filename="a.csv")
    Upload.objects.filter(pk=upload.pk).update(
        status=Upload.Status.PROCESSING, processed_rows=250, processed_bytes=250
    )
    login(client, patient.user)
    response = client.get(f"/uploads/{upload.pk}/", HTTP_HX_REQUEST="true")
    text = response.content.decode()
    assert "250 of about 1000 rows read" in text and 'value="25"' in text
