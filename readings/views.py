"""Pages: upload a device export, follow its progress, read its result; Nightscout settings.

One view serves the page and, for an htmx request, just its fragment.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import audit, get_patient_for, may_see_clinical
from readings.forms import UploadForm
from readings.models import Upload
from readings.services import (
    nightscout_link_ensure,
    nightscout_link_rotate,
    upload_create,
    upload_enqueue,
    upload_process,
)

SYNC_UPLOAD_MAX_BYTES = 5 * 1024 * 1024  # same rule as the API: larger files go to a worker
ROWS_PER_PAGE = 50


@login_required
def upload_new(request, pk):
    """Patients (their own), their clinicians and their center's staff bring files here."""
    patient = get_patient_for(request.user, pk, clinical=False)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        file = form.cleaned_data["file"]
        upload = upload_create(
            patient=patient,
            by=request.user,
            file=file,
            filename=file.name,
            requested_format=form.cleaned_data["format"],
            timezone=form.cleaned_data["timezone"] or None,
        )
        audit(request.user, patient, "change", f"readings upload {upload.pk}")
        if upload.size_bytes > SYNC_UPLOAD_MAX_BYTES:
            upload_enqueue(upload)
        else:
            upload = upload_process(upload_id=upload.pk)
        if request.htmx:
            return render(request, "readings/_upload_status.html", _upload_context(request, upload))
        return redirect("readings-upload-detail", upload.pk)
    context = {"patient": patient, "form": form, "uploads": patient.uploads.all()[:10]}
    return render(request, "readings/upload.html", context)


@login_required
def upload_detail(request, pk):
    """The result page; for htmx, the status fragment that polls until the import is done."""
    upload = get_object_or_404(Upload.objects.select_related("patient"), pk=pk)
    get_patient_for(request.user, upload.patient_id, clinical=False)
    context = _upload_context(request, upload)
    if request.htmx:
        return render(request, "readings/_upload_status.html", context)
    if not context["clinical"]:
        audit(request.user, upload.patient, "view", f"readings upload {upload.pk} (counts)")
    rejected = Paginator(upload.rejected, ROWS_PER_PAGE).get_page(request.GET.get("rejected"))
    context["rejected_page"] = rejected
    if context["clinical"]:
        audit(request.user, upload.patient, "view", f"readings upload {upload.pk}")
        accepted = upload.readings.select_related("device").order_by("timestamp", "pk")
        context["accepted_page"] = Paginator(accepted, ROWS_PER_PAGE).get_page(
            request.GET.get("accepted")
        )
    return render(request, "readings/upload_detail.html", context)


def _upload_context(request, upload: Upload) -> dict:
    return {
        "upload": upload,
        "patient": upload.patient,
        "clinical": may_see_clinical(request.user, upload.patient),
        "running": upload.status in (Upload.Status.PENDING, Upload.Status.PROCESSING),
    }


@login_required
def upload_list(request, pk):
    patient = get_patient_for(request.user, pk, clinical=False)
    page = Paginator(patient.uploads.order_by("-created_at", "-pk"), ROWS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "readings/uploads.html", {"patient": patient, "page": page})


@login_required
@require_POST
def nightscout_settings(request, pk):
    """Create the patient's Nightscout link, or rotate its secret (the old one stops working)."""
    patient = get_patient_for(request.user, pk)
    if request.POST.get("action") == "rotate":
        nightscout_link_rotate(patient=patient)
        messages.success(request, _("A new API secret was issued; the old one no longer works."))
    else:
        nightscout_link_ensure(patient=patient)
    audit(request.user, patient, "change", "Nightscout link")
    return redirect(reverse("patients-detail", args=[patient.pk]) + "#nightscout")
