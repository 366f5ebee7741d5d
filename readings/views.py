"""Pages: upload a device export, follow its progress, read its result; Nightscout settings.

One view serves the page and, for an htmx request, just its fragment.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Max, Min
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.access import audit, get_patient_for, may_see_clinical
from accounts.context_processors import preferences
from glycemia import display
from readings.forms import (
    DEVICES,
    DeviceTokenForm,
    UploadForm,
    declared_too_large,
    upload_too_large_message,
)
from readings.models import DeviceToken, Reading, Upload
from readings.services import (
    device_token_issue,
    nightscout_base_url,
    nightscout_link_ensure,
    nightscout_link_rotate,
    upload_create,
    upload_enqueue,
    upload_process,
)

SYNC_UPLOAD_MAX_BYTES = 5 * 1024 * 1024  # same rule as the API: larger files go to a worker
ROWS_PER_PAGE = 50
RECENT_UPLOADS = 10


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def upload_new(request, pk):
    """Patients (their own), their clinicians and their center's staff bring files here."""
    patient = get_patient_for(request.user, pk, clinical=False)
    if request.method == "POST" and declared_too_large(request):
        form = UploadForm({"format": "auto"}, patient=patient)
        form.errors.clear()
        form.add_error(None, upload_too_large_message())
        context = {
            "patient": patient,
            "form": form,
            "devices": DEVICES,
            "uploads": patient.uploads.all()[:RECENT_UPLOADS],
        }
        # htmx swaps only 2xx answers into the page: it gets the form with its error as 200.
        return render(request, "readings/upload.html", context, status=200 if request.htmx else 413)
    form = UploadForm(request.POST or None, request.FILES or None, patient=patient)
    if request.method == "POST" and form.is_valid():
        file = form.cleaned_data["file"]
        upload = upload_create(
            patient=patient,
            by=request.user,
            file=file,
            filename=file.name,
            requested_format=form.requested_format(),
            timezone=form.cleaned_data["timezone"] or None,
        )
        audit(request.user, patient, "change", f"readings upload {upload.pk}")
        if upload.size_bytes > SYNC_UPLOAD_MAX_BYTES:
            upload_enqueue(upload)
        else:
            upload = upload_process(upload_id=upload.pk)
        if request.htmx:
            return _status_answer(request, upload)
        return redirect("readings-upload-detail", upload.pk)
    context = {
        "patient": patient,
        "form": form,
        "devices": DEVICES,
        "uploads": patient.uploads.all()[:RECENT_UPLOADS],
    }
    return render(request, "readings/upload.html", context)


@login_required
@require_safe
def upload_detail(request, pk):
    """The result page; for htmx, the status fragment that polls until the import is done."""
    upload = get_object_or_404(Upload.objects.select_related("patient"), pk=pk)
    get_patient_for(request.user, upload.patient_id, clinical=False)
    if request.htmx:
        return _status_answer(request, upload)
    context = _upload_context(request, upload)
    if not context["clinical"]:
        audit(request.user, upload.patient, "view", f"readings upload {upload.pk} (counts)")
    rejected = Paginator(upload.unreadable, ROWS_PER_PAGE).get_page(request.GET.get("rejected"))
    context["rejected_page"] = rejected
    if context["clinical"]:  # stored values are glucose: not for staff
        audit(request.user, upload.patient, "view", f"readings upload {upload.pk}")
        rows = _conflict_rows(upload, preferences(request)["glucose_unit"])
        context["conflicts_page"] = Paginator(rows, ROWS_PER_PAGE).get_page(
            request.GET.get("conflicts")
        )
        context["zone"] = display.zone_label(upload.patient.timezone)
        accepted = upload.readings.select_related("device").order_by("timestamp", "pk")
        context["accepted_page"] = Paginator(accepted, ROWS_PER_PAGE).get_page(
            request.GET.get("accepted")
        )
    return render(request, "readings/upload_detail.html", context)


def _conflict_rows(upload: Upload, unit: str) -> list[dict]:
    """Rows already stored with another value, as shown: the instant in the patient's time,
    the stored (kept) and the file's value in the reader's unit."""
    kinds = dict(Reading.Kind.choices)
    rows = []
    for row in upload.conflicts:
        stored = row.get("stored")
        if stored is None:  # an upload from before the values were kept: its words only
            rows.append({"line": row["line"], "reason": row["reason"]})
            continue
        rows.append(
            {
                "line": row["line"],
                "at": display.local_time(stored["at"], upload.patient.timezone),
                "kind": kinds.get(stored["kind"], stored["kind"]),
                "stored": display.glucose(stored["stored_mg_dl"], unit),
                "value": display.glucose(stored["value_mg_dl"], unit),
            }
        )
    return rows


