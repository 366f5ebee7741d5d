"""Readings' services, one module per process (callers import from ``readings.services``):

- ``ingest``: the one write path for glucose — ``readings_ingest`` checks every record
  (``reading_checked``: values, sensor codes, plausible time) and stores it in chunks,
  counting duplicates, conflicts and rejected rows (``IngestResult``);
- ``inserts``: how a chunk reaches the table (multi-row INSERT on SQLite, binary COPY straight
  in or through a staging table on PostgreSQL) and the stored twins of rows not inserted;
- ``rollups``: daily rollups kept exact (additive upsert of new readings, ``rollups_rebuild``
  from the raw readings, a rebuild when the patient's time zone changes) and the patient-row
  lock imports and rebuilds share;
- ``uploads``: a file's life (``upload_create`` → ``upload_process`` → done or failed with a
  reason, ``uploads_sweep`` for dead workers, the file deleted once no longer needed);
- ``links``: device tokens and the patient's Nightscout link;
- ``partitions``: the readings table's monthly partitions on PostgreSQL (created ahead by the
  beat schedule, a past month detached for archive or attached again).

Work for a worker goes through the outbox by task name (``outbox.services``); these modules
never import ``readings.tasks``.
"""

from __future__ import annotations

from readings.services.ingest import (
    CHUNK_SIZE,
    FUTURE_TOLERANCE,
    HIGHEST_ERROR_CODE,
    JUNK_ROWS,
    REJECTED_KEPT,
    SENSOR_ERROR_CODES,
    VALUE_LIMITS_MG_DL,
    IngestResult,
    reading_checked,
    readings_ingest,
    reason_kind,
    row_errors,
    time_problem,
)
from readings.services.inserts import CONFLICT_TOLERANCE_MG_DL
from readings.services.links import (
    device_token_issue,
    nightscout_base_url,
    nightscout_link_ensure,
    nightscout_link_rotate,
)
from readings.services.partitions import (
    reading_partition_attach,
    reading_partition_detach,
    reading_partitions,
    reading_partitions_ensure,
)
from readings.services.rollups import (
    DEFAULT_INTERVAL_MINUTES,
    EPOCH,
    ROLLED_UP_KINDS,
    patient_zone_changed,
    patient_zone_remember,
    rollups_add,
    rollups_rebuild,
    rollups_rebuild_for,
)
from readings.services.uploads import (
    CRASH_REASON,
    PROGRESS_EVERY_SECONDS,
    STALE_REASON,
    file_no_longer_needed,
    upload_create,
    upload_enqueue,
    upload_file_remove,
    upload_finish,
    upload_in_progress,
    upload_max_attempts,
    upload_process,
    upload_stale_after,
    uploads_sweep,
)

__all__ = [
    "CHUNK_SIZE",
    "CONFLICT_TOLERANCE_MG_DL",
    "CRASH_REASON",
    "DEFAULT_INTERVAL_MINUTES",
    "EPOCH",
    "FUTURE_TOLERANCE",
    "HIGHEST_ERROR_CODE",
    "IngestResult",
    "JUNK_ROWS",
    "PROGRESS_EVERY_SECONDS",
    "REJECTED_KEPT",
    "ROLLED_UP_KINDS",
    "SENSOR_ERROR_CODES",
    "STALE_REASON",
    "VALUE_LIMITS_MG_DL",
    "device_token_issue",
    "file_no_longer_needed",
    "nightscout_base_url",
    "nightscout_link_ensure",
    "nightscout_link_rotate",
    "patient_zone_changed",
    "patient_zone_remember",
    "reading_checked",
    "readings_ingest",
    "reading_partition_attach",
    "reading_partition_detach",
    "reading_partitions",
    "reading_partitions_ensure",
    "reason_kind",
    "rollups_add",
    "rollups_rebuild",
    "rollups_rebuild_for",
    "row_errors",
    "time_problem",
    "upload_create",
    "upload_enqueue",
    "upload_file_remove",
    "upload_finish",
    "upload_in_progress",
    "upload_max_attempts",
    "upload_process",
    "upload_stale_after",
    "uploads_sweep",
]
