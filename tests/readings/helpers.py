"""Shared helpers for readings tests: fixture files and small generated exports."""

import datetime as dt
from pathlib import Path

from tests.conftest import PASSWORD

DEVICES = Path(__file__).resolve().parent.parent / "fixtures" / "devices"
DEXCOM = DEVICES / "dexcom_clarity" / "cgmquantify__test_file.csv"


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)


def plain_csv(start: dt.datetime, count: int, *, value=120, step_minutes=5, bad=()) -> bytes:
    """Our plain CSV with ``count`` CGM rows; rows whose index is in ``bad`` get value -5."""
    lines = ["timestamp,value,unit,kind,device"]
    for i in range(count):
        moment = start + dt.timedelta(minutes=step_minutes * i)
        v = -5 if i in bad else (value(i) if callable(value) else value)
        lines.append(f"{moment.isoformat()},{v},mg/dL,cgm,G7 test")
    return ("\n".join(lines) + "\n").encode()
