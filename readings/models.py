"""Devices, glucose readings, uploads, treatments and daily rollups.

A reading is stored once: the database enforces uniqueness per (patient, kind, timestamp),
and ingestion inserts with the database's own conflict handling (see ``readings.services``).
Values are mg/dL; timestamps UTC.

Two devices at the same instant (issue #11): one instant of one kind holds one reading — the
first stored; a later one from another device is a duplicate (or, with another value, a
reported conflict). A file split in two, whose second part names its device differently, or
the same sensor reaching us through a file and an uploader app, is then stored once, and the
raw path (metrics API) and the rollups (triage) count the same readings. Two sensors worn
together almost never share an exact instant; when they do, the first stored stands.
"""

import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Device(models.Model):
    class Kind(models.TextChoices):
        CGM = "cgm", _("CGM")
        METER = "meter", _("Meter")
        PUMP = "pump", _("Pump")
        APP = "app", _("Uploader app")
        UNKNOWN = "unknown", _("Unknown")

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.CASCADE, related_name="devices"
    )
    identity = models.CharField(
        max_length=200, help_text=_("Model and serial as the source names it; '' when unknown.")
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.UNKNOWN)
    manufacturer = models.CharField(max_length=100, blank=True)
    model = models.CharField(max_length=100, blank=True)
    serial = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["patient", "identity"], name="device_unique_identity")
        ]

    def __str__(self) -> str:
        return self.identity or str(_("unknown device"))


class Reading(models.Model):
    class Kind(models.TextChoices):
        CGM = "cgm", _("CGM")
        SMBG = "smbg", _("Finger-stick (SMBG)")
        SCAN = "scan", _("Sensor scan")
        CALIBRATION = "calibration", _("Calibration")

    class Flag(models.TextChoices):
        NONE = "", _("none")
        LOW = "low", _("below device range")
        HIGH = "high", _("above device range")

    class MealTag(models.TextChoices):
        NONE = "", _("untagged")
        FASTING = "fasting", _("fasting")
        BEFORE_MEAL = "before_meal", _("before meal")
        AFTER_MEAL = "after_meal", _("after meal")
        BEDTIME = "bedtime", _("bedtime")

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.CASCADE, related_name="readings"
    )
    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="readings")
    timestamp = models.DateTimeField()
    value_mg_dl = models.FloatField()
    kind = models.CharField(max_length=12, choices=Kind.choices)
    flag = models.CharField(max_length=4, choices=Flag.choices, blank=True, default="")
    meal_tag = models.CharField(max_length=12, choices=MealTag.choices, blank=True, default="")
    # Provenance only, so no database constraint: a deferred foreign-key check per reading
    # cost ~11 % of a 2-year file's import at commit. Django still nulls it if an upload is
    # deleted (on_delete runs in the ORM), and an index keeps "rows of this upload" fast.
    upload = models.ForeignKey(
        "Upload",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="readings",
        db_constraint=False,
    )

    class Meta:
        # On PostgreSQL the table is partitioned by month of ``timestamp`` (migration 0008,
        # readings.services.partitions): its primary key in the database is (id, timestamp),
        # which Django need not know (ids stay unique: one sequence).
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "kind", "timestamp"], name="reading_unique_instant"
            ),
            models.CheckConstraint(
                condition=models.Q(value_mg_dl__gt=0, value_mg_dl__lte=1000),
                name="reading_value_plausible",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.timestamp:%Y-%m-%d %H:%M} {self.value_mg_dl:g} mg/dL ({self.kind})"


class Treatment(models.Model):
    class Kind(models.TextChoices):
        INSULIN_RAPID = "insulin_rapid", _("rapid-acting insulin")
        INSULIN_LONG = "insulin_long", _("long-acting insulin")
        CARBS = "carbs", _("carbohydrates")
        EXERCISE = "exercise", _("exercise")
        NOTE = "note", _("note")

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.CASCADE, related_name="treatments"
    )
    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="treatments")
    timestamp = models.DateTimeField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount = models.FloatField(null=True, blank=True)
    text = models.TextField(blank=True)
    upload = models.ForeignKey(
        "Upload", null=True, blank=True, on_delete=models.SET_NULL, related_name="treatments"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "kind", "device", "timestamp"], name="treatment_unique_identity"
            )
        ]
        indexes = [models.Index(fields=["patient", "timestamp"])]


# The words of a rejected row that is a reading already stored at that instant with another
# value (``readings.services.inserts._conflicts``): the first value is kept, the row is not
# "unreadable".
ALREADY_STORED = "is already stored with"


