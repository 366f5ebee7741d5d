"""Uploads: a file stored as a pending ``Upload``, imported once (claimed, parsed a chunk ahead,
progress written for the polling page), failed with a reason, swept when its worker died,
and its file deleted once no longer needed.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from outbox.services import task_enqueue
from readings.models import Reading, Treatment, Upload
from readings.parsers import UnreadableFile, parse
from readings.services.ingest import (
    CHUNK_SIZE,
    EARLY_ROWS,
    IngestResult,
    _chunks,
    _chunks_with_head,
    readings_ingest,
)
from readings.services.rollups import rollups_rebuild
from readings.signals import readings_changed

logger = logging.getLogger(__name__)


# SQLite's chunked import: rows per write transaction (shorter than CHUNK_SIZE: a page's audit
# row and session write wait for the chunk in progress, #23 §3).
SQLITE_CHUNK_SIZE = 2000
# After each chunk's commit the import pauses this long (SQLite): a page waiting for the write
# lock polls with SQLite's busy backoff (sleeps of up to 100 ms), and an import that began its
# next chunk at once won nearly every race, so a page could wait seconds (#23 §3: bench
# embedded, 2-year file, page p95 0.2-0.75 s and max 1.8-2.8 s without the pause; 0.15 s and
# 0.3-0.4 s with it, for an import about 1.5x as long).
SQLITE_YIELD_SECONDS = 0.02


def upload_finish(upload: Upload, result: IngestResult, *, fmt: str, warnings: list[str]) -> None:
    upload.format = fmt
    upload.accepted = result.accepted
    upload.duplicates = result.duplicates
    upload.rejected = sorted(result.rejected, key=lambda item: item["line"])
    upload.rejected_total = result.rejected_total
    upload.rejected_by_reason = result.rejected_by_reason
    upload.treatments_count = result.treatments
    upload.warnings = list(warnings) + result.warnings
    upload.status = Upload.Status.DONE
    upload.processed_bytes = upload.size_bytes
    upload.finished_at = timezone.now()
    upload.save()


# --- uploads ------------------------------------------------------------------------------------

# The import task, by name: tasks import services, services hand work over through the outbox.
PROCESS_UPLOAD = "readings.tasks.process_upload"
CRASH_REASON = "the import stopped on an internal error; nothing from this file was stored"


def upload_create(
    *,
    patient,
    by,
    file,
    filename: str,
    requested_format: str = "auto",
    timezone: str | None = None,
    source: str = "file",
) -> Upload:
    """Store an incoming file as a pending Upload; ``upload_process`` imports it.

    ``file`` is bytes, a path or an open (Django or binary) file. ``by`` is the person who
    brought it (``None`` for a device or the command line).
    """
    if isinstance(file, bytes | bytearray):
        content = ContentFile(bytes(file))
    elif isinstance(file, str | os.PathLike):
        content = File(open(file, "rb"))  # noqa: SIM115  (closed below)
    else:
        content = file if isinstance(file, File) else File(file)
    name = os.path.basename(filename or getattr(content, "name", "") or "upload")[:255]
    upload = Upload(
        patient=patient,
        uploaded_by=by if getattr(by, "pk", None) else None,
        filename=name,
        source=source,
        requested_format=requested_format or "auto",
        timezone=timezone or "",
    )
    try:
        upload.file.save(name, content, save=False)
    finally:
        if isinstance(file, str | os.PathLike):
            content.close()
    upload.size_bytes = upload.file.size
    upload.save()
    return upload


def upload_process(*, upload_id: int) -> Upload | None:
    """Import a pending upload once; safe to run twice (the second run does nothing).

    The upload is claimed with a conditional update (pending -> processing), so two workers
    given the same id never both import it. An unreadable file or a crash half-way leaves
    nothing behind but the upload, marked failed with the reason. A crash is re-raised after
    marking so it is still logged and reported by whoever called.

    On PostgreSQL everything the file adds (readings, treatments, rollups) is written in one
    transaction. SQLite has one writer at a time: one long transaction would hold every
    sign-in ("database is locked") for the whole import, so there each chunk commits on its
    own and a failure removes what this upload added (its readings and treatments, then the
    patient's rollups rebuilt) instead of rolling back.
    """
    now = timezone.now()
    claim = {
        "status": Upload.Status.PROCESSING,
        "claimed_at": now,
        "progress_at": now,
        "attempts": F("attempts") + 1,
        "processed_rows": 0,
        "processed_bytes": 0,
    }
    claimed = Upload.objects.filter(pk=upload_id, status=Upload.Status.PENDING).update(**claim)
    reclaimed = False
    if not claimed:
        # A redelivered message (its worker was killed) takes over an import that has shown no
        # sign of life for the stale period: the dead worker's transaction was rolled back.
        cutoff = now - upload_stale_after()
        reclaimed = claimed = (
            Upload.objects.filter(
                pk=upload_id, status=Upload.Status.PROCESSING, attempts__lt=upload_max_attempts()
            )
            .filter(Q(progress_at__lt=cutoff) | Q(progress_at=None, claimed_at__lt=cutoff))
            .update(**claim)
        )
    if not claimed:
        return None
    upload = Upload.objects.select_related("patient").get(pk=upload_id)
    patient = upload.patient
    chunked = connection.vendor == "sqlite"
    if reclaimed and chunked:
        _upload_undo(upload)  # chunks the dead worker committed
    try:
        with upload.file.open("rb") as binary:
            opened = _Parsing(binary, upload.requested_format, upload.timezone or patient.timezone)
            progress = _Progress(upload_id, binary)
            if chunked:
                parsed = opened.open()
                with _parsed_ahead(parsed.records()) as items:
                    result = _ingest_committing_each_chunk(patient, items, upload, progress)
                upload_finish(upload, result, fmt=parsed.format, warnings=parsed.warnings)
            else:
                # The file is opened (format detection, header and unit checks, the first
                # rows) by the parser thread, while this one sets the import up (the
                # patient's lock, the foreign keys' mode, the devices and stored span): a
                # file that cannot be read fails there, its transaction rolled back (#23).
                with transaction.atomic(), _parsed_ahead(opened, early=EARLY_ROWS) as items:
                    result = readings_ingest(
                        patient=patient,
                        items=items,
                        upload=upload,
                        on_progress=progress,
                        early_rows=EARLY_ROWS,
                    )
                    parsed = opened.parsed
                    upload_finish(upload, result, fmt=parsed.format, warnings=parsed.warnings)
    except UnreadableFile as exc:
        if chunked:
            _upload_undo(upload)
        return _upload_fail(upload, str(exc))
    except Exception:
        logger.exception("upload %s failed", upload_id)
        if chunked:
            _upload_undo(upload)
        _upload_fail(upload, CRASH_REASON)
        raise
    if file_no_longer_needed(upload):
        name = upload.file.name
        transaction.on_commit(lambda: upload_file_remove(upload_id=upload_id, name=name))
    return upload


def file_no_longer_needed(upload: Upload) -> bool:
    """A device file is kept only while it may still be needed (issue #12, item 16).

    - imported cleanly (done, no rejected row): not needed — deleted as soon as the import
      commits. Its readings stay, and a re-upload of the same file is still recognised: the
      duplicate check is the readings' own identity (patient, kind, instant), never the file;
    - done with rejected rows, or failed: kept ``UPLOAD_RETENTION_DAYS`` after it finished, so
      the person who sent it (or support) can look into why; then ``uploads_sweep`` deletes it;
    - waiting or importing: needed.

    Files are written 0600 in 0700 directories (``FILE_UPLOAD_PERMISSIONS``): only the
    application's own user can read them.
    """
    if not upload.file or upload.status != Upload.Status.DONE:
        return False
    return upload.rejected_count == 0


def upload_file_remove(*, upload_id: int, name: str) -> None:
    """Delete an upload's file on disk and forget its name (safe to run twice)."""
    from django.core.files.storage import default_storage

    default_storage.delete(name)
    Upload.objects.filter(pk=upload_id, file=name).update(file="")


def _ingest_committing_each_chunk(
    patient, items: Iterator, upload: Upload, progress
) -> IngestResult:
    """``readings_ingest`` one chunk per transaction (SQLite: the write lock is released
    between chunks, so sign-ins and other writes get their turn during a long import).

    Each write transaction is kept short (#23 §3: a page's audit row waits for the one in
    progress): ``SQLITE_CHUNK_SIZE`` rows at most, and the triage entry refreshed once at the end
    (``readings_changed``) rather than inside every chunk's transaction."""
    total = IngestResult()
    for chunk in _chunks(items, min(CHUNK_SIZE, SQLITE_CHUNK_SIZE)):
        with transaction.atomic():
            part = readings_ingest(
                patient=patient,
                items=chunk,
                upload=upload,
                on_progress=progress,
                notify=False,
            )
        time.sleep(SQLITE_YIELD_SECONDS)  # outside any transaction: pages get the lock
        total.accepted += part.accepted
        total.duplicates += part.duplicates
        total.treatments += part.treatments
        total.conflicts += part.conflicts
        total.span = _span_union(total.span, part.span)
        total.warnings += part.warnings
        room = None if total.limit is None else max(total.limit - len(total.rejected), 0)
        total.rejected += part.rejected if room is None else part.rejected[:room]
        total.rejected_total += part.rejected_total
        for reason, count in part.rejected_by_reason.items():
            total.rejected_by_reason[reason] = total.rejected_by_reason.get(reason, 0) + count
    if total.accepted:
        with transaction.atomic():
            # The triage entry, and monitoring's evaluation (past episodes) of the whole file.
            readings_changed.send(sender=None, patient_id=patient.pk, span=total.span)
    return total


def _span_union(one, other):
    """The (first, last) instants covering two spans, either of which may be missing."""
    if not one or one[0] is None:
        return other
    if not other or other[0] is None:
        return one
    return (min(one[0], other[0]), max(one[1], other[1]))


def _upload_undo(upload: Upload) -> None:
    """Remove what a chunked import of ``upload`` committed before it failed."""
    with transaction.atomic():
        Reading.objects.filter(upload_id=upload.pk).delete()
        Treatment.objects.filter(upload_id=upload.pk).delete()
    rollups_rebuild(patient=upload.patient)


PROGRESS_EVERY_SECONDS = 1.0


class _Progress:
    """Rows read and bytes of the file consumed, written where a polling page can see them.

    The import is one transaction, so progress written inside it would stay invisible until
    the end. It is written instead from a short-lived thread, which Django gives its own
    database connection: outside the import's transaction, committed at once (issue #11,
    item 18). It is also the upload's sign of life for ``uploads_sweep``. SQLite allows one
    writer at a time (the import holds it), so there the bar stays indeterminate.

    The first write comes ``PROGRESS_EVERY_SECONDS`` after the import began (the claim is
    its first sign of life): a thread and a connection of its own cost a file that imports in
    a fraction of a second about 7 ms, for a bar nobody would see move (#23).
    """

    def __init__(self, upload_id: int, binary):
        self.upload_id = upload_id
        self.binary = binary
        self.last = time.monotonic()

    def __call__(self, rows: int) -> None:
        _test_delay()
        now = time.monotonic()
        if now - self.last < PROGRESS_EVERY_SECONDS or connection.vendor == "sqlite":
            return
        self.last = now
        try:
            position = self.binary.tell()
        except (OSError, ValueError):
            position = 0
        writer = threading.Thread(target=self._write, args=(rows, position), daemon=True)
        writer.start()
        writer.join()

    def _write(self, rows: int, position: int) -> None:
        try:
            Upload.objects.filter(pk=self.upload_id, status=Upload.Status.PROCESSING).update(
                processed_rows=rows, processed_bytes=position, progress_at=timezone.now()
            )
        except Exception:  # noqa: BLE001  (progress is best effort; the import goes on)
            logger.warning("upload %s: progress not written", self.upload_id, exc_info=True)
        finally:
            connection.close()


def _test_delay() -> None:
    """Test-only: UPLOAD_TEST_DELAY_SECONDS makes each chunk slow so a broker test can kill
    the worker in the middle of an import (tests/readings/test_broker.py). Unset in production."""
    seconds = float(os.environ.get("UPLOAD_TEST_DELAY_SECONDS") or 0)
    if seconds > 0:
        time.sleep(seconds)


@contextmanager
def _parsed_ahead(items, size: int = CHUNK_SIZE, *, early: int = 0) -> Iterator[Iterator]:
    """``items`` again, parsed a chunk ahead by a helper thread while the last one is stored.

    Parsing is pure Python (no Django, no thread-local state: ``readings.parsers``), so it can
    run while this thread waits for the database (COPY, commit): an upload then takes about the
    longer of the two instead of their sum. The helper parses one chunk and waits until it is
    taken before parsing the next, so at most two chunks are in memory, whatever the file.
    Leaving the block stops the helper and waits for it: it never outlives the file.
    A parser error is raised here, after the whole chunks read before it (the import stops).
    ``items`` may also be a function answering them, called by the helper (opening the file
    there too). ``early``: the first chunk's first ``early`` rows are handed over as soon as
    they are read (``readings_ingest(early_rows=…)`` starts its COPY with them), then its rest,
    which the helper reads once this thread asks for more: starting the COPY takes round trips
    (a device, a savepoint, the statement), and a thread back from one waits for the
    interpreter while another holds it (up to ``sys.getswitchinterval()``, 5 ms, each time).
    """
    ready: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()
    done = object()
    asked = threading.Condition()
    takes = 0  # items asked for by the reading thread so far

    def produce() -> None:
        try:
            given = 0  # items of the first chunk handed over early
            records = items() if callable(items) else items
            for n, (chunk, whole) in enumerate(_chunks_with_head(records, size, head=early)):
                if whole:
                    chunk, given = chunk[given:], 0
                else:
                    given = len(chunk)
                ready.put(chunk)
                ready.join()  # until taken: one chunk ahead, no more
                if not whole:
                    # The early rows: the reading thread starts its COPY with them (a device
                    # to create, a savepoint, the statement: round trips, each of which
                    # would wait for the interpreter while this thread parses), and this
                    # one resumes once it asks for more (#23).
                    with asked:
                        asked.wait_for(lambda n=n: takes > n + 1 or stop.is_set())
                if stop.is_set():
                    break
        except BaseException as exc:  # handed over to the reading thread
            ready.put(exc)
        ready.put(done)

    finished = False

    def take():
        nonlocal takes
        with asked:
            takes += 1
            asked.notify()
        got = ready.get()
        ready.task_done()
        return got

    def consume() -> Iterator:
        nonlocal finished
        while (got := take()) is not done:
            if isinstance(got, BaseException):
                finished = take() is done
                raise got
            yield from got
        finished = True

    helper = threading.Thread(target=produce, name="upload-parser", daemon=True)
    helper.start()
    try:
        yield consume()
    finally:
        stop.set()
        with asked:
            asked.notify()
        while not finished:  # let a helper waiting for its chunk to be taken reach its end
            finished = take() is done
        helper.join()


class _Parsing:
    """``parse(binary, …)``, once: ``open()`` answers the ``ParseResult`` (kept as ``parsed``,
    for its format and warnings), and calling it answers its records (``_parsed_ahead``)."""

    def __init__(self, binary, format: str, timezone: str):
        self.binary, self.format, self.timezone = binary, format, timezone
        self.parsed = None

    def open(self):
        self.parsed = parse(self.binary, format=self.format, timezone=self.timezone)
        return self.parsed

    def __call__(self) -> Iterator:
        return self.open().records()


def _upload_fail(upload: Upload, reason: str) -> Upload:
    upload.status = Upload.Status.FAILED
    upload.error = reason
    upload.accepted = upload.duplicates = upload.treatments_count = 0
    upload.rejected = []
    upload.finished_at = timezone.now()
    Upload.objects.filter(pk=upload.pk).update(
        status=upload.status,
        error=reason,
        accepted=0,
        duplicates=0,
        treatments_count=0,
        rejected=[],
        finished_at=upload.finished_at,
    )
    return upload


def upload_stale_after() -> dt.timedelta:
    """``UPLOAD_STALE_AFTER_SECONDS`` (default 10 minutes): an import with no progress for
    this long is taken to be dead (its worker was killed) and may be taken over."""
    return dt.timedelta(seconds=settings.UPLOAD_STALE_AFTER_SECONDS)


def upload_max_attempts() -> int:
    """``UPLOAD_MAX_ATTEMPTS`` (default 2): imports started before an upload is failed."""
    return settings.UPLOAD_MAX_ATTEMPTS


def upload_in_progress(*, upload_id: int) -> bool:
    """Being imported by someone, who may yet die and leave it to be taken over."""
    return Upload.objects.filter(
        pk=upload_id, status=Upload.Status.PROCESSING, attempts__lt=upload_max_attempts()
    ).exists()


STALE_REASON = (
    "the import stopped twice without finishing (its worker died); nothing from this file was"
    " stored. Try again, or split the file."
)


def uploads_sweep(
    *, now: dt.datetime | None = None, stale_after: dt.timedelta | None = None, enqueue=None
) -> dict:
    """Periodic (beat "readings: upload sweep"): recover uploads whose process died.

    An upload still "processing" (or "pending") with no sign of life for ``stale_after`` is
    re-queued once (conditional update: two sweeps never both re-queue it) and failed with a
    reason after ``UPLOAD_MAX_ATTEMPTS``. Files no longer needed are deleted
    (``file_no_longer_needed``): those of failed uploads and of uploads with rejected rows
    ``UPLOAD_RETENTION_DAYS`` after they finished, and any clean import's file left behind.
    Safe to run twice. ``enqueue(upload_id)`` defaults to the task.
    """
    now = now or timezone.now()
    cutoff = now - (upload_stale_after() if stale_after is None else stale_after)
    running = Q(status=Upload.Status.PROCESSING) | Q(status=Upload.Status.PENDING)
    quiet = Q(progress_at__lt=cutoff) | Q(progress_at=None, created_at__lt=cutoff)
    counts = {"requeued": 0, "failed": 0, "files_deleted": 0}
    for upload in Upload.objects.filter(running & quiet).order_by("pk"):
        if upload.attempts >= upload_max_attempts():
            if Upload.objects.filter(pk=upload.pk, status=upload.status).update(
                status=Upload.Status.FAILED, error=STALE_REASON, finished_at=now
            ):
                counts["failed"] += 1
            continue
        if Upload.objects.filter(
            pk=upload.pk, status=upload.status, progress_at=upload.progress_at
        ).update(status=Upload.Status.PENDING, progress_at=now):
            if enqueue is None:
                task_enqueue(PROCESS_UPLOAD, upload.pk)
            else:
                transaction.on_commit(lambda pk=upload.pk: enqueue(pk))
            counts["requeued"] += 1
    kept_until = now - dt.timedelta(days=settings.UPLOAD_RETENTION_DAYS)
    finished = Q(status=Upload.Status.FAILED) | Q(status=Upload.Status.DONE)
    expired = finished & Q(finished_at__lt=kept_until)
    clean = Q(status=Upload.Status.DONE, rejected_total=0, rejected=[])  # a missed deletion
    for pk, name in (
        Upload.objects.filter(expired | clean).exclude(file="").values_list("pk", "file")
    ):
        upload_file_remove(upload_id=pk, name=name)
        counts["files_deleted"] += 1
    return counts


def upload_enqueue(upload: Upload) -> None:
    """Process in the background once the upload row is committed (pretix's rule).

    Through the outbox: with the broker down the upload is still accepted, and the import
    runs once the broker is back (``outbox.services``)."""
    task_enqueue(PROCESS_UPLOAD, upload.pk)