def _on_upload_page(request, patient) -> bool:
    """An htmx request from the upload page, whose list of recent uploads follows along."""
    current = request.htmx.current_url_abs_path if request.htmx else None
    return bool(current) and current.split("?")[0] == reverse("readings-upload", args=[patient.pk])


def _status_answer(request, upload: Upload):
    """The status fragment; on the upload page, once the import is over, with the list of
    recent uploads swapped out of band so it shows the upload just made."""
    context = _upload_context(request, upload)
    if not context["running"] and _on_upload_page(request, upload.patient):
        context["recent"] = upload.patient.uploads.all()[:RECENT_UPLOADS]
    return render(request, "readings/_upload_answer.html", context)


def _upload_context(request, upload: Upload) -> dict:
    running = upload.status in (Upload.Status.PENDING, Upload.Status.PROCESSING)
    span = None
    if upload.status == Upload.Status.DONE and upload.accepted:
        span = upload.readings.aggregate(first=Min("timestamp"), last=Max("timestamp"))
    return {
        "upload": upload,
        "patient": upload.patient,
        "clinical": may_see_clinical(request.user, upload.patient),
        "running": running,
        "span": span,
    }


@login_required
@require_safe
def upload_list(request, pk):
    patient = get_patient_for(request.user, pk, clinical=False)
    page = Paginator(patient.uploads.order_by("-created_at", "-pk"), ROWS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "readings/uploads.html", {"patient": patient, "page": page})


def _own_patient(request, pk):
    """The signed-in patient's own record: secrets and read grants are theirs alone."""
    patient = get_patient_for(request.user, pk)
    if patient.user_id != request.user.pk:
        raise PermissionDenied
    return patient


@login_required
@require_POST
def nightscout_settings(request, pk):
    """The patient creates their Nightscout link or issues a new secret (the old one stops
    working). The secret is stored hashed, so this answer is the only time it is shown."""
    patient = _own_patient(request, pk)
    if request.POST.get("action") == "rotate":
        link = nightscout_link_rotate(patient=patient)
    else:
        link = nightscout_link_ensure(patient=patient)
        if link.api_secret is None:  # already set up: nothing new to show
            return redirect(reverse("my-glucose") + "#nightscout")  # their own page
    audit(request.user, patient, "change", "Nightscout link")
    context = {"patient": patient, "base_url": nightscout_base_url(link), "secret": link.api_secret}
    return render(request, "readings/nightscout_secret.html", context)


@login_required
@require_POST
def device_token_new(request, pk):
    """The patient issues a token for one app; its key is shown in this answer only."""
    patient = _own_patient(request, pk)
    form = DeviceTokenForm(request.POST)
    if not form.is_valid():
        context = {"patient": patient, "form": form}
        return render(request, "readings/device_token_form.html", context, status=400)
    token, key = device_token_issue(
        patient=patient,
        name=form.cleaned_data["name"],
        scope=form.cleaned_data["scope"],
        by=request.user,
    )
    link = nightscout_link_ensure(patient=patient)
    context = {
        "patient": patient,
        "token": token,
        "key": key,
        "base_url": nightscout_base_url(link),
    }
    return render(request, "readings/device_token_issued.html", context)


@login_required
@require_POST
def device_token_revoke(request, pk, token_pk):
    """The patient or their clinicians revoke a token (a lost phone, a follower no longer
    welcome); it stops working at once."""
    patient = get_patient_for(request.user, pk)
    token = get_object_or_404(DeviceToken, pk=token_pk, patient=patient)
    if token.revoked_at is None:
        DeviceToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
        audit(request.user, patient, "change", f"device token {token.pk} revoked")
        messages.success(request, _("The token was revoked."))
    if patient.user_id == request.user.pk:  # the patient's own page, not the workspace
        return redirect(reverse("my-glucose") + "#nightscout")
    return redirect(reverse("patients-files", args=[patient.pk]) + "#nightscout")
