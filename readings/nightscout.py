"""A Nightscout-compatible API for uploader and follower apps (DESIGN §4, §7).

Each patient has a base URL ``/ns/<key>/`` (``NightscoutLink``). Under it, ``api/v1/entries``,
``treatments``, ``devicestatus`` and ``status.json`` answer as Nightscout's do, so xDrip+,
AndroidAPS, Loop and bridges can post readings and followers can read them.

Authentication, as Nightscout: the ``api-secret`` header holds the SHA-1 hex of the patient's
secret (the plain secret is accepted too), or ``?token=`` holds the secret or one of the
patient's device tokens. Anything else answers 401 with Nightscout's JSON.

Authorization: the patient's secret may read and upload (it is theirs, like Nightscout's
API_SECRET); a device token has one scope, ``upload`` (POST only: it reads nothing back) or
``read`` (GET only, for follower apps, granted by the patient). A request outside its scope
answers 401 as Nightscout's does for a missing permission; ``verifyauth`` says what the
credential may do. Every read of entries, treatments or device status is audited.

Everything posted goes through ``readings_ingest`` (one write path: dedupe, rollups); ``sgv``
is always mg/dL.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db import transaction
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from accounts.access import audit
from accounts.throttling import failure_count, failure_limited
from common.api import UNSTORABLE, unstorable_at
from readings.models import (
    DeviceToken,
    NightscoutDeviceStatus,
    NightscoutLink,
    Reading,
    Treatment,
)
from readings.parsers import RowError
from readings.parsers import Treatment as TreatmentRecord
from readings.parsers._json import number
from readings.parsers._pipeline import Context, glucose
from readings.parsers._times import epoch_ms_to_utc, parse_iso_instant
from readings.parsers._units import unit_from_text
from readings.parsers.nightscout import entry_glucose
from readings.services import FUTURE_TOLERANCE, readings_ingest

SERVER_NAME = "Diabetes Center"
NIGHTSCOUT_VERSION = "15.0.2"  # the Nightscout release whose v1 API this mirrors
DEFAULT_COUNT = 10
MAX_COUNT = 10_000
MAX_DEVICESTATUS_BYTES = 64 * 1024
# Trend arrows from the rate of change (mg/dL per minute), Dexcom's bands as Nightscout shows them.
DIRECTIONS = (
    (3.0, "DoubleUp"),
    (2.0, "SingleUp"),
    (1.0, "FortyFiveUp"),
    (-1.0, "Flat"),
    (-2.0, "FortyFiveDown"),
    (-3.0, "SingleDown"),
)
TREND_MAX_GAP = dt.timedelta(minutes=15)
KIND_TYPES = {"cgm": "sgv", "smbg": "mbg"}
TYPE_KINDS = {value: key for key, value in KIND_TYPES.items()}
NIGHTSCOUT_AUTH_FAILURE = "nightscout-auth-failure"  # settings.THROTTLE_RATES key
FIND_OPERATORS = {"$gte": "gte", "$gt": "gt", "$lte": "lte", "$lt": "lt"}


# --- plumbing --------------------------------------------------------------------------------


def _error(status: int, message: str, description: str = "") -> JsonResponse:
    return JsonResponse(
        {"status": status, "message": message, "description": description}, status=status
    )


READ, UPLOAD = DeviceToken.Scope.READ, DeviceToken.Scope.UPLOAD
MAX_BODY_BYTES = 4 * 1024 * 1024  # one POST of entries/treatments/devicestatus; apps send less


class BadQuery(Exception):
    """A query parameter or body that cannot be answered: 400 with the reason."""


@dataclass(frozen=True)
class Access:
    """Who is calling and what they may do (``scopes`` ⊆ {"read", "upload"})."""

    scopes: frozenset
    who: str  # for the audit trail: "API secret" or "device token 3 (xDrip)"


def _authorize(request, link: NightscoutLink) -> Access | None:
    secret = request.headers.get("api-secret", "")
    if secret and link.secret_matches(secret):
        return Access(frozenset({READ, UPLOAD}), "API secret")
    token = request.GET.get("token", "")
    if not token:
        return None
    if link.secret_matches(token):
        return Access(frozenset({READ, UPLOAD}), "API secret")
    found = DeviceToken.objects.filter(
        key_hash=DeviceToken.hash_key(token), patient_id=link.patient_id, revoked_at=None
    ).first()
    if found is None:
        return None
    DeviceToken.objects.filter(pk=found.pk).update(last_used_at=timezone.now())
    return Access(frozenset({found.scope}), f"device token {found.pk} ({found.name})")


def nightscout_view(methods: tuple[str, ...], *, audited: str = ""):
    """Check the method, the credential and its scope (GET needs "read", POST "upload",
    except status endpoints, which any valid credential may call); pass the link on.
    With ``audited``, a GET is recorded in the audit trail as a read of that data."""

    def decorate(view):
        @csrf_exempt
        def wrapper(request, key: str):
            if request.method not in methods:
                return _error(405, "Method not allowed")
            address = request.META.get("REMOTE_ADDR", "")
            if failure_limited(NIGHTSCOUT_AUTH_FAILURE, address):
                return _error(429, "Too many failed attempts", "Try again later")
            link = NightscoutLink.objects.select_related("patient").filter(key=key).first()
            access = _authorize(request, link) if link is not None else None
            if access is None:
                failure_count(NIGHTSCOUT_AUTH_FAILURE, address)
                return _error(401, "Unauthorized", "Invalid/Missing")
            needed = UPLOAD if request.method == "POST" else READ if audited else None
            if needed is not None and needed not in access.scopes:
                return _error(401, "Unauthorized", f"This credential may not {needed}.")
            if request.method == "POST" and _body_length(request) > MAX_BODY_BYTES:
                return _error(413, "Payload Too Large", f"at most {MAX_BODY_BYTES} bytes")
            if audited and request.method == "GET":
                what = f"Nightscout {audited}: {access.who}"
                audit(None, link.patient, "view", what, username=access.who, role="device")
            request.nightscout_access = access
            try:
                return view(request, link)
            except BadQuery as exc:
                return _error(400, "Bad Request", str(exc))

        wrapper.__name__ = view.__name__
        wrapper.__doc__ = view.__doc__
        return wrapper

    return decorate


def _body_length(request) -> int:
    """The declared length, checked before the body is read (then the body's own)."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    return declared if declared > MAX_BODY_BYTES else len(request.body)


def _body(request):
    """The posted JSON, None when it is not JSON; text no column can store is a bad request
    (``common.api.unstorable_at``: NUL or a lone surrogate failed in the database)."""
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    where = unstorable_at(body)
    if where is not None:
        raise BadQuery(f"{where}: {UNSTORABLE}")
    return body


def _count(request) -> int:
    try:
        return max(1, min(MAX_COUNT, int(request.GET.get("count", DEFAULT_COUNT))))
    except ValueError:
        return DEFAULT_COUNT


def _find(request, field: str) -> dict:
    """``find[date][$gte]=<epoch ms>`` (or ``find[dateString]…`` / ``find[created_at]…``, ISO)
    → timestamp lookups."""
    lookups = {}
    for name in (field, "dateString", "created_at"):
        for operator, lookup in FIND_OPERATORS.items():
            raw = request.GET.get(f"find[{name}][{operator}]")
            if raw is None:
                continue
            try:
                moment = _instant(raw)
            except (OverflowError, OSError):
                raise BadQuery(f"find[{name}][{operator}] is out of range") from None
            except ValueError:
                continue
            lookups[f"timestamp__{lookup}"] = moment
    return lookups


def _instant(raw: str) -> dt.datetime:
    raw = raw.strip()
    if raw.lstrip("-").isdigit():
        try:
            if len(raw) > 16:  # beyond year 9999 in ms (and int() of huge text is slow)
                raise ValueError
            return dt.datetime.fromtimestamp(int(raw) / 1000, tz=dt.UTC)
        except (ValueError, OverflowError, OSError):
            raise OverflowError("epoch milliseconds out of range") from None
    moment = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def _date_string(moment: dt.datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).isoformat(timespec="milliseconds")


def _object_id(prefix: str, pk: int) -> str:
    """A 24-hex id shaped like Nightscout's Mongo ObjectIds (apps expect that length)."""
    return f"{prefix}{pk:0{24 - len(prefix)}x}"


# --- entries ---------------------------------------------------------------------------------


def _direction(current, previous) -> tuple[str, float | None]:
    if previous is None or current.timestamp - previous.timestamp > TREND_MAX_GAP:
        return "NONE", None
    minutes = (current.timestamp - previous.timestamp).total_seconds() / 60
    if minutes <= 0:
        return "NONE", None
    delta = current.value_mg_dl - previous.value_mg_dl
    rate = delta / minutes
    for threshold, name in DIRECTIONS:
        if rate > threshold:
            return name, delta
    return "DoubleDown", delta


def _entry_out(reading: Reading, previous: Reading | None, zone: str) -> dict:
    kind_type = KIND_TYPES.get(reading.kind, reading.kind)
    entry = {
        "_id": _object_id("e", reading.pk),
        "type": kind_type,
        kind_type: round(reading.value_mg_dl),
        "date": _ms(reading.timestamp),
        "dateString": _date_string(reading.timestamp, zone),
        "sysTime": _date_string(reading.timestamp, zone),
        "device": reading.device.identity,
        "utcOffset": int(
            reading.timestamp.astimezone(ZoneInfo(zone)).utcoffset().total_seconds() // 60
        ),
    }
    if reading.kind == "cgm":
        direction, delta = _direction(reading, previous)
        entry["direction"] = direction
        entry["noise"] = 1
        if delta is not None:
            entry["delta"] = round(delta, 1)
    return entry


def _entries_list(request, link: NightscoutLink, kinds: tuple[str, ...], count: int):
    wanted = request.GET.get("find[type]")
    if wanted in TYPE_KINDS:
        kinds = tuple(k for k in kinds if KIND_TYPES[k] == wanted)
    readings = list(
        Reading.objects.filter(
            patient_id=link.patient_id,
            kind__in=kinds,
            timestamp__lte=timezone.now() + FUTURE_TOLERANCE,
            **_find(request, "date"),
        )
        .select_related("device")
        .order_by("-timestamp", "-pk")[: count + 1]
    )
    zone = link.patient.timezone
    out = []
    for index, reading in enumerate(readings[:count]):
        previous = next(
            (r for r in readings[index + 1 :] if r.kind == reading.kind and r.kind == "cgm"), None
        )
        out.append(_entry_out(reading, previous, zone))
    return JsonResponse(out, safe=False)


@nightscout_view(("GET", "POST"), audited="entries")
def entries(request, link: NightscoutLink):
    """GET the newest entries (``count``, ``find[date][$gte]``…); POST one entry or an array."""
    if request.method == "GET":
        return _entries_list(request, link, ("cgm", "smbg"), _count(request))
    body = _body(request)
    if not isinstance(body, list | dict):
        return _error(400, "Bad Request", "body must be an entry or an array of entries")
    items = entry_records(body, link.patient.timezone)
    with transaction.atomic():
        result = readings_ingest(patient=link.patient, items=items, rejected_limit=None)
    if result.rejected and not (result.accepted or result.duplicates or result.conflicts):
        return _entries_refused(result)
    rejected = {row["line"] for row in result.rejected}
    items = [item for item in items if item.line not in rejected]
    zone = link.patient.timezone
    echoed = [
        {
            "type": KIND_TYPES[item.kind],
            KIND_TYPES[item.kind]: round(item.value_mg_dl),
            "date": _ms(item.timestamp),
            "dateString": _date_string(item.timestamp, zone),
            "device": item.device,
        }
        for item in items
        if not isinstance(item, RowError) and item.kind in KIND_TYPES
    ]
    response = JsonResponse(echoed, safe=False)
    response["X-Accepted"] = str(result.accepted)
    response["X-Duplicates"] = str(result.duplicates)
    response["X-Rejected"] = str(len(result.rejected))
    if result.rejected:
        response["X-Rejected-Reasons"] = _reasons_header(result.rejected)
    return response


REASONS_HEADER_ROWS = 20  # rejected entries named in X-Rejected-Reasons (the rest are counted)


def _entries_refused(result) -> JsonResponse:
    """400 when no posted entry could be stored, with every entry's reason (issue #17).

    A post with good entries too answers 200 (Nightscout's echo of what was stored), the bad
    ones named in ``X-Rejected-Reasons``: an uploader resends a batch that failed, so one bad
    entry must not hold back the good ones forever. Conflicts (a different value at a stored
    instant) and duplicates are not refusals: resending cannot change them.
    """
    first = result.rejected[0]["reason"]
    more = len(result.rejected) - 1
    return JsonResponse(
        {
            "status": 400,
            "message": "Bad Request",
            "description": f"no entry stored: {first}" + (f" (and {more} more)" if more else ""),
            "rejected": result.rejected,
        },
        status=400,
    )


def _reasons_header(rejected: list[dict]) -> str:
    """The first rejected entries as JSON ``[{"line", "reason"}]``, ASCII, for a header."""
    return json.dumps(rejected[:REASONS_HEADER_ROWS], ensure_ascii=True)


def entry_records(body, zone: str) -> list:
    """Posted entries → parser records, each value checked strictly (issue #11, item 2).

    ``sgv``/``mbg`` is read as the Nightscout file parser reads it
    (``readings.parsers.nightscout.entry_glucose``: a JSON number or a plain decimal text, as
    Nightscout's ``Number()`` would; Dexcom's 39/401 markers; nothing below 40 mg/dL for a
    CGM); the instant is ``date`` or ``mills`` (epoch ms, a number) or ``dateString``.
    Anything else is a ``RowError`` with its reason for that entry only; the plausibility of
    values and times is checked again by ``readings_ingest``. ``line`` is the array index + 1.
    Other entry types (``cal``…) are skipped.
    """
    ctx = Context(timezone=zone, now=timezone.now())
    rows = body if isinstance(body, list) else [body]
    records: list = []
    for line, entry in enumerate(rows, start=1):
        if not isinstance(entry, dict):
            records.append(RowError(line, "entry is not a JSON object"))
            continue
        kind_name = entry.get("type") or (
            "sgv" if "sgv" in entry else "mbg" if "mbg" in entry else ""
        )
        if kind_name not in KIND_TYPES.values():
            continue
        raw = entry.get(kind_name)
        if raw is None:
            records.append(RowError(line, f"{kind_name} entry without a {kind_name} value"))
            continue
        try:
            moment = _entry_instant(ctx, entry)
        except (ValueError, OverflowError) as exc:
            records.append(RowError(line, str(exc)))
            continue
        device = entry.get("device")
        device = device[:200] if isinstance(device, str) else ""
        records.append(entry_glucose(ctx, line, moment, kind_name, raw, device))
    return records


def _finite_number(value) -> bool:
    """A JSON number a float holds and that is finite (10**400 written out is not)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # math.isfinite converts an int to float first
        return False


def _shown(value) -> str:
    text = json.dumps(value, allow_nan=True)
    return text if len(text) <= 40 else text[:37] + "..."


def _entry_instant(ctx: Context, entry: dict) -> dt.datetime:
    """``date``/``mills`` (epoch ms, a JSON number or digits) or ``dateString``/``sysTime``."""
    for key in ("date", "mills"):
        value = entry.get(key)
        if value is None:
            continue
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if not _finite_number(value):
            raise ValueError(f"{key} must be epoch milliseconds, not {_shown(value)}")
        try:
            return epoch_ms_to_utc(value)
        except OverflowError:
            raise ValueError(f"{key} {_shown(value)} is not a possible time") from None
    text = entry.get("dateString") or entry.get("sysTime")
    if isinstance(text, str) and text:
        try:
            moment = parse_iso_instant(text, ctx.clock)
            return moment.astimezone(dt.UTC)
        except (ValueError, OverflowError):
            raise ValueError(f"dateString {_shown(text)} is not an ISO 8601 time") from None
    raise ValueError("entry without a date (date, mills or dateString)")


@nightscout_view(("GET",), audited="entries")
def entries_sgv(request, link: NightscoutLink):
    return _entries_list(request, link, ("cgm",), _count(request))


@nightscout_view(("GET",), audited="entries")
def entries_current(request, link: NightscoutLink):
    return _entries_list(request, link, ("cgm",), 1)


# --- treatments ------------------------------------------------------------------------------


def treatment_records(body, zone: str) -> list:
    """Nightscout treatments → parser records: insulin → rapid insulin, carbs → carbs, notes,
    exercise (minutes), BG checks → finger-stick readings. ``line`` = array index + 1.

    >>> [r.kind for r in treatment_records({"eventType": "Meal Bolus", "insulin": 4,
    ...     "carbs": 40, "created_at": "2024-05-01T08:00:00Z"}, "UTC")]
    ['insulin_rapid', 'carbs']
    """
    ctx = Context(timezone=zone, now=timezone.now())
    rows = body if isinstance(body, list) else [body]
    records: list = []
    for line, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            records.append(RowError(line, "treatment is not a JSON object"))
            continue
        try:
            moment = _treatment_instant(ctx, row)
        except ValueError as exc:
            records.append(RowError(line, str(exc)))
            continue
        device = str(row.get("enteredBy") or row.get("device") or "")[:200]
        event = str(row.get("eventType") or "")
        found = False
        for field, kind in (("insulin", "insulin_rapid"), ("carbs", "carbs")):
            amount = row.get(field)
            if amount in (None, "", 0):
                continue
            try:  # a finite JSON number (not 1e400, NaN or an integer no float holds)
                amount = number(amount, field)
            except ValueError:
                amount = -1.0
            if amount < 0:
                records.append(RowError(line, f"{field} must be a non-negative number"))
                found = True
                continue
            records.append(TreatmentRecord(line, moment, kind, amount, event, device))
            found = True
        if isinstance(row.get("glucose"), int | float) and not isinstance(row["glucose"], bool):
            unit = unit_from_text(str(row.get("units") or "mg/dl")) or "mg/dL"
            records.append(glucose(ctx, line, moment, row["glucose"], unit, "smbg", device))
            found = True
        if found:
            continue
        duration = row.get("duration")
        if event == "Exercise" and isinstance(duration, int | float) and _finite_number(duration):
            records.append(
                TreatmentRecord(line, moment, "exercise", float(duration), event, device)
            )
        elif row.get("notes") or event in ("Note", "Announcement"):
            text = str(row.get("notes") or event)[:2000]
            records.append(TreatmentRecord(line, moment, "note", None, text, device))
    return records


def _treatment_instant(ctx: Context, row: dict) -> dt.datetime:
    if row.get("created_at") and not row.get("date") and not row.get("mills"):
        row = {**row, "dateString": row["created_at"]}
    try:
        return _entry_instant(ctx, row)
    except ValueError:
        raise ValueError("treatment without a time (created_at, date or mills)") from None


TREATMENT_EVENTS = {
    "insulin_rapid": "Correction Bolus",
    "insulin_long": "Correction Bolus",
    "carbs": "Carb Correction",
    "exercise": "Exercise",
    "note": "Note",
}


def _treatment_out(treatment: Treatment) -> dict:
    out = {
        "_id": _object_id("t", treatment.pk),
        "eventType": TREATMENT_EVENTS.get(treatment.kind, "Note"),
        "created_at": treatment.timestamp.astimezone(dt.UTC).isoformat(timespec="milliseconds"),
        "mills": _ms(treatment.timestamp),
        "enteredBy": treatment.device.identity,
    }
    if treatment.kind.startswith("insulin"):
        out["insulin"] = treatment.amount
    elif treatment.kind == "carbs":
        out["carbs"] = treatment.amount
    elif treatment.kind == "exercise":
        out["duration"] = treatment.amount
    if treatment.text:
        out["notes"] = treatment.text
    return out


@nightscout_view(("GET", "POST"), audited="treatments")
def treatments(request, link: NightscoutLink):
    """GET recent treatments; POST one or an array (insulin and carbs become Treatments)."""
    if request.method == "GET":
        rows = (
            Treatment.objects.filter(patient_id=link.patient_id, **_find(request, "created_at"))
            .select_related("device")
            .order_by("-timestamp", "-pk")[: _count(request)]
        )
        return JsonResponse([_treatment_out(t) for t in rows], safe=False)
    body = _body(request)
    if not isinstance(body, list | dict):
        return _error(400, "Bad Request", "body must be a treatment or an array of treatments")
    records = treatment_records(body, link.patient.timezone)
    with transaction.atomic():
        result = readings_ingest(patient=link.patient, items=records)
    response = JsonResponse(body if isinstance(body, list) else [body], safe=False)
    response["X-Rejected"] = str(len(result.rejected))
    if result.rejected:
        response["X-Rejected-Reasons"] = _reasons_header(result.rejected)
    return response


# --- devicestatus, status --------------------------------------------------------------------


@nightscout_view(("GET", "POST"), audited="devicestatus")
def devicestatus(request, link: NightscoutLink):
    """Stored as sent (bounded in size) so followers see the uploader's state."""
    if request.method == "GET":
        rows = NightscoutDeviceStatus.objects.filter(patient_id=link.patient_id).order_by(
            "-created_at", "-pk"
        )[: _count(request)]
        return JsonResponse(
            [
                {
                    **row.data,
                    "_id": _object_id("d", row.pk),
                    "created_at": row.created_at.isoformat(timespec="milliseconds"),
                }
                for row in rows
            ],
            safe=False,
        )
    body = _body(request)
    if not isinstance(body, list | dict):
        return _error(400, "Bad Request", "body must be a devicestatus or an array of them")
    rows = body if isinstance(body, list) else [body]
    stored = []
    for row in rows:
        if not isinstance(row, dict) or len(json.dumps(row)) > MAX_DEVICESTATUS_BYTES:
            continue
        try:
            created = _instant(str(row.get("created_at"))) if row.get("created_at") else None
        except (ValueError, OverflowError, OSError):
            created = None
        stored.append(
            NightscoutDeviceStatus(
                patient_id=link.patient_id,
                created_at=created or timezone.now(),
                device=str(row.get("device") or "")[:200],
                data=row,
            )
        )
    NightscoutDeviceStatus.objects.bulk_create(stored)
    return JsonResponse(rows, safe=False)


def _status_body(link: NightscoutLink) -> dict:
    now = timezone.now()
    return {
        "status": "ok",
        "name": SERVER_NAME,
        "version": NIGHTSCOUT_VERSION,
        "serverTime": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "serverTimeEpoch": _ms(now),
        "apiEnabled": True,
        "careportalEnabled": True,
        "boluscalcEnabled": False,
        "settings": {
            "units": "mmol" if link.patient.unit == "mmol/L" else "mg/dl",
            "timeFormat": 24,
            "customTitle": SERVER_NAME,
            "theme": "default",
            "enable": ["careportal", "iob", "cob"],
            "thresholds": {"bgHigh": 250, "bgTargetTop": 180, "bgTargetBottom": 70, "bgLow": 54},
            "authDefaultRoles": "",
        },
        "extendedSettings": {},
        "authorized": None,
    }


@nightscout_view(("GET",))
def status(request, link: NightscoutLink):
    return JsonResponse(_status_body(link))


@nightscout_view(("GET",))
def root(request, link: NightscoutLink):
    return JsonResponse(_status_body(link))


@nightscout_view(("GET",))
def verifyauth(request, link: NightscoutLink):
    """What this credential may do, truthfully (follower apps check ``canRead``)."""
    scopes = request.nightscout_access.scopes
    return JsonResponse(
        {
            "status": 200,
            "message": {
                "canRead": READ in scopes,
                "canWrite": UPLOAD in scopes,
                "isAdmin": False,
                "message": "OK",
                "rolefound": "FOUND",
                "permissions": "ROLE",
            },
        }
    )
