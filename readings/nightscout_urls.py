"""The Nightscout-compatible API, mounted at ``/ns/<key>/`` (see ``readings.nightscout``)."""

from django.urls import path, re_path

from readings import nightscout

urlpatterns = [
    path("", nightscout.root, name="nightscout-root"),
    re_path(r"^api/v1/entries(?:\.json)?$", nightscout.entries, name="nightscout-entries"),
    re_path(r"^api/v1/entries/sgv(?:\.json)?$", nightscout.entries_sgv, name="nightscout-sgv"),
    re_path(
        r"^api/v1/entries/current(?:\.json)?$",
        nightscout.entries_current,
        name="nightscout-current",
    ),
    re_path(r"^api/v1/treatments(?:\.json)?$", nightscout.treatments, name="nightscout-treatments"),
    re_path(
        r"^api/v1/devicestatus(?:\.json)?$", nightscout.devicestatus, name="nightscout-devicestatus"
    ),
    re_path(r"^api/v1/status(?:\.json)?$", nightscout.status, name="nightscout-status"),
    path("api/v1/verifyauth", nightscout.verifyauth, name="nightscout-verifyauth"),
]