class Upload(models.Model):
    """One import batch: a device file or an API batch, with row-level errors."""

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting")
        PROCESSING = "processing", _("processing")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.CASCADE, related_name="uploads"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    file = models.FileField(upload_to="uploads/%Y/%m/", blank=True)
    filename = models.CharField(max_length=255, blank=True)
    source = models.CharField(max_length=20, default="file")  # file | api | nightscout | fhir
    requested_format = models.CharField(max_length=20, default="auto")
    format = models.CharField(max_length=20, blank=True)
    timezone = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    size_bytes = models.BigIntegerField(default=0)
    processed_bytes = models.BigIntegerField(default=0)
    accepted = models.IntegerField(default=0)
    duplicates = models.IntegerField(default=0)
    rejected = models.JSONField(default=list, blank=True)  # [{"line", "reason"}], the first N
    rejected_total = models.IntegerField(default=0)  # every rejected row, kept or not
    rejected_by_reason = models.JSONField(default=dict, blank=True)  # {reason kind: count}
    processed_rows = models.IntegerField(default=0)  # rows read so far (progress)
    attempts = models.IntegerField(default=0)  # claims so far (a stale one is retried once)
    claimed_at = models.DateTimeField(null=True, blank=True)
    progress_at = models.DateTimeField(null=True, blank=True)  # last sign of life
    warnings = models.JSONField(default=list, blank=True)
    treatments_count = models.IntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.filename or self.source} ({self.get_status_display()})"

    @property
    def progress_percent(self) -> int:
        """Bytes of the file read so far (written outside the import transaction)."""
        if self.status == self.Status.DONE:
            return 100
        if not self.size_bytes:
            return 0
        return min(99, int(100 * self.processed_bytes / self.size_bytes))

    @property
    def rows_expected(self) -> int | None:
        """Rows in the whole file, estimated from the bytes read per row so far."""
        if not self.processed_rows or not self.processed_bytes:
            return None
        return max(
            self.processed_rows,
            round(self.processed_rows * self.size_bytes / self.processed_bytes),
        )

    @property
    def rejected_count(self) -> int:
        """Every rejected row (``rejected`` keeps only the first ones with their reason)."""
        return max(self.rejected_total, len(self.rejected))

    @property
    def conflicts(self) -> list[dict]:
        """Kept rejected rows that are readings already stored with another value."""
        return [row for row in self.rejected if ALREADY_STORED in row.get("reason", "")]

    @property
    def unreadable(self) -> list[dict]:
        """Kept rejected rows that could not be read (bad values, times, records)."""
        return [row for row in self.rejected if ALREADY_STORED not in row.get("reason", "")]

    @property
    def conflict_count(self) -> int:
        """Every row already stored with another value (counted by reason, kept or not)."""
        counted = sum(
            n for kind, n in (self.rejected_by_reason or {}).items() if ALREADY_STORED in kind
        )
        return max(counted, len(self.conflicts))

    @property
    def already_stored_count(self) -> int:
        """Rows not added because a reading at that instant is stored: the same value
        (duplicates) or another one (conflicts, the first value kept)."""
        return self.duplicates + self.conflict_count

    @property
    def unreadable_count(self) -> int:
        """Every row that could not be read: the rejected rows that are not conflicts."""
        return self.rejected_count - self.conflict_count

    def summary(self) -> dict:
        """The ``import_readings --json`` / upload API answer."""
        return {
            "file": self.filename,
            "format": self.format,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": [{"line": r["line"], "reason": r["reason"]} for r in self.rejected],
            "rejected_total": self.rejected_count,
            "rejected_by_reason": self.rejected_by_reason,
            "warnings": self.warnings,
        }


class DailyRollup(models.Model):
    """Per patient, per local day, per kind: additive sums so dashboards never scan readings.

    Field meanings are those of ``glycemia.rollups.ROLLUP_FIELDS``; updated in the same
    transaction as the readings they summarize.
    """

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.CASCADE, related_name="rollups"
    )
    date = models.DateField()
    kind = models.CharField(max_length=12, default="cgm")
    count = models.IntegerField(default=0)
    sum = models.FloatField(default=0)
    sum_sq = models.FloatField(default=0)
    min = models.FloatField(null=True)
    max = models.FloatField(null=True)
    n_very_low = models.IntegerField(default=0)
    n_low = models.IntegerField(default=0)
    n_in_range = models.IntegerField(default=0)
    n_high = models.IntegerField(default=0)
    n_very_high = models.IntegerField(default=0)
    n_tight = models.IntegerField(default=0)
    rl_sum = models.FloatField(default=0)
    rh_sum = models.FloatField(default=0)
    # Not additive: from all of the day's CGM readings, recounted on ingest (issue #17).
    interval_minutes = models.FloatField(default=5)  # the day's own sampling interval
    slots = models.IntegerField(null=True)  # intervals holding a reading; null: not counted

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["patient", "date", "kind"], name="rollup_unique_day")
        ]
        indexes = [models.Index(fields=["date", "kind"])]


def _new_secret() -> str:
    return secrets.token_urlsafe(18)


class DeviceToken(models.Model):
    """A per-device credential for one patient, with one scope.

    ``upload`` (the default) may add readings, treatments and device status and read
    nothing back; ``read`` is for follower apps, may read the patient's glucose history
    through ``/ns/<key>/`` and add nothing. Only the patient grants ``read``, knowingly
    (``readings.views.device_tokens``). The plain key is shown once; only its hash is kept.
    """

    class Scope(models.TextChoices):
        UPLOAD = "upload", _("upload readings")
        READ = "read", _("read my glucose history")

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.CASCADE, related_name="device_tokens"
    )
    name = models.CharField(max_length=100)
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.UPLOAD)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def issue(cls, *, patient, name: str, scope: str = "upload") -> tuple["DeviceToken", str]:
        """Create a token; the plain key is returned once and only its hash is stored."""
        key = "dt_" + secrets.token_urlsafe(32)
        token = cls.objects.create(
            patient=patient, name=name, scope=scope, key_hash=cls.hash_key(key)
        )
        return token, key


def nightscout_secret_hash(secret_sha1: str) -> str:
    """What is stored for a Nightscout API secret: SHA-256 of its SHA-1 hex.

    Uploaders send ``api-secret: <SHA-1 hex of the secret>`` (Nightscout's protocol), so the
    SHA-1 is all a request proves; storing a hash *of it* means a copy of the database does
    not let anyone upload or read (the stored value is not what a request sends).

    >>> nightscout_secret_hash(hashlib.sha1(b"s3cret").hexdigest())[:12]
    'c7d801050269'
    """
    return hashlib.sha256(secret_sha1.lower().encode()).hexdigest()


class NightscoutLink(models.Model):
    """The patient's Nightscout-compatible site: base URL key and API secret (hashed).

    Only ``secret_hash`` (``nightscout_secret_hash``) is stored. The plain secret exists once,
    in memory, when it is issued (``readings.services.nightscout_link_ensure`` / ``_rotate``
    set ``api_secret`` on the instance they return): it is shown to the patient then and
    never again; a patient who lost it issues a new one, which revokes the old.
    """

    patient = models.OneToOneField(
        "patients.Patient", on_delete=models.CASCADE, related_name="nightscout_link"
    )
    key = models.CharField(max_length=40, unique=True)
    secret_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField(null=True, blank=True)

    api_secret: str | None = None  # the plain secret, only on the instance that issued it

    def set_secret(self) -> str:
        """A new random secret: kept hashed, returned (and on ``api_secret``) once."""
        self.api_secret = secrets.token_urlsafe(18)
        self.secret_hash = nightscout_secret_hash(
            hashlib.sha1(self.api_secret.encode()).hexdigest()
        )
        return self.api_secret

    def secret_matches(self, presented: str) -> bool:
        """``presented`` is the SHA-1 hex of the secret (the header) or the secret itself."""
        raw = presented.strip()
        if len(raw) == 40 and all(c in "0123456789abcdefABCDEF" for c in raw):
            sha1 = raw.lower()
        else:
            sha1 = hashlib.sha1(raw.encode("utf-8", "surrogatepass")).hexdigest()
        return hmac.compare_digest(nightscout_secret_hash(sha1), self.secret_hash)


class NightscoutDeviceStatus(models.Model):
    """What an uploader app posts to ``devicestatus`` (battery, loop state, pump), kept as sent.

    Nothing here is clinical data we compute on; it is stored so follower apps reading
    ``devicestatus`` see what the uploader said, as on a Nightscout site.
    """

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.CASCADE, related_name="nightscout_device_statuses"
    )
    created_at = models.DateTimeField()
    device = models.CharField(max_length=200, blank=True)
    data = models.JSONField(default=dict)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["patient", "-created_at"])]
